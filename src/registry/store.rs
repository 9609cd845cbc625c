//! Writing the registry, crash-consistently. Every change of a command is gathered
//! first; then, in this order (design §4):
//!
//! 1. **objects** — the blobs, tree and commit go into git's object database
//!    (`Repo::prepare_commit`); no reference moves, nothing anyone sees changes;
//! 2. **journal** — `.git/toolreg-transaction` records the reference, the commit before
//!    and after, and every path with its blob before and after (written atomically);
//! 3. **ref** — the branch HEAD names moves from the old commit to the new one in one
//!    compare-and-swap: this is the moment the write happens;
//! 4. **index** — the index entries of those paths take the new blobs (one atomic write
//!    of the index, so `git add x && git commit` never reverts them);
//! 5. **working tree** — each file is written atomically (a temp file with an
//!    unpredictable name created with `O_EXCL`, then renamed over the target) or removed;
//! 6. the journal is removed.
//!
//! A process killed anywhere leaves either the old state (before 3, the journal at most
//! to forget) or the new commit with the index and working tree still catching up.
//! [`recover`], run by every writing command (and `toolreg recover`) before it reads
//! the registry, finishes the journal: when the reference is at the new commit, every
//! journaled file and index entry still at its old blob is brought to the new one;
//! when it is still at the old commit, everything is put back to the old blob. A file
//! that holds neither (someone edited it since) stops it with exit 2 and nothing
//! written. Read-only commands refuse to work while a journal is pending, and `check`
//! also refuses a registry whose files differ from HEAD in the index or the working
//! tree ([`ensure_committed`]). An error inside the command (not a kill) after step 3
//! rolls everything back the same way, reference last. Crashes are process deaths:
//! nothing is fsynced (neither does git by default).
//!
//! **Links**: toolreg never follows a symbolic link inside the repository when it
//! writes: a symlinked `servers/`, server folder, `tools/` folder or registry file is an
//! error (exit 2) naming the link — and `Registry::load` refuses the same when reading.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::git::{FileChange, GitError, Prepared, Repo};
use crate::visible::escape;

/// The journal of a write in progress, in the git directory.
pub const JOURNAL: &str = "toolreg-transaction";

