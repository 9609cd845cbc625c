//! The human report of `toolreg check`: every reason the gate fails, grouped by server
//! and tool, then the verdict.

use std::fmt::Write as _;

use super::human::{write_finding, Style};
use crate::finding::Finding;

/// Renders the gate's findings; any finding fails the gate.
pub fn human(findings: &[&Finding], servers: usize, tools: usize, style: Style) -> String {
    let mut out = String::new();
    let mut place: Option<(&str, Option<&str>)> = None;
    for finding in findings {
        let here = (finding.server.as_str(), finding.tool.as_deref());
        if place.map(|p| p.0) != Some(here.0) {
            if place.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", style.paint("1", here.0));
            place = None;
        }
        if place != Some(here) {
            let label = here.1.map_or_else(|| "(server)".to_owned(), str::to_owned);
            let _ = writeln!(out, "  {}", style.paint("1", &label));
            place = Some(here);
        }
        write_finding(&mut out, finding, style);
    }
    if !findings.is_empty() {
        out.push('\n');
    }
    let _ = write!(out, "Checked {servers} server(s), {tools} tool(s): ");
    if findings.is_empty() {
        let _ = writeln!(out, "{}: every catalog matches its approved pins.", style.paint("1;32", "PASS"));
    } else {
        let _ = writeln!(out, "{}: {} problem(s).", style.paint("1;31", "FAIL"), findings.len());
    }
    out
}
