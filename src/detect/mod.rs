//! Detection: every detector over a set of catalogs, at three levels (design §3):
//! per field (text), per tool, and per catalog set. Decoded hidden payloads are fed
//! back through the field detectors, two levels deep at most.
//!
//! Detectors return [`Hit`]s (rule, severity, span, message, decoded payload); this
//! module turns them into [`Finding`]s with locations, evidence and fingerprints.

pub mod catalog_set;
pub mod controls;
pub mod length;
pub mod unicode;

use crate::catalog::Catalog;
use crate::fields::{self, Field, FieldKind};
use crate::finding::{fingerprint, Finding, Rule, Severity};
use crate::visible;

/// How many times a decoded payload is itself decoded and rescanned.
pub const MAX_DECODE_DEPTH: u8 = 2;

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
}

impl Hit {
    pub fn new(
        rule: &'static Rule,
        severity: Severity,
        span: (usize, usize),
        message: impl Into<String>,
    ) -> Hit {
        Hit { rule, severity, span, message: message.into(), decoded: None }
    }

    pub fn decoded(mut self, decoded: Option<String>) -> Hit {
        self.decoded = decoded.filter(|d| !d.trim().is_empty());
        self
    }
}

/// Every rule the built-in detectors can report.
pub fn rules() -> Vec<&'static Rule> {
    let mut all: Vec<&'static Rule> = Vec::new();
    all.extend(unicode::RULES);
    all.extend(catalog_set::RULES);
    all.extend(controls::RULES);
    all.extend(length::RULES);
    all.sort_by_key(|r| r.id);
    all
}

/// Runs every detector over `catalogs`; findings come back sorted.
pub fn scan(catalogs: &[Catalog]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for catalog in catalogs {
        for field in fields::header_fields(&catalog.header) {
            scan_field(&catalog.server, None, &field, &mut findings);
        }
        for tool in &catalog.tools {
            for field in fields::tool_fields(&tool.value) {
                scan_field(&catalog.server, Some(&tool.name), &field, &mut findings);
            }
        }
    }
    findings.extend(catalog_set::check(catalogs));
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    findings
}

/// All field-level hits on one piece of text.
pub fn check_text(text: &str, kind: FieldKind) -> Vec<Hit> {
    let mut hits = Vec::new();
    unicode::check(text, kind, &mut hits);
    controls::check(text, &mut hits);
    length::check(text, kind, &mut hits);
    hits
}

fn scan_field(server: &str, tool: Option<&str>, field: &Field<'_>, out: &mut Vec<Finding>) {
    scan_text(server, tool, &field.pointer, field.text, field.kind, 0, "", out);
}

#[allow(clippy::too_many_arguments)]
fn scan_text(
    server: &str,
    tool: Option<&str>,
    pointer: &str,
    text: &str,
    kind: FieldKind,
    depth: u8,
    via: &str,
    out: &mut Vec<Finding>,
) {
    for hit in check_text(text, kind) {
        let raw = text.get(hit.span.0..hit.span.1).unwrap_or_default();
        let evidence_key = format!("{via}{raw}");
        let message = if via.is_empty() { hit.message.clone() } else { format!("{via}{}", hit.message) };
        out.push(Finding {
            rule: hit.rule.id,
            name: hit.rule.name,
            severity: hit.severity,
            server: visible::escape(server),
            tool: tool.map(visible::escape),
            pointer: visible::escape(pointer),
            span: (depth == 0).then(|| char_span(text, hit.span)),
            message,
            evidence: visible::excerpt(text, hit.span),
            decoded: hit.decoded.as_deref().map(visible::escape),
            fingerprint: fingerprint(hit.rule.id, server, tool, pointer, &evidence_key),
        });
        if let Some(payload) = &hit.decoded {
            if depth < MAX_DECODE_DEPTH {
                let via = format!("{via}in text decoded by {}: ", hit.rule.id);
                scan_text(server, tool, pointer, payload, kind, depth + 1, &via, out);
            }
        }
    }
}

/// Byte span → code-point span.
fn char_span(text: &str, (start, end): (usize, usize)) -> [usize; 2] {
    let count = |to: usize| text.get(..to).map_or(0, |s| s.chars().count());
    [count(start), count(end)]
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