/// A write that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Failed before anything changed, or rolled back completely.
    #[error("{path}: {message} (nothing was changed)")]
    Io { path: String, message: String },
    #[error("{0} (nothing was changed)")]
    Git(GitError),
    #[error("uncommitted changes in files this command would write: {0}; commit or discard them first")]
    Dirty(String),
    /// A symbolic link where toolreg reads or writes.
    #[error("{0} is a symbolic link: toolreg never follows links inside the registry; replace it with the real file or folder (nothing was changed)")]
    Link(String),
    /// An interrupted write that must be finished (or could not be).
    #[error("{0}")]
    Interrupted(String),
    /// Registry files differ from HEAD (`check`).
    #[error("{0}")]
    Uncommitted(String),
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
        Err(StoreError::Dirty(escape(&shown.join(", "))))
    }

    /// Commits every file: objects, journal, reference, index, working tree (see the
    /// module doc). On an error, everything is as it was; on a kill, [`recover`] finds
    /// the old state or finishes the new one.
    pub fn commit(self, repo: &Repo, author: &str, message: &str) -> Result<String, StoreError> {
        if let Some(journal) = Journal::read(repo)? {
            return Err(pending(repo, &journal));
        }
        for (path, _) in &self.files {
            refuse_links(repo, path)?;
        }
        self.ensure_clean(repo)?;
        let mut files = Vec::new();
        for (path, text) in &self.files {
            let relative = repo
                .relative(path)
                .ok_or_else(|| io_error(path, "is outside the registry's git repository"))?;
            files.push((relative, text.as_deref().map(str::as_bytes)));
        }
        // Notes, reasons and item names are untrusted text: a commit message is shown
        // raw by `git log`, so nothing in it may drive a terminal.
        let message = crate::visible::neutralize_multiline(message);
        let prepared = repo.prepare_commit(&files, author, &message).map_err(StoreError::Git)?;
        crashpoint("objects");
        failpoint("commit").map_err(StoreError::Git)?;
        let journal = Journal::of(&prepared);
        journal.write(repo)?;
        crashpoint("journal");
        let log = format!("commit: {}", prepared.summary);
        if let Err(e) = repo.move_reference(&prepared.reference, prepared.old, Some(prepared.new), &log) {
            journal.remove(repo)?;
            return Err(StoreError::Git(e));
        }
        crashpoint("ref");
        let mut created = Vec::new();
        match settle(repo, &journal, Side::New, &mut created) {
            Ok(()) => {
                crashpoint("done");
                journal.remove(repo)?;
                Ok(prepared.new.to_string())
            }
            Err(error) => {
                let undone = settle(repo, &journal, Side::Old, &mut Vec::new()).and_then(|()| {
                    let log = format!("toolreg: undo {}", prepared.summary);
                    repo.move_reference(&prepared.reference, Some(prepared.new), prepared.old, &log)
                        .map_err(|e| StoreError::Interrupted(e.to_string()))
                });
                match undone {
                    Ok(()) => {
                        for dir in created.into_iter().rev() {
                            let _ = std::fs::remove_dir(dir);
                        }
                        journal.remove(repo)?;
                        Err(error)
                    }
                    Err(undo) => Err(StoreError::Interrupted(format!(
                        "{error}; undoing it failed too ({undo}): the commit {} is on {}, and `toolreg recover` \
                         finishes writing its files once the cause is fixed",
                        prepared.new,
                        escape(&prepared.reference)
                    ))),
                }
            }
        }
    }

    /// Writes every file without committing (`toolreg fmt`): atomic per file, and all
    /// restored if one fails.
    pub fn write_only(self, repo: Option<&Repo>) -> Result<(), StoreError> {
        if let Some(repo) = repo {
            for (path, _) in &self.files {
                refuse_links(repo, path)?;
            }
        }
        let mut undo: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        for (index, (path, text)) in self.files.iter().enumerate() {
            let step = failpoint(&format!("write:{}", index + 1))
                .map_err(|e| io_error(path, &e.to_string()))
                .and_then(|()| {
                    let before = read_optional(path).map_err(|e| io_error(path, &e.to_string()))?;
                    put(path, text.as_deref().map(str::as_bytes))
                        .map_err(|e| io_error(path, &e.to_string()))?;
                    undo.push((path.clone(), before));
                    Ok(())
                });
            if let Err(e) = step {
                // Best effort, newest first: the error that got us here is what gets reported.
                for (path, before) in undo.into_iter().rev() {
                    let _ = put(&path, before.as_deref());
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Which side of a journaled write to bring the files to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Old,
    New,
}

/// The journal: what one write changes, so that a later run can finish it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    version: u32,
    reference: String,
    old: Option<String>,
    new: String,
    pid: u32,
    files: Vec<JournalFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalFile {
    path: String,
    old: Option<String>,
    new: Option<String>,
}

impl Journal {
    fn of(prepared: &Prepared) -> Journal {
        Journal {
            version: 1,
            reference: prepared.reference.clone(),
            old: prepared.old.map(|o| o.to_string()),
            new: prepared.new.to_string(),
            pid: std::process::id(),
            files: prepared
                .files
                .iter()
                .map(|f| JournalFile {
                    path: f.relative.to_string_lossy().replace('\\', "/"),
                    old: f.old.map(|o| o.to_string()),
                    new: f.new.map(|o| o.to_string()),
                })
                .collect(),
        }
    }

    fn path(repo: &Repo) -> PathBuf {
        repo.git_dir().join(JOURNAL)
    }

    fn read(repo: &Repo) -> Result<Option<Journal>, StoreError> {
        let path = Journal::path(repo);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StoreError::Interrupted(format!("{}: {e}", escape(&path.display().to_string()))))
            }
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            StoreError::Interrupted(format!(
                "{}: the journal of an interrupted toolreg write is unreadable ({e}); inspect `git status`, \
                 restore the registry with `git checkout HEAD -- <registry dir>` if it is half-written, \
                 then delete that file",
                escape(&path.display().to_string())
            ))
        })
    }

    fn write(&self, repo: &Repo) -> Result<(), StoreError> {
        let path = Journal::path(repo);
        let text = serde_json::to_vec_pretty(self).map_err(|e| io_error(&path, &e.to_string()))?;
        atomic_write(&path, &text).map_err(|e| io_error(&path, &e.to_string()))
    }

    fn remove(&self, repo: &Repo) -> Result<(), StoreError> {
        let path = Journal::path(repo);
        std::fs::remove_file(&path).or_else(ignore_missing).map_err(|e| {
            StoreError::Interrupted(format!(
                "{}: cannot remove the journal ({e}); the write itself is complete",
                escape(&path.display().to_string())
            ))
        })
    }

    /// The file changes, parsed and checked (no absolute paths, no `..`).
    fn changes(&self) -> Result<Vec<FileChange>, StoreError> {
        let oid = |s: &Option<String>| -> Result<Option<git2::Oid>, StoreError> {
            s.as_deref().map(git2::Oid::from_str).transpose().map_err(|e| {
                StoreError::Interrupted(format!("the journal holds a bad object id ({})", e.message()))
            })
        };
        let mut out = Vec::new();
        for file in &self.files {
            let relative = PathBuf::from(&file.path);
            let plain = relative.components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if !plain || file.path.is_empty() {
                return Err(StoreError::Interrupted(format!(
                    "the journal names the path {:?}, which is not inside the repository",
                    escape(&file.path)
                )));
            }
            out.push(FileChange { relative, old: oid(&file.old)?, new: oid(&file.new)? });
        }
        Ok(out)
    }

    fn ids(&self) -> Result<(Option<git2::Oid>, git2::Oid), StoreError> {
        let bad = |e: git2::Error| {
            StoreError::Interrupted(format!("the journal holds a bad commit id ({})", e.message()))
        };
        let old = self.old.as_deref().map(git2::Oid::from_str).transpose().map_err(bad)?;
        Ok((old, git2::Oid::from_str(&self.new).map_err(bad)?))
    }
}

