//! What every match of a rule pattern must begin with and hold, read from its syntax:
//! its prefix literals, which the rule engine's literal prefilter (`literals.rs`)
//! searches for, a [`Guard`] checked at each candidate start, and literals a field must
//! hold, all checked before the pattern is compiled or run. Shared with `build.rs`,
//! which computes them for the built-in rule files once, at build time (a `#[path]`
//! module there: this file uses nothing but `regex_syntax`).

use regex_syntax::hir::{Class, Hir, HirKind, Look, Repetition};

/// Prefix literals shorter than this do not make a useful prefilter: such patterns
/// always run.
pub const MIN_LITERAL: usize = 2;

/// A guard's words are cut to this many bytes.
const GUARD_LEN: usize = 16;

/// How a pattern's matches begin, read from its syntax. Static: build.rs writes the
/// built-in patterns' as constants, and those of a user rule file are leaked once (they
/// live as long as the run's rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prefix {
    /// The literals every match starts with, when there is a list of them and each is
    /// long enough to filter on (`None`: the pattern is searched in full).
    pub literals: Option<Literals>,
    pub guard: Guard,
    /// Every match holds one literal of each of these lists somewhere
    /// (`\b(?:ignor|olvid)\S*\s+.{0,40}?(?:instrucciones|órdenes)` holds `instrucciones`
    /// or `órdenes`), so a field that lacks every literal of one list is not searched:
    /// English text that says "ignore" never runs that Spanish pattern. The most
    /// selective lists first; none that the prefix literals already imply.
    pub required: &'static [Literals],
}

/// A list of byte strings kept in one byte string, each as its length (a byte) then
/// its bytes. Why not a slice of slices: every pointer in a static is a relocation the
/// loader writes at every start, and the built-in patterns' literals were some 45,000 of
/// them (BENCHMARKS.md). A literal longer than 255 bytes keeps its first 255, which
/// every match holds (or starts with) too.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Literals(pub &'static [u8]);

impl Literals {
    /// The encoded form of `list`.
    pub fn encode(list: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for literal in list {
            let literal = &literal[..literal.len().min(usize::from(u8::MAX))];
            out.push(literal.len() as u8);
            out.extend_from_slice(literal);
        }
        out
    }

    /// `list` encoded, kept for the rest of the run (a user rule file's patterns).
    pub fn leak(list: &[Vec<u8>]) -> Literals {
        Literals(Box::leak(Literals::encode(list).into_boxed_slice()))
    }

    pub fn iter(self) -> impl Iterator<Item = &'static [u8]> {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            let (&len, after) = rest.split_first()?;
            let literal = after.get(..usize::from(len))?;
            rest = &after[literal.len()..];
            Some(literal)
        })
    }

    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    pub fn len(self) -> usize {
        self.iter().count()
    }
}

impl std::fmt::Debug for Literals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

/// A cheap test of a candidate start that the prefilter's short literals cannot make:
/// `a\s+partir\s+de` has the prefix literal `a ` (whitespace classes end a literal), which
/// any English text holds; its guard reads the whole `a partir de`. Without it a scan of
/// plain English would compile dozens of foreign-language patterns only to find that
/// they do not match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guard {
    /// Every match starts with one of these once each whitespace run of the text is read
    /// as one space; empty: no such list.
    pub words: Literals,
    /// The same words as (bytes, mask) in one `u128` each, little-endian ([`pack`]):
    /// compared with a [`Window`] in two instructions instead of a `memcmp` call. The
    /// one-byte words first, then the others in the order of their first two bytes
    /// ([`first_two`]), so that a start compares only the words that begin as its text.
    pub packed: &'static [(u128, u128)],
    /// The pattern begins with `\b`: a match starts only at an ASCII word boundary.
    pub word_start: bool,
    /// The pattern begins with `^` or `\A` (not multi-line): a match starts only at
    /// the text's start.
    pub text_start: bool,
}

impl Guard {
    /// Whether a match may start at `start`: false only when none can.
    pub fn admits(&self, haystack: &[u8], start: usize) -> bool {
        self.admits_at(haystack, start, &Window::at(haystack, start))
    }

