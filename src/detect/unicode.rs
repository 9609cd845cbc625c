//! The UNI family: hidden, reordering and look-alike Unicode in a single field
//! (threats.md §6). Legitimate uses — emoji sequences, flag tags, one presentation
//! selector, ZWNJ/ZWJ in Arabic-script and Indic text, RTL marks in Hebrew and
//! Arabic, CJK, mathematics — produce nothing at medium or above.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeEmoji, UnicodeGeneralCategory};
use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;

use super::{byte_span, describe, runs, Fold, Hit};
use crate::charclass;
use crate::decode;
use crate::fields::FieldKind;
use crate::finding::{Rule, RuleClass, Severity};

pub const BIDI: Rule = Rule {
    id: "UNI001",
    name: "bidi-control",
    title: "Bidirectional control characters make the displayed text differ from what the model reads",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "Bidi controls (RLO, LRE, isolates) make a terminal or UI show text in a different order than the model reads it (Trojan Source). Remove them; legitimate RTL text needs at most isolates and marks.",
};
pub const ZERO_WIDTH: Rule = Rule {
    id: "UNI002",
    name: "zero-width-in-word",
    title: "Zero-width characters split words past filters or carry hidden bits",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "Zero-width characters split a word so that filters miss it while the model reads it whole, or encode hidden bits. Remove them; emoji sequences and Arabic-script or Indic joiners are allowed.",
};
pub const TAGS: Rule = Rule {
    id: "UNI003",
    name: "unicode-tags-smuggling",
    title: "Unicode Tags characters carry invisible ASCII text",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "Unicode Tags characters (U+E0000-U+E007F) are invisible, yet models read them as ASCII: a classic way to smuggle instructions. Only flag tag sequences are legitimate.",
};
pub const VARIATION_SELECTORS: Rule = Rule {
    id: "UNI004",
    name: "variation-selector-run",
    title: "Variation selectors outside a standard sequence smuggle bytes",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "More than one variation selector in a row has no standard meaning and can carry arbitrary bytes. Remove them.",
};
pub const INVISIBLE_OPERATORS: Rule = Rule {
    id: "UNI005",
    name: "invisible-math-operator-run",
    title: "Runs of invisible math operators encode hidden text",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "Runs of invisible math operators encode bits (Sneaky Bits). Single operators inside formulas are fine.",
};
pub const IGNORABLE: Rule = Rule {
    id: "UNI006",
    name: "default-ignorable",
    title: "Default-ignorable characters (Hangul fillers, soft hyphens, reserved) render as nothing",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "Default-ignorable characters render as nothing: Hangul fillers can form invisible names, reserved code points have no use. Remove them.",
};
pub const PRIVATE_USE: Rule = Rule {
    id: "UNI007",
    name: "private-use-or-noncharacter",
    title: "Private-use, noncharacter or unassigned code points have no standard meaning",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "Private-use code points, noncharacters and unassigned code points have no standard meaning and can carry data.",
};
pub const NON_ASCII_NAME: Rule = Rule {
    id: "UNI008",
    name: "non-ascii-tool-name",
    title: "Tool name outside the MCP charset [A-Za-z0-9_.-]",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "MCP tool names are [A-Za-z0-9_.-]; a name outside that set can impersonate another tool. Rename the tool.",
};
pub const MIXED_SCRIPT: Rule = Rule {
    id: "UNI010",
    name: "mixed-script-confusable-word",
    title: "A word mixes scripts so that it looks like an ASCII word",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "A word that mixes scripts into a look-alike of an ASCII word evades keyword review.",
};
pub const COMPATIBILITY: Rule = Rule {
    id: "UNI012",
    name: "compatibility-letters",
    title: "Fullwidth or mathematical letters that fold (NFKC) to ASCII words",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "Fullwidth or mathematical letters look like ASCII words but are different characters.",
};

pub const RULES: [&Rule; 10] = [
    &BIDI,
    &ZERO_WIDTH,
    &TAGS,
    &VARIATION_SELECTORS,
    &INVISIBLE_OPERATORS,
    &IGNORABLE,
    &PRIVATE_USE,
    &NON_ASCII_NAME,
    &MIXED_SCRIPT,
    &COMPATIBILITY,
];

