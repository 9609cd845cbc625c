//! The drift report: pins vs a catalog, tool by tool, text as a word diff with hidden
//! characters made visible, schemas by pointer. Human and JSON.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::human::{write_finding, Style};
use super::Report;
use crate::drift::{Change, Drift, FieldChange, Item};
use crate::finding::Finding;
use crate::item::{ItemRef, Kind};
use crate::visible;

/// The human drift report: per server, each drifted item with its findings and its
/// changes, then the verdict.
pub fn human(report: &Report<'_>, style: Style) -> String {
    let findings: Vec<&Finding> = report.findings().iter().map(|j| &j.finding).collect();
    let mut out = String::new();
    for drift in report.drift {
        let ours: Vec<&Finding> =
            findings.iter().copied().filter(|f| f.server == visible::label(&drift.server)).collect();
        write_drift(&mut out, drift, &ours, style);
    }
    out
}

fn write_drift(out: &mut String, drift: &Drift, findings: &[&Finding], style: Style) {
    let count = |c: Change| drift.items.iter().filter(|t| t.change == c).count();
    let _ = writeln!(
        out,
        "{}: {} changed, {} added, {} removed{}",
        style.paint("1", &visible::escape(&drift.server)),
        count(Change::Changed),
        count(Change::Added),
        count(Change::Removed),
        if drift.header.is_some() { ", server header differs" } else { "" }
    );
    for item in drift.header.iter().chain(&drift.items) {
        out.push('\n');
        write_item(out, item, findings, style);
    }
    for item in &drift.ignored {
        let name = item.item.as_ref().map_or_else(|| "(server header)".to_owned(), ItemRef::label);
        out.push('\n');
        let what = "same as pinned but for what its [digest] policy leaves out";
        let _ = writeln!(
            out,
            "{} {}  {}",
            style.paint("2", "="),
            style.paint("1", &name),
            style.paint("2", what)
        );
        write_ignored(out, &item.ignored, style);
    }
    // Server-level findings with no header item to sit under (PIN007, say).
    let loose: Vec<&&Finding> =
        findings.iter().filter(|f| f.item.is_none() && drift.header.is_none()).collect();
    if !loose.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "  {}", style.paint("1", "(server)"));
        for finding in loose {
            write_finding(out, finding, style);
        }
    }
    out.push('\n');
    if drift.is_empty() {
        let _ = writeln!(out, "{}: the catalog matches the pins.", style.paint("1;32", "NO DRIFT"));
    } else {
        let _ = writeln!(
            out,
            "{}: {} item(s) differ from the pins; `toolreg review {}` to review them.",
            style.paint("1;31", "DRIFT"),
            drift.items.len() + usize::from(drift.header.is_some()),
            visible::escape(&drift.server)
        );
    }
}

/// One item: its heading, its findings, then its field changes.
pub fn write_item(out: &mut String, item: &Item, findings: &[&Finding], style: Style) {
    let name = item.item.as_ref().map_or_else(|| "(server header)".to_owned(), ItemRef::label);
    let short = |d: &Option<String>| d.as_deref().map_or_else(|| "-".to_owned(), short_digest);
    let (mark, color, what) = match item.change {
        Change::Added => ("+", "32", format!("new, {}", short(&item.new_digest))),
        Change::Removed => ("-", "31", format!("no longer served, was {}", short(&item.old_digest))),
        Change::Changed => ("~", "33", format!("{} → {}", short(&item.old_digest), short(&item.new_digest))),
    };
    let _ = writeln!(
        out,
        "{} {}  {}",
        style.paint(color, mark),
        style.paint("1", &name),
        style.paint("2", &what)
    );
    match &item.renamed {
        Some(rename) if rename.edits.is_empty() => {
            let from = visible::escape(&rename.from);
            let _ = writeln!(out, "    likely a rename: same content as the removed one {from}");
        }
        Some(rename) => {
            let from = visible::escape(&rename.from);
            let _ = writeln!(out, "    likely a rename of the removed {from}, edited:");
            for change in &rename.edits {
                write_change(out, change, style);
            }
        }
        None => {}
    }
    let label = item.item.as_ref().map(ItemRef::label);
    for finding in findings.iter().filter(|f| f.item_label() == label) {
        write_finding(out, finding, style);
    }
    match item.change {
        Change::Changed => {
            for change in &item.fields {
                write_change(out, change, style);
            }
            write_ignored(out, &item.ignored, style);
        }
        Change::Added if item.renamed.as_ref().is_some_and(|r| !r.edits.is_empty()) => {}
        Change::Added => {
            if let Some(text) = item.new.as_ref().and_then(|v| v.get("description")).and_then(Value::as_str) {
                let _ = writeln!(out, "    /description: {}", visible::escape(text));
            }
            if let Some(text) = item.new.as_ref().and_then(|v| v.get("instructions")).and_then(Value::as_str)
            {
                let _ = writeln!(out, "    /instructions: {}", visible::escape(text));
            }
        }
        Change::Removed => {}
    }
}

