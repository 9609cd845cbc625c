//! A guard audit log as people read it: a summary (decisions, denials per item and
//! client, repeated ones first) for a terminal, every line as CSV for a spreadsheet.
//! Every string is attacker-influenced (item and client names): escaped here.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::audit::Summary;
use crate::visible::escape;

/// The CSV columns: (heading, JSON pointer into a line).
const COLUMNS: [(&str, &str); 25] = [
    ("seq", "/seq"),
    ("time", "/time"),
    ("correlation", "/correlation"),
    ("session", "/session"),
    ("event", "/event"),
    ("user", "/user"),
    ("tenant", "/tenant"),
    ("client", "/client/name"),
    ("client version", "/client/version"),
    ("server", "/server"),
    ("kind", "/kind"),
    ("item", "/tool"),
    ("digest", "/digest"),
    ("registry commit", "/registryCommit"),
    ("rule", "/rule"),
    ("decision", "/decision"),
    ("approval", "/approval"),
    ("outcome", "/outcome"),
    ("reason", "/reason"),
    ("latency ms", "/latencyMs"),
    ("call ms", "/callMs"),
    ("arguments sha256", "/arguments/sha256"),
    ("arguments bytes", "/arguments/bytes"),
    ("result sha256", "/result/sha256"),
    ("result bytes", "/result/bytes"),
];

pub fn csv(entries: &[Map<String, Value>]) -> String {
    let mut out = COLUMNS.iter().map(|(name, _)| cell(name)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for entry in entries {
        let line = Value::Object(entry.clone());
        let cells: Vec<String> = COLUMNS
            .iter()
            .map(|(_, pointer)| match line.pointer(pointer) {
                None | Some(Value::Null) => cell(""),
                Some(Value::String(s)) => cell(&escape(s)),
                Some(other) => cell(&other.to_string()),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A quoted cell; one a spreadsheet would run as a formula starts with `'`.
fn cell(text: &str) -> String {
    let defused =
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

pub fn human(shown: &str, lines: usize, summary: &Summary) -> String {
    let mut out = format!(
        "{shown}: {lines} line(s), the chain is intact: {} decision(s), {} outcome(s)\n",
        summary.decisions, summary.outcomes
    );
    if !summary.by_decision.is_empty() {
        let counts: Vec<String> =
            summary.by_decision.iter().map(|(d, n)| format!("{n} {}", escape(d))).collect();
        let _ = writeln!(out, "  decisions: {}", counts.join(", "));
    }
    if summary.denials.is_empty() {
        out.push_str("  no denials\n");
        return out;
    }
    out.push_str("  denials (server, item, client: count, rules):\n");
    for denial in &summary.denials {
        let repeated = if denial.count > 1 { "  ← repeated" } else { "" };
        let _ = writeln!(
            out,
            "    {} {} {}: {} ({}){repeated}",
            escape(&denial.server),
            escape(&denial.item),
            escape(&denial.client),
            denial.count,
            escape(&denial.rules.join(", "))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_escaped_quoted_and_defused() {
        let entry = json!({"seq": 1, "tool": "=cmd|' /C calc'!A0", "client": {"name": "x\u{1b}[2J"}, "decision": "deny"});
        let text = csv(&[entry.as_object().cloned().unwrap_or_default()]);
        assert!(text.contains("\"'=cmd|' /C calc'!A0\""), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
