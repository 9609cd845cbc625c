//! Every way a command can fail to check: each maps to exit code 2.

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
