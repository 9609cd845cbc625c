//! The human report of `toolreg check`: every finding grouped by server and tool
//! (those that fail the gate marked), then the verdict.

use std::fmt::Write as _;

use super::human::{write_finding, Style};
use super::Report;

pub fn human(report: &Report<'_>, style: Style) -> String {
    let mut out = String::new();
    let mut place: Option<(&str, Option<String>)> = None;
    for judged in report.findings() {
        let finding = &judged.finding;
        let here = (finding.server.as_str(), finding.item_label());
        if place.as_ref().map(|p| p.0) != Some(here.0) {
            if place.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", style.paint("1", here.0));
            place = None;
        }
        if place.as_ref() != Some(&here) {
            let label = here.1.clone().unwrap_or_else(|| "(server)".to_owned());
            let _ = writeln!(out, "  {}", style.paint("1", &label));
            place = Some(here);
        }
        write_finding(&mut out, finding, style);
        if let Some(location) = &finding.location {
            let line = location.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(out, "      at {}{line}", location.path);
        }
    }
    if !report.findings().is_empty() {
        out.push('\n');
    }
    let failing = report.failing();
    let others = report.findings().len() - failing;
    let others =
        if others > 0 { format!(" ({others} more finding(s) below fail-on)") } else { String::new() };
    let _ = write!(out, "Checked {} server(s), {} tool(s): ", report.servers, report.tools);
    if report.passed() {
        let _ = writeln!(
            out,
            "{}: every catalog matches its approved pins{others}.",
            style.paint("1;32", "PASS")
        );
    } else {
        let _ = writeln!(out, "{}: {failing} problem(s){others}.", style.paint("1;31", "FAIL"));
    }
    out
}
