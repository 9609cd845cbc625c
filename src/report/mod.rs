//! Renderers: each a function of the same findings, none deciding policy.

pub mod check;
pub mod diff;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use crate::finding::{Finding, Rule};
use diff::DriftEntry;

/// What a scan report covers: findings plus the size of what was scanned.
#[derive(Debug)]
pub struct ScanReport<'a> {
    pub findings: Vec<&'a Finding>,
    pub servers: usize,
    pub tools: usize,
}

/// What the machine formats (SARIF, GitHub, markdown, JUnit) render: each shown
/// finding with the policy's verdict on it, the drift, and what was covered. The
/// command builds it; renderers only render.
pub struct Report<'a> {
    /// `scan`, `diff` or `check`.
    pub command: &'static str,
    pub findings: Vec<Shown<'a>>,
    pub drift: &'a [DriftEntry],
    pub servers: usize,
    pub tools: usize,
    /// Every rule a finding may name, for SARIF's rule table.
    pub rules: Vec<&'static Rule>,
    pub passed: bool,
}

/// A finding, and whether it fails the run.
pub struct Shown<'a> {
    pub finding: &'a Finding,
    pub fails: bool,
}

impl Report<'_> {
    pub fn rule(&self, id: &str) -> Option<&'static Rule> {
        self.rules.iter().copied().find(|r| r.id == id)
    }
}
