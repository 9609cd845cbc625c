//! Detection: every detector over a set of catalogs, at three levels (design §3):
//! per field (text), per tool, and per catalog set. Decoded hidden payloads are fed
//! back through the field detectors, two levels deep at most.
//!
//! Detectors return [`Hit`]s (rule, severity, span, message, decoded payload); this
//! module turns them into [`Finding`]s with locations, evidence and fingerprints.

pub mod blobs;
pub mod catalog_set;
pub mod chars;
pub mod composite;
pub mod controls;
pub mod destinations;
pub mod hir_bytes;
pub mod length;
pub mod literals;
pub mod mention;
pub mod oauth;
pub mod overlap;
pub mod prefix;
pub mod rules;
pub mod schema;
pub mod unicode;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::catalog::{Catalog, Item};
use crate::fields::{self, Field, FieldKind};
use crate::finding::{fingerprint, Finding, Locate, Rule, Severity, Signal};
use crate::item::{ItemRef, Kind};
use crate::{parallel, visible};

pub use rules::{RuleError, RuleSet};

/// How many times a decoded payload is itself decoded and rescanned.
pub const MAX_DECODE_DEPTH: u8 = 2;

/// Hits of one rule at one severity listed one by one per text; the rest of them fold
/// into one hit that counts them (so a run of 100,000 zero-width characters is one
/// finding more, not 100,000 findings each carrying the text).
pub const MAX_HITS_PER_RULE: usize = 16;

/// Items (and headers) a scan thread is worth: fewer are scanned on the calling
/// thread, since starting a thread costs about what scanning a few dozen tools does.
const UNITS_PER_THREAD: usize = 48;

/// How much of the folded hits' decoded payloads is kept (and rescanned), in bytes.
const MAX_FOLDED_PAYLOAD: usize = 64 * 1024;

/// One field-level detector result. `span` is in bytes of the scanned text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub span: (usize, usize),
    /// Already free of raw untrusted text: detectors describe, evidence shows.
    pub message: String,
    /// Hidden text the detector decoded, raw (made visible when it becomes a finding).
    pub decoded: Option<String>,
    /// What the hit adds to the composite score (TR000).
    pub signal: Option<Signal>,
    /// The span is a secret: evidence shows it masked (the fingerprint still binds it).
    pub redact: bool,
    /// Further secrets the same rule saw in the field: reported once (one hit per rule),
    /// masked in every finding's evidence all the same.
    pub more_secrets: Vec<(usize, usize)>,
}

impl Hit {
    pub fn new(
        rule: &'static Rule,
        severity: Severity,
        span: (usize, usize),
        message: impl Into<String>,
    ) -> Hit {
        Hit {
            rule,
            severity,
            span,
            message: message.into(),
            decoded: None,
            signal: None,
            redact: false,
            more_secrets: Vec::new(),
        }
    }

    pub fn decoded(mut self, decoded: Option<String>) -> Hit {
        self.decoded = decoded.filter(|d| !d.trim().is_empty());
        self
    }

    pub fn signal(mut self, signal: Signal) -> Hit {
        self.signal = Some(signal);
        self
    }
}

/// Collects hits into a list, listing at most [`MAX_HITS_PER_RULE`] of one rule at one
/// severity and folding the rest into one hit per (rule, severity) that counts them,
/// spans from the first folded hit to the last, and carries their decoded payloads
/// (up to [`MAX_FOLDED_PAYLOAD`] bytes) so that they are still rescanned. The folded
/// hits join the list when the `Fold` is dropped.
pub(crate) struct Fold<'h> {
    hits: &'h mut Vec<Hit>,
    listed: Vec<(&'static str, Severity, usize)>,
    folded: Vec<Folded>,
}

struct Folded {
    first: Hit,
    count: usize,
    end: usize,
    payload: String,
}

