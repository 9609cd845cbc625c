//! Policy: which findings are shown and which fail the run. Detectors decide what a
//! finding is; only this module decides what it means for the exit code.

use crate::finding::{Finding, Severity};

/// The display threshold and the failure threshold of one run.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Findings below this are not shown (default `low`).
    pub min_severity: Severity,
    /// Any finding at or above this fails the run (default `high`).
    pub fail_on: Severity,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { min_severity: Severity::Low, fail_on: Severity::High }
    }
}

/// How a run ended, before it becomes an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Pass,
    /// Exit 1: policy failure (findings at or above fail-on, drift, unapproved).
    Fail,
}

impl Policy {
    /// The findings a report shows. Whatever fails the run is always shown, so a
    /// failing exit code never comes with an empty report.
    pub fn shown<'a>(&self, findings: &'a [Finding]) -> Vec<&'a Finding> {
        let floor = self.min_severity.min(self.fail_on);
        findings.iter().filter(|f| f.severity >= floor).collect()
    }

    /// Fail when any finding is at or above `fail_on`.
    pub fn outcome(&self, findings: &[Finding]) -> Outcome {
        if findings.iter().any(|f| f.severity >= self.fail_on) {
            Outcome::Fail
        } else {
            Outcome::Pass
        }
    }
}