    /// [`Guard::admits`], with the text's [`Window`] at `start` made once for every
    /// pattern whose literal starts there.
    pub fn admits_at(&self, haystack: &[u8], start: usize, window: &Window) -> bool {
        if self.text_start && start != 0 {
            return false;
        }
        if self.word_start {
            let word_at = |i: usize| haystack.get(i).is_some_and(|&b| is_word_byte(b));
            let before = start.checked_sub(1).is_some_and(word_at);
            if word_at(start) == before {
                return false;
            }
        }
        // A word and the window are equal on the word's bytes: the window's text starts
        // with it. (A window shorter than the word is zero-padded; a word with a zero
        // byte could then pass, which only runs the pattern: a guard may admit more.)
        self.words.is_empty() || self.admits_window(window)
    }

    fn admits_window(&self, window: &Window) -> bool {
        let starts = |&(word, mask): &(u128, u128)| window.packed & mask == word;
        // Most guards have a few words; some have two hundred, and a start then
        // compares the one-byte words (first, and few) and the run of the others that
        // shares its first two bytes.
        if self.packed.len() <= SHORT_GUARD {
            return self.packed.iter().any(starts);
        }
        let (ones, longer) =
            self.packed.split_at(self.packed.iter().take_while(|&&(_, mask)| mask == 0xff).count());
        let text = first_two(window.packed);
        let from = longer.partition_point(|&(word, _)| first_two(word) < text);
        ones.iter().any(starts)
            || longer[from..].iter().take_while(|&&(word, _)| first_two(word) == text).any(starts)
    }
}

/// A guard with at most this many words is compared word by word.
const SHORT_GUARD: usize = 12;

/// The first two bytes of a packed word, the first one high: their lexicographic order.
fn first_two(packed: u128) -> u16 {
    (packed as u16).swap_bytes()
}

/// The text from a start as guard words are compared with it: its first bytes, each
/// whitespace run read as one space, as many as the longest word — little-endian in one
/// `u128`, zero-padded where the text ends first ([`pack`]).
pub struct Window {
    packed: u128,
}

impl Window {
    pub fn at(haystack: &[u8], start: usize) -> Window {
        let mut bytes = [0u8; GUARD_LEN];
        let mut len = 0;
        let mut rest = haystack.get(start..).unwrap_or_default().iter().copied().peekable();
        while len < GUARD_LEN {
            let Some(b) = rest.next() else { break };
            if is_space(b) {
                while rest.next_if(|&next| is_space(next)).is_some() {}
                bytes[len] = b' ';
            } else {
                bytes[len] = b;
            }
            len += 1;
        }
        Window { packed: u128::from_le_bytes(bytes) }
    }
}

/// Parses `pattern` as the engine compiles it (ASCII classes, bytes) and reads how its
/// matches begin; `Err` is the parse error. Classes of more than four characters are not
/// expanded (`you\s` gives `you`), which keeps the lists short, unless that leaves a
/// literal too short (`a\s+partir` gives `a`): then the six ASCII spaces are expanded
/// too (`a `, `a\t`, …), so that the pattern need not run on every field.
pub fn prefix(pattern: &str) -> Result<Prefix, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    let literals = literals_of(&hir, MIN_LITERAL);
    // The guard's words: the same extraction with every whitespace class read as one
    // space, so that it runs on past `\s+`. Sound because the text is compared with its
    // whitespace runs read as one space too ([`Window`]). Cut to a few words'
    // length they are still met by every match, and few: a start is compared with each,
    // for every pattern its literal begins.
    let mut words = literals_of(&whitespace_as_space(&hir), 1).unwrap_or_default();
    for word in &mut words {
        *word = collapse_spaces(word);
        word.truncate(GUARD_LEN);
    }
    words.sort();
    words.dedup();
    // A word another one begins adds nothing (`a partir` after `a par`).
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(words.len());
    for word in words {
        if !kept.last().is_some_and(|shorter| word.starts_with(shorter)) {
            kept.push(word);
        }
    }
    let mut words = kept;
    if words.iter().any(Vec::is_empty) {
        words.clear();
    }
    let mut required: Vec<Vec<Vec<u8>>> = required_lists(&hir)
        .into_iter()
        .filter(|list| !list.is_empty() && list.len() <= MAX_REQUIRED && selectivity(list).0 >= MIN_REQUIRED)
        .map(without_redundant)
        .filter(|list| !literals.as_deref().is_some_and(|prefix| implied(prefix, list)))
        .collect();
    required.sort_by_key(|list| std::cmp::Reverse(selectivity(list)));
    required.dedup();
    required.truncate(MAX_LISTS);
    Ok(Prefix {
        literals: literals.as_deref().map(Literals::leak),
        guard: Guard {
            packed: Box::leak(packed_in_order(&words).into_boxed_slice()),
            words: Literals::leak(&words),
            word_start: starts_with_look(&hir, Look::WordAscii),
            text_start: starts_with_look(&hir, Look::Start),
        },
        required: Box::leak(
            required.iter().map(|list| Literals::leak(list)).collect::<Vec<_>>().into_boxed_slice(),
        ),
    })
}

