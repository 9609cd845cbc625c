//! Every way a command can fail: each maps to exit code 2 (could not check), except a
//! policy refusal, which is exit 1.

use crate::canon::CanonError;
use crate::catalog::LoadError;

/// A run that could not check. Never reported as a pass.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A catalog could not be read or is not a catalog.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A value could not be canonicalized.
    #[error(transparent)]
    Canon(#[from] CanonError),
    /// `toolreg.toml` is broken.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A rule file is broken.
    #[error(transparent)]
    Rules(#[from] crate::detect::RuleError),
    /// The registry is missing, unreadable or broken.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// Writing the registry failed; it was left as it was.
    #[error(transparent)]
    Store(#[from] crate::registry::store::StoreError),
    /// A git operation failed.
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    /// A live server could not be fetched.
    #[error(transparent)]
    Fetch(#[from] crate::mcp::FetchError),
    /// The guard could not run its server (or its audit log failed).
    #[error(transparent)]
    Guard(#[from] crate::guard::GuardError),
    /// Policy forbids what was asked (approving a blocked digest, say): exit 1, and
    /// nothing written.
    #[error("{0}")]
    Refused(String),
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The report could not be written.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// The JSON report could not be serialized.
    #[error("cannot render JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Refused(_) => 1,
            _ => 2,
        }
    }
}
