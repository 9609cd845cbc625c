//! Writing the registry: every change of a command is gathered first, then written
//! atomically (temp file + rename) and committed with git — or, if any step fails,
//! every file and the git index are put back as they were (design §4).

use std::path::{Path, PathBuf};

use crate::git::{GitError, Repo};

/// A write that failed; the registry was restored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {message} (nothing was changed)")]
    Io { path: String, message: String },
    #[error("{0} (nothing was changed)")]
    Git(GitError),
    #[error("uncommitted changes in files this command would write: {0}; commit or discard them first")]
    Dirty(String),
}

/// The files one command writes (`Some(text)`) or deletes (`None`).
#[derive(Debug, Default)]
pub struct Changes {
    files: Vec<(PathBuf, Option<String>)>,
}

impl Changes {
    pub fn write(&mut self, path: PathBuf, text: String) {
        self.files.retain(|(p, _)| *p != path);
        self.files.push((path, Some(text)));
    }

    pub fn delete(&mut self, path: PathBuf) {
        self.files.retain(|(p, _)| *p != path);
        self.files.push((path, None));
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Refuses when a file to be written has uncommitted changes: toolreg never
    /// commits, nor overwrites, what someone else has not committed.
    pub fn ensure_clean(&self, repo: &Repo) -> Result<(), StoreError> {
        let dirty = repo.dirty(&self.paths()).map_err(StoreError::Git)?;
        if dirty.is_empty() {
            return Ok(());
        }
        let shown: Vec<String> = dirty.iter().map(|p| p.display().to_string()).collect();
        Err(StoreError::Dirty(crate::visible::escape(&shown.join(", "))))
    }

    /// Writes every file, then commits exactly these files. On any failure, restores
    /// every file it touched and leaves HEAD and the index as they were.
    pub fn commit(self, repo: &Repo, author: &str, message: &str) -> Result<String, StoreError> {
        self.ensure_clean(repo)?;
        let written = self.write_all()?;
        let result = failpoint("commit")
            .map_err(StoreError::Git)
            .and_then(|()| repo.commit_paths(&self.paths(), author, message).map_err(StoreError::Git));
        if result.is_err() {
            written.restore();
        }
        result
    }

    /// Writes every file without committing (`toolreg fmt`): atomic per file, and all
    /// restored if one fails.
    pub fn write_only(self) -> Result<(), StoreError> {
        self.write_all().map(|_| ())
    }

    fn write_all(&self) -> Result<Undo, StoreError> {
        let mut undo = Undo::default();
        for (index, (path, text)) in self.files.iter().enumerate() {
            let step = failpoint(&format!("write:{}", index + 1))
                .map_err(|e| io_error(path, &e.to_string()))
                .and_then(|()| apply(path, text.as_deref(), &mut undo));
            if let Err(e) = step {
                undo.restore();
                return Err(e);
            }
        }
        Ok(undo)
    }
}

/// What to put back: previous contents of touched files, and directories created.
#[derive(Default)]
struct Undo {
    previous: Vec<(PathBuf, Option<Vec<u8>>)>,
    created_dirs: Vec<PathBuf>,
}

impl Undo {
    fn restore(self) {
        // Best effort, newest first: the error that got us here is what gets reported.
        for (path, before) in self.previous.into_iter().rev() {
            let _ = match before {
                Some(bytes) => atomic_write(&path, &bytes),
                None => std::fs::remove_file(&path).or_else(ignore_missing),
            };
        }
        for dir in self.created_dirs.into_iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn apply(path: &Path, text: Option<&str>, undo: &mut Undo) -> Result<(), StoreError> {
    let before = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error(path, &e.to_string())),
    };
    match text {
        Some(text) => {
            if let Some(parent) = path.parent() {
                let mut missing: Vec<PathBuf> =
                    parent.ancestors().take_while(|d| !d.exists()).map(Path::to_path_buf).collect();
                std::fs::create_dir_all(parent).map_err(|e| io_error(parent, &e.to_string()))?;
                missing.reverse();
                undo.created_dirs.extend(missing);
            }
            atomic_write(path, text.as_bytes()).map_err(|e| io_error(path, &e.to_string()))?;
        }
        None => {
            std::fs::remove_file(path).or_else(ignore_missing).map_err(|e| io_error(path, &e.to_string()))?
        }
    }
    undo.previous.push((path.to_path_buf(), before));
    Ok(())
}

/// Temp file beside the target, then rename: a reader sees the old file or the new one.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.toolreg-{}.tmp", std::process::id()));
    let result = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

fn io_error(path: &Path, message: &str) -> StoreError {
    StoreError::Io { path: crate::visible::escape(&path.display().to_string()), message: message.to_owned() }
}

/// Test hook: `TOOLREG_FAILPOINT=write:N` fails the Nth file write of a command,
/// `TOOLREG_FAILPOINT=commit` fails just before the git commit — after every file was
/// written — so the tests can prove that a failure halfway leaves nothing behind.
fn failpoint(name: &str) -> Result<(), GitError> {
    match std::env::var("TOOLREG_FAILPOINT") {
        Ok(point) if point == name => Err(GitError::injected(name)),
        _ => Ok(()),
    }
}