/// Shorter required literals filter little (`to`, `a `): a list with one is left out.
const MIN_REQUIRED: usize = 3;
/// More literals than this in one list are not worth looking for one by one.
const MAX_REQUIRED: usize = 64;
/// Lists looked for, at most.
const MAX_LISTS: usize = 4;

/// Lists of literals such that every match of `hir` holds one literal of each: the
/// prefix literals of every part each match goes through (an item of a sequence, a
/// repeated part), a branchy part giving one list from all its branches.
fn required_lists(hir: &Hir) -> Vec<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Capture(cap) => required_lists(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required_lists(&rep.sub),
        HirKind::Repetition(_) => Vec::new(),
        HirKind::Concat(items) => items.iter().flat_map(required_lists).collect(),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                let best = required_lists(branch).into_iter().max_by_key(|list| selectivity(list));
                let Some(best) = best else { return Vec::new() };
                all.extend(best);
            }
            all.sort();
            all.dedup();
            vec![all]
        }
        _ => literals_of(hir, MIN_LITERAL).into_iter().collect(),
    }
}

/// Whether finding one of `prefix` already finds one of `list`.
fn implied(prefix: &[Vec<u8>], list: &[Vec<u8>]) -> bool {
    prefix.iter().all(|p| list.iter().any(|l| p.windows(l.len()).any(|w| w == l.as_slice())))
}

/// The list without literals that hold another of it: `bash` adds nothing to `sh`.
fn without_redundant(list: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let holds = |a: &[u8], b: &[u8]| a != b && a.windows(b.len()).any(|w| w == b);
    list.iter().filter(|a| !list.iter().any(|b| holds(a, b))).cloned().collect()
}

/// How well a list of literals filters: its shortest literal, then fewer literals.
fn selectivity(list: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>) {
    (list.iter().map(Vec::len).min().unwrap_or(0), std::cmp::Reverse(list.len()))
}

/// A guard word (at most [`GUARD_LEN`] bytes) as the `u128` of its bytes, little-endian
/// and zero-padded, and the mask of those bytes.
/// `words` packed ([`pack`]), in the order [`Guard::packed`] keeps.
fn packed_in_order(words: &[Vec<u8>]) -> Vec<(u128, u128)> {
    let mut packed: Vec<(u128, u128)> = words.iter().map(|w| pack(w)).collect();
    packed.sort_by_key(|&(word, mask)| (mask != 0xff, first_two(word)));
    packed
}

pub fn pack(word: &[u8]) -> (u128, u128) {
    let len = word.len().min(GUARD_LEN);
    let mut bytes = [0u8; GUARD_LEN];
    bytes[..len].copy_from_slice(&word[..len]);
    let mask = if len == GUARD_LEN { u128::MAX } else { (1u128 << (8 * len)) - 1 };
    (u128::from_le_bytes(bytes), mask)
}

fn literals_of(hir: &Hir, min_len: usize) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    for class_limit in [4, 6] {
        let seq = Extractor::new().kind(ExtractKind::Prefix).limit_class(class_limit).extract(hir);
        let Some(literals) = seq.literals() else { continue };
        if !literals.is_empty() && literals.iter().all(|l| l.as_bytes().len() >= min_len) {
            return Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect());
        }
    }
    None
}