impl<'h> Fold<'h> {
    pub(crate) fn new(hits: &'h mut Vec<Hit>) -> Fold<'h> {
        Fold { hits, listed: Vec::new(), folded: Vec::new() }
    }

    /// Adds `hit`, or folds it when its rule and severity are listed in full already.
    pub(crate) fn push(&mut self, hit: Hit) {
        if !self.saturated(hit.rule, hit.severity) {
            self.count(hit.rule, hit.severity);
            self.hits.push(hit);
            return;
        }
        let (rule, severity, span) = (hit.rule, hit.severity, hit.span);
        self.fold(rule, severity, span, Some(hit));
    }

    /// [`Fold::push`] for hot loops: `make` builds the hit only when it is listed or
    /// its payload is still kept.
    pub(crate) fn push_with(
        &mut self,
        rule: &'static Rule,
        severity: Severity,
        span: (usize, usize),
        make: impl FnOnce() -> Hit,
    ) {
        if !self.saturated(rule, severity) {
            self.count(rule, severity);
            self.hits.push(make());
            return;
        }
        let wanted = self
            .folded
            .iter()
            .find(|f| f.first.rule.id == rule.id && f.first.severity == severity)
            .is_none_or(|f| f.payload.len() < MAX_FOLDED_PAYLOAD && f.first.decoded.is_some());
        self.fold(rule, severity, span, wanted.then(make));
    }

    fn saturated(&self, rule: &Rule, severity: Severity) -> bool {
        self.listed.iter().any(|&(id, s, n)| id == rule.id && s == severity && n >= MAX_HITS_PER_RULE)
    }

    fn count(&mut self, rule: &'static Rule, severity: Severity) {
        match self.listed.iter_mut().find(|(id, s, _)| *id == rule.id && *s == severity) {
            Some(entry) => entry.2 += 1,
            None => self.listed.push((rule.id, severity, 1)),
        }
    }

    fn fold(&mut self, rule: &'static Rule, severity: Severity, span: (usize, usize), hit: Option<Hit>) {
        let decoded = hit.as_ref().and_then(|h| h.decoded.as_deref());
        match self.folded.iter_mut().find(|f| f.first.rule.id == rule.id && f.first.severity == severity) {
            Some(folded) => {
                folded.count += 1;
                folded.end = folded.end.max(span.1);
                if let Some(decoded) = decoded {
                    if folded.payload.len() < MAX_FOLDED_PAYLOAD {
                        folded.payload.push('\n');
                        folded.payload.push_str(decoded);
                    }
                }
            }
            None => {
                let Some(first) = hit else { return };
                let payload = first.decoded.clone().unwrap_or_default();
                self.folded.push(Folded { end: span.1, first, count: 1, payload });
            }
        }
    }
}

impl Drop for Fold<'_> {
    fn drop(&mut self) {
        for folded in self.folded.drain(..) {
            let Folded { first, count, end, payload } = folded;
            let message = if count == 1 {
                first.message
            } else {
                format!(
                    "{count} more like this, not listed one by one (the first of them: {})",
                    first.message
                )
            };
            let mut hit =
                Hit::new(first.rule, first.severity, (first.span.0, end.max(first.span.0)), message)
                    .decoded(Some(payload));
            hit.signal = first.signal;
            hit.redact = first.redact;
            hit.more_secrets = first.more_secrets;
            self.hits.push(hit);
        }
    }
}

/// Folds `hits` as [`Fold`] does, for detectors that do not fold as they go.
fn fold_all(hits: &mut Vec<Hit>) {
    let all = std::mem::take(hits);
    let mut fold = Fold::new(hits);
    for hit in all {
        fold.push(hit);
    }
}

/// Everything the detectors need besides the catalogs: the loaded text rules, and
/// the ids (of code or text rules) the configuration disables.
#[derive(Debug)]
pub struct Detectors {
    pub rules: RuleSet,
    disabled: Vec<String>,
}

impl Detectors {
    /// The built-in detectors.
    pub fn builtin() -> Result<Detectors, RuleError> {
        Ok(Detectors { rules: RuleSet::builtin()?, disabled: Vec::new() })
    }