/// The error for a pending journal, saying what to run.
fn pending(repo: &Repo, journal: &Journal) -> StoreError {
    StoreError::Interrupted(format!(
        "an interrupted toolreg write (commit {} on {}, {} file(s)) is not finished: {} exists; \
         run `toolreg recover` to finish it (or roll it back), then run this command again",
        journal.new.get(..12).unwrap_or(&journal.new),
        escape(&journal.reference),
        journal.files.len(),
        escape(&Journal::path(repo).display().to_string())
    ))
}

/// Brings every journaled file, and its index entry, to `side`: first checks that each
/// holds the old or the new blob (else refuses, writing nothing), then writes the
/// index, then the working tree, then refreshes the index's stat data.
fn settle(repo: &Repo, journal: &Journal, side: Side, created: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let changes = journal.changes()?;
    let relatives: Vec<PathBuf> = changes.iter().map(|c| c.relative.clone()).collect();
    let indexed = repo.index_entries(&relatives).map_err(StoreError::Git)?;
    let mut conflicts = Vec::new();
    let mut to_write = Vec::new();
    let mut index_wrong = false;
    for (change, in_index) in changes.iter().zip(&indexed) {
        let (want, other) = match side {
            Side::New => (change.new, change.old),
            Side::Old => (change.old, change.new),
        };
        let path = repo.workdir().join(&change.relative);
        refuse_links(repo, &path)?;
        let now = match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Some(
                git2::Oid::hash_file(git2::ObjectType::Blob, &path)
                    .map_err(|e| io_error(&path, e.message()))?,
            ),
            Ok(_) => {
                conflicts.push(format!("{} (not a regular file)", change.relative.display()));
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&path, &e.to_string())),
        };
        if now != want {
            if now == other {
                to_write.push((path, want));
            } else {
                conflicts.push(format!("{} (changed in the working tree)", change.relative.display()));
            }
        }
        if *in_index != want {
            if *in_index == other {
                index_wrong = true;
            } else {
                conflicts.push(format!("{} (changed in the index)", change.relative.display()));
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(StoreError::Interrupted(format!(
            "an interrupted toolreg write (commit {}) cannot be finished: these files hold neither \
             the version before it nor its own: {}; nothing was written. Keep what you need, restore \
             them with `git checkout HEAD -- <file>`, then run `toolreg recover` again",
            journal.new.get(..12).unwrap_or(&journal.new),
            escape(&conflicts.join(", "))
        )));
    }
    let target: Vec<(PathBuf, Option<git2::Oid>)> =
        changes.iter().map(|c| (c.relative.clone(), if side == Side::New { c.new } else { c.old })).collect();
    if index_wrong {
        repo.set_index(&target, false).map_err(|e| index_error(repo, e))?;
    }
    crashpoint("index");
    for (number, (path, blob)) in to_write.iter().enumerate() {
        crashpoint(&format!("worktree:{}", number + 1));
        failpoint(&format!("write:{}", number + 1)).map_err(|e| io_error(path, &e.to_string()))?;
        let bytes = match blob {
            Some(id) => Some(repo.blob(*id).map_err(StoreError::Git)?),
            None => None,
        };
        if bytes.is_some() {
            if let Some(parent) = path.parent() {
                let missing: Vec<PathBuf> =
                    parent.ancestors().take_while(|d| !d.exists()).map(Path::to_path_buf).collect();
                std::fs::create_dir_all(parent).map_err(|e| io_error(parent, &e.to_string()))?;
                created.extend(missing.into_iter().rev());
            }
        }
        put(path, bytes.as_deref()).map_err(|e| io_error(path, &e.to_string()))?;
    }
    if !to_write.is_empty() {
        repo.set_index(&target, true).map_err(|e| index_error(repo, e))?;
    }
    Ok(())
}