/// All UNI checks on one field.
pub fn check(text: &str, kind: FieldKind, hits: &mut Vec<Hit>) {
    if text.is_ascii() {
        return;
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let hits = &mut Fold::new(hits);
    bidi(text, &chars, hits);
    tags(text, &chars, hits);
    variation_selectors(text, &chars, hits);
    let claimed = invisible_operators(text, &chars, hits);
    zero_width(text, &chars, &claimed, hits);
    ignorable(text, &chars, hits);
    private_use(text, &chars, hits);
    // The charset is the spec's for tool names (SEP-986); a prompt's or a resource's
    // name may be in any script, and a look-alike word in it is UNI010's.
    if kind == FieldKind::ToolName {
        non_ascii_name(text, &chars, hits);
    }
    if !matches!(kind, FieldKind::SchemaKeyword | FieldKind::Meta) {
        words(text, &chars, kind, hits);
    }
}

fn neighbours(chars: &[(usize, char)], (a, b): (usize, usize)) -> (Option<char>, Option<char>) {
    let prev = a.checked_sub(1).and_then(|i| chars.get(i)).map(|c| c.1);
    (prev, chars.get(b).map(|c| c.1))
}

// ---------------------------------------------------------------------------- UNI001

fn bidi(text: &str, chars: &[(usize, char)], hits: &mut Fold<'_>) {
    let explicit: Vec<usize> =
        (0..chars.len()).filter(|&i| charclass::is_bidi_explicit(chars[i].1)).collect();
    if let (Some(&first), Some(&last)) = (explicit.first(), explicit.last()) {
        let span = byte_span(text, chars, (first, last + 1));
        let reorders = explicit.iter().any(|&i| matches!(chars[i].1, '\u{202A}'..='\u{202E}'));
        let names = distinct_names(explicit.iter().map(|&i| chars[i].1));
        if reorders {
            let visual = visual_order(chars);
            let decoded = (visual != strip_bidi(chars)).then_some(visual);
            hits.push(
                Hit::new(
                    &BIDI,
                    Severity::High,
                    span,
                    format!(
                        "{} bidirectional embedding/override control(s) ({names}): a reader sees the text reordered, the model reads it in logical order",
                        explicit.len()
                    ),
                )
                .decoded(decoded),
            );
        } else if isolates_balanced(explicit.iter().map(|&i| chars[i].1)) {
            hits.push(Hit::new(
                &BIDI,
                Severity::Low,
                span,
                format!("balanced bidirectional isolates ({names}), as localization libraries insert"),
            ));
        } else {
            hits.push(Hit::new(
                &BIDI,
                Severity::Medium,
                span,
                format!("unbalanced bidirectional isolates ({names}) reorder the text that follows"),
            ));
        }
    }
    let marks: Vec<usize> = (0..chars.len()).filter(|&i| charclass::is_bidi_mark(chars[i].1)).collect();
    if let (Some(&first), Some(&last)) = (marks.first(), marks.last()) {
        let rtl = chars.iter().any(|c| charclass::is_rtl_letter(c.1));
        let severity = if rtl { Severity::Info } else { Severity::Low };
        hits.push(Hit::new(
            &BIDI,
            severity,
            byte_span(text, chars, (first, last + 1)),
            format!(
                "{} bidirectional mark(s) ({}){}",
                marks.len(),
                distinct_names(marks.iter().map(|&i| chars[i].1)),
                if rtl { " in right-to-left text" } else { " in text with no right-to-left letters" }
            ),
        ));
    }
}

fn distinct_names(chars: impl Iterator<Item = char>) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in chars {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.into_iter().map(describe).collect::<Vec<_>>().join(", ")
}

fn isolates_balanced(controls: impl Iterator<Item = char>) -> bool {
    let mut open = 0usize;
    for c in controls {
        match c {
            '\u{2066}'..='\u{2068}' => open += 1,
            '\u{2069}' => match open.checked_sub(1) {
                Some(n) => open = n,
                None => return false,
            },
            _ => {}
        }
    }
    open == 0
}

fn strip_bidi(chars: &[(usize, char)]) -> String {
    chars
        .iter()
        .map(|c| c.1)
        .filter(|&c| !charclass::is_bidi_explicit(c) && !charclass::is_bidi_mark(c))
        .collect()
}

/// The order a reader sees: text under RIGHT-TO-LEFT OVERRIDE is drawn reversed, up to
/// its POP DIRECTIONAL FORMATTING or the end of the line. Enough to expose the trick
/// (a full UAX #9 reordering is not needed to show what was hidden).
fn visual_order(chars: &[(usize, char)]) -> String {
    let mut out = String::new();
    let mut reversed: Option<Vec<char>> = None;
    for &(_, c) in chars {
        match (c, reversed.as_mut()) {
            ('\u{202E}', None) => reversed = Some(Vec::new()),
            ('\u{202C}' | '\n', Some(segment)) => {
                out.extend(segment.iter().rev());
                reversed = None;
                if c == '\n' {
                    out.push('\n');
                }
            }
            (c, _) if charclass::is_bidi_explicit(c) || charclass::is_bidi_mark(c) => {}
            (c, Some(segment)) => segment.push(c),
            (c, None) => out.push(c),
        }
    }
    if let Some(segment) = reversed {
        out.extend(segment.iter().rev());
    }
    out
}

// ---------------------------------------------------------------------------- UNI002

/// A word split by a zero-width character is evasion when the field also sets off a
/// text rule (whose shadow view already joined the word): UNI002 becomes high.
pub fn escalate_split_words(hits: &mut [Hit]) {
    let rule_fired = hits
        .iter()
        .any(|h| h.signal.is_some() || (h.rule.id.starts_with("TR") && h.severity >= Severity::Medium));
    if !rule_fired {
        return;
    }
    for hit in hits.iter_mut().filter(|h| h.rule.id == ZERO_WIDTH.id && h.severity == Severity::Medium) {
        hit.severity = Severity::High;
        hit.message.push_str(" (the joined text sets off a poisoning rule)");
    }
}

/// Scripts whose orthography uses ZWJ/ZWNJ (UAX #31 §2.3): Arabic-script joining and
/// Brahmic conjunct control.
fn uses_joiners(c: char) -> bool {
    matches!(
        c.script(),
        Script::Arabic
            | Script::Syriac
            | Script::Nko
            | Script::Mongolian
            | Script::Devanagari
            | Script::Bengali
            | Script::Gurmukhi
            | Script::Gujarati
            | Script::Oriya
            | Script::Tamil
            | Script::Telugu
            | Script::Kannada
            | Script::Malayalam
            | Script::Sinhala
            | Script::Tibetan
            | Script::Myanmar
            | Script::Khmer
            | Script::Thai
            | Script::Lao
            | Script::Balinese
            | Script::Javanese
            | Script::Hanifi_Rohingya
    )
}

fn is_emoji_context(c: char) -> bool {
    (c.is_emoji_char() && !c.is_ascii()) || c == '\u{FE0F}' || matches!(c, '\u{1F3FB}'..='\u{1F3FF}')
}

fn is_cjk_or_thai(c: char) -> bool {
    // Zero-width characters and variation selectors are Common or Inherited: skipping
    // them first spares the script lookup where hidden text is dense.
    !c.is_ascii()
        && !charclass::is_zero_width(c)
        && !charclass::is_variation_selector(c)
        && matches!(
            c.script(),
            Script::Han | Script::Hiragana | Script::Katakana | Script::Hangul | Script::Thai
        )
}

fn is_word_letter(c: char) -> bool {
    c.is_alphanumeric()
        && matches!(c.script(), Script::Latin | Script::Greek | Script::Cyrillic | Script::Common)
}

fn zero_width(text: &str, chars: &[(usize, char)], claimed: &[bool], hits: &mut Fold<'_>) {
    let member = |i: usize| charclass::is_zero_width(chars[i].1) && !claimed[i];
    let mut b = 0;
    while b < chars.len() {
        if !member(b) {
            b += 1;
            continue;
        }
        let a = b;
        while b < chars.len() && member(b) {
            b += 1;
        }
        let run = &chars[a..b];
        let span = byte_span(text, chars, (a, b));
        let chars_of = || run.iter().map(|c| c.1);
        if run.len() >= 8 {
            if let Some(payload) = decode::zero_width_bits(&chars_of().collect::<Vec<char>>()) {
                hits.push(
                    Hit::new(
                        &ZERO_WIDTH,
                        Severity::High,
                        span,
                        format!("{} zero-width characters encode hidden text as bits", run.len()),
                    )
                    .decoded(Some(payload)),
                );
                continue;
            }
        }
        if a == 0 && run.len() == 1 && run[0].1 == '\u{FEFF}' {
            hits.push(Hit::new(
                &ZERO_WIDTH,
                Severity::Info,
                span,
                "byte order mark at the start of the text",
            ));
            continue;
        }
        let (prev, next) = neighbours(chars, (a, b));
        let legitimate = run.len() == 1
            && match run[0].1 {
                '\u{200D}' => {
                    prev.is_some_and(is_emoji_context) && next.is_some_and(is_emoji_context)
                        || prev.is_some_and(uses_joiners)
                        || next.is_some_and(uses_joiners)
                }
                '\u{200C}' => prev.is_some_and(uses_joiners) || next.is_some_and(uses_joiners),
                '\u{2060}' => prev.is_some_and(is_cjk_or_thai) || next.is_some_and(is_cjk_or_thai),
                '\u{180E}' => prev.is_some_and(|c| c.script() == Script::Mongolian),
                _ => false,
            };
        if legitimate {
            continue;
        }
        if prev.is_some_and(is_word_letter) && next.is_some_and(is_word_letter) {
            hits.push_with(&ZERO_WIDTH, Severity::Medium, span, || {
                let names = distinct_names(chars_of());
                Hit::new(
                    &ZERO_WIDTH,
                    Severity::Medium,
                    span,
                    format!("{names} inside a word: filters see two words, the model reads one"),
                )
            });
        } else {
            hits.push_with(&ZERO_WIDTH, Severity::Low, span, || {
                let names = distinct_names(chars_of());
                Hit::new(&ZERO_WIDTH, Severity::Low, span, format!("stray invisible {names}"))
            });
        }
    }
}

// ---------------------------------------------------------------------------- UNI003

fn tags(text: &str, chars: &[(usize, char)], hits: &mut Fold<'_>) {
    for (a, b) in runs(chars, charclass::is_tag) {
        let run = || chars[a..b].iter().map(|c| c.1).collect::<Vec<char>>();
        let base = neighbours(chars, (a, b)).0;
        if base == Some('\u{1F3F4}') {
            let run = run();
            if is_flag_tag_sequence(base, &run, &decode::tags(&run)) {
                continue;
            }
        }
        let span = byte_span(text, chars, (a, b));
        hits.push_with(&TAGS, Severity::High, span, || {
            Hit::new(
                &TAGS,
                Severity::High,
                span,
                format!("{} invisible Unicode Tags characters carry ASCII text", b - a),
            )
            .decoded(Some(decode::tags(&run())))
        });
    }
}

/// UTS #51 emoji tag sequence: U+1F3F4 + tag spec (`gbeng`) + CANCEL TAG.
fn is_flag_tag_sequence(base: Option<char>, run: &[char], payload: &str) -> bool {
    let spec_ok = payload.len() >= 3
        && payload.len() <= 6
        && payload.bytes().take(2).all(|b| b.is_ascii_lowercase())
        && payload.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    base == Some('\u{1F3F4}')
        && run.last() == Some(&'\u{E007F}')
        && run[..run.len() - 1].iter().all(|&c| matches!(c, '\u{E0020}'..='\u{E007E}'))
        && spec_ok
}

// ---------------------------------------------------------------------------- UNI004

fn variation_selectors(text: &str, chars: &[(usize, char)], hits: &mut Fold<'_>) {
    for (a, b) in runs(chars, charclass::is_variation_selector) {
        let run: Vec<char> = chars[a..b].iter().map(|c| c.1).collect();
        let span = byte_span(text, chars, (a, b));
        if run.len() >= 2 {
            let payload = decode::variation_selectors(&run);
            let message = if payload.is_some() {
                format!("{} variation selectors in a row encode hidden bytes", run.len())
            } else {
                format!("{} variation selectors in a row (no standard sequence has more than one)", run.len())
            };
            hits.push(Hit::new(&VARIATION_SELECTORS, Severity::High, span, message).decoded(payload));
            continue;
        }
        let (prev, _) = neighbours(chars, (a, b));
        let vs = run[0];
        let standard = prev.is_some_and(|base| match vs {
            '\u{FE0E}' | '\u{FE0F}' => base.is_emoji_char() || is_cjk_or_thai(base),
            '\u{E0100}'..='\u{E01EF}' => base.script() == Script::Han,
            // VS1–VS14: standardized variants of math symbols, CJK compatibility
            // ideographs, and a few scripts; never after an ASCII letter.
            _ => {
                !base.is_ascii()
                    && (matches!(
                        base.general_category(),
                        GeneralCategory::MathSymbol | GeneralCategory::OtherSymbol
                    ) || base.script() != Script::Latin)
            }
        });
        if standard {
            continue;
        }
        let severity = if prev.is_none_or(|p| p.is_ascii()) { Severity::Medium } else { Severity::Low };
        hits.push_with(&VARIATION_SELECTORS, severity, span, || {
            Hit::new(
                &VARIATION_SELECTORS,
                severity,
                span,
                format!("variation selector U+{:04X} with no standard base character", vs as u32),
            )
        });
    }
    for (a, b) in runs(chars, charclass::is_mongolian_fvs) {
        let (prev, _) = neighbours(chars, (a, b));
        if b - a == 1 && prev.is_some_and(|c| c.script() == Script::Mongolian) {
            continue;
        }
        let span = byte_span(text, chars, (a, b));
        hits.push_with(&VARIATION_SELECTORS, Severity::Medium, span, || {
            Hit::new(
                &VARIATION_SELECTORS,
                Severity::Medium,
                span,
                "Mongolian free variation selector outside Mongolian text",
            )
        });
    }
}

// ---------------------------------------------------------------------------- UNI005

/// Returns which chars belong to a long operator run, so UNI002 does not report the
/// ZERO WIDTH SPACE separators garak's variant puts inside it.
fn invisible_operators(text: &str, chars: &[(usize, char)], hits: &mut Fold<'_>) -> Vec<bool> {
    let mut claimed = vec![false; chars.len()];
    let member = |c: char| charclass::is_invisible_operator(c) || c == '\u{200B}';
    for (mut a, mut b) in runs(chars, member) {
        while a < b && chars[a].1 == '\u{200B}' {
            a += 1;
        }
        while b > a && chars[b - 1].1 == '\u{200B}' {
            b -= 1;
        }
        let operators = chars[a..b].iter().filter(|c| charclass::is_invisible_operator(c.1)).count();
        if operators == 0 {
            continue;
        }
        let span = byte_span(text, chars, (a, b));
        if operators >= 7 {
            let run: Vec<char> = chars[a..b].iter().map(|c| c.1).collect();
            claimed[a..b].iter_mut().for_each(|c| *c = true);
            hits.push(
                Hit::new(
                    &INVISIBLE_OPERATORS,
                    Severity::High,
                    span,
                    format!("{operators} invisible math operators in a row encode hidden text as bits"),
                )
                .decoded(decode::invisible_operators(&run)),
            );
            continue;
        }
        let (prev, next) = neighbours(chars, (a, b));
        let math = operators <= 2
            && prev.is_some_and(char::is_alphanumeric)
            && next.is_some_and(|c| c.is_alphanumeric() || c == '(');
        let severity = if math { Severity::Info } else { Severity::Low };
        hits.push_with(&INVISIBLE_OPERATORS, severity, span, || {
            Hit::new(&INVISIBLE_OPERATORS, severity, span, format!("{operators} invisible math operator(s)"))
        });
    }
    claimed
}

// ---------------------------------------------------------------------------- UNI006

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ignorable {
    HangulFiller,
    Reserved,
    SoftHyphen,
    GraphemeJoiner,
    KhmerVowel,
    Other,
}

fn ignorable_class(c: char) -> Option<Ignorable> {
    let handled_elsewhere = charclass::is_bidi_explicit(c)
        || charclass::is_bidi_mark(c)
        || charclass::is_zero_width(c)
        || charclass::is_tag(c)
        || charclass::is_variation_selector(c)
        || charclass::is_mongolian_fvs(c)
        || charclass::is_invisible_operator(c);
    if handled_elsewhere || !charclass::is_default_ignorable(c) {
        return None;
    }
    Some(match c {
        _ if charclass::is_hangul_filler(c) => Ignorable::HangulFiller,
        _ if charclass::is_reserved_ignorable(c) => Ignorable::Reserved,
        '\u{00AD}' => Ignorable::SoftHyphen,
        '\u{034F}' => Ignorable::GraphemeJoiner,
        '\u{17B4}' | '\u{17B5}' => Ignorable::KhmerVowel,
        _ => Ignorable::Other,
    })
}

fn ignorable(text: &str, chars: &[(usize, char)], hits: &mut Fold<'_>) {
    let mut i = 0;
    while i < chars.len() {
        let Some(class) = ignorable_class(chars[i].1) else {
            i += 1;
            continue;
        };
        let a = i;
        while i < chars.len() && ignorable_class(chars[i].1) == Some(class) {
            i += 1;
        }
        let (prev, next) = neighbours(chars, (a, i));
        let single = i - a == 1;
        let (severity, why) = match class {
            Ignorable::HangulFiller if prev.is_some_and(is_jamo) || next.is_some_and(is_jamo) => {
                (Severity::Low, "in a Hangul jamo sequence")
            }
            Ignorable::HangulFiller => (Severity::High, "a letter that renders as nothing"),
            Ignorable::Reserved => (Severity::High, "reserved: no text uses it"),
            Ignorable::SoftHyphen
                if single
                    && prev.is_some_and(char::is_alphabetic)
                    && next.is_some_and(char::is_alphabetic) =>
            {
                (Severity::Low, "a hyphenation hint inside a word")
            }
            Ignorable::SoftHyphen => (Severity::Medium, "invisible outside a line break"),
            Ignorable::GraphemeJoiner if next.is_some_and(is_combining_mark) => {
                (Severity::Low, "before a combining mark")
            }
            Ignorable::KhmerVowel if prev.is_some_and(|c| c.script() == Script::Khmer) => {
                (Severity::Low, "in Khmer text")
            }
            _ => (Severity::Medium, "renders as nothing"),
        };
        let span = byte_span(text, chars, (a, i));
        hits.push_with(&IGNORABLE, severity, span, || {
            let names = distinct_names(chars[a..i].iter().map(|c| c.1));
            Hit::new(&IGNORABLE, severity, span, format!("{names}: {why}"))
        });
    }
}

fn is_jamo(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{11FF}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}')
}