/// ASCII whitespace, as `\s` is in the engine's ASCII mode.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// An ASCII word byte, as `\b` reads it in the engine's ASCII mode.
pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `hir` with every class of whitespace only (`\s`, `[ \t]`) read as one space: once
/// or more becomes ` `, possibly none becomes ` ?`.
fn whitespace_as_space(hir: &Hir) -> Hir {
    let space = || Hir::literal(*b" ");
    let spaces_only = |h: &Hir| match h.kind() {
        HirKind::Class(Class::Bytes(class)) => {
            class.ranges().iter().all(|r| (r.start()..=r.end()).all(is_space)) && !class.ranges().is_empty()
        }
        _ => false,
    };
    match hir.kind() {
        _ if spaces_only(hir) => space(),
        HirKind::Repetition(rep) if spaces_only(&rep.sub) => {
            if rep.min >= 1 {
                space()
            } else {
                Hir::repetition(Repetition {
                    min: 0,
                    max: Some(1),
                    greedy: rep.greedy,
                    sub: Box::new(space()),
                })
            }
        }
        HirKind::Repetition(rep) => {
            Hir::repetition(Repetition { sub: Box::new(whitespace_as_space(&rep.sub)), ..rep.clone() })
        }
        HirKind::Capture(cap) => {
            let mut cap = cap.clone();
            cap.sub = Box::new(whitespace_as_space(&cap.sub));
            Hir::capture(cap)
        }
        HirKind::Concat(items) => Hir::concat(items.iter().map(whitespace_as_space).collect()),
        HirKind::Alternation(items) => Hir::alternation(items.iter().map(whitespace_as_space).collect()),
        _ => hir.clone(),
    }
}

