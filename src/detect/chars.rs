//! How a rule pattern, a byte regex, reads characters: its bounded windows count
//! characters, not bytes, and a word boundary never stands next to a letter it cannot
//! see. Applied to every parsed pattern before it is compiled (build.rs for the built-in
//! ones, the rule loader for a user's), so no rule has to know how many bytes a letter
//! of its language takes.
//!
//! Shared with build.rs (`#[path]`), so it depends on `regex_syntax` alone.

use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Look, Repetition};

/// The UTF-8 continuation bytes: the second, third or fourth byte of a character.
fn continuations() -> ClassBytes {
    ClassBytes::new([ClassBytesRange::new(0x80, 0xBF)])
}

/// `hir` with every bounded repetition of a byte class that holds non-ASCII characters
/// (`.{0,40}`, `[^.!?\n]{0,60}`, `\S{0,3}`) counting characters: the class without
/// continuation bytes, each match followed by the continuation bytes of its character.
/// A Cyrillic letter is two bytes and a CJK character three, so `.{0,40}` read
/// 20 Russian letters and 13 Chinese characters. Unbounded repetitions (`.*`, `\S+`)
/// already take a whole character and are left as they are.
pub fn count_characters(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Repetition(rep) => {
            let sub = match rep.sub.kind() {
                HirKind::Class(Class::Bytes(class)) if rep.max.is_some() && holds_continuations(class) => {
                    one_character_of(class)
                }
                _ => count_characters(&rep.sub),
            };
            Hir::repetition(Repetition { sub: Box::new(sub), ..rep.clone() })
        }
        HirKind::Capture(capture) => {
            let mut capture = capture.clone();
            capture.sub = Box::new(count_characters(&capture.sub));
            Hir::capture(capture)
        }
        HirKind::Concat(items) => Hir::concat(items.iter().map(count_characters).collect()),
        HirKind::Alternation(items) => Hir::alternation(items.iter().map(count_characters).collect()),
        _ => hir.clone(),
    }
}

fn holds_continuations(class: &ClassBytes) -> bool {
    let mut missing = continuations();
    missing.difference(class);
    missing.ranges().is_empty()
}

/// One character whose first byte `class` holds: that byte, then any continuation bytes.
fn one_character_of(class: &ClassBytes) -> Hir {
    let mut first = class.clone();
    first.difference(&continuations());
    let rest = Hir::repetition(Repetition {
        min: 0,
        max: None,
        greedy: true,
        sub: Box::new(Hir::class(Class::Bytes(continuations()))),
    });
    Hir::concat(vec![Hir::class(Class::Bytes(first)), rest])
}

/// The first word boundary in `hir` that stands next to a literal beginning (after it)
/// or ending (before it) with a non-ASCII letter, where nothing on its other side is
/// sure to be an ASCII letter or digit: that literal, lossily decoded. `\b` is an ASCII
/// boundary: between a space and "über" there is none, so `\b(?:über|uber)` never reads
/// "über" after a space (detectors/README.md says how to write such words: outside the
/// boundary). `schritt\b.{0,9}?öffne` is fine: the boundary ends "schritt".
pub fn boundary_beside_non_ascii(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Concat(items) => {
            for (at, item) in items.iter().enumerate() {
                if is_word_boundary(item) {
                    let after = edge(&items[at + 1..], Side::First);
                    let before = edge(&items[..at], Side::Last);
                    let (after_word, before_word) = (after.is_ascii_word(), before.is_ascii_word());
                    let word = match (after.non_ascii, before.non_ascii) {
                        (Some(word), _) if !before_word => Some(word),
                        (_, Some(word)) if !after_word => Some(word),
                        _ => None,
                    };
                    if word.is_some() {
                        return word;
                    }
                }
            }
            items.iter().find_map(boundary_beside_non_ascii)
        }
        HirKind::Alternation(items) => items.iter().find_map(boundary_beside_non_ascii),
        HirKind::Repetition(rep) => boundary_beside_non_ascii(&rep.sub),
        HirKind::Capture(capture) => boundary_beside_non_ascii(&capture.sub),
        _ => None,
    }
}

