//! Policy: which findings are shown and which fail the run. Detectors decide what a
//! finding is; only this module decides what it means for the exit code.

use crate::config::Suppression;
use crate::finding::{Finding, Rule, Severity};
use crate::item::ItemRef;
use crate::visible;

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
    /// The exit status of the server `guard` ran.
    Exit(u8),
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

/// A suppression in `toolreg.toml` that matched nothing.
pub const UNUSED_SUPPRESSION: Rule = Rule {
    id: "SUP001",
    name: "unused-suppression",
    title: "A suppression that matched no finding",
    severity: Severity::Medium,
    help: "A suppression in toolreg.toml that matched no finding: the content changed, or the finding is gone. Remove it or re-review.",
};

/// A suppression past its `expires` date.
pub const EXPIRED_SUPPRESSION: Rule = Rule {
    id: "SUP002",
    name: "expired-suppression",
    title: "A suppression past its expiry date",
    severity: Severity::Medium,
    help: "A suppression past its expiry date no longer applies: re-review the finding and renew or remove the suppression.",
};

pub const RULES: [&Rule; 2] = [&UNUSED_SUPPRESSION, &EXPIRED_SUPPRESSION];

/// Findings after suppressions, and how many were suppressed.
#[derive(Debug)]
pub struct Suppressed {
    pub findings: Vec<Finding>,
    pub suppressed: usize,
}

/// Removes the findings `suppressions` accept. A suppression that matches nothing in
/// a scanned server, or that has expired, becomes a finding itself: policy that no
/// longer applies is reported, not silently kept.
pub fn apply_suppressions(
    findings: Vec<Finding>,
    suppressions: &[Suppression],
    scanned_servers: &[String],
    today: i64,
) -> Suppressed {
    let mut used = vec![false; suppressions.len()];
    let mut kept = Vec::with_capacity(findings.len());
    let mut suppressed = 0;
    for finding in findings {
        let hit = suppressions.iter().position(|s| !s.expired(today) && matches(s, &finding));
        match hit {
            Some(i) => {
                used[i] = true;
                suppressed += 1;
            }
            None => kept.push(finding),
        }
    }
    for (s, used) in suppressions.iter().zip(used) {
        let (rule, message) = if s.expired(today) {
            let date = s.expires.as_deref().unwrap_or_default();
            (
                &EXPIRED_SUPPRESSION,
                format!("the suppression of {} expired on {date} ({})", s.rule, visible::escape(&s.reason)),
            )
        } else if !used && scanned_servers.contains(&s.server) {
            (
                &UNUSED_SUPPRESSION,
                format!("the suppression of {} matched no finding ({})", s.rule, visible::escape(&s.reason)),
            )
        } else {
            continue;
        };
        let pointer = s.pointer.clone().unwrap_or_default();
        kept.push(Finding::about(
            rule,
            rule.severity,
            &s.server,
            s.tool.as_deref().map(ItemRef::tool).as_ref(),
            &pointer,
            message,
            &s.fingerprint,
            &s.fingerprint,
        ));
    }
    kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Suppressed { findings: kept, suppressed }
}

/// A suppression names its finding by fingerprint; the other fields, when given,
/// must agree (they keep `toolreg.toml` readable and catch copy-paste slips).
fn matches(s: &Suppression, f: &Finding) -> bool {
    s.rule == f.rule
        && s.fingerprint == f.fingerprint
        && visible::label(&s.server) == f.server
        && s.tool.as_deref().is_none_or(|t| Some(visible::label(t)) == f.tool().map(str::to_owned))
        && s.pointer.as_deref().is_none_or(|p| visible::escape(p) == f.pointer)
}