fn index_error(repo: &Repo, e: GitError) -> StoreError {
    let lock = repo.git_dir().join("index.lock");
    if lock.exists() {
        return StoreError::Interrupted(format!(
            "{e}: {} exists — a git process is running, or one was killed while writing the index; \
             if none is running, delete it and run `toolreg recover`",
            escape(&lock.display().to_string())
        ));
    }
    StoreError::Git(e)
}

/// Finishes (or rolls back) a write a killed toolreg left behind, if any: what every
/// writing command does before it reads the registry. Outside git there is nothing to
/// recover. Returns what it did.
pub fn recover(root: &Path) -> Result<Option<String>, StoreError> {
    let Ok(repo) = Repo::discover(root) else { return Ok(None) };
    let Some(journal) = Journal::read(&repo)? else { return Ok(None) };
    let (old, new) = journal.ids()?;
    let now = repo.reference_target(&journal.reference).map_err(StoreError::Git)?;
    let lock = ref_lock(&repo, &journal.reference);
    if lock.exists() {
        return Err(StoreError::Interrupted(format!(
            "an interrupted toolreg write cannot be finished: {} exists — a git process is running, or one \
             was killed while moving {}; if none is running, delete it and run `toolreg recover`",
            escape(&lock.display().to_string()),
            escape(&journal.reference)
        )));
    }
    let side = if now == Some(new) {
        Side::New
    } else if now == old {
        Side::Old
    } else {
        return Err(StoreError::Interrupted(format!(
            "an interrupted toolreg write cannot be finished: {} is at {}, neither the commit before it ({}) \
             nor its own ({}); someone committed since. Check `git status` in the registry, restore its files \
             with `git checkout HEAD -- <registry dir>`, then delete {}",
            escape(&journal.reference),
            now.map_or_else(|| "nothing".to_owned(), |i| i.to_string()),
            journal.old.as_deref().unwrap_or("none"),
            journal.new,
            escape(&Journal::path(&repo).display().to_string())
        )));
    };
    settle(&repo, &journal, side, &mut Vec::new())?;
    remove_stray_temp_files(&repo, &journal);
    journal.remove(&repo)?;
    let short = journal.new.get(..12).unwrap_or(&journal.new);
    Ok(Some(match side {
        Side::New => format!(
            "recovered an interrupted toolreg write: commit {short} was on {}; its {} file(s) are now in the index and the working tree",
            escape(&journal.reference),
            journal.files.len()
        ),
        Side::Old => format!(
            "recovered an interrupted toolreg write: commit {short} never reached {}; the registry is as it was before it",
            escape(&journal.reference)
        ),
    }))
}

/// `.git/refs/heads/x.lock` (or `.git/HEAD.lock`): left behind by a process killed
/// while moving the reference.
fn ref_lock(repo: &Repo, reference: &str) -> PathBuf {
    repo.git_dir().join(format!("{reference}.lock"))
}