fn is_combining_mark(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark | GeneralCategory::SpacingMark | GeneralCategory::EnclosingMark
    )
}

// ---------------------------------------------------------------------------- UNI007

fn private_use(text: &str, chars: &[(usize, char)], hits: &mut Fold<'_>) {
    for (a, b) in runs(chars, charclass::is_private_use) {
        let supplementary = chars[a..b].iter().any(|c| c.1 as u32 > 0xFFFF);
        let severity = if supplementary || b - a >= 4 { Severity::Medium } else { Severity::Low };
        let span = byte_span(text, chars, (a, b));
        hits.push_with(&PRIVATE_USE, severity, span, || {
            Hit::new(
                &PRIVATE_USE,
                severity,
                span,
                format!("{} private-use character(s): no standard meaning, free to carry data", b - a),
            )
        });
    }
    for (a, b) in runs(chars, charclass::is_noncharacter) {
        let span = byte_span(text, chars, (a, b));
        hits.push_with(&PRIVATE_USE, Severity::Medium, span, || {
            Hit::new(
                &PRIVATE_USE,
                Severity::Medium,
                span,
                format!("{} noncharacter(s): never valid in interchanged text", b - a),
            )
        });
    }
    let unassigned = |c: char| !charclass::is_default_ignorable(c) && charclass::is_unassigned(c);
    for (a, b) in runs(chars, unassigned) {
        let span = byte_span(text, chars, (a, b));
        hits.push_with(&PRIVATE_USE, Severity::Low, span, || {
            Hit::new(&PRIVATE_USE, Severity::Low, span, format!("{} unassigned code point(s)", b - a))
        });
    }
}

