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
    pub fn new(message: impl Into<String>) -> GitError {
        GitError(message.into())
    }

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

/// A commit in the object database that no reference points at yet.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What it goes on: `refs/heads/<branch>`, or `HEAD` when detached.
    pub reference: String,
    /// The parent (`None` on an unborn branch).
    pub old: Option<git2::Oid>,
    pub new: git2::Oid,
    pub files: Vec<FileChange>,
    /// The message's first line, for the reflog.
    pub summary: String,
}

/// One file of a prepared commit: its blob before and after (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub relative: PathBuf,
    pub old: Option<git2::Oid>,
    pub new: Option<git2::Oid>,
}

/// One commit of a range, with the files (under a prefix) it changed.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: git2::Oid,
    /// `Name <email>`.
    pub author: String,
    /// The committer's time, seconds since 1970 (what a signature is checked at).
    pub time: i64,
    pub paths: Vec<PathBuf>,
}

/// A key to sign commits with, as git's configuration names it.
struct SigningKey {
    /// A private key file, or `key::<public key>` (the agent holds the private half).
    key: String,
    /// `gpg.ssh.program`, else `ssh-keygen`.
    program: String,
}

impl SigningKey {
    /// `ssh-keygen -Y sign -n git` over `content`, as git does for `gpg.format = ssh`:
    /// the armored SSH signature.
    fn sign(&self, content: &str) -> Result<String, GitError> {
        let dir = tempfile::tempdir().map_err(|e| GitError(format!("cannot sign: {e}")))?;
        let data = dir.path().join("commit");
        std::fs::write(&data, content).map_err(|e| GitError(format!("cannot sign: {e}")))?;
        let mut command = std::process::Command::new(&self.program);
        command.args(["-Y", "sign", "-n", "git", "-f"]);
        match self.key.strip_prefix("key::") {
            Some(public) => {
                let file = dir.path().join("key.pub");
                std::fs::write(&file, public).map_err(|e| GitError(format!("cannot sign: {e}")))?;
                command.arg(&file).arg("-U");
            }
            None => {
                let path = match self.key.strip_prefix("~/") {
                    Some(rest) => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(rest),
                    None => PathBuf::from(&self.key),
                };
                command.arg(path);
            }
        }
        let output = command
            .arg(&data)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| GitError(format!("cannot run {} to sign the commit: {e}", self.program)))?;
        if !output.status.success() {
            return Err(GitError(format!(
                "{} could not sign the commit: {}",
                self.program,
                crate::visible::escape(String::from_utf8_lossy(&output.stderr).trim())
            )));
        }
        std::fs::read_to_string(dir.path().join("commit.sig"))
            .map_err(|e| GitError(format!("cannot read the signature: {e}")))
    }
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

    /// The repository's git directory (`.git`, or a worktree's own under it).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The reference a commit on HEAD moves: the branch HEAD names (born or not), or
    /// `HEAD` itself when detached.
    pub fn head_reference(&self) -> Result<String, GitError> {
        let head = self.repo.find_reference("HEAD")?;
        match head.kind() {
            Some(git2::ReferenceType::Symbolic) => head
                .symbolic_target()
                .ok()
                .flatten()
                .map(str::to_owned)
                .ok_or_else(|| GitError("HEAD names a branch whose name is not UTF-8".into())),
            _ => Ok("HEAD".to_owned()),
        }
    }

    /// The commit `reference` points at; `None` when it does not exist (an unborn branch).
    pub fn reference_target(&self, reference: &str) -> Result<Option<git2::Oid>, GitError> {
        match self.repo.find_reference(reference) {
            Ok(r) => Ok(r.resolve()?.target()),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the blobs, the tree and the commit of `files` (relative path, new bytes or
    /// `None` for a deletion) on top of HEAD into the object database, and moves no
    /// reference: until [`Repo::move_reference`], nothing anyone sees has changed.
    pub fn prepare_commit(
        &self,
        files: &[(PathBuf, Option<&[u8]>)],
        author: &str,
        message: &str,
    ) -> Result<Prepared, GitError> {
        let signature = signature(author)?;
        let reference = self.head_reference()?;
        let parent = match self.reference_target(&reference)? {
            Some(id) => Some(self.repo.find_commit(id)?),
            None => None,
        };
        // The commit's tree: HEAD's tree with exactly these paths replaced.
        let mut staged = git2::Index::new()?;
        if let Some(parent) = &parent {
            staged.read_tree(&parent.tree()?)?;
        }
        let mut changed = Vec::new();
        for (relative, bytes) in files {
            let old = staged.get_path(relative, 0).map(|e| e.id);
            let new = match bytes {
                Some(bytes) => {
                    let blob = self.repo.blob(bytes)?;
                    staged.add(&index_entry(relative, blob, bytes.len())?)?;
                    Some(blob)
                }
                None => {
                    staged.remove_path(relative)?;
                    None
                }
            };
            changed.push(FileChange { relative: relative.clone(), old, new });
        }
        let tree = self.repo.find_tree(staged.write_tree_to(&self.repo)?)?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let new = match self.signing_key()? {
            None => self.repo.commit(None, &signature, &signature, message, &tree, &parents)?,
            Some(key) => {
                let buffer =
                    self.repo.commit_create_buffer(&signature, &signature, message, &tree, &parents)?;
                let content = std::str::from_utf8(&buffer)
                    .map_err(|_| GitError("the commit to sign is not UTF-8".into()))?;
                let armored = key.sign(content)?;
                self.repo.commit_signed(content, &armored, None)?
            }
        };
        let summary = message.lines().next().unwrap_or_default().to_owned();
        Ok(Prepared { reference, old: parent.map(|p| p.id()), new, files: changed, summary })
    }

    /// How git would sign a commit here: `commit.gpgsign = true` with `gpg.format =
    /// ssh` and `user.signingkey` (a key file, or `key::` and a public key held by the
    /// agent). `None` when commits are not signed. Signing asked for in another format
    /// is refused: a commit silently left unsigned would not count as a review.
    fn signing_key(&self) -> Result<Option<SigningKey>, GitError> {
        let config = self.repo.config()?;
        if !config.get_bool("commit.gpgsign").unwrap_or(false) {
            return Ok(None);
        }
        let format = config.get_string("gpg.format").unwrap_or_else(|_| "openpgp".into());
        if format != "ssh" {
            return Err(GitError(format!(
                "commit.gpgsign is on with gpg.format = {}: toolreg signs commits with gpg.format = ssh only",
                crate::visible::escape(&format)
            )));
        }
        let key = config.get_string("user.signingkey").map_err(|_| {
            GitError(
                "commit.gpgsign is on but user.signingkey is not set (a key file, or key::<public key>)"
                    .into(),
            )
        })?;
        let program = config.get_string("gpg.ssh.program").unwrap_or_else(|_| "ssh-keygen".into());
        Ok(Some(SigningKey { key, program }))
    }

    /// The commits of `base..HEAD` (oldest first, parents before children) with the
    /// files under `prefix` each changed against its first parent. A merge that takes a
    /// file from its other side counts as changing it: what it brings in may come from
    /// outside the range (an old version resurrected), so it answers for it.
    pub fn commits_since(&self, base: &str, prefix: &Path) -> Result<Vec<Change>, GitError> {
        let base_id = self.repo.revparse_single(base).and_then(|o| o.peel_to_commit()).map_err(|e| {
            GitError(format!("unknown revision {} ({})", crate::visible::escape(base), e.message()))
        })?;
        let mut walk = self.repo.revwalk()?;
        walk.push_head()?;
        walk.hide(base_id.id())?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
        let mut out = Vec::new();
        for id in walk {
            let commit = self.repo.find_commit(id?)?;
            let tree = commit.tree()?;
            let first = match commit.parents().next() {
                Some(parent) => Some(parent.tree()?),
                None => None,
            };
            let diff = self.repo.diff_tree_to_tree(first.as_ref(), Some(&tree), None)?;
            let mut paths = Vec::new();
            for delta in diff.deltas() {
                let Some(path) = delta.new_file().path().or_else(|| delta.old_file().path()) else {
                    continue;
                };
                if !path.starts_with(prefix) {
                    continue;
                }
                paths.push(path.to_path_buf());
            }
            let author = commit.author();
            out.push(Change {
                id: commit.id(),
                author: format!(
                    "{} <{}>",
                    String::from_utf8_lossy(author.name_bytes()),
                    String::from_utf8_lossy(author.email_bytes())
                ),
                time: commit.committer().when().seconds(),
                paths,
            });
        }
        Ok(out)
    }

    /// HEAD's commit; `None` on an unborn branch.
    pub fn head_commit(&self) -> Result<Option<git2::Oid>, GitError> {
        match self.repo.head() {
            Ok(head) => Ok(Some(head.peel_to_commit()?.id())),
            Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes of `relative` in commit `id`; `None` when it has no such file.
    pub fn file_at(&self, id: git2::Oid, relative: &Path) -> Result<Option<Vec<u8>>, GitError> {
        let tree = self.repo.find_commit(id)?.tree()?;
        match tree.get_path(relative) {
            Ok(entry) => Ok(Some(self.repo.find_blob(entry.id())?.content().to_vec())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The armored signature of commit `id` and the bytes it signs; `None` when the
    /// commit is not signed.
    pub fn commit_signature(&self, id: git2::Oid) -> Result<Option<(String, Vec<u8>)>, GitError> {
        match self.repo.extract_signature(&id, None) {
            Ok((signature, signed)) => {
                Ok(Some((String::from_utf8_lossy(&signature).into_owned(), signed.to_vec())))
            }
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves `reference` from `from` to `to` in one step (compare and swap: it fails
    /// when the reference is no longer at `from`). `to = None` deletes it (undoing the
    /// first commit of an unborn branch).
    pub fn move_reference(
        &self,
        reference: &str,
        from: Option<git2::Oid>,
        to: Option<git2::Oid>,
        log: &str,
    ) -> Result<(), GitError> {
        match (from, to) {
            (Some(from), Some(to)) => {
                self.repo.reference_matching(reference, to, true, from, log)?;
            }
            (None, Some(to)) => {
                self.repo.reference(reference, to, false, log)?;
            }
            (Some(from), None) => {
                let mut found = self.repo.find_reference(reference)?;
                if found.target() != Some(from) {
                    return Err(GitError(format!("{reference} moved meanwhile; left as it is")));
                }
                found.delete()?;
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// The blob the index holds at `relative` (stage 0), read afresh from disk.
    pub fn index_entries(&self, relatives: &[PathBuf]) -> Result<Vec<Option<git2::Oid>>, GitError> {
        let mut index = self.repo.index()?;
        index.read(true)?;
        Ok(relatives.iter().map(|r| index.get_path(r, 0).map(|e| e.id)).collect())
    }

    /// Sets the index entries of these paths to these blobs (`None`: no entry), in one
    /// atomic write of the index. With `from_disk`, an entry whose working file now holds
    /// exactly its blob takes the file's stat data (so git need not re-read it).
    pub fn set_index(
        &self,
        entries: &[(PathBuf, Option<git2::Oid>)],
        from_disk: bool,
    ) -> Result<(), GitError> {
        let mut index = self.repo.index()?;
        index.read(true)?;
        for (relative, blob) in entries {
            match blob {
                Some(blob) => {
                    let refreshed = from_disk
                        && self.workdir.join(relative).is_file()
                        && index.add_path(relative).is_ok()
                        && index.get_path(relative, 0).is_some_and(|e| e.id == *blob);
                    if !refreshed {
                        let size = self.repo.find_blob(*blob)?.size();
                        index.add(&index_entry(relative, *blob, size)?)?;
                    }
                }
                None => {
                    if index.get_path(relative, 0).is_some() {
                        index.remove_path(relative)?;
                    }
                }
            }
        }
        index.write()?;
        Ok(())
    }

    /// The contents of a blob.
    pub fn blob(&self, id: git2::Oid) -> Result<Vec<u8>, GitError> {
        Ok(self.repo.find_blob(id)?.content().to_vec())
    }

    /// Files under `prefix` (relative to the root; empty = everywhere) that differ from
    /// HEAD: staged (unless `staged_ok`), changed in the working tree, or untracked and
    /// not ignored.
    pub fn uncommitted(&self, prefix: &Path, staged_ok: bool) -> Result<Vec<PathBuf>, GitError> {
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .exclude_submodules(true)
            .renames_head_to_index(false)
            .renames_index_to_workdir(false);
        let spec = prefix.to_str().map(|p| p.replace('\\', "/")).unwrap_or_default();
        if !spec.is_empty() {
            options.pathspec(&spec).disable_pathspec_match(false);
        }
        let mut unwanted = Status::WT_NEW
            | Status::WT_MODIFIED
            | Status::WT_DELETED
            | Status::WT_TYPECHANGE
            | Status::WT_RENAMED
            | Status::CONFLICTED;
        if !staged_ok {
            unwanted |= Status::INDEX_NEW
                | Status::INDEX_MODIFIED
                | Status::INDEX_DELETED
                | Status::INDEX_TYPECHANGE
                | Status::INDEX_RENAMED;
        }
        let statuses = self.repo.statuses(Some(&mut options))?;
        Ok(statuses
            .iter()
            .filter(|s| s.status().intersects(unwanted))
            .map(|s| PathBuf::from(String::from_utf8_lossy(s.path_bytes()).into_owned()))
            .collect())
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

    /// Every file of the snapshot (relative to the repository).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.blobs.keys().map(PathBuf::as_path)
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
