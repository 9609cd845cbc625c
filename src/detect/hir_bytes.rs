//! A parsed pattern (`regex_syntax::hir::Hir`) as bytes: build.rs writes one for every
//! built-in pattern, and the engine reads it back instead of parsing the pattern again
//! when it first needs it. Parsing the long lexicon patterns was more than half the
//! cost of compiling one (BENCHMARKS.md); reading the bytes back is a small part of it.
//!
//! Shared with build.rs (`#[path]`), so it depends on `regex_syntax` alone.

use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange};
use regex_syntax::hir::{Hir, HirKind, Literal, Look, Repetition};

const EMPTY: u8 = 0;
const LITERAL: u8 = 1;
const BYTES: u8 = 2;
const UNICODE: u8 = 3;
const LOOK: u8 = 4;
const REPETITION: u8 = 5;
const CAPTURE: u8 = 6;
const CONCAT: u8 = 7;
const ALTERNATION: u8 = 8;

/// `hir` as bytes, for [`decode`].
pub fn encode(hir: &Hir) -> Vec<u8> {
    let mut out = Vec::new();
    write(hir, &mut out);
    out
}

fn write(hir: &Hir, out: &mut Vec<u8>) {
    match hir.kind() {
        HirKind::Empty => out.push(EMPTY),
        HirKind::Literal(Literal(bytes)) => {
            out.push(LITERAL);
            number(bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        }
        HirKind::Class(Class::Bytes(class)) => {
            out.push(BYTES);
            number(class.ranges().len() as u64, out);
            for range in class.ranges() {
                out.extend_from_slice(&[range.start(), range.end()]);
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            out.push(UNICODE);
            number(class.ranges().len() as u64, out);
            for range in class.ranges() {
                number(u64::from(range.start()), out);
                number(u64::from(range.end()), out);
            }
        }
        HirKind::Look(look) => {
            out.push(LOOK);
            number(u64::from(look.as_repr()), out);
        }
        HirKind::Repetition(rep) => {
            out.push(REPETITION);
            number(u64::from(rep.min), out);
            number(rep.max.map_or(0, |max| u64::from(max) + 1), out);
            out.push(u8::from(rep.greedy));
            write(&rep.sub, out);
        }
        HirKind::Capture(capture) => {
            out.push(CAPTURE);
            number(u64::from(capture.index), out);
            let name = capture.name.as_deref().unwrap_or("");
            number(name.len() as u64, out);
            out.extend_from_slice(name.as_bytes());
            write(&capture.sub, out);
        }
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            out.push(if matches!(hir.kind(), HirKind::Concat(_)) { CONCAT } else { ALTERNATION });
            number(subs.len() as u64, out);
            for sub in subs {
                write(sub, out);
            }
        }
    }
}

/// A variable-length unsigned number: seven bits a byte, the high bit set on all but
/// the last.
fn number(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The pattern [`encode`] wrote; `None` if the bytes are not such a pattern (the
/// caller then parses the pattern's text).
pub fn decode(bytes: &[u8]) -> Option<Hir> {
    let mut reader = Reader { bytes, at: 0 };
    let hir = reader.hir()?;
    (reader.at == bytes.len()).then_some(hir)
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn hir(&mut self) -> Option<Hir> {
        Some(match self.byte()? {
            EMPTY => Hir::empty(),
            LITERAL => {
                let len = self.count()?;
                Hir::literal(self.take(len)?)
            }
            BYTES => {
                let count = self.count()?;
                let mut ranges = Vec::with_capacity(count.min(256));
                for _ in 0..count {
                    let (start, end) = (self.byte()?, self.byte()?);
                    ranges.push(ClassBytesRange::new(start, end));
                }
                Hir::class(Class::Bytes(ClassBytes::new(ranges)))
            }
            UNICODE => {
                let count = self.count()?;
                let mut ranges = Vec::with_capacity(count.min(256));
                for _ in 0..count {
                    let start = char::from_u32(u32::try_from(self.number()?).ok()?)?;
                    let end = char::from_u32(u32::try_from(self.number()?).ok()?)?;
                    ranges.push(ClassUnicodeRange::new(start, end));
                }
                Hir::class(Class::Unicode(ClassUnicode::new(ranges)))
            }
            LOOK => Hir::look(Look::from_repr(u32::try_from(self.number()?).ok()?)?),
            REPETITION => {
                let min = u32::try_from(self.number()?).ok()?;
                let max = match self.number()? {
                    0 => None,
                    n => Some(u32::try_from(n - 1).ok()?),
                };
                let greedy = self.byte()? == 1;
                let sub = Box::new(self.hir()?);
                Hir::repetition(Repetition { min, max, greedy, sub })
            }
            CAPTURE => {
                let index = u32::try_from(self.number()?).ok()?;
                let len = self.count()?;
                let name = std::str::from_utf8(self.take(len)?).ok()?;
                let name = (!name.is_empty()).then(|| name.into());
                let sub = Box::new(self.hir()?);
                Hir::capture(Capture { index, name, sub })
            }
            kind @ (CONCAT | ALTERNATION) => {
                let count = self.count()?;
                let mut subs = Vec::with_capacity(count.min(256));
                for _ in 0..count {
                    subs.push(self.hir()?);
                }
                if kind == CONCAT {
                    Hir::concat(subs)
                } else {
                    Hir::alternation(subs)
                }
            }
            _ => return None,
        })
    }

    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn take(&mut self, len: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(len)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn number(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    /// A count or length: at most what is left to read.
    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.number()?).ok().filter(|&n| n <= self.bytes.len() - self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pattern: &str, unicode: bool) -> Hir {
        regex_syntax::ParserBuilder::new()
            .unicode(unicode)
            .utf8(unicode)
            .build()
            .parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    #[test]
    fn every_kind_of_node_reads_back_as_written() {
        for (pattern, unicode) in [
            (r"", false),
            (r"(?i)ignore\s+(?:all\s+)?previous", false),
            (r"^\bsend[^.:;!?\n]{0,60}?\b(?:to|an)\b$", false),
            (r"(?P<key>[a-z0-9]{32,})|x*|y+?|z{3,}", false),
            (r"\xff[\x80-\xfe]", false),
            (r"[α-ω]+\b{start}\w", true),
            (r"システム|системный|\p{Greek}", true),
        ] {
            let hir = parse(pattern, unicode);
            let bytes = encode(&hir);
            assert_eq!(decode(&bytes), Some(hir), "{pattern:?}");
        }
    }

    #[test]
    fn bytes_that_are_not_a_pattern_read_as_none() {
        let bytes = encode(&parse(r"ignore\s+(?:all\s+)?previous{2,5}", false));
        for end in 0..bytes.len() {
            assert_eq!(decode(&bytes[..end]), None, "cut at {end}");
        }
        let mut longer = bytes.clone();
        longer.push(EMPTY);
        assert_eq!(decode(&longer), None);
        assert_eq!(decode(&[0xee]), None);
        assert_eq!(decode(&[LITERAL, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), None);
    }
}
