//! The JSON report, v1 (design §6). Scripts depend on this shape: change it only by
//! adding fields, or by a new version.

use serde::Serialize;

use super::ScanReport;
use crate::finding::{Counts, Finding};

#[derive(Serialize)]
struct ReportV1<'a> {
    version: u32,
    tool: &'static str,
    #[serde(rename = "toolVersion")]
    tool_version: &'static str,
    findings: &'a [&'a Finding],
    drift: Vec<DriftV1>,
    summary: SummaryV1,
}

/// One drifted tool (filled by `diff` and `check`; empty for `scan`).
#[derive(Serialize)]
pub struct DriftV1 {
    pub server: String,
    pub tool: String,
    pub change: &'static str,
    pub fields: Vec<String>,
}

#[derive(Serialize)]
struct SummaryV1 {
    servers: usize,
    tools: usize,
    findings: Counts,
}

/// The v1 document for a scan, pretty-printed with a trailing newline.
pub fn render(report: &ScanReport<'_>) -> Result<String, serde_json::Error> {
    let doc = ReportV1 {
        version: 1,
        tool: "toolreg",
        tool_version: env!("CARGO_PKG_VERSION"),
        findings: &report.findings,
        drift: Vec::new(),
        summary: SummaryV1 {
            servers: report.servers,
            tools: report.tools,
            findings: Counts::of(report.findings.iter().copied()),
        },
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
