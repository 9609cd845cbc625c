//! The git repository a registry lives in: who is reviewing, which files are dirty,
//! commits of exactly the files a command wrote, and the history of those commits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::{Repository, Signature, Status};

/// A git operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("git: {0}")]
pub struct GitError(String);

impl GitError {
    /// A failure injected by the `TOOLREG_FAILPOINT` test hook.
    pub fn injected(at: &str) -> GitError {
        GitError(format!("injected failure at {at} (TOOLREG_FAILPOINT)"))
    }
}

impl From<git2::Error> for GitError {
    fn from(e: git2::Error) -> Self {
        GitError(e.message().to_owned())
    }
}

/// The repository holding `path`.
pub struct Repo {
    repo: Repository,
    workdir: PathBuf,
}

/// One commit, as `toolreg log` shows it.
#[derive(Debug, Clone)]
pub struct Commit {
    pub id: String,
    pub author: String,
    /// Seconds since 1970, UTC.
    pub time: i64,
    pub message: String,
    /// Files it changed (relative to the repository root) among those asked about.
    pub paths: Vec<PathBuf>,
}

impl Repo {
    /// The repository containing `path`, if any.
    pub fn discover(path: &Path) -> Result<Repo, GitError> {
        let repo = Repository::discover(path).map_err(|e| {
            GitError(format!("{} is not inside a git repository ({})", path.display(), e.message()))
        })?;
        let workdir =
            repo.workdir().ok_or_else(|| GitError("the registry's repository is bare".into()))?.to_path_buf();
        let workdir = workdir.canonicalize().unwrap_or(workdir);
        Ok(Repo { repo, workdir })
    }

    /// A new repository at `dir`.
    pub fn init(dir: &Path) -> Result<Repo, GitError> {
        Repository::init(dir)?;
        Repo::discover(dir)
    }

    /// The commit HEAD points at, if any.
    pub fn head_id(&self) -> Option<String> {
        self.repo.head().ok()?.target().map(|id| id.to_string())
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// `Name <email>` from git config (user.name, user.email), if both are set.
    pub fn identity(&self) -> Option<String> {
        let config = self.repo.config().ok()?;
        let name = config.get_string("user.name").ok().filter(|n| !n.trim().is_empty())?;
        let email = config.get_string("user.email").ok().filter(|e| !e.trim().is_empty())?;
        Some(format!("{name} <{email}>"))
    }

    /// `path` relative to the repository root (for paths inside it).
    pub fn relative(&self, path: &Path) -> Option<PathBuf> {
        let absolute = absolute(path);
        absolute.strip_prefix(&self.workdir).ok().map(Path::to_path_buf)
    }

    /// Those of `paths` (absolute) with uncommitted changes, staged or not, or untracked.
    pub fn dirty(&self, paths: &[PathBuf]) -> Result<Vec<PathBuf>, GitError> {
        let mut dirty = Vec::new();
        for path in paths {
            let Some(relative) = self.relative(path) else { continue };
            match self.repo.status_file(&relative) {
                Ok(status) if status == Status::CURRENT || status.contains(Status::IGNORED) => {}
                Ok(_) => dirty.push(path.clone()),
                // Neither in the index nor on disk: nothing to lose.
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(dirty)
    }

    /// Commits the current contents of `paths` (absolute; a missing file is a deletion)
    /// on top of HEAD, and nothing else: other staged changes stay staged and out of the
    /// commit. Returns the new commit id.
    pub fn commit_paths(&self, paths: &[PathBuf], author: &str, message: &str) -> Result<String, GitError> {
        let signature = signature(author)?;
        let parent = match self.repo.head() {
            Ok(head) => Some(head.peel_to_commit()?),
            Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        // The commit's tree: HEAD's tree with exactly these paths replaced.
        let mut staged = git2::Index::new()?;
        if let Some(parent) = &parent {
            staged.read_tree(&parent.tree()?)?;
        }
        let mut relatives = Vec::new();
        for path in paths {
            let relative = self.relative(path).ok_or_else(|| {
                GitError(format!("{} is outside the repository {}", path.display(), self.workdir.display()))
            })?;
            if path.is_file() {
                let contents =
                    std::fs::read(path).map_err(|e| GitError(format!("{}: {e}", path.display())))?;
                let blob = self.repo.blob(&contents)?;
                let entry = index_entry(&relative, blob, contents.len())?;
                staged.add(&entry)?;
            } else {
                staged.remove_path(&relative)?;
            }
            relatives.push(relative);
        }
        let tree = self.repo.find_tree(staged.write_tree_to(&self.repo)?)?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let id = self.repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents)?;
        // Bring the real index in line for these paths only.
        let mut index = self.repo.index()?;
        for relative in &relatives {
            if self.workdir.join(relative).is_file() {
                index.add_path(relative)?;
            } else if index.get_path(relative, 0).is_some() {
                index.remove_path(relative)?;
            }
        }
        index.write()?;
        Ok(id.to_string())
    }

    /// The files under `prefix` (relative to the root) at revision `rev`, to read them
    /// as they were there. The tree is walked once: looking up each path on its own
    /// decompresses the same trees again for every file.
    pub fn snapshot(&self, rev: &str, prefix: &Path) -> Result<Snapshot<'_>, GitError> {
        let object = self.repo.revparse_single(rev).map_err(|e| {
            GitError(format!("unknown revision {} ({})", crate::visible::escape(rev), e.message()))
        })?;
        let tree = object.peel_to_tree()?;
        let mut blobs = HashMap::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let path = Path::new(dir).join(String::from_utf8_lossy(entry.name_bytes()).as_ref());
            if !prefix.starts_with(&path) && !path.starts_with(prefix) {
                return git2::TreeWalkResult::Skip;
            }
            if entry.kind() == Some(git2::ObjectType::Blob) {
                blobs.insert(path, entry.id());
            }
            git2::TreeWalkResult::Ok
        })?;
        Ok(Snapshot { repo: &self.repo, blobs })
    }