// ---------------------------------------------------------------------------- UNI008

fn non_ascii_name(text: &str, chars: &[(usize, char)], hits: &mut Fold<'_>) {
    let outside: Vec<usize> = (0..chars.len()).filter(|&i| !chars[i].1.is_ascii()).collect();
    if let (Some(&first), Some(&last)) = (outside.first(), outside.last()) {
        hits.push(Hit::new(
            &NON_ASCII_NAME,
            Severity::High,
            byte_span(text, chars, (first, last + 1)),
            format!(
                "tool name has {} non-ASCII character(s); MCP tool names are [A-Za-z0-9_.-], so this one can impersonate another",
                outside.len()
            ),
        ));
    }
}

// ------------------------------------------------------------------- UNI010, UNI012

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    !charclass::is_default_ignorable(c) && (c.is_alphanumeric() || is_combining_mark(c))
}

fn words(text: &str, chars: &[(usize, char)], kind: FieldKind, hits: &mut Fold<'_>) {
    let has_cjk = chars.iter().any(|c| is_cjk_or_thai(c.1));
    for (a, b) in runs(chars, is_word_char) {
        let word = &text[byte_span(text, chars, (a, b)).0..byte_span(text, chars, (a, b)).1];
        if word.is_ascii() {
            continue;
        }
        let span = byte_span(text, chars, (a, b));
        if let Some(hit) = compatibility_word(word, span, has_cjk) {
            hits.push(hit);
        } else if !matches!(kind, FieldKind::Key | FieldKind::ToolName) {
            if let Some(hit) = mixed_script_word(word, span) {
                hits.push(hit);
            }
        }
    }
}

