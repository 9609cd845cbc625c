//! Drift: what changed between a server's pins and a catalog — items of every kind
//! (tools, prompts, resources, templates) added, removed and changed, and the header,
//! field by field, each change classed PIN001–PIN008 (threats.md §3, §14).

use std::collections::BTreeMap;

use crate::item::{ItemRef, Kind};

use serde_json::Value;

use crate::canon::{self, CanonError};
use crate::catalog::Catalog;
use crate::finding::{Finding, Locate, Rule, RuleClass, Severity};
use crate::registry::Server;

pub static TEXT_CHANGED: Rule = Rule {
    id: "PIN001",
    name: "text-changed",
    title: "A description, title or the server instructions changed",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "Text the model reads changed after review: the classic rug pull. Read the word diff \
           (hidden characters are shown as ⟨U+…⟩) and the findings on the new text, then review it.",
};
pub static SCHEMA_CHANGED: Rule = Rule {
    id: "PIN002",
    name: "schema-changed",
    title: "A schema or another pinned field changed",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "A property, a required list, a type, an enum or a default changed (or another field \
           such as _meta, icons or execution). A new optional property is a classic side channel.",
};
pub static ANNOTATIONS_CHANGED: Rule = Rule {
    id: "PIN003",
    name: "annotations-changed",
    title: "Tool annotations changed",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "Clients ask for confirmation based on annotations: readOnlyHint false→true or \
           destructiveHint true→false silently lowers the guard.",
};
pub static TOOL_ADDED: Rule = Rule {
    id: "PIN004",
    name: "tool-added",
    title: "A tool, prompt, resource or template was added (or a server header is not pinned yet)",
    severity: Severity::Medium,
    class: RuleClass::Control,
    help: "New items on a pinned server are never approved automatically: review it.",
};
pub static TOOL_REMOVED: Rule = Rule {
    id: "PIN005",
    name: "tool-removed",
    title: "A pinned tool, prompt, resource or template is no longer served",
    severity: Severity::Info,
    class: RuleClass::Control,
    help: "Approve the removal with `toolreg review` to drop the pin (or find out why it went).",
};
pub static LAUNCH_CHANGED: Rule = Rule {
    id: "PIN006",
    name: "launch-changed",
    title: "A server's launch identity changed",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "The command, its arguments, the environment names or the URL changed: it may be a \
           different server. Checked against toolreg.lock.",
};
pub static NO_VERSION_BUMP: Rule = Rule {
    id: "PIN007",
    name: "changed-without-version-bump",
    title: "Content changed but serverInfo.version did not",
    severity: Severity::Medium,
    class: RuleClass::Control,
    help: "An honest release bumps its version; the same version with new tool text is a sign \
           of a server that changes what it serves on the fly.",
};
pub static DUPLICATE_NAME: Rule = Rule {
    id: "PIN008",
    name: "duplicate-tool-name",
    title: "Two tools share one name in one server",
    severity: Severity::Medium,
    class: RuleClass::Control,
    help: "A pin is keyed by name; two tools with one name cannot be pinned apart. toolreg \
           refuses such a catalog when it loads it.",
};

/// The drift rules, for `toolreg rules list`.
pub static RULES: [&Rule; 8] = [
    &TEXT_CHANGED,
    &SCHEMA_CHANGED,
    &ANNOTATIONS_CHANGED,
    &TOOL_ADDED,
    &TOOL_REMOVED,
    &LAUNCH_CHANGED,
    &NO_VERSION_BUMP,
    &DUPLICATE_NAME,
];

/// Every difference between one server's pins and one catalog of it.
#[derive(Debug, Clone)]
pub struct Drift {
    pub server: String,
    /// The header (serverInfo, protocolVersion, instructions), when it differs.
    pub header: Option<Item>,
    /// Items added, removed or changed, by kind then key.
    pub items: Vec<Item>,
    /// Items that differ only where the server's `[digest]` policy looks away (a
    /// computed default): not drift, shown so that nothing is hidden.
    pub ignored: Vec<Item>,
    /// Content changed while `serverInfo.version` stayed the same.
    pub same_version: Option<String>,
}

/// One header or item that differs.
#[derive(Debug, Clone)]
pub struct Item {
    /// The item; `None` for the header.
    pub item: Option<ItemRef>,
    pub change: Change,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub old_digest: Option<String>,
    pub new_digest: Option<String>,
    pub fields: Vec<FieldChange>,
    /// For an added item: a removed one of its kind whose content (all but the key) is
    /// identical, or close ([`find_edited_renames`]).
    pub renamed: Option<Rename>,
    /// Changes the server's `[digest]` policy leaves out: shown, marked, not judged.
    pub ignored: Vec<FieldChange>,
}