    /// For each file under `prefix` that a commit in `base..HEAD` changed: the author
    /// (`Name <email>`) and time of the oldest such commit: who proposed the change.
    pub fn first_authors_since(
        &self,
        base: &str,
        prefix: &Path,
    ) -> Result<HashMap<PathBuf, (String, i64)>, GitError> {
        let base_id = self.repo.revparse_single(base).and_then(|o| o.peel_to_commit()).map_err(|e| {
            GitError(format!("unknown revision {} ({})", crate::visible::escape(base), e.message()))
        })?;
        let mut walk = self.repo.revwalk()?;
        walk.push_head()?;
        walk.hide(base_id.id())?;
        walk.set_sorting(git2::Sort::TIME | git2::Sort::TOPOLOGICAL)?;
        let mut authors = HashMap::new();
        for id in walk {
            let commit = self.repo.find_commit(id?)?;
            let parent_tree = match commit.parents().next() {
                Some(p) => Some(p.tree()?),
                None => None,
            };
            let diff = self.repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&commit.tree()?), None)?;
            let author = commit.author();
            let author = format!(
                "{} <{}>",
                String::from_utf8_lossy(author.name_bytes()),
                String::from_utf8_lossy(author.email_bytes())
            );
            // Newest first: the last commit seen for a path is its oldest.
            for delta in diff.deltas() {
                if let Some(path) = delta.new_file().path().filter(|p| p.starts_with(prefix)) {
                    authors.insert(path.to_path_buf(), (author.clone(), commit.time().seconds()));
                }
            }
        }
        Ok(authors)
    }

    /// Commits (newest first) that changed any file under `prefix` (relative to the root).
    pub fn history(&self, prefix: &Path) -> Result<Vec<Commit>, GitError> {
        let mut walk = self.repo.revwalk()?;
        match walk.push_head() {
            Ok(()) => {}
            Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(e.into()),
        }
        walk.set_sorting(git2::Sort::TIME | git2::Sort::TOPOLOGICAL)?;
        let mut out = Vec::new();
        for id in walk {
            let commit = self.repo.find_commit(id?)?;
            let tree = commit.tree()?;
            let parent_tree = match commit.parents().next() {
                Some(p) => Some(p.tree()?),
                None => None,
            };
            let diff = self.repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)?;
            let paths: Vec<PathBuf> = diff
                .deltas()
                .filter_map(|d| d.new_file().path().or_else(|| d.old_file().path()).map(Path::to_path_buf))
                .filter(|p| p.starts_with(prefix))
                .collect();
            if paths.is_empty() {
                continue;
            }
            let author = commit.author();
            out.push(Commit {
                id: commit.id().to_string(),
                author: format!(
                    "{} <{}>",
                    String::from_utf8_lossy(author.name_bytes()),
                    String::from_utf8_lossy(author.email_bytes())
                ),
                time: commit.time().seconds(),
                message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
                paths,
            });
        }
        Ok(out)
    }
}

