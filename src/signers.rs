//! Who signed a commit: SSH commit signatures (git's `gpg.format = ssh`) checked
//! against an allowed-signers file with `ssh-keygen -Y verify`, as git itself checks
//! them — namespace `git`, each key's validity window taken at the commit's time.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::git::{GitError, Repo};

/// What a commit's signature says about one signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// The commit carries no signature.
    Unsigned,
    /// A signature that is not an SSH one (OpenPGP, X.509): not checkable here.
    NotSsh,
    /// Signed by a key the allowed-signers file lists for this e-mail.
    ByThem,
    /// Signed, but not by a key listed for this e-mail (or the signature is bad).
    NotByThem,
}

/// An allowed-signers file (its text, from the base revision) and the answers given.
pub struct Signers {
    dir: tempfile::TempDir,
    file: PathBuf,
    program: String,
    answers: RefCell<HashMap<(git2::Oid, String), Signed>>,
}

impl Signers {
    /// Signers listed in `text` (git's allowed-signers format).
    pub fn new(text: &[u8]) -> Result<Signers, GitError> {
        let dir = tempfile::tempdir().map_err(|e| GitError::new(format!("allowed signers: {e}")))?;
        let file = dir.path().join("allowed_signers");
        std::fs::write(&file, text).map_err(|e| GitError::new(format!("allowed signers: {e}")))?;
        Ok(Signers { dir, file, program: "ssh-keygen".into(), answers: RefCell::new(HashMap::new()) })
    }

    /// Whether commit `id` is signed by a key listed for `email`.
    pub fn check(&self, repo: &Repo, id: git2::Oid, time: i64, email: &str) -> Result<Signed, GitError> {
        let email = email.to_ascii_lowercase();
        if let Some(known) = self.answers.borrow().get(&(id, email.clone())) {
            return Ok(known.clone());
        }
        let answer = self.verify(repo, id, time, &email)?;
        self.answers.borrow_mut().insert((id, email), answer.clone());
        Ok(answer)
    }

    fn verify(&self, repo: &Repo, id: git2::Oid, time: i64, email: &str) -> Result<Signed, GitError> {
        let Some((signature, signed)) = repo.commit_signature(id)? else {
            return Ok(Signed::Unsigned);
        };
        if !signature.trim_start().starts_with("-----BEGIN SSH SIGNATURE-----") {
            return Ok(Signed::NotSsh);
        }
        let sig = self.dir.path().join(format!("{id}.sig"));
        std::fs::write(&sig, &signature).map_err(|e| GitError::new(format!("allowed signers: {e}")))?;
        let mut child = Command::new(&self.program)
            .args(["-Y", "verify", "-n", "git", "-f"])
            .arg(&self.file)
            .args(["-I", email, "-s"])
            .arg(&sig)
            .arg("-O")
            .arg(format!("verify-time={}", verify_time(time)))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                GitError::new(format!("cannot check commit signatures: cannot run {} ({e})", self.program))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&signed).map_err(|e| GitError::new(format!("{}: {e}", self.program)))?;
        }
        let status = child.wait().map_err(|e| GitError::new(format!("{}: {e}", self.program)))?;
        Ok(if status.success() { Signed::ByThem } else { Signed::NotByThem })
    }
}

/// `YYYYMMDDHHMMSS` (UTC) for `ssh-keygen -O verify-time=`.
fn verify_time(seconds: i64) -> String {
    let stamp = crate::clock::rfc3339(seconds);
    stamp.chars().filter(char::is_ascii_digit).take(14).collect()
}