/// Changes a `[digest]` policy leaves out: shown (nothing is hidden), marked ignored.
fn write_ignored(out: &mut String, changes: &[FieldChange], style: Style) {
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(out, "    {}", style.paint("2", "ignored (server.toml [digest] leaves these out):"));
    for change in changes {
        write_change(out, change, style);
    }
}

fn write_change(out: &mut String, change: &FieldChange, style: Style) {
    match change {
        FieldChange::Text { pointer, old, new } => {
            let _ = writeln!(out, "    {}:", style.paint("1", &visible::escape(pointer)));
            let _ = writeln!(out, "      {}", word_diff(old, new, style));
        }
        FieldChange::Added { pointer, value } => {
            let _ = writeln!(
                out,
                "    {} added: {}",
                visible::escape(pointer),
                style.paint("32", &compact(value))
            );
        }
        FieldChange::Removed { pointer, value } => {
            let _ = writeln!(
                out,
                "    {} removed: {}",
                visible::escape(pointer),
                style.paint("31", &compact(value))
            );
        }
        FieldChange::Value { pointer, old, new } => {
            let members = array_members(old, new);
            let _ = writeln!(
                out,
                "    {}: {} → {}{members}",
                visible::escape(pointer),
                style.paint("31", &compact(old)),
                style.paint("32", &compact(new))
            );
        }
    }
}

/// `[-old-]{+new+}` word diff of two texts, each made visible first, so an inserted
/// zero-width space shows as `⟨U+200B⟩` exactly where it is.
pub fn word_diff(old: &str, new: &str, style: Style) -> String {
    let (old, new) = (visible::escape(old), visible::escape(new));
    // Myers' diff is O((N + M) · D): fast for near-identical texts, quadratic for two
    // large unrelated ones. Past the deadline it settles for a coarser (still correct)
    // diff instead of running on.
    let diff = TextDiff::configure().timeout(WORD_DIFF_TIMEOUT).diff_words(old.as_str(), new.as_str());
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let value = change.value();
        match change.tag() {
            ChangeTag::Equal => out.push_str(value),
            ChangeTag::Delete => out.push_str(&style.paint("31", &format!("[-{value}-]"))),
            ChangeTag::Insert => out.push_str(&style.paint("32", &format!("{{+{value}+}}"))),
        }
    }
    out.replace("-][-", "").replace("+}{+", "")
}