/// Every whitespace run of a literal as one space.
fn collapse_spaces(literal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(literal.len());
    for &b in literal {
        if is_space(b) {
            if out.last() != Some(&b' ') {
                out.push(b' ');
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// Whether every match of `hir` begins with the assertion `look` (`\b…`, `^…`).
fn starts_with_look(hir: &Hir, look: Look) -> bool {
    match hir.kind() {
        HirKind::Look(first) => *first == look,
        HirKind::Concat(items) => items.first().is_some_and(|first| starts_with_look(first, look)),
        HirKind::Capture(cap) => starts_with_look(&cap.sub, look),
        HirKind::Alternation(items) => items.iter().all(|item| starts_with_look(item, look)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(prefix: &Prefix) -> Vec<&str> {
        prefix.guard.words.iter().map(|w| std::str::from_utf8(w).unwrap_or("?")).collect()
    }

    #[test]
    fn literals_read_back_as_listed_and_long_ones_keep_their_first_255_bytes() {
        let long = vec![b'x'; 300];
        let list = vec![b"ignore".to_vec(), Vec::new(), long.clone(), "指示".as_bytes().to_vec()];
        let literals = Literals::leak(&list);
        let read: Vec<&[u8]> = literals.iter().collect();
        assert_eq!(read, [&b"ignore"[..], b"", &long[..255], "指示".as_bytes()]);
        assert_eq!(literals.len(), 4);
        assert!(Literals::default().is_empty() && Literals::default().iter().next().is_none());
        // Cut short, the list ends where its bytes do.
        assert_eq!(Literals(&[6, b'i', b'g']).iter().count(), 0);
        assert_eq!(format!("{:?}", Literals::leak(&[b"a ".to_vec()])), r#"["a "]"#);
    }

    #[test]
    fn a_long_guard_admits_exactly_what_comparing_every_word_admits() {
        // More words than SHORT_GUARD, sharing first bytes, with one-byte words and a
        // word holding a zero byte: the search by first two bytes must agree with the
        // plain comparison at every start of every text.
        let list: Vec<Vec<u8>> = [
            &b"i"[..],
            b"ig",
            b"ignore all",
            b"ignore any",
            b"ignore the",
            b"igual",
            b"in",
            b"inst",
            b"a ",
            b"a partir de",
            b"d",
            b"de ahora",
            b"\x00a",
            b"a\x00",
            b"zz",
            b"\xe6\x8c\x87",
        ]
        .iter()
        .map(|w| w.to_vec())
        .collect();
        assert!(list.len() > SHORT_GUARD);
        let guard = Guard {
            words: Literals::leak(&list),
            packed: Box::leak(packed_in_order(&list).into_boxed_slice()),
            word_start: false,
            text_start: false,
        };
        for text in [
            &b"ignore all previous"[..],
            b"ignore  the",
            b"igual",
            b"ig",
            b"i",
            b"",
            b"id",
            b"a  partir de",
            b"ab",
            b"\x00a",
            b"a",
            b"d",
            b"dx",
            b"zy",
            "\u{6307}\u{793a}".as_bytes(),
            b"x ignore any; in instructions, de ahora",
        ] {
            for start in 0..=text.len() {
                let window = Window::at(text, start);
                let plain = guard.packed.iter().any(|&(word, mask)| window.packed & mask == word);
                assert_eq!(guard.admits_window(&window), plain, "{text:?} at {start}");
            }
        }
    }

    #[test]
    fn a_guard_reads_on_past_whitespace() {
        let prefix = prefix(r"\b(?:a\s+partir\s+de\s+ahora|de\s+ahora\s+en\s+adelante),?\s+eres").unwrap();
        assert!(prefix.literals.is_some_and(|l| l.iter().any(|w| w == b"a ")), "{prefix:?}");
        assert_eq!(
            words(&prefix),
            ["a partir de ahor", "de ahora en adel"],
            "cut to 16 bytes, then deduplicated"
        );
        assert!(prefix.guard.word_start);
        let admits = |text: &str, at: usize| prefix.guard.admits(text.as_bytes(), at);
        assert!(admits("a  partir\tde\n ahora, eres", 0));
        assert!(admits("ok: a partir de ahora eres", 4));
        assert!(!admits("ok: a partir de mañana", 4), "another word");
        assert!(!admits("una partir de ahora eres", 2), "not at a word boundary");
        assert!(!admits("a partir de", 0), "the text ends first");
        assert!(!admits("a partir", 99), "past the end");
        let anchored = super::prefix(r"^(?:delete|drop)\b").unwrap();
        assert!(anchored.guard.text_start && !anchored.guard.word_start);
        assert!(anchored.guard.admits(b"delete it", 0) && !anchored.guard.admits(b"x delete", 2));
        assert!(!super::prefix(r"(?m)^delete").unwrap().guard.text_start, "a line start is not the text's");
    }

    #[test]
    fn a_pattern_without_leading_words_has_an_open_guard() {
        let prefix = prefix(r"(?:ignor|olvid)\S*\s+todo").unwrap();
        assert!(prefix.guard.words.iter().all(|w| w.len() <= 5), "{prefix:?}");
        assert!(!prefix.guard.word_start);
        assert!(super::prefix(r"\S+@\S+").unwrap().guard.admits(b"a@b", 0));
    }

    #[test]
    fn required_literals_come_from_parts_every_match_goes_through() {
        let required = |pattern: &str| {
            let prefix = prefix(pattern).unwrap();
            let text = |list: Literals| {
                list.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect::<Vec<_>>()
            };
            prefix.required.first().map(|&list| text(list)).unwrap_or_default()
        };
        assert_eq!(required(r"(?:^|[\s'\x22`(])\.env(?:\.[a-z]+)?\b"), [".env"]);
        assert_eq!(required(r"(?:^|[\s/])(?:csh|tcsh|bash)\b"), ["bash", "csh"], "tcsh holds csh");
        assert_eq!(required(r"(?:[A-Z]+_(?:SECRET|TOKEN)|AWS_KEY)\b"), ["AWS_KEY", "SECRET", "TOKEN"]);
        assert_eq!(required(r"(?:^|\s)(?:x|[a-z]+)y"), Vec::<String>::new(), "a branch without literals");
        assert_eq!(required(r"\S+@\S+\.\S+"), Vec::<String>::new(), "one-byte literals filter nothing");
        assert!(prefix(r"\bsend\s").unwrap().required.is_empty(), "prefix literals make it needless");
        assert!(prefix(r"\b(?:send|post)\w*\s+to\b").unwrap().required.is_empty(), "`to` filters too little");
        let both =
            prefix(r"\b(?:read|open)\b.{0,40}?\b(?:the|all)\s+(?:\w+\s+)?(?:secret\s+keys?|pii)\b").unwrap();
        assert_eq!(both.required.len(), 2, "every list a match goes through, after the prefix: {both:?}");
        assert_eq!(
            required(r"\b(?:ignor|olvid)\S*\s+.{0,40}?(?:instrucciones|(?:ó|o)rdenes)"),
            ["instrucciones", "rdenes"],
            "the later, longer words"
        );
    }
}
