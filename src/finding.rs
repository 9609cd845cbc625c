//! Findings: what a detector reports, where, how bad, and a fingerprint that stays
//! the same while the offending text does.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::canon::Digest;
use crate::item::{ItemRef, Kind};

/// `info < low < medium < high < critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Highest first, as reports list them.
    pub const DESCENDING: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!("unknown severity {s:?} (expected info, low, medium, high or critical)")),
        }
    }
}

/// What a finding contributes to the composite poisoning score (threats.md §0.3):
/// poisoning is a conjunction of these, not any one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// (A) text addressed to the model telling it what to do.
    Instruction,
    /// (B) a sensitive target: secret files, credentials, conversation history.
    Target,
    /// (C) a sink: a parameter, URL, recipient or channel the data is sent to.
    Sink,
    /// (D) concealment from the user.
    Concealment,
    /// (E) the tool acts in a way the user cannot take back (deletes, pays, sends): no
    /// signal of poisoning by itself, it makes keeping the act from the user, or
    /// skipping the user's confirmation of it, hostile (TR000).
    Consequence,
    /// (F) text that campaigns for this tool over others ("the premium version",
    /// `best_search`): an instruction to the model (choose me) wherever TR000 counts;
    /// beside a tool that does the same thing, in its server or another, it is the
    /// function-overlapping attack (SH006).
    Preference,
}

impl Signal {
    pub fn parse(name: &str) -> Option<Signal> {
        match name {
            "instruction" => Some(Signal::Instruction),
            "target" => Some(Signal::Target),
            "sink" => Some(Signal::Sink),
            "concealment" => Some(Signal::Concealment),
            "consequence" => Some(Signal::Consequence),
            "preference" => Some(Signal::Preference),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Instruction => "instruction",
            Signal::Target => "target",
            Signal::Sink => "sink",
            Signal::Concealment => "concealment",
            Signal::Consequence => "consequence",
            Signal::Preference => "preference",
        }
    }
}

/// What a rule's findings are, which decides how the policy weighs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleClass {
    /// A detector's judgement on text: shown from `min-severity`, failing from `fail-on`.
    Detection,
    /// A change-control fact (drift, an unapproved or blocked pin, a broken registry
    /// file, a stale lock or suppression, an unapproved change in a pull request):
    /// always shown and always failing, whatever its severity.
    Control,
}

/// A rule's identity, declared once beside its detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable id: `UNI003`.
    pub id: &'static str,
    /// Stable kebab-case name: `unicode-tags-smuggling`.
    pub name: &'static str,
    /// One line: what it finds.
    pub title: &'static str,
    /// The severity of its most common finding (a detector may raise or lower it per hit).
    pub severity: Severity,
    /// What its findings mean for a run: see [`RuleClass`].
    pub class: RuleClass,
    /// Why it matters and what to do: shown by `toolreg rules explain`.
    pub help: &'static str,
}

/// One detector result. All text in it is already made visible (`⟨U+XXXX⟩`), so any
/// renderer may print it; only `fingerprint` and `span` are derived from raw text.
/// Reports write it through their own wire types (`report::json::FindingV1`), so an
/// internal field never reaches a stable format by accident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub name: &'static str,
    /// Its rule's class: what the policy makes of it.
    pub class: RuleClass,
    pub severity: Severity,
    pub server: String,
    /// What kind of item it is about (`server` for the header).
    pub kind: Kind,
    /// The item's name (escaped); `None` for a server-level finding (instructions,
    /// serverInfo). Its kind is `kind`.
    pub item: Option<String>,
    pub pointer: String,
    /// Code-point offsets `[start, end)` in the field's raw text, when the field is a
    /// raw string of the catalog (not a decoded payload).
    pub span: Option<[usize; 2]>,
    pub message: String,
    pub evidence: String,
    pub decoded: Option<String>,
    pub fingerprint: String,
    /// What this finding adds to the composite score; not part of the report.
    pub signal: Option<Signal>,
    /// Where it is in the repository (a registry file and line), settled when it is
    /// made ([`Locate`]); `None` for a catalog with no file behind it.
    pub location: Option<Location>,
}

/// A file (relative to the working directory when under it) and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// Where findings are in the repository, asked once, when a finding is made: by
/// whoever knows the files (the registry's pins, the captured catalogs, toolreg.toml).
/// Names and pointers are raw, as served.
pub trait Locate: Sync {
    /// Where the field at `pointer` of `item` (`None`: the server header) is.
    fn field(&self, server: &str, item: Option<&ItemRef>, pointer: &str) -> Option<Location>;
    /// Where the pin of `item` records its digest (approval and blocking findings).
    fn pin(&self, server: &str, item: Option<&ItemRef>) -> Option<Location>;
    /// The line of toolreg.toml that mentions `text` (suppressions).
    fn config(&self, text: &str) -> Option<Location>;
    /// A file of the repository as reports show it (policy files in pull-request mode).
    fn file(&self, _path: &std::path::Path, _line: Option<usize>) -> Option<Location> {
        None
    }
}

/// For findings with no file behind them (stdin, a live server, a unit test).
pub struct Nowhere;

impl Locate for Nowhere {
    fn field(&self, _: &str, _: Option<&ItemRef>, _: &str) -> Option<Location> {
        None
    }
    fn pin(&self, _: &str, _: Option<&ItemRef>) -> Option<Location> {
        None
    }
    fn config(&self, _: &str) -> Option<Location> {
        None
    }
}

/// A finding being made: its rule, its subject (raw names, made visible when built),
/// what it says, and where it is. `Finding::of(&RULE).about(server, item)…build()`.
#[must_use]
pub struct Builder<'a> {
    rule: &'static Rule,
    severity: Severity,
    server: &'a str,
    item: Option<&'a ItemRef>,
    pointer: &'a str,
    message: String,
    evidence: &'a str,
    key: Option<&'a str>,
    span: Option<[usize; 2]>,
    location: Option<Location>,
}

