//! GitHub Actions workflow commands: one annotation per finding, on its file and line
//! when there is one. Every value is escaped so that tool text cannot end the command
//! and start another (`::add-mask::`, `::error::` behind a newline, `%0A`).

use std::fmt::Write as _;

use super::Report;
use crate::finding::Severity;

/// The annotations, then one plain summary line.
pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    for shown in report.findings() {
        let finding = &shown.finding;
        let command = match finding.severity {
            _ if shown.fails => "error",
            Severity::Critical | Severity::High | Severity::Medium => "warning",
            Severity::Low | Severity::Info => "notice",
        };
        let mut properties = Vec::new();
        if let Some(place) = &finding.location {
            properties.push(format!("file={}", property(&place.path)));
            if let Some(line) = place.line {
                properties.push(format!("line={line}"));
            }
        }
        properties.push(format!("title={}", property(&format!("{} {}", finding.rule, finding.name))));
        let subject = match &finding.item_label() {
            Some(tool) => format!("{}/{}", finding.server, tool),
            None => finding.server.clone(),
        };
        let pointer =
            if finding.pointer.is_empty() { String::new() } else { format!(" {}", finding.pointer) };
        let mut message = format!("{subject}{pointer}: {} [{}]", finding.message, finding.severity);
        if !finding.evidence.is_empty() && !finding.evidence.starts_with("sha256:") {
            message.push_str("\nevidence: ");
            message.push_str(&finding.evidence);
        }
        let _ = writeln!(out, "::{command} {}::{}", properties.join(","), data(&message));
    }
    let failing = report.failing();
    let _ = writeln!(
        out,
        "toolreg {}: {} — {} server(s), {} tool(s), {} finding(s), {failing} failing",
        report.command.as_str(),
        if report.passed() { "PASS" } else { "FAIL" },
        report.servers,
        report.tools,
        report.findings().len()
    );
    out
}

/// The message part of a workflow command.
pub fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which end a property.
pub fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_would_end_a_command() {
        assert_eq!(data("a%0A::error::x\r\n::add-mask::y"), "a%250A::error::x%0D%0A::add-mask::y");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