    /// The built-in rules plus rule files, without the `disabled` ids.
    pub fn load(extra: &[std::path::PathBuf], disabled: &[String]) -> Result<Detectors, RuleError> {
        let mut sources = rules::builtin_sources();
        for path in extra {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| RuleError {
                file: name.clone(),
                rule: None,
                message: format!("cannot read: {e}"),
            })?;
            sources.push((name, text.into()));
        }
        let code_ids: Vec<&str> = code_rules().iter().map(|r| r.id).collect();
        let rules = RuleSet::load(sources.clone(), &[])?;
        if let Some(clash) = rules.rules().iter().find(|r| code_ids.contains(&r.rule.id)) {
            return Err(RuleError {
                file: clash.source.clone(),
                rule: Some(clash.rule.id.to_owned()),
                message: "the id belongs to a built-in code detector".into(),
            });
        }
        if let Some(unknown) = disabled.iter().find(|d| {
            !code_ids.contains(&d.as_str()) && !rules.rules().iter().any(|r| r.rule.id == d.as_str())
        }) {
            return Err(RuleError {
                file: "toolreg.toml".into(),
                rule: Some(unknown.clone()),
                message: "[rules] disable names no known rule (`toolreg rules list` shows them)".into(),
            });
        }
        let rules = if disabled.is_empty() { rules } else { RuleSet::load(sources, disabled)? };
        Ok(Detectors { rules, disabled: disabled.to_vec() })
    }

    /// As [`Detectors::load`], refusing a rule file whose rules do not prove their own
    /// examples: a rule that misses its `match` examples would pass a scan silently.
    /// (`toolreg rules test FILE` loads without this, to show every failure.)
    pub fn load_proven(extra: &[std::path::PathBuf], disabled: &[String]) -> Result<Detectors, RuleError> {
        let detectors = Detectors::load(extra, disabled)?;
        let builtin: Vec<&str> = rules::BUILTIN.iter().map(|(file, _)| *file).collect();
        let failures = detectors.rules.test_examples_of(|rule| !builtin.contains(&rule.source.as_str()));
        if let Some(first) = failures.first() {
            let expected = if first.expected_match { "does not match" } else { "matches" };
            return Err(RuleError {
                file: first.source.clone(),
                rule: Some(first.rule.clone()),
                message: format!(
                    "{} of its own examples fail (the first {expected} {}): fix the rule; \
                     `toolreg rules test {}` shows each",
                    failures.iter().filter(|f| f.source == first.source).count(),
                    visible::escape(&first.example),
                    visible::escape(&first.source)
                ),
            });
        }
        Ok(detectors)
    }

    /// Every rule the detectors can report: code rules and loaded text rules.
    pub fn all_rules(&self) -> Vec<&'static Rule> {
        let mut all: Vec<&'static Rule> = code_rules();
        all.extend(self.rules.rules().iter().map(|r| r.rule));
        all.sort_by_key(|r| r.id);
        all
    }

    /// Runs every detector over `catalogs`; findings come back sorted. Headers and items
    /// (tools, prompts, resources, templates) are scanned in parallel; the set-wide
    /// checks run beside them. Each finding is placed by `places` as it is made.
    pub fn scan(&self, catalogs: &[Catalog], places: &dyn Locate) -> Vec<Finding> {
        let references = catalog_set::References::new(catalogs);
        let own: Vec<HashSet<&str>> =
            catalogs.iter().map(|c| c.tools().map(|t| t.name.as_str()).collect()).collect();
        let parameters: Vec<destinations::Parameters> =
            catalogs.iter().map(destinations::Parameters::of).collect();
        // One unit per header and per item: (catalog, item) indices.
        let units: Vec<(usize, Option<usize>)> = catalogs
            .iter()
            .enumerate()
            .flat_map(|(c, catalog)| {
                std::iter::once((c, None)).chain((0..catalog.items.len()).map(move |t| (c, Some(t))))
            })
            .collect();
        let (across, mut per_unit) = parallel::join(
            units.len() >= UNITS_PER_THREAD,
            || {
                let mut across = catalog_set::check(catalogs, places);
                across.extend(catalogs.iter().flat_map(|c| overlap::duplicates(c, places)));
                across
            },
            || {
                parallel::map(&units, UNITS_PER_THREAD, Memo::default, |memo, &(c, t)| {
                    let catalog = &catalogs[c];
                    let item = t.and_then(|t| catalog.items.get(t));
                    let names = Names { tools: &own[c], parameters: &parameters[c] };
                    self.scan_unit(memo, &references, catalog, &names, item, places)
                })
            },
        );
        // Cross-catalog findings join their tool's before the composite is judged; they
        // name server and tool escaped, as every finding does. The first input wins when
        // a server and tool name is given twice.
        let mut unit_of: HashMap<(String, Kind, Option<String>), usize> = HashMap::new();
        for (unit, &(c, t)) in units.iter().enumerate() {
            let catalog = &catalogs[c];
            let item = t.and_then(|t| catalog.items.get(t));
            let kind = item.map_or(Kind::Server, |i| i.kind);
            unit_of
                .entry((visible::label(&catalog.server), kind, item.map(|i| visible::label(&i.name))))
                .or_insert(unit);
        }
        let mut findings = Vec::new();
        for finding in across {
            match unit_of.get(&(finding.server.clone(), finding.kind, finding.item.clone())) {
                Some(&unit) => per_unit[unit].push(finding),
                None => findings.push(finding),
            }
        }
        let mut overlaps = overlap::Overlaps::new(catalogs);
        for (&(c, t), mut found) in units.iter().zip(per_unit) {
            let catalog = &catalogs[c];
            let item = t.and_then(|t| catalog.items.get(t));
            // A claim to be preferred weighs with the tool it copies: known only now.
            if let Some(tool) = item.filter(|i| i.kind == Kind::Tool) {
                let claims = overlap::claims(&found);
                found.extend(overlaps.preferred_copy(c, tool, &claims, places));
            }
            let item = item.map(Item::key);
            findings.extend(composite::check(&catalog.server, item.as_ref(), &found, places));
            findings.extend(found);
        }
        if !self.disabled.is_empty() {
            findings.retain(|f| !self.disabled.iter().any(|d| d == f.rule));
        }
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        findings.dedup();
        findings
    }

    /// The field findings of one catalog's header (`item` is `None`) or of one item.
    fn scan_unit<'a>(
        &self,
        memo: &mut Memo<'a>,
        references: &catalog_set::References<'_>,
        catalog: &'a Catalog,
        names: &Names<'_>,
        item: Option<&'a Item>,
        places: &dyn Locate,
    ) -> Vec<Finding> {
        let own = names.tools;
        let mut found = Vec::new();
        // Labels once per unit: each finding carries them.
        let server = Named::new(&catalog.server);
        let Some(item) = item else {
            let unit = Unit { server: &server, item: None, places };
            for field in fields::header_fields(&catalog.header) {
                self.scan_field(memo, &unit, None, &field, &mut found);
                found.extend(references.check(catalog, own, None, &field, places));
                found.extend(destinations::check(&catalog.server, None, names.parameters, &field, places));
            }
            // What duplicated keys hid is scanned too: some reader sees it.
            for duplicate in &catalog.duplicates {
                found.push(schema::duplicate_key(&catalog.server, None, &duplicate.pointer, places));
                for field in fields::shadowed_header_fields(duplicate) {
                    self.scan_field(memo, &unit, None, &field, &mut found);
                }
            }
            return found;
        };
        let annotations = item.value.get("annotations");
        let name = Named::new(&item.name);
        let key = item.key();
        let unit = Unit { server: &server, item: Some((&name, &key)), places };
        let hidden = item.duplicate_keys.iter().flat_map(|d| fields::shadowed_item_fields(item.kind, d));
        for field in fields::item_fields(item.kind, &item.value).into_iter().chain(hidden) {
            self.scan_field(memo, &unit, annotations, &field, &mut found);
            found.extend(references.check(catalog, own, Some(&key), &field, places));
            found.extend(destinations::check(&catalog.server, Some(&key), names.parameters, &field, places));
        }
        if item.kind == Kind::Tool {
            found.extend(schema::check_tool(&catalog.server, item, places));
        } else {
            if item.kind == Kind::Auth {
                found.extend(oauth::check(&catalog.server, &item.value, places));
            }
            found.extend(schema::duplicate_keys(&catalog.server, item, places));
        }
        found
    }

    /// Findings on one text outside a catalog — a server's launch line, an environment
    /// value — as if it were a field of `server`'s header at `pointer`: the same rules,
    /// masking and decoding as any field.
    pub fn scan_text(
        &self,
        server: &str,
        pointer: &str,
        kind: FieldKind,
        text: &str,
        places: &dyn Locate,
    ) -> Vec<Finding> {
        let named = Named::new(server);
        let unit = Unit { server: &named, item: None, places };
        let place = Place { unit: &unit, pointer, kind, annotations: None };
        let hits = self.check_text(text, kind, None);
        let mut out = Vec::new();
        self.report(&place, text, hits, 0, "", &mut out);
        if !self.disabled.is_empty() {
            out.retain(|f| !self.disabled.iter().any(|d| d == f.rule));
        }
        out
    }

    /// All field-level hits on one piece of text.
    pub fn check_text(&self, text: &str, kind: FieldKind, annotations: Option<&Value>) -> Vec<Hit> {
        let mut hits = Vec::new();
        unicode::check(text, kind, &mut hits);
        controls::check(text, &mut hits);
        length::check(text, kind, &mut hits);
        blobs::check(text, &mut hits);
        self.rules.check(text, kind, annotations, &mut hits);
        schema::check_value_hits(kind, &mut hits);
        unicode::escalate_split_words(&mut hits);
        fold_all(&mut hits);
        hits
    }

    fn scan_field<'a>(
        &self,
        memo: &mut Memo<'a>,
        unit: &Unit<'_>,
        annotations: Option<&Value>,
        field: &Field<'a>,
        out: &mut Vec<Finding>,
    ) {
        let place = Place { unit, pointer: &field.pointer, kind: field.kind, annotations };
        // Field checks are pure in (kind, text) — and, for tool names and descriptions,
        // in what the annotation rules read of the tool's annotations — so repeated
        // strings are checked once.
        let annotations =
            annotations.filter(|_| matches!(field.kind, FieldKind::ToolName | FieldKind::Description));
        let facts = self.rules.annotation_facts(annotations);
        let hits = memo
            .entry((field.kind, field.text, facts))
            .or_insert_with(|| self.check_text(field.text, field.kind, annotations))
            .clone();
        let start = out.len();
        self.report(&place, field.text, hits, 0, "", out);
        // The shadow view already reads hidden channels in place, so a rule that fired
        // on the field itself need not be repeated for the decoded payload.
        let direct: HashSet<&'static str> =
            out[start..].iter().filter(|f| f.span.is_some()).map(|f| f.rule).collect();
        let mut index = start;
        out.retain(|f| {
            let keep = index < start || f.span.is_some() || !direct.contains(&f.rule);
            index += 1;
            keep
        });
    }

    /// Turns hits into findings and rescans what they decoded. A hidden payload that
    /// itself carries a poisoning signal makes its carrier critical.
    fn report(
        &self,
        place: &Place<'_>,
        text: &str,
        hits: Vec<Hit>,
        depth: u8,
        via: &str,
        out: &mut Vec<Finding>,
    ) {
        // A secret one rule redacts is masked in every finding's evidence, not only in
        // that rule's own: other rules' excerpts overlap it.
        let shown = masked(text, &hits);
        let spans = (depth == 0).then(|| char_spans(text, &hits));
        for (n, hit) in hits.into_iter().enumerate() {
            let index = out.len();
            let span = spans.as_ref().and_then(|s| s.get(n).copied());
            out.push(to_finding(place, text, &shown, &hit, span, via));
            if let Some(payload) = &hit.decoded {
                if depth < MAX_DECODE_DEPTH {
                    let via = format!("{via}in text decoded by {}: ", hit.rule.id);
                    let before = out.len();
                    let payload_hits = self.check_text(payload, place.kind, place.annotations);
                    out[index].decoded = Some(visible::escape(&masked(payload, &payload_hits)));
                    self.report(place, payload, payload_hits, depth + 1, &via, out);
                    if out[before..].iter().any(|f| f.signal.is_some()) {
                        out[index].severity = Severity::Critical;
                        out[index].message.push_str(" (the hidden text carries instructions or targets)");
                    }
                }
            }
        }
    }
}