/// How long a word diff may take before it settles for a coarser one.
const WORD_DIFF_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// For two arrays of scalars (enum, required): which members came and went. Members
/// are compared by their JSON text through a set (a member-by-member search made two
/// 10,000-member enums take 10⁸ comparisons).
fn array_members(old: &Value, new: &Value) -> String {
    let (Value::Array(a), Value::Array(b)) = (old, new) else { return String::new() };
    let set =
        |items: &[Value]| items.iter().map(Value::to_string).collect::<std::collections::HashSet<String>>();
    let (in_a, in_b) = (set(a), set(b));
    let added: Vec<String> = b.iter().filter(|v| !in_a.contains(&v.to_string())).map(compact).collect();
    let removed: Vec<String> = a.iter().filter(|v| !in_b.contains(&v.to_string())).map(compact).collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("+ {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("- {}", removed.join(", ")));
    }
    if parts.is_empty() {
        " (reordered)".to_owned()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// A value as one line of JSON, made visible, cut at 200 characters.
fn compact(value: &Value) -> String {
    let text = visible::escape(&value.to_string());
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

/// `sha256:` and the first 12 hex digits.
pub fn short_digest(digest: &str) -> String {
    format!("{}…", digest.get(..19).unwrap_or(digest))
}

/// The JSON v1 drift entries (design §6), with the details as added fields.
pub fn json_entries(drift: &Drift) -> Vec<DriftEntry> {
    drift
        .header
        .iter()
        .chain(&drift.items)
        .map(|item| DriftEntry {
            server: visible::escape(&drift.server),
            tool: item.tool().map(visible::escape),
            kind: item.item.as_ref().map_or(Kind::Server, |i| i.kind),
            item: item.item.as_ref().map(|i| visible::escape(&i.name)),
            change: match item.change {
                Change::Added => "added",
                Change::Removed => "removed",
                Change::Changed => "changed",
            },
            fields: item.fields.iter().map(|c| visible::escape(c.pointer())).collect(),
            old_digest: item.old_digest.clone(),
            new_digest: item.new_digest.clone(),
            renamed_from: item.renamed.as_ref().map(|r| visible::escape(&r.from)),
            rename_edits: item.renamed.iter().flat_map(|r| &r.edits).map(ChangeEntry::of).collect(),
            changes: item.fields.iter().map(ChangeEntry::of).collect(),
            ignored: item.ignored.iter().map(|c| visible::escape(c.pointer())).collect(),
        })
        .chain(drift.ignored.iter().map(|item| DriftEntry {
            server: visible::escape(&drift.server),
            tool: item.tool().map(visible::escape),
            kind: item.item.as_ref().map_or(Kind::Server, |i| i.kind),
            item: item.item.as_ref().map(|i| visible::escape(&i.name)),
            change: "ignored",
            fields: Vec::new(),
            old_digest: item.old_digest.clone(),
            new_digest: item.new_digest.clone(),
            renamed_from: None,
            rename_edits: Vec::new(),
            changes: Vec::new(),
            ignored: item.ignored.iter().map(|c| visible::escape(c.pointer())).collect(),
        }))
        .collect()
}

/// One drifted item (`item` null for the server header; `tool` names tools only).
#[derive(Debug, Serialize)]
pub struct DriftEntry {
    pub server: String,
    pub tool: Option<String>,
    pub kind: Kind,
    pub item: Option<String>,
    pub change: &'static str,
    pub fields: Vec<String>,
    #[serde(rename = "oldDigest")]
    pub old_digest: Option<String>,
    #[serde(rename = "newDigest")]
    pub new_digest: Option<String>,
    #[serde(rename = "renamedFrom", skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// A rename's edits besides the key (absent for an exact rename).
    #[serde(rename = "renameEdits", skip_serializing_if = "Vec::is_empty")]
    pub rename_edits: Vec<ChangeEntry>,
    pub changes: Vec<ChangeEntry>,
    /// Pointers that changed where server.toml `[digest]` looks away (not drift).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// One field change; every string inside is made visible.
#[derive(Debug, Serialize)]
pub struct ChangeEntry {
    pub pointer: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

impl ChangeEntry {
    fn of(change: &FieldChange) -> ChangeEntry {
        let (kind, old, new) = match change {
            FieldChange::Text { old, new, .. } => {
                ("text", Some(Value::String(old.clone())), Some(Value::String(new.clone())))
            }
            FieldChange::Added { value, .. } => ("added", None, Some(value.clone())),
            FieldChange::Removed { value, .. } => ("removed", Some(value.clone()), None),
            FieldChange::Value { old, new, .. } => ("value", Some(old.clone()), Some(new.clone())),
        };
        ChangeEntry {
            pointer: visible::escape(change.pointer()),
            kind,
            old: old.as_ref().map(visible::value),
            new: new.as_ref().map(visible::value),
        }
    }
}