fn mixed_script_word(word: &str, span: (usize, usize)) -> Option<Hit> {
    if word.is_single_script() {
        return None;
    }
    let skeleton: String = unicode_security::skeleton(word).collect();
    if !skeleton.is_ascii() || skeleton == word || !skeleton.chars().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut scripts: Vec<&str> = word
        .chars()
        .map(|c| c.script())
        .filter(|s| !matches!(s, Script::Common | Script::Inherited))
        .map(|s| s.full_name())
        .collect();
    scripts.sort_unstable();
    scripts.dedup();
    Some(Hit::new(
        &MIXED_SCRIPT,
        Severity::Medium,
        span,
        format!("a word mixes {} letters into a look-alike of an ASCII word", scripts.join(" and ")),
    ))
}

fn is_compatibility_letter(c: char) -> bool {
    !c.is_ascii() && c.is_alphabetic() && {
        let folded: String = std::iter::once(c).nfkc().collect();
        !folded.is_empty() && folded.chars().all(|f| f.is_ascii_alphabetic())
    }
}

fn compatibility_word(word: &str, span: (usize, usize), has_cjk: bool) -> Option<Hit> {
    let compat: Vec<char> = word.chars().filter(|&c| is_compatibility_letter(c)).collect();
    if compat.is_empty() {
        return None;
    }
    let folded: String = word.nfkc().collect();
    if !folded.chars().all(|c| c.is_ascii_alphanumeric()) || folded == word {
        return None;
    }
    let fullwidth_in_cjk = has_cjk && compat.iter().all(|c| matches!(c, '\u{FF21}'..='\u{FF5A}'));
    let severity = if folded.len() >= 3 && !fullwidth_in_cjk { Severity::Medium } else { Severity::Low };
    Some(Hit::new(
        &COMPATIBILITY,
        severity,
        span,
        format!(
            "{} compatibility letter(s) fold (NFKC) to the ASCII word {:?}",
            compat.len(),
            crate::visible::escape(&folded)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst(text: &str, kind: FieldKind) -> Option<(&'static str, Severity)> {
        let mut hits = Vec::new();
        check(text, kind, &mut hits);
        hits.into_iter().max_by_key(|h| h.severity).map(|h| (h.rule.id, h.severity))
    }

    #[test]
    fn legitimate_text_stays_below_medium() {
        let legit = [
            "Woman technologist \u{1F469}\u{200D}\u{1F4BB} and family \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
            "Flag of England \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
            "I \u{2764}\u{FE0F} it, keycap #\u{FE0F}\u{20E3}",
            "Ken Lunde \u{5C0F}\u{6797}\u{528D}\u{E0101}",
            "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645} (Persian)",
            "Sinhala \u{0DC1}\u{0DCA}\u{200D}\u{0DBB}\u{0DD3}",
            "\u{05E9}\u{05DC}\u{05D5}\u{05DD} \u{200F}123\u{200F} \u{0645}\u{0631}\u{062D}\u{0628}\u{0627}",
            "\u{65E5}\u{672C}\u{8A9E}\u{30C6}\u{30AD}\u{30B9}\u{30C8} \u{D55C}\u{AD6D}\u{C5B4}\u{6F22}\u{5B57}",
            "\u{2200}x \u{2208} \u{211D}: x\u{00B2} \u{2265} 0, \u{2211} \u{222B} \u{03BC}s \u{03B1}\u{03B2}-test \u{0394}sync",
            "na\u{00EF}ve caf\u{00E9} \u{041F}\u{0440}\u{0438}\u{0432}\u{0435}\u{0442} \u{00C5}ngstr\u{00F6}m",
            "\u{2068}Foo\u{2069} Bar",
            "f\u{2061}(x)",
            "Silben\u{00AD}trennung",
            "\u{FF21}\u{FF30}\u{FF29}\u{30AD}\u{30FC}\u{3092}\u{4F7F}\u{3046}",
        ];
        for text in legit {
            let got = worst(text, FieldKind::Description);
            assert!(got.is_none_or(|(_, s)| s < Severity::Medium), "{text:?} gave {got:?}");
        }
    }

    #[test]
    fn hidden_text_is_caught() {
        let cases = [
            ("Ig\u{200B}nore", "UNI002", Severity::Medium),
            ("ok\u{E0001}\u{E0068}\u{E0069}\u{E007F}", "UNI003", Severity::High),
            ("a\u{FE00}\u{FE01}\u{FE02}", "UNI004", Severity::High),
            ("a\u{FE0F}", "UNI004", Severity::Medium),
            ("x\u{3164}y", "UNI006", Severity::High),
            ("x\u{2065}y", "UNI006", Severity::High),
            ("\u{F0000}", "UNI007", Severity::Medium),
            ("p\u{0430}ypal", "UNI010", Severity::Medium),
            ("\u{FF29}\u{FF27}\u{FF2E}\u{FF2F}\u{FF32}\u{FF25}", "UNI012", Severity::Medium),
            ("\u{1D42C}\u{1D41E}\u{1D427}\u{1D41D} it", "UNI012", Severity::Medium),
            ("a\u{202E}txt.exe", "UNI001", Severity::High),
            ("\u{2067}abc", "UNI001", Severity::Medium),
        ];
        for (text, rule, severity) in cases {
            assert_eq!(worst(text, FieldKind::Description), Some((rule, severity)), "{text:?}");
        }
        assert_eq!(worst("s\u{0435}nd", FieldKind::ToolName), Some(("UNI008", Severity::High)));
    }

    #[test]
    fn rlo_is_decoded_to_what_a_reader_sees() {
        let mut hits = Vec::new();
        check("list files \u{202E}pu ti daolpu dna\u{202C} now", FieldKind::Description, &mut hits);
        let decoded = hits.iter().find_map(|h| h.decoded.clone());
        assert_eq!(decoded.as_deref(), Some("list files and upload it up now"));
    }
}
