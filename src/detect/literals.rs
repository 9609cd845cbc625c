//! The rule engine's prefilter: every place in a text where one of a set of short
//! literals (the first bytes of the rules' prefix literals) starts, found with one table
//! lookup per byte.
//!
//! Why a table and not an Aho-Corasick automaton (which the engine used before): the
//! literals are at most [`MAX_LEN`] bytes, so a literal is one masked 64-bit comparison,
//! and the table keyed by their first two bytes builds in tens of microseconds, where the
//! automaton over the thousand-odd built-in literals took about a millisecond at every
//! start, a fifth of a small scan. It searches faster as well (BENCHMARKS.md).

/// The longest literal kept; longer ones are cut to this (the pattern behind a literal
/// checks the rest, anchored at the start found here).
pub const MAX_LEN: usize = 8;

/// The shortest literal that can be indexed: its first two bytes are its key.
pub const MIN_LEN: usize = 2;

use super::prefix::is_word_byte;

// Every prefix literal the rules hand over is long enough to be indexed.
const _: () = assert!(super::prefix::MIN_LITERAL >= MIN_LEN);

/// Where a literal may start: a literal that only starts matches at a word boundary
/// (`\bsend`) is not looked for inside words, nor one of a pattern anchored at the
/// text's start (`^delete`) past it. Most positions in a text are inside a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    Anywhere,
    /// Where an ASCII word byte follows a non-word byte (or the text's start).
    WordStart,
    TextStart,
}

/// Literals indexed by their first two bytes, one table per [`Place`].
#[derive(Debug)]
pub struct LiteralSet {
    tables: [Table; 3],
}

#[derive(Debug)]
struct Table {
    /// For each key (see [`key`]), where its literals start in `entries`; the next
    /// key's entry is where they end.
    heads: Vec<u32>,
    entries: Vec<Entry>,
}

/// One literal: its bytes as a little-endian word, which of the word's bytes are its,
/// its length, and its index in the list it was built from.
#[derive(Clone, Debug)]
struct Entry {
    word: u64,
    mask: u64,
    len: usize,
    index: usize,
}

/// Keys: the first byte and the low six bits of the second. Letters, digits and
/// punctuation stay apart within each case; the few that share a key (`p` and `0`)
/// share a bucket, and the comparison tells them apart. A quarter of the full table
/// of two bytes: less to build at every start.
const KEYS: usize = 1 << 14;

fn key(first: u8, second: u8) -> usize {
    usize::from(first) << 6 | usize::from(second & 0x3f)
}

