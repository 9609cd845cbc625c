//! The human report of `toolreg discover`: every configured server with its standing
//! and launch, then the findings, then the verdict.

use std::fmt::Write as _;

use serde_json::Value;

use super::human::{write_finding, Style};
use super::Report;

pub fn human(report: &Report<'_>, style: Style) -> String {
    let mut out = String::new();
    let servers =
        report.extra.get("servers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let field = |server: &Value, key: &str| server.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    for server in servers {
        let standing = server.get("standing").and_then(Value::as_str).unwrap_or("-");
        let color = match standing {
            "registered" => "32",
            "shadow" | "differs" | "disabled" => "1;31",
            _ => "2",
        };
        let launch = match server.get("command").and_then(Value::as_str) {
            Some(command) => {
                let args: Vec<&str> = server
                    .get("args")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                std::iter::once(command).chain(args).collect::<Vec<_>>().join(" ")
            }
            None => field(server, "url"),
        };
        let off = if server.get("disabled").and_then(Value::as_bool) == Some(true) {
            " (off in the client)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{} {:<14} {}{off}  {}",
            style.paint(color, &format!("{standing:<10}")),
            field(server, "client"),
            style.paint("1", &field(server, "name")),
            style.paint("2", &launch)
        );
        let line = server.get("line").and_then(Value::as_u64).map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(out, "           {}{line}  {}", field(server, "file"), field(server, "pointer"));
    }
    if servers.is_empty() {
        out.push_str("No MCP server is configured in the files read.\n");
    }
    let findings = report.findings();
    if !findings.is_empty() {
        out.push('\n');
    }
    let mut current: Option<&str> = None;
    for judged in findings {
        let finding = &judged.finding;
        if current != Some(finding.server.as_str()) {
            let _ = writeln!(out, "{}", style.paint("1", &finding.server));
            current = Some(&finding.server);
        }
        write_finding(&mut out, finding, style);
        if let Some(location) = &finding.location {
            let line = location.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(out, "      at {}{line}", location.path);
        }
    }
    let count =
        |s: &str| servers.iter().filter(|v| v.get("standing").and_then(Value::as_str) == Some(s)).count();
    let standings = if servers.iter().any(|v| v.get("standing").is_some_and(|s| !s.is_null())) {
        format!(
            ": {} registered, {} differ, {} disabled, {} shadow",
            count("registered"),
            count("differs"),
            count("disabled"),
            count("shadow")
        )
    } else {
        " (no registry here: not classified)".to_owned()
    };
    let _ = writeln!(out, "\nFound {} configured server(s){standings}.", servers.len());
    let verdict = if report.passed() { style.paint("1;32", "PASS") } else { style.paint("1;31", "FAIL") };
    let _ = writeln!(out, "{verdict}: {} finding(s) fail the run.", report.failing());
    out
}