impl<'a> Builder<'a> {
    /// A severity other than the rule's default.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// What it is about: `item` of `server`, or its header when `item` is `None`.
    pub fn about(mut self, server: &'a str, item: Option<&'a ItemRef>) -> Self {
        self.server = server;
        self.item = item;
        self
    }

    /// The field (a JSON pointer into the item, raw).
    pub fn pointer(mut self, pointer: &'a str) -> Self {
        self.pointer = pointer;
        self
    }

    /// What it says (already made visible by the caller).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The offending text, raw; the fingerprint binds it unless [`Builder::key`] says otherwise.
    pub fn evidence(mut self, evidence: &'a str) -> Self {
        self.evidence = evidence;
        self
    }

    /// What the fingerprint binds besides the place, when it is not the evidence.
    pub fn key(mut self, key: &'a str) -> Self {
        self.key = Some(key);
        self
    }

    /// Code-point offsets in the field's raw text.
    pub fn span(mut self, span: Option<[usize; 2]>) -> Self {
        self.span = span;
        self
    }

    /// A place already known (a registry file, toolreg.lock).
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Placed at its field (call after [`Builder::about`] and [`Builder::pointer`]).
    pub fn field_in(mut self, places: &dyn Locate) -> Self {
        self.location = places.field(self.server, self.item, self.pointer);
        self
    }

    /// Placed at the digest of its item's pin (call after [`Builder::about`]).
    pub fn pin_in(mut self, places: &dyn Locate) -> Self {
        self.location = places.pin(self.server, self.item);
        self
    }

    pub fn build(self) -> Finding {
        let key = self.key.unwrap_or(self.evidence);
        Finding {
            rule: self.rule.id,
            name: self.rule.name,
            class: self.rule.class,
            severity: self.severity,
            server: crate::visible::label(self.server),
            kind: self.item.map_or(Kind::Server, |i| i.kind),
            item: self.item.map(|i| crate::visible::label(&i.name)),
            pointer: crate::visible::escape(self.pointer),
            span: self.span,
            message: self.message,
            evidence: crate::visible::escape(self.evidence),
            decoded: None,
            fingerprint: fingerprint(self.rule.id, self.server, self.item, self.pointer, key),
            signal: None,
            location: self.location,
        }
    }
}

impl Finding {
    /// Starts a finding of `rule`, at the rule's severity.
    pub fn of<'a>(rule: &'static Rule) -> Builder<'a> {
        Builder {
            rule,
            severity: rule.severity,
            server: "",
            item: None,
            pointer: "",
            message: String::new(),
            evidence: "",
            key: None,
            span: None,
            location: None,
        }
    }

    /// Sort key: server, item (server-level first, then by kind), pointer, then rule.
    pub fn sort_key(&self) -> (&str, Kind, Option<&str>, &str, &str, usize) {
        let start = self.span.map_or(0, |s| s[0]);
        (&self.server, self.kind, self.item.as_deref(), &self.pointer, self.rule, start)
    }

    /// The item as reports name it: a tool by its name, any other kind as `KIND:NAME`;
    /// `None` for the server header.
    pub fn item_label(&self) -> Option<String> {
        let name = self.item.as_deref()?;
        Some(if self.kind == Kind::Tool { name.to_owned() } else { format!("{}:{name}", self.kind) })
    }

    /// The tool's name, when the finding is about a tool.
    pub fn tool(&self) -> Option<&str> {
        self.item.as_deref().filter(|_| self.kind == Kind::Tool)
    }
}

/// Stable fingerprint: rule, server, item, pointer and the raw offending text, hashed.
/// Positions are left out on purpose: moving text does not change what it is. A tool
/// is bound by its name alone (as before items had kinds), any other kind as
/// `KIND:NAME`.
pub fn fingerprint(
    rule: &str,
    server: &str,
    item: Option<&ItemRef>,
    pointer: &str,
    evidence: &str,
) -> String {
    let bound = item.map(ItemRef::spec).unwrap_or_default();
    let mut material = Vec::with_capacity(64 + evidence.len());
    for part in [rule, server, bound.as_str(), pointer, evidence] {
        material.extend_from_slice(part.as_bytes());
        material.push(0);
    }
    let digest = Digest::of_bytes(&material);
    let hex = digest.as_str().trim_start_matches("sha256:");
    hex.chars().take(16).collect()
}

/// Counts per severity, in the JSON report's shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

impl Counts {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Counts {
        let mut counts = Counts::default();
        for f in findings {
            *counts.slot(f.severity) += 1;
        }
        counts
    }

    pub fn add(&mut self, severity: Severity) {
        *self.slot(severity) += 1;
    }

    fn slot(&mut self, severity: Severity) -> &mut usize {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }

    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn fingerprint_depends_on_content_not_position() {
        let t = ItemRef::tool("t");
        let a = fingerprint("UNI002", "s", Some(&t), "/description", "ig\u{200b}nore");
        assert_eq!(a.len(), 16);
        assert_eq!(a, fingerprint("UNI002", "s", Some(&t), "/description", "ig\u{200b}nore"));
        assert_ne!(a, fingerprint("UNI002", "s", Some(&t), "/description", "ig\u{200c}nore"));
        assert_ne!(a, fingerprint("UNI002", "s", None, "/description", "ig\u{200b}nore"));
        let p = ItemRef::new(Kind::Prompt, "t");
        assert_ne!(a, fingerprint("UNI002", "s", Some(&p), "/description", "ig\u{200b}nore"));
    }
}
