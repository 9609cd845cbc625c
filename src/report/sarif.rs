//! SARIF 2.1.0 (what GitHub code scanning and most CI dashboards read): one run, the
//! rules the findings use with their help text, one result per finding located at
//! its registry file and line when there is one, else at `server/tool`.

use serde_json::{json, Map, Value};

use super::Report;
use crate::finding::{Finding, Rule, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF log, pretty-printed with a trailing newline.
pub fn render(report: &Report<'_>) -> Result<String, serde_json::Error> {
    let mut used: Vec<&str> = report.findings.iter().map(|s| s.finding.rule).collect();
    used.sort_unstable();
    used.dedup();
    let rules: Vec<Value> = used.iter().map(|id| rule(report.rule(id), id)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|shown| {
            let index = used.binary_search(&shown.finding.rule).unwrap_or_default();
            result(shown.finding, shown.fails, index)
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "toolreg",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": {"id": format!("toolreg/{}/", report.command)},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log)?;
    text.push('\n');
    Ok(text)
}

fn rule(rule: Option<&Rule>, id: &str) -> Value {
    let Some(rule) = rule else {
        return json!({"id": id});
    };
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.title},
        "help": {"text": rule.help},
        "defaultConfiguration": {"level": level(rule.severity, false)},
        "properties": {
            "tags": ["security", "mcp"],
            // GitHub ranks alerts by this (0.0–10.0).
            "security-severity": security_severity(rule.severity),
        },
    })
}

fn result(finding: &Finding, fails: bool, rule_index: usize) -> Value {
    let name = match &finding.item_label() {
        Some(tool) => format!("{}/{}", finding.server, tool),
        None => finding.server.clone(),
    };
    let qualified =
        if finding.pointer.is_empty() { name.clone() } else { format!("{name}#{}", finding.pointer) };
    let logical = json!({"fullyQualifiedName": qualified, "kind": "object"});
    let mut location = Map::new();
    if let Some(place) = &finding.location {
        let uri = artifact_uri(&place.path);
        let mut physical = json!({"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}});
        if let Some(line) = place.line {
            physical["region"] = json!({"startLine": line});
        }
        location.insert("physicalLocation".into(), physical);
    }
    location.insert("logicalLocations".into(), json!([logical]));
    let mut properties = json!({"severity": finding.severity.as_str(), "server": finding.server});
    if let Some(tool) = finding.tool() {
        properties["tool"] = json!(tool);
    }
    properties["kind"] = json!(finding.kind);
    if let Some(item) = &finding.item {
        properties["item"] = json!(item);
    }
    if !finding.pointer.is_empty() {
        properties["pointer"] = json!(finding.pointer);
    }
    if !finding.evidence.is_empty() {
        properties["evidence"] = json!(finding.evidence);
    }
    json!({
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": level(finding.severity, fails),
        "message": {"text": format!("{name}: {}", finding.message)},
        "locations": [Value::Object(location)],
        "partialFingerprints": {"toolreg/v1": finding.fingerprint},
        "properties": properties,
    })
}

/// A location as SARIF wants it: a relative URI reference, resolved against the
/// `%SRCROOT%` base (the directory toolreg ran in: the checkout, in CI). An absolute
/// path is made relative to it (`../` where needed): absolute URIs name the machine's
/// own folders, which no dashboard can map to the repository.
fn artifact_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let relative = if path.starts_with('/') || path.get(1..3) == Some(":/") {
        let cwd = std::env::current_dir().ok().and_then(|c| c.canonicalize().ok());
        cwd.map(|cwd| relative_to(&cwd.to_string_lossy().replace('\\', "/"), &path)).unwrap_or(path)
    } else {
        path
    };
    percent_encode(&relative)
}

/// `path` from `base` (both absolute, `/`-separated).
fn relative_to(base: &str, path: &str) -> String {
    let base: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    let target: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut parts = vec![".."; base.len() - common];
    parts.extend(&target[common..]);
    parts.join("/")
}

/// RFC 3986: everything but unreserved characters and `/` is percent-encoded.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `error` for what fails the run; below that, by severity.
fn level(severity: Severity, fails: bool) -> &'static str {
    match severity {
        _ if fails => "error",
        Severity::Critical | Severity::High | Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(relative_to("/work/repo", "/work/repo/registry/a.json"), "registry/a.json");
        assert_eq!(relative_to("/work/repo", "/tmp/x y.json"), "../../tmp/x y.json");
        assert_eq!(
            percent_encode("servers/a b/\u{27E8}U+001B\u{27E9}.json"),
            "servers/a%20b/%E2%9F%A8U%2B001B%E2%9F%A9.json"
        );
        assert!(!artifact_uri("/etc/passwd").starts_with('/'));
    }
}