/// Temp files (`.toolreg-*.tmp`) a killed write left beside the files it was writing.
fn remove_stray_temp_files(repo: &Repo, journal: &Journal) {
    let mut dirs: Vec<PathBuf> = journal
        .files
        .iter()
        .filter_map(|f| repo.workdir().join(&f.path).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// For read-only commands: refuses while an interrupted write is pending.
pub fn refuse_interrupted(root: &Path) -> Result<(), StoreError> {
    let Ok(repo) = Repo::discover(root) else { return Ok(()) };
    match Journal::read(&repo)? {
        Some(journal) => Err(pending(&repo, &journal)),
        None => Ok(()),
    }
}

/// For `check`: the registry's files must be exactly HEAD's — no pending journal, no
/// staged, changed or untracked file under `root` (with `staged_ok`, staged changes are
/// allowed, for a pre-commit hook, but the working tree must match the index). A
/// registry outside git has no HEAD to compare with.
pub fn ensure_committed(root: &Path, staged_ok: bool) -> Result<(), StoreError> {
    let Ok(repo) = Repo::discover(root) else { return Ok(()) };
    if let Some(journal) = Journal::read(&repo)? {
        return Err(pending(&repo, &journal));
    }
    let prefix = repo.relative(root).unwrap_or_default();
    let dirty = repo.uncommitted(&prefix, staged_ok).map_err(StoreError::Git)?;
    if dirty.is_empty() {
        return Ok(());
    }
    let mut shown: Vec<String> = dirty.iter().take(10).map(|p| p.display().to_string()).collect();
    if dirty.len() > shown.len() {
        shown.push(format!("and {} more", dirty.len() - shown.len()));
    }
    let against = if staged_ok { "the index" } else { "HEAD" };
    Err(StoreError::Uncommitted(format!(
        "could not check: the registry's files differ from {against} ({}); the registry is in an interrupted \
         or uncommitted state. Commit or discard these changes (`git status`; after a killed toolreg write, \
         `toolreg recover`), then run check again",
        escape(&shown.join(", "))
    )))
}

/// Refuses when `path`, or a folder between it and the repository root, is a link.
fn refuse_links(repo: &Repo, path: &Path) -> Result<(), StoreError> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    for dir in absolute.ancestors() {
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(StoreError::Link(escape(&dir.display().to_string())))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(dir, &e.to_string())),
        }
        if dir.canonicalize().is_ok_and(|c| c == repo.workdir()) {
            break;
        }
    }
    Ok(())
}

fn read_optional(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` at `path` atomically, or removes it (`None`).
fn put(path: &Path, bytes: Option<&[u8]>) -> std::io::Result<()> {
    match bytes {
        Some(bytes) => atomic_write(path, bytes),
        None => std::fs::remove_file(path).or_else(ignore_missing),
    }
}

const TEMP_PREFIX: &str = ".toolreg-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temp file beside the target — created with `O_EXCL` under an unpredictable name,
/// so nothing planted can redirect it — then renamed over the target: a reader sees the
/// old file or the new one, and a link at `path` is replaced, never followed.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.flush()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

fn io_error(path: &Path, message: &str) -> StoreError {
    StoreError::Io { path: escape(&path.display().to_string()), message: message.to_owned() }
}

/// Test hook: `TOOLREG_FAILPOINT=write:N` fails the Nth working-tree file write of a
/// command, `TOOLREG_FAILPOINT=commit` fails just before the journal and the reference
/// move — so the tests can prove that a failure halfway leaves nothing behind.
fn failpoint(name: &str) -> Result<(), GitError> {
    match std::env::var("TOOLREG_FAILPOINT") {
        Ok(point) if point == name => Err(GitError::injected(name)),
        _ => Ok(()),
    }
}

/// Test hook: `TOOLREG_CRASHPOINT=NAME` ends the process on the spot (exit 86, no
/// cleanup, as if killed) at a step of a write: `objects`, `journal`, `ref`, `index`,
/// `worktree:N` (before the Nth file), `done` (before the journal is removed).
fn crashpoint(name: &str) {
    if std::env::var("TOOLREG_CRASHPOINT").is_ok_and(|point| point == name) {
        std::process::exit(86);
    }
}
