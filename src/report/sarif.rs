//! SARIF 2.1.0 (what GitHub code scanning and most CI dashboards read): one run, the
//! rules the findings use with their help text, one result per finding located at
//! its registry file and line when there is one, else at `server/tool`.

use serde::Serialize;

use super::Report;
use crate::finding::{Finding, Rule, Severity};
use crate::item::Kind;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF log, pretty-printed with a trailing newline.
pub fn render(report: &Report<'_>) -> Result<String, serde_json::Error> {
    let mut used: Vec<&str> = report.findings().iter().map(|j| j.finding.rule).collect();
    used.sort_unstable();
    used.dedup();
    let rules = used.iter().map(|&id| rule(report.rule(id), id)).collect();
    let results = report
        .findings()
        .iter()
        .map(|judged| {
            let index = used.binary_search(&judged.finding.rule).unwrap_or_default();
            result(&judged.finding, judged.fails, index)
        })
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "toolreg",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            automation_details: AutomationDetails { id: format!("toolreg/{}/", report.command.as_str()) },
            results,
        }],
    };
    // Through a `Value`: members come out sorted, so the log's layout does not hang
    // on the order of struct fields.
    let mut text = serde_json::to_string_pretty(&serde_json::to_value(&log)?)?;
    text.push('\n');
    Ok(text)
}

// The wire types: SARIF 2.1.0 as toolreg writes it, apart from the internal model.

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    automation_details: AutomationDetails,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    short_description: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_configuration: Option<Configuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<RuleProperties>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: [&'static str; 2],
    /// GitHub ranks alerts by this (0.0–10.0).
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [SarifLocation; 1],
    partial_fingerprints: Fingerprints<'a>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    logical_locations: [LogicalLocation; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Fingerprints<'a> {
    #[serde(rename = "toolreg/v1")]
    toolreg_v1: &'a str,
}

/// toolreg's own result properties (a property bag: SARIF lets tools add members).
#[derive(Serialize)]
struct ResultProperties<'a> {
    severity: &'static str,
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pointer: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    evidence: &'a str,
}

fn rule(rule: Option<&'static Rule>, id: &'static str) -> ReportingDescriptor {
    let Some(rule) = rule else {
        return ReportingDescriptor {
            id,
            name: None,
            short_description: None,
            full_description: None,
            help: None,
            default_configuration: None,
            properties: None,
        };
    };
    ReportingDescriptor {
        id: rule.id,
        name: Some(rule.name),
        short_description: Some(Text { text: rule.title.to_owned() }),
        full_description: Some(Text { text: rule.title.to_owned() }),
        help: Some(Text { text: rule.help.to_owned() }),
        default_configuration: Some(Configuration { level: level(rule.severity, false) }),
        properties: Some(RuleProperties {
            tags: ["security", "mcp"],
            security_severity: security_severity(rule.severity),
        }),
    }
}

fn result(finding: &Finding, fails: bool, rule_index: usize) -> SarifResult<'_> {
    let name = match &finding.item_label() {
        Some(item) => format!("{}/{}", finding.server, item),
        None => finding.server.clone(),
    };
    let qualified =
        if finding.pointer.is_empty() { name.clone() } else { format!("{name}#{}", finding.pointer) };
    let physical = finding.location.as_ref().map(|place| PhysicalLocation {
        artifact_location: ArtifactLocation { uri: artifact_uri(&place.path), uri_base_id: "%SRCROOT%" },
        region: place.line.map(|start_line| Region { start_line }),
    });
    SarifResult {
        rule_id: finding.rule,
        rule_index,
        level: level(finding.severity, fails),
        message: Text { text: format!("{name}: {}", finding.message) },
        locations: [SarifLocation {
            physical_location: physical,
            logical_locations: [LogicalLocation { fully_qualified_name: qualified, kind: "object" }],
        }],
        partial_fingerprints: Fingerprints { toolreg_v1: &finding.fingerprint },
        properties: ResultProperties {
            severity: finding.severity.as_str(),
            server: &finding.server,
            tool: finding.tool(),
            kind: finding.kind,
            item: finding.item.as_deref(),
            pointer: &finding.pointer,
            evidence: &finding.evidence,
        },
    }
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