/// What is wrong with `hir`'s word boundaries, said once for the build of a built-in
/// rule file and the load of a user's.
pub fn boundary_fault(hir: &Hir) -> Option<String> {
    boundary_beside_non_ascii(hir).map(|word| {
        format!(
            "`\\b` stands next to {word:?}, which begins or ends with a non-ASCII letter; `\\b` is an ASCII \
             boundary and never falls between a space and such a letter: put that word outside the boundary, \
             after `(?:^|\\s)` or a space (detectors/README.md)"
        )
    })
}

fn is_word_boundary(hir: &Hir) -> bool {
    matches!(
        hir.kind(),
        HirKind::Look(
            Look::WordAscii
                | Look::WordStartAscii
                | Look::WordEndAscii
                | Look::WordStartHalfAscii
                | Look::WordEndHalfAscii
        )
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    First,
    Last,
}

/// What one edge of a sequence may be.
struct Edge {
    /// Every byte the edge may be.
    bytes: [bool; 256],
    /// A literal at that edge whose edge character is a non-ASCII letter or digit
    /// (punctuation such as `’` is no word character on either reading).
    non_ascii: Option<String>,
    /// Whether the sequence may match nothing, so the edge may lie beyond it.
    empty: bool,
}

impl Edge {
    fn nothing() -> Edge {
        Edge { bytes: [false; 256], non_ascii: None, empty: true }
    }

    /// Whether the edge is sure to be an ASCII letter, digit or underscore.
    fn is_ascii_word(&self) -> bool {
        !self.empty
            && self.bytes.iter().any(|&b| b)
            && (0..=255u8).all(|b| !self.bytes[usize::from(b)] || b.is_ascii_alphanumeric() || b == b'_')
    }

    fn add(&mut self, other: Edge) {
        for (mine, theirs) in self.bytes.iter_mut().zip(other.bytes) {
            *mine |= theirs;
        }
        self.non_ascii = self.non_ascii.take().or(other.non_ascii);
    }
}

/// The edge of `items` matched in order, on `side`.
fn edge(items: &[Hir], side: Side) -> Edge {
    let mut found = Edge::nothing();
    let ordered: Box<dyn Iterator<Item = &Hir>> =
        if side == Side::First { Box::new(items.iter()) } else { Box::new(items.iter().rev()) };
    for item in ordered {
        let here = edge_of(item, side);
        let empty = here.empty;
        found.add(here);
        if !empty {
            found.empty = false;
            break;
        }
    }
    found
}

fn edge_of(hir: &Hir, side: Side) -> Edge {
    let mut found = Edge::nothing();
    match hir.kind() {
        HirKind::Literal(literal) => {
            let byte = if side == Side::First { literal.0.first() } else { literal.0.last() };
            if let Some(&byte) = byte {
                found.bytes[usize::from(byte)] = true;
                found.empty = false;
                let text = String::from_utf8_lossy(&literal.0);
                let letter = if side == Side::First { text.chars().next() } else { text.chars().next_back() };
                if letter.is_some_and(|c| !c.is_ascii() && c.is_alphanumeric()) {
                    found.non_ascii = Some(text.into_owned());
                }
            }
        }
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Class(Class::Bytes(class)) => {
            for range in class.ranges() {
                for byte in range.start()..=range.end() {
                    found.bytes[usize::from(byte)] = true;
                }
            }
            found.empty = false;
        }
        // An alternation of single letters, `(?:ó|o)`, parses as a class of characters,
        // matched as their UTF-8 bytes.
        HirKind::Class(Class::Unicode(class)) => {
            for range in class.ranges() {
                if u32::from(range.end()) - u32::from(range.start()) > 1024 {
                    // A wide class (`(?u:\w)`): any byte.
                    found.bytes = [true; 256];
                }
                for letter in (range.start()..=range.end()).take(1024) {
                    let mut buffer = [0; 4];
                    let bytes = letter.encode_utf8(&mut buffer).as_bytes();
                    let byte = if side == Side::First { bytes.first() } else { bytes.last() };
                    if let Some(&byte) = byte {
                        found.bytes[usize::from(byte)] = true;
                    }
                    if !letter.is_ascii() && letter.is_alphanumeric() && found.non_ascii.is_none() {
                        found.non_ascii = Some(letter.to_string());
                    }
                }
            }
            found.empty = false;
        }
        HirKind::Repetition(rep) => {
            found = edge_of(&rep.sub, side);
            found.empty |= rep.min == 0;
        }
        HirKind::Capture(capture) => found = edge_of(&capture.sub, side),
        HirKind::Concat(items) => found = edge(items, side),
        HirKind::Alternation(items) => {
            found.empty = false;
            for item in items {
                let branch = edge_of(item, side);
                let empty = branch.empty;
                found.add(branch);
                found.empty |= empty;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pattern: &str) -> Hir {
        regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(pattern).unwrap()
    }

    fn matches(pattern: &str, text: &str) -> bool {
        let hir = count_characters(&parse(pattern));
        let regex = regex_automata::meta::Regex::builder().build_from_hir(&hir).unwrap();
        regex.is_match(text.as_bytes())
    }

    #[test]
    fn a_window_counts_characters_in_every_script() {
        // Four characters of each script between the words: one, two and three bytes each.
        for (gap, script) in
            [("abcd", "latin"), ("абвг", "cyrillic"), ("نصحط", "arabic"), ("指示無視", "cjk")]
        {
            let text = format!("x{gap}y");
            assert!(matches("x.{0,4}y", &text), "{script}");
            assert!(!matches("x.{0,3}y", &text), "{script}");
            assert!(matches("x[^.!?]{4}y", &text), "{script}");
            assert!(matches(r"x\S{2,4}y", &text), "{script}");
            assert!(!matches(r"x\S{5,9}y", &text), "{script}");
        }
        // What the class leaves out, it still leaves out, and a lazy window stays lazy.
        assert!(!matches("x[^.]{0,9}y", "xаб.вy"));
        let hir = count_characters(&parse("x.{0,4}?y"));
        assert!(format!("{hir:?}").contains("greedy: false"));
        // Unbounded repetitions are left as they are.
        assert_eq!(count_characters(&parse(r"x\S+y")), parse(r"x\S+y"));
    }

    #[test]
    fn a_boundary_beside_a_word_that_begins_or_ends_with_an_accent_is_named() {
        for (pattern, word) in [
            (r"\b(?:über|uber)tragen", "über"),
            (r"\b(?:ignor|ändere)", "ändere"),
            (r"(?:só|so)\b\s", "só"),
            (r"\bs(?:ó|o)\b", "ó"),
            (r"foo|(?:\s|^)(?:\b)(?:a|(?:é)?)x", "é"),
            (r"\bпроигнорируй", "проигнорируй"),
        ] {
            assert_eq!(boundary_beside_non_ascii(&parse(pattern)).as_deref(), Some(word), "{pattern}");
        }
        for pattern in [
            r"\b(?:uber|ueber)tragen",
            r"(?:übertragen|\bsend)",
            r"token\b.{0,40}(?:é|e)",
            r"\bignor\S*\s+(?:ü|u)",
            r"(?:^|\s)(?:ändere|change)\b",
            r"(?:ignor|ändere)\b",
            r"\s+(?:le|l(?:'|’))\b",
            r"schritt\b[^.\n]{0,40}?(?:\b(?:rufe|oeffne)|öffne)",
            r"(?:ändern|change)\b\s",
        ] {
            assert_eq!(boundary_beside_non_ascii(&parse(pattern)), None, "{pattern}");
        }
    }
}
