//! The one escaping function between untrusted text and any human-facing output (design §6).
//!
//! Every character that could drive a terminal, reorder text or hide from a reader is
//! written as `⟨U+XXXX⟩`. The opening bracket itself is escaped too, so a description
//! cannot forge an escape that looks like ours.

use crate::charclass;

/// The first `chars` characters of `text`, with `…` when something was cut (raw: escape
/// it to show it).
pub fn truncate(text: &str, chars: usize) -> String {
    let mut cut: String = text.chars().take(chars).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// Escapes `text` for a single line of human output: newlines and tabs included.
pub fn escape(text: &str) -> String {
    escape_with(text, false, true)
}

/// Escapes `text` for multi-line display: `\n` and `\t` pass through, all else as [`escape`].
pub fn escape_multiline(text: &str) -> String {
    escape_with(text, true, true)
}

/// The last pass over a message built from parts that were escaped already (an error
/// quoting a name): as [`escape_multiline`], but `⟨` is left as it is, so what was
/// escaped once is not escaped again (`⟨U+001B⟩`, not `⟨U+27E8⟩U+001B⟩`). Nothing that
/// could drive a terminal survives either way.
pub fn neutralize_multiline(text: &str) -> String {
    escape_with(text, true, false)
}

/// Names longer than this many characters (MCP tool names are at most 128) are shown
/// cut by [`label`].
pub const MAX_LABEL_CHARS: usize = 128;

/// A server or tool name as findings show it: [`escape`]d, and when longer than
/// [`MAX_LABEL_CHARS`], cut to its first 64 characters followed by how many more there
/// are and a digest of the whole name (distinct names keep distinct labels). Every
/// finding carries its tool's label, so a megabyte-long name must not be copied into
/// each of them.
pub fn label(name: &str) -> String {
    let Some((cut, _)) = name.char_indices().nth(MAX_LABEL_CHARS) else {
        return escape(name);
    };
    let head_end = name.char_indices().nth(64).map_or(cut, |(i, _)| i);
    let more = name[head_end..].chars().count();
    let digest = crate::canon::Digest::of_bytes(name.as_bytes());
    let hex: String = digest.as_str().trim_start_matches("sha256:").chars().take(16).collect();
    format!("{}\u{27E8}… {more} more characters, sha256:{hex}…\u{27E9}", escape(&name[..head_end]))
}

/// Whether `c` (following `prev`) must be shown as a code point rather than drawn.
pub fn must_escape(c: char, prev: Option<char>) -> bool {
    if c.is_ascii() {
        return charclass::is_control(c);
    }
    if matches!(c, '\u{FE0E}' | '\u{FE0F}') {
        // A single VS15/VS16 right after a drawn non-ASCII base is ordinary emoji
        // presentation; anything else (a run, or after ASCII) is escaped.
        return !matches!(prev, Some(p) if !p.is_ascii() && !charclass::is_default_ignorable(p));
    }
    c == '\u{27E8}'
        || charclass::is_control(c)
        || charclass::is_default_ignorable(c)
        || charclass::is_bidi_mark(c)
        || charclass::is_private_use(c)
        || charclass::is_noncharacter(c)
        || charclass::is_other_format(c)
        || charclass::is_unassigned(c)
}

fn escape_with(text: &str, keep_lines: bool, bracket: bool) -> String {
    if !(charclass::needs_inspection(text) || text.contains(['\n', '\t'])) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev = None;
    for c in text.chars() {
        let kept_whitespace = keep_lines && (c == '\n' || c == '\t');
        if !kept_whitespace && (bracket || c != '\u{27E8}') && must_escape(c, prev) {
            out.push_str(&code_point(c));
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// `⟨U+200B⟩` for one code point.
pub fn code_point(c: char) -> String {
    format!("\u{27E8}U+{:04X}\u{27E9}", c as u32)
}

/// `value` with every string and every key made visible (for JSON reports that carry
/// catalog values, so `jq -r` cannot print a raw control either).
pub fn value(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(escape(s)),
        Value::Array(items) => Value::Array(items.iter().map(self::value).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (escape(k), self::value(v))).collect()),
        other => other.clone(),
    }
}

/// An escaped excerpt around `span` (byte offsets into `text`), for evidence.
///
/// At most `CONTEXT` characters either side, and as much of the span as fits in
/// `SPAN_WIDTH` columns once escaped; what is cut is marked with `…` (or `⟨… N more⟩`
/// inside the span).
pub fn excerpt(text: &str, span: (usize, usize)) -> String {
    const CONTEXT: usize = 24;
    const SPAN_WIDTH: usize = 120;
    let (start, end) = clamp_span(text, span);
    // Only the context is walked, never the whole text: a field with many findings
    // would otherwise cost its length once per finding.
    let before_text = &text[..start];
    let from = before_text.char_indices().rev().nth(CONTEXT - 1).map_or(0, |(i, _)| i);
    let before = &before_text[from..];
    let after_text = &text[end..];
    let to = after_text.char_indices().nth(CONTEXT).map_or(after_text.len(), |(i, _)| i);

    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(&escape(before));
    let mut shown = String::new();
    let mut shown_chars = 0;
    let mut prev = before.chars().next_back();
    let mut inside = text[start..end].chars();
    while let Some(c) = inside.next() {
        if shown_chars >= SPAN_WIDTH {
            shown.push_str(&format!("\u{27E8}… {} more\u{27E9}", 1 + inside.count()));
            break;
        }
        if must_escape(c, prev) {
            let point = code_point(c);
            shown_chars += point.chars().count();
            shown.push_str(&point);
        } else {
            shown_chars += 1;
            shown.push(c);
        }
        prev = Some(c);
    }
    out.push_str(&shown);
    out.push_str(&escape(&after_text[..to]));
    if to < after_text.len() {
        out.push('…');
    }
    out
}

/// Moves a byte span onto char boundaries inside `text`.
fn clamp_span(text: &str, (start, end): (usize, usize)) -> (usize, usize) {
    let fix = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (s, e) = (fix(start), fix(end));
    (s.min(e), e.max(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_dangerous_class() {
        let hostile =
            "a\u{1b}[31mb\u{9b}c\u{202e}d\u{200b}e\u{e0041}f\u{fe00}\u{fe01}g\u{e000}h\u{7}\u{27e8}";
        let shown = escape(hostile);
        for c in shown.chars().filter(|&c| c != '\u{27E8}' && c != '\u{27E9}') {
            assert!(!must_escape(c, None), "raw {:04X} in {shown}", c as u32);
        }
        assert_eq!(shown.matches('\u{27E8}').count(), shown.matches("\u{27E8}U+").count());
        assert!(shown.contains("\u{27E8}U+001B\u{27E9}"));
        assert!(shown.contains("\u{27E8}U+E0041\u{27E9}"));
        assert!(shown.contains("\u{27E8}U+27E8\u{27E9}"));
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for s in ["plain", "caf\u{e9} \u{65e5}\u{672c}", "\u{2764}\u{fe0f} love", "\u{5c0f}\u{6797}"] {
            assert_eq!(escape(s), s);
        }
        assert_eq!(escape("a\nb"), "a\u{27E8}U+000A\u{27E9}b");
        assert_eq!(escape_multiline("a\nb"), "a\nb");
    }

    #[test]
    fn long_names_are_cut_but_stay_distinct() {
        assert_eq!(label("read_file"), "read_file");
        assert_eq!(label(&"\u{1}".repeat(MAX_LABEL_CHARS)), escape(&"\u{1}".repeat(MAX_LABEL_CHARS)));
        let (a, b) = ("x".repeat(100_000) + "a", "x".repeat(100_000) + "b");
        assert!(label(&a).chars().count() < 200, "{}", label(&a));
        assert!(label(&a).contains("99937 more characters"), "{}", label(&a));
        assert_ne!(label(&a), label(&b));
    }

    #[test]
    fn excerpt_cuts_long_spans_and_context() {
        let text = format!("{}X{}", "a".repeat(50), "\u{e0041}".repeat(100));
        let shown = excerpt(&text, (50, text.len()));
        assert!(shown.starts_with('…'));
        assert!(shown.contains("⟨U+E0041⟩"));
        assert!(shown.contains("86 more"), "{shown}");
    }
}
