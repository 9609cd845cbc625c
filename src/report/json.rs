//! The JSON report, v1 (design §6). Scripts depend on this shape: change it only by
//! adding fields, or by a new version.

use serde::Serialize;

use super::diff::DriftEntry;
use super::Report;
use crate::finding::{Counts, Finding, Location, Severity};
use crate::item::Kind;

#[derive(Serialize)]
struct ReportV1<'a> {
    version: u32,
    tool: &'static str,
    #[serde(rename = "toolVersion")]
    tool_version: &'static str,
    findings: Vec<FindingV1<'a>>,
    /// Drifted items (filled by `diff` and `check`; empty for `scan`).
    drift: &'a [DriftEntry],
    summary: SummaryV1,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct SummaryV1 {
    servers: usize,
    tools: usize,
    findings: Counts,
}

/// A finding as v1 writes it. `kind` and `item` were added beside `tool` when items
/// other than tools came in: `tool` names a tool only (as before), `item` any item.
#[derive(Serialize)]
pub struct FindingV1<'a> {
    pub rule: &'a str,
    pub name: &'a str,
    pub severity: Severity,
    pub server: &'a str,
    pub tool: Option<&'a str>,
    pub kind: Kind,
    pub item: Option<&'a str>,
    pub pointer: &'a str,
    pub span: Option<[usize; 2]>,
    pub message: &'a str,
    pub evidence: &'a str,
    pub decoded: Option<&'a str>,
    pub fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<&'a Location>,
}

impl<'a> From<&'a Finding> for FindingV1<'a> {
    fn from(f: &'a Finding) -> FindingV1<'a> {
        FindingV1 {
            rule: f.rule,
            name: f.name,
            severity: f.severity,
            server: &f.server,
            tool: f.tool(),
            kind: f.kind,
            item: f.item.as_deref(),
            pointer: &f.pointer,
            span: f.span,
            message: &f.message,
            evidence: &f.evidence,
            decoded: f.decoded.as_deref(),
            fingerprint: &f.fingerprint,
            location: f.location.as_ref(),
        }
    }
}

/// The v1 document of any report, pretty-printed with a trailing newline: the shown
/// findings, the drift, the size of what was checked, and the command's own members
/// (`verify` adds `server`, `ok`, `mismatches`). v1 changes only by adding.
pub fn render(report: &Report<'_>) -> Result<String, serde_json::Error> {
    let findings: Vec<&Finding> = report.findings().iter().map(|j| &j.finding).collect();
    let drift: Vec<DriftEntry> = report.drift.iter().flat_map(super::diff::json_entries).collect();
    let doc = ReportV1 {
        extra: report.extra.clone(),
        version: 1,
        tool: "toolreg",
        tool_version: env!("CARGO_PKG_VERSION"),
        findings: findings.iter().map(|f| FindingV1::from(*f)).collect(),
        drift: &drift,
        summary: SummaryV1 {
            servers: report.servers,
            tools: report.tools,
            findings: Counts::of(findings.iter().copied()),
        },
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
