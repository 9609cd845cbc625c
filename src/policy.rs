//! Policy: which findings are shown and which fail the run. Detectors decide what a
//! finding is; only this module decides what it means for the exit code.

use crate::config::Suppression;
use crate::finding::{Counts, Finding, Locate, Rule, RuleClass, Severity};
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

/// A finding as the policy judged it.
#[derive(Debug)]
pub struct Judged {
    pub finding: Finding,
    /// Whether it fails the run.
    pub fails: bool,
}

/// What the policy made of a run's findings: those shown, each judged; what
/// was not shown; and whether the run passes.
#[derive(Debug)]
pub struct Verdict {
    pub findings: Vec<Judged>,
    /// Detections below the display threshold, per severity.
    pub hidden: Counts,
    /// Findings a suppression in toolreg.toml accepted.
    pub suppressed: usize,
    pub fail_on: Severity,
    pub passed: bool,
}

impl Policy {
    /// The one decision every reporting command defers to. A change-control finding
    /// (drift, an unapproved or blocked pin, a broken registry file, a stale lock or
    /// suppression, an unapproved change in a pull request) is always shown and always
    /// fails; a detection is shown from `min-severity` and fails from `fail-on`.
    /// Whatever fails is shown, so a failing run never comes with an empty report.
    /// Findings keep the order they came in: the command's.
    pub fn judge(&self, findings: Vec<Finding>, suppressed: usize) -> Verdict {
        let floor = self.min_severity.min(self.fail_on);
        let mut hidden = Counts::default();
        let mut judged = Vec::with_capacity(findings.len());
        for finding in findings {
            let fails = match finding.class {
                RuleClass::Control => true,
                RuleClass::Detection if finding.severity < floor => {
                    hidden.add(finding.severity);
                    continue;
                }
                RuleClass::Detection => finding.severity >= self.fail_on,
            };
            judged.push(Judged { finding, fails });
        }
        let passed = !judged.iter().any(|j| j.fails);
        Verdict { findings: judged, hidden, suppressed, fail_on: self.fail_on, passed }
    }
}

/// Whether approving the item `finding` is about takes the reviewer's explicit
/// acceptance (`--accept RULE --reason …`): a detection at or above `fail_on`. Change
/// classes are what a review decides on, not a reason to refuse it.
pub fn needs_acceptance(finding: &Finding, fail_on: Severity) -> bool {
    finding.class == RuleClass::Detection && finding.severity >= fail_on
}

/// A suppression in `toolreg.toml` that matched nothing.
pub const UNUSED_SUPPRESSION: Rule = Rule {
    id: "SUP001",
    name: "unused-suppression",
    title: "A suppression that matched no finding",
    severity: Severity::Medium,
    class: RuleClass::Control,
    help: "A suppression in toolreg.toml that matched no finding: the content changed, or the finding is gone. Remove it or re-review.",
};

/// A suppression past its `expires` date.
pub const EXPIRED_SUPPRESSION: Rule = Rule {
    id: "SUP002",
    name: "expired-suppression",
    title: "A suppression past its expiry date",
    severity: Severity::Medium,
    class: RuleClass::Control,
    help: "A suppression past its expiry date no longer applies: re-review the finding and renew or remove the suppression.",
};

pub const RULES: [&Rule; 2] = [&UNUSED_SUPPRESSION, &EXPIRED_SUPPRESSION];

/// Findings after suppressions, and how many were suppressed.
#[derive(Debug)]
pub struct Suppressed {
    pub findings: Vec<Finding>,
    pub suppressed: usize,
}

/// Removes the findings `suppressions` accept. When `audited` names the servers the
/// run scanned whole, a suppression that matches nothing in one of them, or that has
/// expired, becomes a finding itself: policy that no longer applies is reported, not
/// silently kept. `None` (`diff`, `review`: one catalog's drift) applies without auditing.
pub fn apply_suppressions(
    findings: Vec<Finding>,
    suppressions: &[Suppression],
    audited: Option<&[String]>,
    today: i64,
    places: &dyn Locate,
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
    let Some(scanned_servers) = audited else {
        return Suppressed { findings: kept, suppressed };
    };
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
        let item = s.tool.as_deref().map(ItemRef::tool);
        kept.push(
            Finding::of(rule)
                .about(&s.server, item.as_ref())
                .pointer(s.pointer.as_deref().unwrap_or_default())
                .message(message)
                .evidence(&s.fingerprint)
                .at(places.config(&s.fingerprint))
                .build(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::TOOL_ADDED;
    use crate::item::ItemRef;

    fn detection(severity: Severity) -> Finding {
        Finding::of(&crate::detect::unicode::TAGS).severity(severity).about("s", None).build()
    }

    #[test]
    fn change_control_always_fails_and_detections_by_threshold() {
        let policy = Policy { min_severity: Severity::Medium, fail_on: Severity::High };
        let item = ItemRef::tool("t");
        // A change-control finding below every threshold still shows and fails.
        let added = Finding::of(&TOOL_ADDED).severity(Severity::Info).about("s", Some(&item)).build();
        let verdict = policy.judge(vec![added], 0);
        assert_eq!(verdict.findings.len(), 1);
        assert!(verdict.findings[0].fails && !verdict.passed);

        let verdict = policy
            .judge(vec![detection(Severity::Low), detection(Severity::Medium), detection(Severity::High)], 2);
        let fates: Vec<(Severity, bool)> =
            verdict.findings.iter().map(|j| (j.finding.severity, j.fails)).collect();
        assert_eq!(fates, [(Severity::Medium, false), (Severity::High, true)]);
        assert_eq!(verdict.hidden.low, 1);
        assert_eq!(verdict.suppressed, 2);
        assert!(!verdict.passed);
        assert!(policy.judge(vec![detection(Severity::Medium)], 0).passed);
    }

    #[test]
    fn a_floor_above_fail_on_still_shows_what_fails() {
        let policy = Policy { min_severity: Severity::Critical, fail_on: Severity::Medium };
        let verdict = policy.judge(vec![detection(Severity::Medium)], 0);
        assert_eq!(verdict.findings.len(), 1);
        assert!(!verdict.passed);
    }

    #[test]
    fn acceptance_is_needed_for_detections_at_fail_on_only() {
        let added = Finding::of(&TOOL_ADDED).about("s", None).build();
        assert!(!needs_acceptance(&added, Severity::Info));
        assert!(needs_acceptance(&detection(Severity::High), Severity::High));
        assert!(!needs_acceptance(&detection(Severity::Medium), Severity::High));
    }
}