/// Hits of a field already checked in this scan, by (kind, text, annotation facts).
/// Hashing whole texts is much of a scan's cost: a fast hash, seeded per process.
type Memo<'a> = foldhash::HashMap<(FieldKind, &'a str, Vec<u8>), Vec<Hit>>;

/// A server or tool name, with its label ([`visible::label`]) and the form
/// fingerprints bind (the raw name, or the label of an over-long one), made once.
struct Named<'a> {
    raw: &'a str,
    label: String,
    bound: std::borrow::Cow<'a, str>,
}

impl<'a> Named<'a> {
    fn new(raw: &'a str) -> Named<'a> {
        let label = visible::label(raw);
        let long = raw.chars().nth(visible::MAX_LABEL_CHARS).is_some();
        let bound = if long { label.clone().into() } else { raw.into() };
        Named { raw, label, bound }
    }
}

/// What one scan unit is about: a server's header (`item` is `None`) or one of its
/// items (its name's label and its raw key), and who places findings on it.
struct Unit<'a> {
    server: &'a Named<'a>,
    item: Option<(&'a Named<'a>, &'a ItemRef)>,
    places: &'a dyn Locate,
}

/// Where a field is: its unit, pointer and field kind, and the item's annotations.
struct Place<'a> {
    unit: &'a Unit<'a>,
    pointer: &'a str,
    kind: FieldKind,
    annotations: Option<&'a Value>,
}