/// The files of one revision, under a prefix.
pub struct Snapshot<'r> {
    repo: &'r Repository,
    blobs: HashMap<PathBuf, git2::Oid>,
}

impl Snapshot<'_> {
    /// Whether the file at `relative` there has exactly the bytes of `path` now
    /// (compared by blob id, without reading the old file).
    pub fn same_as(&self, relative: &Path, path: &Path) -> bool {
        let Some(id) = self.blobs.get(relative) else { return false };
        git2::Oid::hash_file(git2::ObjectType::Blob, path).is_ok_and(|now| now == *id)
    }

    /// The contents of `relative` there; `None` when the file did not exist.
    pub fn file(&self, relative: &Path) -> Result<Option<Vec<u8>>, GitError> {
        match self.blobs.get(relative) {
            Some(id) => Ok(Some(self.repo.find_blob(*id)?.content().to_vec())),
            None => Ok(None),
        }
    }
}

/// `path` made absolute (against the working directory) and, where it exists,
/// canonical, so it compares with the repository's canonical workdir.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    if let Ok(canonical) = joined.canonicalize() {
        return canonical;
    }
    // A file not written yet: canonicalize its nearest existing ancestor.
    let mut tail = Vec::new();
    let mut head = joined.as_path();
    while let Some(parent) = head.parent() {
        if let Some(name) = head.file_name() {
            tail.push(name.to_owned());
        }
        if let Ok(canonical) = parent.canonicalize() {
            let mut out = canonical;
            out.extend(tail.iter().rev());
            return out;
        }
        head = parent;
    }
    joined
}

/// A signature from `Name <email>`.
fn signature(identity: &str) -> Result<Signature<'static>, GitError> {
    let (name, email) = split_identity(identity)
        .ok_or_else(|| GitError(format!("reviewer {identity:?} is not of the form `Name <email>`")))?;
    Ok(Signature::now(name, email)?)
}

/// `Name <email>` → (name, email).
pub fn split_identity(identity: &str) -> Option<(&str, &str)> {
    let (name, rest) = identity.split_once('<')?;
    let email = rest.strip_suffix('>')?;
    let name = name.trim();
    (!name.is_empty() && !email.is_empty() && !email.contains(['<', '>'])).then_some((name, email))
}

fn index_entry(relative: &Path, blob: git2::Oid, len: usize) -> Result<git2::IndexEntry, GitError> {
    let path = relative
        .to_str()
        .ok_or_else(|| GitError(format!("{} is not valid UTF-8", relative.display())))?
        .replace('\\', "/");
    Ok(git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: 0o100_644,
        uid: 0,
        gid: 0,
        file_size: u32::try_from(len).unwrap_or(u32::MAX),
        id: blob,
        flags: 0,
        flags_extended: 0,
        path: path.into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn identities() {
        assert_eq!(
            super::split_identity("Ada Lovelace <ada@example.com>"),
            Some(("Ada Lovelace", "ada@example.com"))
        );
        assert_eq!(super::split_identity("ada@example.com"), None);
        assert_eq!(super::split_identity("<ada@example.com>"), None);
    }
}
