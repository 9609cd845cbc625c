//! The human report: findings grouped by server and tool, colour only when asked for.
//! Every string in a finding is already made visible; this module adds no raw text.

use std::fmt::Write as _;

use super::Report;
use crate::finding::{Counts, Finding, RuleClass, Severity};

/// Colour or not; decided by the caller (terminal detection, `--color`, `NO_COLOR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub(crate) fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn severity(self, severity: Severity) -> String {
        let code = match severity {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, &format!("{:<8}", severity.as_str()))
    }
}

/// Renders the scan report.
pub fn render(report: &Report<'_>, style: Style) -> String {
    let mut out = String::new();
    let mut server: Option<&str> = None;
    let mut tool: Option<Option<String>> = None;
    for judged in report.findings() {
        let finding = &judged.finding;
        if server != Some(finding.server.as_str()) {
            if server.is_some() {
                out.push('\n');
            }
            server = Some(&finding.server);
            tool = None;
            let _ = writeln!(out, "{}", style.paint("1", &finding.server));
        }
        let item = finding.item_label();
        if tool.as_ref() != Some(&item) {
            let label = item.clone().unwrap_or_else(|| "(server header)".to_owned());
            tool = Some(item);
            let _ = writeln!(out, "  {}", style.paint("1", &label));
        }
        write_finding(&mut out, finding, style);
    }
    if !report.findings().is_empty() {
        out.push('\n');
    }
    write_summary(&mut out, report, style);
    out
}

pub(crate) fn write_finding(out: &mut String, f: &Finding, style: Style) {
    let place = match f.span {
        Some([start, end]) => format!("{} chars {start}..{end}", f.pointer),
        None => f.pointer.clone(),
    };
    let place = if place.is_empty() { String::new() } else { format!("  {}", style.paint("2", &place)) };
    let _ = writeln!(out, "    {} {} {}{place}", style.severity(f.severity), f.rule, f.name);
    let _ = writeln!(out, "             {}", f.message);
    let _ = writeln!(out, "             evidence: {}", f.evidence);
    if let Some(decoded) = &f.decoded {
        let _ = writeln!(out, "             decoded:  {decoded}");
    }
}

fn write_summary(out: &mut String, report: &Report<'_>, style: Style) {
    let verdict = &report.verdict;
    let counts = Counts::of(report.findings().iter().map(|j| &j.finding));
    let listed: Vec<String> = Severity::DESCENDING
        .iter()
        .filter(|&&s| counts.get(s) > 0)
        .map(|&s| format!("{} {s}", counts.get(s)))
        .collect();
    let found = if listed.is_empty() { "no findings shown".to_owned() } else { listed.join(", ") };
    let hidden: usize = Severity::DESCENDING.iter().map(|&s| verdict.hidden.get(s)).sum();
    let mut hidden_note =
        if hidden > 0 { format!("; {hidden} below --min-severity not shown") } else { String::new() };
    if verdict.suppressed > 0 {
        hidden_note.push_str(&format!("; {} suppressed by toolreg.toml", verdict.suppressed));
    }
    let _ = writeln!(
        out,
        "Scanned {} server(s), {} tool(s): {found}{hidden_note}.",
        report.servers, report.tools
    );
    let result = if verdict.passed { style.paint("1;32", "PASS") } else { style.paint("1;31", "FAIL") };
    let failing = |class| report.findings().iter().filter(|j| j.fails && j.finding.class == class).count();
    let controls = match failing(RuleClass::Control) {
        0 => String::new(),
        n => format!(", and {n} change-control finding(s) (stale suppressions)"),
    };
    let _ = writeln!(
        out,
        "{result}: {} finding(s) at or above --fail-on {}{controls}.",
        failing(RuleClass::Detection),
        verdict.fail_on
    );
}