/// `text` with every secret a hit redacts masked after its first four characters, byte
/// for byte (`*`), so every span into `text` still fits.
fn masked<'t>(text: &'t str, hits: &[Hit]) -> std::borrow::Cow<'t, str> {
    let secrets: Vec<(usize, usize)> = hits
        .iter()
        .filter(|h| h.redact)
        .flat_map(|h| std::iter::once(h.span).chain(h.more_secrets.iter().copied()))
        .collect();
    if secrets.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    for (start, end) in secrets {
        let Some(secret) = text.get(start..end) else { continue };
        let kept = secret.chars().take(4).map(char::len_utf8).sum::<usize>();
        bytes[start + kept..end].fill(b'*');
    }
    // Whole characters were replaced by ASCII: still UTF-8.
    std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

/// A finding from a hit; `shown` is `text` with secrets masked, for the evidence.
fn to_finding(
    place: &Place<'_>,
    text: &str,
    shown: &str,
    hit: &Hit,
    span: Option<[usize; 2]>,
    via: &str,
) -> Finding {
    let raw = text.get(hit.span.0..hit.span.1).unwrap_or_default();
    let evidence_key = format!("{via}{raw}");
    let message = if via.is_empty() { hit.message.clone() } else { format!("{via}{}", hit.message) };
    let unit = place.unit;
    let item = unit.item.map(|(_, key)| key);
    Finding {
        rule: hit.rule.id,
        name: hit.rule.name,
        class: hit.rule.class,
        severity: hit.severity,
        server: unit.server.label.clone(),
        kind: item.map_or(Kind::Server, |i| i.kind),
        item: unit.item.map(|(named, _)| named.label.clone()),
        pointer: visible::escape(place.pointer),
        span,
        message,
        evidence: if hit.redact {
            redacted_excerpt(text, shown, hit.span)
        } else {
            visible::excerpt(shown, hit.span)
        },
        decoded: hit.decoded.as_deref().map(visible::escape),
        fingerprint: fingerprint(
            hit.rule.id,
            &unit.server.bound,
            unit.item.map(|(named, key)| ItemRef::new(key.kind, named.bound.to_string())).as_ref(),
            place.pointer,
            &evidence_key,
        ),
        signal: hit.signal,
        location: unit.places.field(unit.server.raw, item, place.pointer),
    }
}

