//! Code-point classes that hide, reorder or smuggle text (research/threats.md §6).
//!
//! One table, used by the escaper, the shadow view and the detectors, so that what a
//! detector calls "hidden" is exactly what the terminal escaper makes visible.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The nine explicit bidi formatting characters that rustc denies (Trojan Source).
pub fn is_bidi_explicit(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The implicit bidi marks: ALM, LRM, RLM.
pub fn is_bidi_mark(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}')
}

/// Zero-width characters used to split words or carry bits (threats.md §6.2).
pub fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

/// Unicode Tags block, U+E0000–U+E007F (ASCII smuggling).
pub fn is_tag(c: char) -> bool {
    matches!(c, '\u{E0000}'..='\u{E007F}')
}

/// Variation selectors VS1–VS256 (byte smuggling). Mongolian FVS are separate.
pub fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Mongolian free variation selectors FVS1–FVS4.
pub fn is_mongolian_fvs(c: char) -> bool {
    matches!(c, '\u{180B}'..='\u{180D}' | '\u{180F}')
}

/// Invisible math operators U+2061–U+2064 (Sneaky Bits).
pub fn is_invisible_operator(c: char) -> bool {
    matches!(c, '\u{2061}'..='\u{2064}')
}

/// Hangul fillers: letters (Lo) that render as nothing.
pub fn is_hangul_filler(c: char) -> bool {
    matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// Default_Ignorable_Code_Point (DerivedCoreProperties, Unicode 16), as 17 ranges.
///
/// Owned here rather than taken from a crate so that the set is versioned with the
/// project; a unit test checks it against `regex`'s `\p{Default_Ignorable_Code_Point}`
/// where that crate is available, and against threats.md §6.6 always.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Default-ignorable code points that are reserved (unassigned): no text uses them.
pub fn is_reserved_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{2065}' | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}' | '\u{E0080}'..='\u{E00FF}' | '\u{E01F0}'..='\u{E0FFF}'
    )
}

/// Private Use Areas: the BMP area and the two supplementary planes.
pub fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}')
}

/// The 66 noncharacters: U+FDD0–U+FDEF and the last two code points of every plane.
pub fn is_noncharacter(c: char) -> bool {
    let cp = c as u32;
    (0xFDD0..=0xFDEF).contains(&cp) || (cp & 0xFFFE) == 0xFFFE
}

/// Unassigned code points (General_Category Cn), by the tables of `unicode-properties`.
pub fn is_unassigned(c: char) -> bool {
    !c.is_ascii() && !is_noncharacter(c) && c.general_category() == GeneralCategory::Unassigned
}

/// Combining diacritical marks (the five blocks of them). They draw on the letter before
/// them, so `i\u{308}gno\u{308}re` reads "ïgnöre" and "Zalgo" stacks read as plain words
/// to a model; split between letters, they break the words a rule looks for.
pub fn is_combining_diacritic(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// C0 and C1 control characters and DEL.
pub fn is_control(c: char) -> bool {
    matches!(c, '\u{0000}'..='\u{001F}' | '\u{007F}'..='\u{009F}')
}

/// Other format characters (Cf) and line/paragraph separators a terminal may act on.
pub fn is_other_format(c: char) -> bool {
    !c.is_ascii() && (matches!(c, '\u{2028}' | '\u{2029}') || c.general_category() == GeneralCategory::Format)
}

/// Letters of right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko, …).
pub fn is_rtl_letter(c: char) -> bool {
    matches!(
        c,
        '\u{0590}'..='\u{08FF}'
            | '\u{FB1D}'..='\u{FDFF}'
            | '\u{FE70}'..='\u{FEFC}'
            | '\u{10800}'..='\u{10FFF}'
            | '\u{1E800}'..='\u{1EFFF}'
    ) && c.is_alphabetic()
}

/// Whether `text` holds a C0/C1 control other than TAB and LF (bytes only: C1
/// controls are `C2 80`–`C2 9F` in UTF-8).
pub fn has_controls(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        (b < 0x20 && b != b'\n' && b != b'\t')
            || b == 0x7F
            || (b == 0xC2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)))
    })
}

/// Whether any character of `text` could hide or reorder text: the detectors'
/// fast path skips strings for which this is false (the overwhelming majority).
pub fn needs_inspection(text: &str) -> bool {
    text.bytes().any(|b| b >= 0x80 || (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ignorable_table_matches_threats_catalog() {
        for c in [
            '\u{00AD}',
            '\u{034F}',
            '\u{115F}',
            '\u{3164}',
            '\u{200B}',
            '\u{2064}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{E0100}',
            '\u{1D173}',
        ] {
            assert!(is_default_ignorable(c), "{:04X}", c as u32);
        }
        for c in ['a', ' ', '\u{00A0}', '\u{2800}', '\u{0600}', '\u{3000}', 'é'] {
            assert!(!is_default_ignorable(c), "{:04X}", c as u32);
        }
    }

    #[test]
    fn noncharacters_and_private_use() {
        assert!(is_noncharacter('\u{FFFE}'));
        assert!(is_noncharacter('\u{10FFFF}'));
        assert!(is_noncharacter('\u{FDD0}'));
        assert!(!is_noncharacter('\u{FFFD}'));
        assert!(is_private_use('\u{E000}'));
        assert!(is_private_use('\u{F8FF}'));
        assert!(!is_private_use('\u{FFFD}'));
        assert!(is_unassigned('\u{0378}'));
        assert!(!is_unassigned('a'));
    }

    #[test]
    fn fast_path_lets_plain_ascii_through() {
        assert!(!needs_inspection("Read a file.\n\tIndented"));
        assert!(needs_inspection("caf\u{e9}"));
        assert!(needs_inspection("a\rb"));
        assert!(needs_inspection("a\u{1b}[0m"));
    }
}
