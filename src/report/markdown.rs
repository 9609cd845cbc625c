//! Markdown for pull-request comments and job summaries, from a minijinja template
//! (the built-in one, or the user's with `--template`). The template runs sandboxed:
//! no loader (no files), no environment, bounded fuel; and every value it prints is
//! escaped for markdown and HTML unless the template marks it `|safe`.

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error as TemplateError, Output, State};
use serde::Serialize;

use super::diff::DriftEntry;
use super::json::FindingV1;
use super::Report;
use crate::finding::Counts;

/// The built-in template.
pub const DEFAULT_TEMPLATE: &str = include_str!("report.md.j2");

/// What a template sees (documented in the README; add fields, never rename).
#[derive(Serialize)]
struct Context<'a> {
    command: &'a str,
    passed: bool,
    failing: usize,
    summary: Summary,
    findings: Vec<ShownFinding<'a>>,
    drift: Vec<DriftEntry>,
}

#[derive(Serialize)]
struct Summary {
    servers: usize,
    tools: usize,
    findings: Counts,
}

#[derive(Serialize)]
struct ShownFinding<'a> {
    #[serde(flatten)]
    finding: FindingV1<'a>,
    fails: bool,
}

/// Renders `report` with `template` (the built-in one when `None`). A broken template
/// is an error naming the line.
pub fn render(report: &Report<'_>, template: Option<&str>) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Custom("markdown"));
    env.set_formatter(escape_formatter);
    // A template cannot loop forever or build huge strings: it runs out of fuel.
    env.set_fuel(Some(50_000_000));
    env.set_recursion_limit(64);
    env.add_template("report", template.unwrap_or(DEFAULT_TEMPLATE)).map_err(describe)?;
    let context = Context {
        command: report.command.as_str(),
        passed: report.passed(),
        failing: report.failing(),
        summary: Summary {
            servers: report.servers,
            tools: report.tools,
            findings: Counts::of(report.findings().iter().map(|s| &s.finding)),
        },
        findings: report
            .findings()
            .iter()
            .map(|s| ShownFinding { finding: FindingV1::from(&s.finding), fails: s.fails })
            .collect(),
        drift: report.drift.iter().flat_map(super::diff::json_entries).collect(),
    };
    let template = env.get_template("report").map_err(describe)?;
    let mut text = template.render(&context).map_err(describe)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn describe(error: TemplateError) -> String {
    match error.line() {
        Some(line) => format!("template line {line}: {}", error.kind()),
        None => format!("template: {error}"),
    }
}

/// Every printed value passes through here: `|safe` values as they are, the rest
/// escaped.
fn escape_formatter(
    out: &mut Output<'_>,
    _state: &State<'_, '_>,
    value: &Value,
) -> Result<(), TemplateError> {
    let text = if value.is_safe() || value.is_none() {
        if value.is_none() {
            String::new()
        } else {
            value.to_string()
        }
    } else {
        escape(&value.to_string())
    };
    out.write_str(&text).map_err(|e| TemplateError::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// Markdown- and HTML-safe text: punctuation that markdown reads is backslash-escaped,
/// `<`, `>`, `&` and `"` become entities, line breaks become spaces (a table row stays
/// one row), and `@` cannot mention anyone.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("@&#8203;"),
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.' | '!'
            | '|' | '~' | ':' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_html_and_mentions() {
        assert_eq!(
            escape("<img src=x onerror=alert(1)> **bold** [a](http://e) @team | x\ny"),
            "&lt;img src=x onerror=alert\\(1\\)&gt; \\*\\*bold\\*\\* \\[a\\]\\(http\\://e\\) @&#8203;team \\| x y"
        );
    }
}