/// An excerpt with the span masked: its first four characters, then how many were
/// hidden. The context either side comes from `shown` (other secrets masked).
fn redacted_excerpt(text: &str, shown: &str, (start, end): (usize, usize)) -> String {
    let (Some(secret), Some(after)) = (text.get(start..end), shown.get(end..)) else {
        return "\u{27E8}redacted\u{27E9}".to_owned();
    };
    let shown_end = start + secret.chars().take(4).map(char::len_utf8).sum::<usize>();
    let hidden = secret.chars().count().saturating_sub(4);
    let left = visible::excerpt(shown.get(..shown_end).unwrap_or_default(), (start, shown_end));
    let right = visible::escape(&after.chars().take(24).collect::<String>());
    format!("{left}\u{27E8}{hidden} characters redacted\u{27E9}{right}")
}

/// Rules implemented in code, with their metadata.
pub fn code_rules() -> Vec<&'static Rule> {
    let mut all: Vec<&'static Rule> = Vec::new();
    all.extend(unicode::RULES);
    all.extend(catalog_set::RULES);
    all.extend(overlap::RULES);
    all.extend(controls::RULES);
    all.extend(destinations::RULES);
    all.extend(length::RULES);
    all.extend(blobs::RULES);
    all.extend(schema::RULES);
    all.extend(composite::RULES);
    all.extend(oauth::RULES);
    all.extend(crate::policy::RULES);
    // Not detectors, but rule ids all the same: drift classes and registry problems.
    all.extend(crate::drift::RULES);
    all.extend(crate::clients::standing::RULES);
    all.extend(crate::registry::RULES);
    all.extend(crate::registry::since::RULES);
    all.extend(crate::lock::RULES);
    all
}

