//! The JSON report, v1 (design §6). Scripts depend on this shape: change it only by
//! adding fields, or by a new version.

use serde::Serialize;

use super::diff::DriftEntry;
use super::ScanReport;
use crate::finding::{Counts, Finding};

#[derive(Serialize)]
struct ReportV1<'a> {
    version: u32,
    tool: &'static str,
    #[serde(rename = "toolVersion")]
    tool_version: &'static str,
    findings: &'a [&'a Finding],
    /// Drifted items (filled by `diff` and `check`; empty for `scan`).
    drift: &'a [DriftEntry],
    summary: SummaryV1,
}

#[derive(Serialize)]
struct SummaryV1 {
    servers: usize,
    tools: usize,
    findings: Counts,
}

/// The v1 document for a scan, pretty-printed with a trailing newline.
pub fn render(report: &ScanReport<'_>) -> Result<String, serde_json::Error> {
    document(&report.findings, &[], report.servers, report.tools)
}

/// The v1 document: findings, drift, and the size of what was checked.
pub fn document(
    findings: &[&Finding],
    drift: &[DriftEntry],
    servers: usize,
    tools: usize,
) -> Result<String, serde_json::Error> {
    let doc = ReportV1 {
        version: 1,
        tool: "toolreg",
        tool_version: env!("CARGO_PKG_VERSION"),
        findings,
        drift,
        summary: SummaryV1 { servers, tools, findings: Counts::of(findings.iter().copied()) },
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