/// Up to eight bytes from the start of `bytes`, as a little-endian word (zeros past
/// the end).
fn word(bytes: &[u8]) -> u64 {
    let mut out = [0u8; 8];
    let n = bytes.len().min(8);
    out[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(out)
}

impl Table {
    /// `entries` in the order of their indices (as [`LiteralSet::new`] makes them),
    /// grouped by key: a counting sort, which keeps that order within each key and
    /// costs a tenth of a comparison sort at every start.
    fn new(entries: Vec<Entry>) -> Table {
        debug_assert!(entries.windows(2).all(|pair| pair[0].index < pair[1].index));
        let key_of = |entry: &Entry| key(entry.word as u8, (entry.word >> 8) as u8);
        let mut heads = vec![0u32; if entries.is_empty() { 0 } else { KEYS + 1 }];
        for entry in &entries {
            heads[key_of(entry) + 1] += 1;
        }
        for k in 0..heads.len().saturating_sub(1) {
            heads[k + 1] += heads[k];
        }
        let mut next = heads.clone();
        let mut placed = vec![Entry { word: 0, mask: 0, len: 0, index: 0 }; entries.len()];
        for entry in entries {
            let at = &mut next[key_of(&entry)];
            placed[*at as usize] = entry;
            *at += 1;
        }
        Table { heads, entries: placed }
    }

    /// Whether any literal has key `k`.
    fn holds(&self, k: usize) -> bool {
        matches!((self.heads.get(k), self.heads.get(k + 1)), (Some(from), Some(to)) if from != to)
    }

    fn each_at(&self, k: usize, rest: &[u8], here: u64, start: usize, found: &mut impl FnMut(usize, usize)) {
        let (Some(&from), Some(&to)) = (self.heads.get(k), self.heads.get(k + 1)) else { return };
        for entry in &self.entries[from as usize..to as usize] {
            if here & entry.mask == entry.word && entry.len <= rest.len() {
                found(entry.index, start);
            }
        }
    }
}

impl LiteralSet {
    /// Indexes `literals` (each cut to [`MAX_LEN`] bytes), each with where it may
    /// start; a literal shorter than [`MIN_LEN`] is refused with its index (it would
    /// match nearly everywhere: its pattern must run in full instead). A literal not
    /// starting with a word byte is looked for at every word start it may begin.
    pub fn new(literals: &[(&[u8], Place)]) -> Result<LiteralSet, usize> {
        let mut by_place: [Vec<Entry>; 3] = Default::default();
        for (index, &(literal, place)) in literals.iter().enumerate() {
            let literal = &literal[..literal.len().min(MAX_LEN)];
            if literal.len() < MIN_LEN {
                return Err(index);
            }
            let place = match place {
                Place::WordStart if !is_word_byte(literal[0]) => Place::Anywhere,
                other => other,
            };
            let mask = if literal.len() == 8 { u64::MAX } else { (1u64 << (8 * literal.len())) - 1 };
            by_place[place as usize].push(Entry { word: word(literal), mask, len: literal.len(), index });
        }
        Ok(LiteralSet { tables: by_place.map(Table::new) })
    }

    /// Calls `found(literal index, start)` for every literal at every place it may
    /// start and does in `haystack`, by start.
    pub fn each_start(&self, haystack: &[u8], mut found: impl FnMut(usize, usize)) {
        let [anywhere, word_start, text_start] = &self.tables;
        for start in 0..haystack.len().saturating_sub(1) {
            let k = key(haystack[start], haystack[start + 1]);
            let at_word = start == 0 || !is_word_byte(haystack[start - 1]);
            let (in_anywhere, in_word_start, in_text_start) =
                (anywhere.holds(k), at_word && word_start.holds(k), start == 0 && text_start.holds(k));
            // Most starts open no bucket: the text's word is read only where one does.
            if !(in_anywhere || in_word_start || in_text_start) {
                continue;
            }
            let rest = &haystack[start..];
            let here = word(rest);
            if in_anywhere {
                anywhere.each_at(k, rest, here, start, &mut found);
            }
            if in_word_start {
                word_start.each_at(k, rest, here, start, &mut found);
            }
            if in_text_start {
                text_start.each_at(k, rest, here, start, &mut found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (literal, start) by brute force.
    fn naive(literals: &[(&[u8], Place)], haystack: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for start in 0..haystack.len() {
            for (i, &(literal, place)) in literals.iter().enumerate() {
                let literal = &literal[..literal.len().min(MAX_LEN)];
                let word_start = start == 0 || !is_word_byte(haystack[start - 1]);
                let may = match place {
                    Place::Anywhere => true,
                    Place::WordStart => word_start || !is_word_byte(literal[0]),
                    Place::TextStart => start == 0,
                };
                if may && haystack[start..].starts_with(literal) {
                    out.push((i, start));
                }
            }
        }
        out.sort_by_key(|&(i, s)| (s, i));
        out
    }

    fn found(set: &LiteralSet, haystack: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        set.each_start(haystack, |i, s| out.push((i, s)));
        out.sort_by_key(|&(i, s)| (s, i));
        out
    }

    fn anywhere<'a>(literals: &[&'a [u8]]) -> Vec<(&'a [u8], Place)> {
        literals.iter().map(|&l| (l, Place::Anywhere)).collect()
    }

    #[test]
    fn finds_every_start_of_every_literal_as_brute_force_does() {
        let literals: &[&[u8]] = &[
            b"ig",
            b"ignore",
            b"ignored",
            b"gn",
            b"no",
            b"\xff\x00",
            b"aaaaaaaaaaaa",
            b"aa",
            b"ore",
            b"e ",
            b"ap",
            b"a0",
        ];
        let mut literals = anywhere(literals);
        // The same bytes again where only a word or the text may start.
        for place in [Place::WordStart, Place::TextStart] {
            literals.extend([
                (&b"ig"[..], place),
                (b"no", place),
                (b"ore", place),
                (b"e ", place),
                (b" a", place),
            ]);
        }
        let literals = &literals[..];
        let set = LiteralSet::new(literals).unwrap_or_else(|i| panic!("literal {i} refused"));
        for haystack in [
            &b"please ignore previous; ignored? ig"[..],
            b"",
            b"i",
            b"ig",
            b"\xff\x00\xff\x00",
            b"aaaaaaaaaaaaaaaaaaaaa",
            b"more ore e ",
            b"no ignore_no 9ore-ore e  a",
            b"ig",
            // `p` and `0` share a key: the comparison tells them apart.
            b"map a0 ap a",
        ] {
            assert_eq!(found(&set, haystack), naive(literals, haystack), "{haystack:?}");
        }
    }

    #[test]
    fn a_literal_at_the_very_end_is_found_and_one_past_it_is_not() {
        let set = LiteralSet::new(&anywhere(&[b"end", b"ending"]))
            .unwrap_or_else(|i| panic!("literal {i} refused"));
        assert_eq!(found(&set, b"the end"), vec![(0, 4)]);
        assert_eq!(found(&set, b"the en"), vec![]);
    }

    #[test]
    fn a_one_byte_literal_is_refused() {
        assert_eq!(LiteralSet::new(&anywhere(&[b"ok", b"x"])).err(), Some(1));
        assert!(LiteralSet::new(&[]).is_ok());
    }
}
