//! Reports: one model ([`Report`]) for every command that reports, rendered by each
//! format's renderer; none of them decides policy.

pub mod audit;
pub mod check;
pub mod diff;
pub mod discover;
pub mod github;
pub mod human;
pub mod inventory;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod verify;
pub mod volatile;

use crate::drift::Drift;
use crate::finding::Rule;
use crate::policy::{Judged, Verdict};

/// The command a report is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Scan,
    Diff,
    Check,
    Verify,
    Discover,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Scan => "scan",
            Command::Diff => "diff",
            Command::Check => "check",
            Command::Verify => "verify",
            Command::Discover => "discover",
        }
    }
}

/// What every format of every reporting command renders: the policy's verdict (each
/// shown finding judged, what was hidden, pass or fail), the drift, and what was
/// covered. The command builds it; renderers only render it.
pub struct Report<'a> {
    pub command: Command,
    pub verdict: Verdict,
    /// Drift per server (`diff`, `check`; empty for `scan` and `verify`).
    pub drift: &'a [Drift],
    pub servers: usize,
    pub tools: usize,
    /// Every rule a finding may name, for SARIF's rule table.
    pub rules: Vec<&'static Rule>,
    /// A command's own members of the JSON v1 document, beside the shared ones
    /// (`verify`: `server`, `ok`, `mismatches`); already made visible.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Report<'_> {
    pub fn rule(&self, id: &str) -> Option<&'static Rule> {
        self.rules.iter().copied().find(|r| r.id == id)
    }

    /// The shown findings, each judged.
    pub fn findings(&self) -> &[Judged] {
        &self.verdict.findings
    }

    pub fn passed(&self) -> bool {
        self.verdict.passed
    }

    /// How many shown findings fail the run.
    pub fn failing(&self) -> usize {
        self.findings().iter().filter(|j| j.fails).count()
    }
}
