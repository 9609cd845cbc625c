//! The human report of `toolreg verify`: the server, then each difference from the lock.

use std::fmt::Write as _;

use super::human::{write_finding, Style};
use super::Report;

pub fn human(report: &Report<'_>, style: Style) -> String {
    // `server` is the command's own member, already made visible.
    let server = report.extra.get("server").and_then(|s| s.as_str()).unwrap_or("(server)");
    let findings = report.findings();
    if findings.is_empty() {
        return format!(
            "{server}: {} tool(s) match toolreg.lock, and so does everything else served.\n",
            report.tools
        );
    }
    let mut out =
        format!("{}: {} difference(s) from toolreg.lock\n", style.paint("1", server), findings.len());
    for judged in findings {
        write_finding(&mut out, &judged.finding, style);
    }
    let _ = writeln!(out, "{}: the host must not start this server as it is.", style.paint("1;31", "FAIL"));
    out
}