/// An added item that is likely a removed one under a new key.
#[derive(Debug, Clone, PartialEq)]
pub struct Rename {
    /// The removed item's name.
    pub from: String,
    /// What changed besides the key (empty for an exact rename).
    pub edits: Vec<FieldChange>,
}

impl Item {
    /// The tool's name, for a tool.
    pub fn tool(&self) -> Option<&str> {
        self.item.as_ref().filter(|i| i.kind == Kind::Tool).map(|i| i.name.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One difference inside a tool or header, at a JSON pointer.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldChange {
    /// A string changed: shown as a word diff.
    Text {
        pointer: String,
        old: String,
        new: String,
    },
    Added {
        pointer: String,
        value: Value,
    },
    Removed {
        pointer: String,
        value: Value,
    },
    /// A non-string value changed, or changed type.
    Value {
        pointer: String,
        old: Value,
        new: Value,
    },
}

impl FieldChange {
    pub fn pointer(&self) -> &str {
        match self {
            FieldChange::Text { pointer, .. }
            | FieldChange::Added { pointer, .. }
            | FieldChange::Removed { pointer, .. }
            | FieldChange::Value { pointer, .. } => pointer,
        }
    }
}

impl Drift {
    /// Compares `server`'s pins with `catalog`.
    pub fn between(server: &Server, catalog: &Catalog) -> Result<Drift, CanonError> {
        let new_header = server.header_value(&catalog.header);
        let new_header_digest = canon::digest(&new_header)?;
        let header = match &server.header {
            Some(pin) if pin.digest == new_header_digest.as_str() => None,
            pin => Some(Item {
                item: None,
                change: if pin.is_some() { Change::Changed } else { Change::Added },
                fields: diff_values(pin.as_ref().map(|p| &p.value), &new_header),
                old: pin.as_ref().map(|p| p.value.clone()),
                new: Some(new_header.clone()),
                old_digest: pin.as_ref().map(|p| p.digest.clone()),
                new_digest: Some(new_header_digest.to_string()),
                renamed: None,
                ignored: Vec::new(),
            }),
        };
        let mut items = Vec::new();
        let mut ignored_items = Vec::new();
        for kind in Kind::PINNED {
            let served: BTreeMap<&str, &Value> =
                catalog.of_kind(kind).map(|i| (i.name.as_str(), &i.value)).collect();
            let mut of_kind = Vec::new();
            let policy = &server.inventory.digest;
            for (name, value) in &served {
                let key = ItemRef::new(kind, *name);
                let digest = server.served_digest(&key, value)?;
                let pin = server.items.get(&key);
                if pin.is_some_and(|p| p.digest == digest && (policy.is_empty() || p.value == **value)) {
                    continue;
                }
                let (fields, ignored): (Vec<FieldChange>, Vec<FieldChange>) =
                    diff_values(pin.map(|p| &p.value), value)
                        .into_iter()
                        .partition(|change| pin.is_none() || !policy.ignores(kind, name, change));
                let item = Item {
                    item: Some(key),
                    change: if pin.is_some() { Change::Changed } else { Change::Added },
                    fields,
                    old: pin.map(|p| p.value.clone()),
                    new: Some((*value).clone()),
                    old_digest: pin.map(|p| p.digest.clone()),
                    new_digest: Some(digest),
                    renamed: None,
                    ignored,
                };
                match pin {
                    // The same as pinned up to the policy: whatever differs is ignored.
                    Some(p) if Some(&p.digest) == item.new_digest.as_ref() => {
                        let mut item = item;
                        let fields = std::mem::take(&mut item.fields);
                        item.ignored.extend(fields);
                        if !item.ignored.is_empty() {
                            ignored_items.push(item);
                        }
                    }
                    _ => of_kind.push(item),
                }
            }
            for (key, pin) in server.of_kind(kind) {
                if !served.contains_key(key.name.as_str()) {
                    of_kind.push(Item {
                        item: Some(key.clone()),
                        change: Change::Removed,
                        fields: Vec::new(),
                        old: Some(pin.value.clone()),
                        new: None,
                        old_digest: Some(pin.digest.clone()),
                        new_digest: None,
                        renamed: None,
                        ignored: Vec::new(),
                    });
                }
            }
            find_renames(kind, &mut of_kind)?;
            items.extend(of_kind);
        }
        items.sort_by(|a, b| a.item.cmp(&b.item));
        let old_version = server.header.as_ref().and_then(|p| p.value.pointer("/serverInfo/version"));
        let new_version = new_header.pointer("/serverInfo/version");
        // The auth item is the authorization server's as much as this server's: its
        // changes are no sign of a release without a version bump.
        let content_changed = items
            .iter()
            .any(|t| t.change == Change::Changed && t.item.as_ref().is_none_or(|i| i.kind != Kind::Auth))
            || header
                .as_ref()
                .is_some_and(|h| h.fields.iter().any(|f| !f.pointer().starts_with("/serverInfo/version")));
        let same_version = match (old_version, new_version) {
            (Some(old), Some(new)) if old == new && content_changed => {
                Some(old.as_str().map_or_else(|| old.to_string(), str::to_owned))
            }
            _ => None,
        };
        Ok(Drift { server: catalog.server.clone(), header, items, ignored: ignored_items, same_version })
    }

    pub fn is_empty(&self) -> bool {
        self.header.is_none() && self.items.is_empty()
    }

    /// The drift as findings: one per change class per item, for gates and reports.
    pub fn findings(&self, places: &dyn Locate) -> Vec<Finding> {
        let mut out = Vec::new();
        for item in self.header.iter().chain(&self.items) {
            out.extend(item.findings(&self.server, places));
        }
        if let Some(version) = &self.same_version {
            let message = format!(
                "content changed but serverInfo.version is still {}",
                crate::visible::escape(version)
            );
            out.push(
                Finding::of(&NO_VERSION_BUMP)
                    .about(&self.server, None)
                    .pointer("/serverInfo/version")
                    .message(message)
                    .evidence(version)
                    .field_in(places)
                    .build(),
            );
        }
        out
    }
}

impl Item {
    /// The change classes of this item, as findings.
    pub fn findings(&self, server: &str, places: &dyn Locate) -> Vec<Finding> {
        let item = self.item.as_ref();
        let what = item.map_or_else(
            || "the server header".to_owned(),
            |i| format!("{} {}", i.kind, crate::visible::escape(&i.name)),
        );
        let digest = self.new_digest.as_deref().or(self.old_digest.as_deref()).unwrap_or_default();
        let finding = |rule: &'static Rule, severity: Severity, pointer: &str, message: String| {
            Finding::of(rule)
                .severity(severity)
                .about(server, item)
                .pointer(pointer)
                .message(message)
                .evidence(digest)
                .field_in(places)
                .build()
        };
        match self.change {
            Change::Added if item.is_none() => {
                vec![finding(
                    &TOOL_ADDED,
                    TOOL_ADDED.severity,
                    "",
                    "the server header is not pinned yet".into(),
                )]
            }
            Change::Added => {
                let rename = self
                    .renamed
                    .as_ref()
                    .map(|r| {
                        let edited = if r.edits.is_empty() { "" } else { ", edited" };
                        format!(" (likely a rename of {}{edited})", crate::visible::escape(&r.from))
                    })
                    .unwrap_or_default();
                vec![finding(&TOOL_ADDED, TOOL_ADDED.severity, "", format!("{what} is new{rename}"))]
            }
            Change::Removed => {
                vec![finding(
                    &TOOL_REMOVED,
                    TOOL_REMOVED.severity,
                    "",
                    format!("{what} is pinned but no longer served"),
                )]
            }
            Change::Changed => {
                let mut out = Vec::new();
                for (rule, changes) in classify(item.is_none(), &self.fields) {
                    let pointers: Vec<&str> = changes.iter().map(|c| c.pointer()).collect();
                    let described: Vec<String> = changes
                        .iter()
                        .map(|c| {
                            let how = match c {
                                FieldChange::Added { .. } => "added",
                                FieldChange::Removed { .. } => "removed",
                                _ => "changed",
                            };
                            format!("{} {how}", crate::visible::escape(c.pointer()))
                        })
                        .collect();
                    let mut message = format!("{what}: {}", described.join(", "));
                    let flips = if rule.id == ANNOTATIONS_CHANGED.id {
                        guard_lowering_flips(self.old.as_ref(), self.new.as_ref())
                    } else {
                        Vec::new()
                    };
                    let severity = if item.is_none() && rule.id == SCHEMA_CHANGED.id && only_version(&changes)
                    {
                        Severity::Info
                    } else {
                        rule.severity
                    };
                    if !flips.is_empty() {
                        message.push_str(&format!(" — lowers the client's guard: {}", flips.join(", ")));
                    }
                    out.push(finding(rule, severity, pointers.first().copied().unwrap_or(""), message));
                }
                // What a changed auth item means for the grant users are asked for.
                if let (Some(ItemRef { kind: Kind::Auth, .. }), Some(old), Some(new)) =
                    (item, &self.old, &self.new)
                {
                    out.extend(crate::detect::oauth::changes(server, old, new, places));
                }
                out
            }
        }
    }
}

/// Groups field changes by change class.
fn classify(header: bool, fields: &[FieldChange]) -> Vec<(&'static Rule, Vec<&FieldChange>)> {
    let mut groups: Vec<(&'static Rule, Vec<&FieldChange>)> = Vec::new();
    for change in fields {
        let top = change.pointer().split('/').nth(1).unwrap_or_default();
        let rule: &'static Rule = match (header, top) {
            (true, "instructions") | (false, "description" | "title") => &TEXT_CHANGED,
            (false, "annotations") => &ANNOTATIONS_CHANGED,
            _ => &SCHEMA_CHANGED,
        };
        match groups.iter_mut().find(|(r, _)| r.id == rule.id) {
            Some((_, list)) => list.push(change),
            None => groups.push((rule, vec![change])),
        }
    }
    groups.sort_by_key(|(r, _)| r.id);
    groups
}

fn only_version(changes: &[&FieldChange]) -> bool {
    changes.iter().all(|c| c.pointer() == "/serverInfo/version")
}

/// Annotation flips between two versions of a tool that make a client less careful.
/// Absent hints take the spec's defaults: readOnly false, destructive true, openWorld true.
pub fn guard_lowering_flips(old: Option<&Value>, new: Option<&Value>) -> Vec<String> {
    let hint = |tool: Option<&Value>, name: &str, default: bool| {
        tool.and_then(|t| t.get("annotations"))
            .and_then(|a| a.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    let mut out = Vec::new();
    // (hint, default, the value that lowers the guard)
    for (name, default, lowering) in
        [("readOnlyHint", false, true), ("destructiveHint", true, false), ("openWorldHint", true, false)]
    {
        let (before, after) = (hint(old, name, default), hint(new, name, default));
        if before != lowering && after == lowering {
            out.push(format!("{name} {before}→{after}"));
        }
    }
    out
}

/// Marks added items whose content, key aside, equals a removed one's (of one kind).
fn find_renames(kind: Kind, tools: &mut [Item]) -> Result<(), CanonError> {
    let without_name =
        |v: &Value| -> Result<String, CanonError> { Ok(canon::digest(&without_key(kind, v))?.to_string()) };
    // By content digest, the first removed tool for each (a map, not a search per
    // added tool: thousands of added and removed tools made that quadratic).
    let mut removed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for item in tools.iter().filter(|t| t.change == Change::Removed) {
        if let (Some(old), Some(key)) = (&item.old, &item.item) {
            removed.entry(without_name(old)?).or_insert_with(|| key.name.clone());
        }
    }
    let mut unmatched: Vec<usize> = Vec::new();
    for (index, item) in tools.iter_mut().enumerate().filter(|(_, t)| t.change == Change::Added) {
        if let Some(new) = &item.new {
            let key = without_name(new)?;
            item.renamed = removed.get(&key).map(|from| Rename { from: from.clone(), edits: Vec::new() });
            if item.renamed.is_none() {
                unmatched.push(index);
            }
        }
    }
    find_edited_renames(kind, tools, &unmatched)?;
    Ok(())
}

/// Renames with a small edit: an added item whose content, key aside, is close to a
/// removed one's (at least [`RENAME_SIMILARITY`] of its words) is marked as a likely
/// rename of the closest, with the edits as its field changes. Bounded: with more
/// than [`MAX_RENAME_PAIRS`] pairs to compare, or an item over [`MAX_RENAME_TEXT`]
/// bytes, only exact renames are found.
fn find_edited_renames(kind: Kind, items: &mut [Item], added: &[usize]) -> Result<(), CanonError> {
    let text = |v: &Value| -> Result<String, CanonError> {
        Ok(String::from_utf8_lossy(&canon::canonical(&without_key(kind, v))?).into_owned())
    };
    let removed: Vec<usize> = (0..items.len()).filter(|&i| items[i].change == Change::Removed).collect();
    if added.is_empty() || removed.is_empty() || added.len() * removed.len() > MAX_RENAME_PAIRS {
        return Ok(());
    }
    let mut old_texts = Vec::new();
    for &i in &removed {
        old_texts.push(items[i].old.as_ref().map(text).transpose()?);
    }
    let mut claimed = vec![false; removed.len()];
    for &a in added {
        let Some(new) = items[a].new.as_ref().map(text).transpose()? else { continue };
        if new.len() > MAX_RENAME_TEXT {
            continue;
        }
        let mut best: Option<(f32, usize)> = None;
        for (r, old) in old_texts.iter().enumerate() {
            let Some(old) = old.as_ref().filter(|o| o.len() <= MAX_RENAME_TEXT && !claimed[r]) else {
                continue;
            };
            let ratio = similar::TextDiff::from_words(old.as_str(), new.as_str()).ratio();
            if ratio >= RENAME_SIMILARITY && best.is_none_or(|(b, _)| ratio > b) {
                best = Some((ratio, r));
            }
        }
        let Some((_, r)) = best else { continue };
        claimed[r] = true;
        let old_item = &items[removed[r]];
        if let (Some(old), Some(new), Some(from)) = (&old_item.old, &items[a].new, &old_item.item) {
            let edits = diff_values(Some(&without_key(kind, old)), &without_key(kind, new));
            items[a].renamed = Some(Rename { from: from.name.clone(), edits });
        }
    }
    Ok(())
}

/// An item without its key (`name`, `uri`, `uriTemplate`): what a rename keeps.
fn without_key(kind: Kind, item: &Value) -> Value {
    let mut item = item.clone();
    if let Value::Object(map) = &mut item {
        map.remove(kind.name_key());
    }
    item
}

/// How close an added item must be to a removed one to be shown as its rename.
const RENAME_SIMILARITY: f32 = 0.8;
/// Added × removed pairs compared for edited renames at most.
const MAX_RENAME_PAIRS: usize = 2_500;
/// Canonical bytes of an item compared for edited renames at most.
const MAX_RENAME_TEXT: usize = 64 * 1024;

/// The structural difference of two JSON values, by RFC 6901 pointer.
pub fn diff_values(old: Option<&Value>, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    match old {
        Some(old) => diff_at(String::new(), old, new, &mut out),
        None => diff_at(String::new(), &Value::Object(serde_json::Map::new()), new, &mut out),
    }
    out
}

fn diff_at(pointer: String, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let at = format!("{pointer}/{}", crate::fields::escape_token(key));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff_at(at, x, y, out),
                    (None, Some(y)) => out.push(FieldChange::Added { pointer: at, value: y.clone() }),
                    (Some(x), None) => out.push(FieldChange::Removed { pointer: at, value: x.clone() }),
                    (None, None) => {}
                }
            }
        }
        (Value::String(a), Value::String(b)) if a != b => {
            out.push(FieldChange::Text { pointer, old: a.clone(), new: b.clone() });
        }
        // Arrays are compared whole (enum, required, examples): the renderer shows
        // which members came and went.
        (a, b) if a != b => out.push(FieldChange::Value { pointer, old: a.clone(), new: b.clone() }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structural_diff_by_pointer() {
        let old = json!({"description": "Reads a file", "inputSchema": {"properties": {"path": {"type": "string"}}, "required": ["path"]}, "annotations": {"readOnlyHint": false}});
        let new = json!({"description": "Reads a fi\u{200b}le", "inputSchema": {"properties": {"path": {"type": "string"}, "force": {"type": "boolean", "default": false}}, "required": ["path", "force"]}, "annotations": {"readOnlyHint": true}});
        let changes = diff_values(Some(&old), &new);
        let pointers: Vec<&str> = changes.iter().map(FieldChange::pointer).collect();
        assert_eq!(
            pointers,
            [
                "/annotations/readOnlyHint",
                "/description",
                "/inputSchema/properties/force",
                "/inputSchema/required"
            ]
        );
        assert_eq!(guard_lowering_flips(Some(&old), Some(&new)), ["readOnlyHint false→true"]);
        let classes: Vec<&str> = classify(false, &changes).iter().map(|(r, _)| r.id).collect();
        assert_eq!(classes, ["PIN001", "PIN002", "PIN003"]);
    }

    #[test]
    fn absent_hints_take_the_spec_defaults() {
        let none = json!({"name": "t"});
        let flips = guard_lowering_flips(
            Some(&none),
            Some(&json!({"annotations": {"destructiveHint": false, "readOnlyHint": true}})),
        );
        assert_eq!(flips, ["readOnlyHint false→true", "destructiveHint true→false"]);
        // Raising the guard is not a flip to call out.
        assert!(guard_lowering_flips(Some(&json!({"annotations": {"readOnlyHint": true}})), Some(&none))
            .is_empty());
    }
}