/// What a catalog calls its own, for the checks of one unit: its tools' names and its
/// tools' parameter names.
struct Names<'a> {
    tools: &'a HashSet<&'a str>,
    parameters: &'a destinations::Parameters,
}

/// Byte spans → code-point spans, for every hit in one walk over the text (counting
/// from the start for each hit made a field with many hits quadratic). An offset that
/// is not a char boundary or lies past the end counts as 0, as `str::get` would give.
fn char_spans(text: &str, hits: &[Hit]) -> Vec<[usize; 2]> {
    let mut offsets: Vec<usize> = hits.iter().flat_map(|h| [h.span.0, h.span.1]).collect();
    offsets.sort_unstable();
    offsets.dedup();
    let mut counts: HashMap<usize, usize> = HashMap::with_capacity(offsets.len());
    let mut pending = offsets.iter().copied().peekable();
    let boundaries = text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len()));
    for (seen, i) in boundaries.enumerate() {
        while pending.next_if(|&o| o < i).is_some() {}
        if pending.next_if_eq(&i).is_some() {
            counts.insert(i, seen);
        }
    }
    let count = |at: usize| counts.get(&at).copied().unwrap_or(0);
    hits.iter().map(|h| [count(h.span.0), count(h.span.1)]).collect()
}

/// Maximal runs of chars satisfying `member`, as index ranges into `chars`.
pub(crate) fn runs(chars: &[(usize, char)], member: impl Fn(char) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if member(chars[i].1) {
            let start = i;
            while i < chars.len() && member(chars[i].1) {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Byte span of the char-index range `[a, b)`.
pub(crate) fn byte_span(text: &str, chars: &[(usize, char)], (a, b): (usize, usize)) -> (usize, usize) {
    let start = chars.get(a).map_or(text.len(), |c| c.0);
    let end = chars.get(b).map_or(text.len(), |c| c.0);
    (start, end)
}

/// `U+200B ZERO WIDTH SPACE`-style names for the code points detectors talk about.
pub(crate) fn describe(c: char) -> String {
    let name = match c {
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{115F}' => "HANGUL CHOSEONG FILLER",
        '\u{1160}' => "HANGUL JUNGSEONG FILLER",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}' => "FUNCTION APPLICATION",
        '\u{2062}' => "INVISIBLE TIMES",
        '\u{2063}' => "INVISIBLE SEPARATOR",
        '\u{2064}' => "INVISIBLE PLUS",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{3164}' => "HANGUL FILLER",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{FFA0}' => "HALFWIDTH HANGUL FILLER",
        _ => "",
    };
    if name.is_empty() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} {name}", c as u32)
    }
}
