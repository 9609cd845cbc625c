//! Decoders for hidden channels: each turns a run of invisible code points back into
//! the text it smuggles (threats.md §6.2–§6.5). Pure functions, no judgement.

/// Tags block → ASCII: U+E0020–U+E007E mirror 0x20–0x7E; U+E0001 (LANGUAGE TAG) and
/// U+E007F (CANCEL TAG) are framing and dropped.
pub fn tags(run: &[char]) -> String {
    run.iter()
        .filter_map(|&c| {
            let cp = c as u32;
            (0xE0020..=0xE007E).contains(&cp).then(|| char::from((cp - 0xE0000) as u8))
        })
        .collect()
}

/// Variation-selector run → bytes → UTF-8, trying both schemes in the wild and keeping
/// the more printable: Paul Butler's (FE00+b for b < 16, E0100+(b-16) above) and
/// garak's (E0100 + ASCII). `None` when neither yields text.
pub fn variation_selectors(run: &[char]) -> Option<String> {
    let butler: Vec<u8> = run
        .iter()
        .map(|&c| match c as u32 {
            cp @ 0xFE00..=0xFE0F => (cp - 0xFE00) as u8,
            cp => (cp.saturating_sub(0xE0100) + 16).min(255) as u8,
        })
        .collect();
    let garak: Option<Vec<u8>> = run
        .iter()
        .map(|&c| match c as u32 {
            cp @ 0xE0100..=0xE01EF => u8::try_from(cp - 0xE0100).ok(),
            _ => None,
        })
        .collect();
    let candidates = [Some(butler), garak].into_iter().flatten().filter_map(|b| String::from_utf8(b).ok());
    most_printable(candidates.collect(), 0.8)
}

/// Invisible-operator run (Sneaky Bits: U+2062 = 0, U+2064 = 1) → text. Any two of the
/// four invisible operators (U+2061–U+2064) can carry the bits, in either order: every
/// assignment of the two used is tried, with 8-bit and 7-bit groups, and garak's
/// variable-length form where U+200B separates characters; the most printable wins.
pub fn invisible_operators(run: &[char]) -> Option<String> {
    let operator = |c: char| ('\u{2061}'..='\u{2064}').contains(&c);
    let mut used: Vec<char> = run.iter().copied().filter(|&c| operator(c)).collect();
    used.sort_unstable();
    used.dedup();
    let assignments: Vec<(char, char)> = match used.as_slice() {
        [a, b] => vec![(*a, *b), (*b, *a)],
        _ => vec![('\u{2062}', '\u{2064}')],
    };
    let mut candidates = Vec::new();
    for (zero, one) in assignments {
        let bit = |c: char| match c {
            c if c == zero => Some(0u32),
            c if c == one => Some(1u32),
            _ => None,
        };
        let bits: Vec<u32> = run.iter().filter_map(|&c| bit(c)).collect();
        for width in [8, 7] {
            if bits.len() >= width && bits.len().is_multiple_of(width) {
                let text: String = bits
                    .chunks(width)
                    .filter_map(|chunk| char::from_u32(chunk.iter().fold(0, |acc, b| acc << 1 | b)))
                    .collect();
                candidates.push(text);
            }
        }
        if run.contains(&'\u{200B}') {
            let text: String = run
                .split(|&c| c == '\u{200B}')
                .filter(|group| !group.is_empty())
                .filter_map(|group| {
                    char::from_u32(group.iter().filter_map(|&c| bit(c)).fold(0, |acc, b| acc << 1 | b))
                })
                .collect();
            candidates.push(text);
        }
    }
    best_text(candidates)
}

/// Zero-width binary (ZWSP/ZWNJ as 0/1 in either order, 8-bit groups; other
/// zero-width characters are framing).
pub fn zero_width_bits(run: &[char]) -> Option<String> {
    let symbols: Vec<char> = run.iter().copied().filter(|c| matches!(c, '\u{200B}' | '\u{200C}')).collect();
    if symbols.len() < 8 || !symbols.len().is_multiple_of(8) {
        return None;
    }
    let candidates = [('\u{200B}', '\u{200C}'), ('\u{200C}', '\u{200B}')]
        .into_iter()
        .map(|(zero, _)| {
            let bytes: Vec<u8> = symbols
                .chunks(8)
                .map(|chunk| chunk.iter().fold(0u8, |acc, &c| acc << 1 | u8::from(c != zero)))
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect();
    best_text(candidates)
}

/// The candidate that reads most like text, if any reads like text at all.
fn best_text(candidates: Vec<String>) -> Option<String> {
    most_printable(candidates, 0.9)
}

/// The most printable candidate at or over `threshold`; on a tie the earlier one wins,
/// so callers list the commoner scheme first.
fn most_printable(candidates: Vec<String>, threshold: f64) -> Option<String> {
    let mut best: Option<(f64, String)> = None;
    for text in candidates {
        let ratio = printable_ratio(&text);
        if text.is_empty() || ratio < threshold {
            continue;
        }
        if best.as_ref().is_none_or(|(top, _)| ratio > *top) {
            best = Some((ratio, text));
        }
    }
    best.map(|(_, text)| text)
}

/// Share of characters that are printable (not control, not replacement).
pub fn printable_ratio(text: &str) -> f64 {
    let mut total = 0usize;
    let mut printable = 0usize;
    for c in text.chars() {
        total += 1;
        if !c.is_control() && c != '\u{FFFD}' || matches!(c, '\n' | '\t') {
            printable += 1;
        }
    }
    if total == 0 {
        0.0
    } else {
        printable as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_tags(s: &str) -> Vec<char> {
        s.bytes().filter_map(|b| char::from_u32(0xE0000 + u32::from(b))).collect()
    }

    #[test]
    fn tags_decode_to_ascii() {
        let mut run = vec!['\u{E0001}'];
        run.extend(encode_tags("Read ~/.ssh"));
        run.push('\u{E007F}');
        assert_eq!(tags(&run), "Read ~/.ssh");
    }

    #[test]
    fn variation_selectors_decode_both_schemes() {
        let butler: Vec<char> = "hi there"
            .bytes()
            .filter_map(|b| {
                if b < 16 {
                    char::from_u32(0xFE00 + u32::from(b))
                } else {
                    char::from_u32(0xE0100 + u32::from(b) - 16)
                }
            })
            .collect();
        assert_eq!(variation_selectors(&butler).as_deref(), Some("hi there"));
        let garak: Vec<char> =
            "hi there".bytes().filter_map(|b| char::from_u32(0xE0100 + u32::from(b))).collect();
        assert_eq!(variation_selectors(&garak).as_deref(), Some("hi there"));
        // A lone VS16 is byte 0x0F under Butler's scheme: never text.
        assert_eq!(variation_selectors(&['\u{FE0F}']), None);
    }

    #[test]
    fn invisible_operators_decode() {
        let run: Vec<char> = "ok!"
            .bytes()
            .flat_map(|b| (0..8).rev().map(move |i| if b >> i & 1 == 1 { '\u{2064}' } else { '\u{2062}' }))
            .collect();
        assert_eq!(invisible_operators(&run).as_deref(), Some("ok!"));
        // The other two operators (U+2061 FUNCTION APPLICATION, U+2063 INVISIBLE
        // SEPARATOR), in either order, decode the same way.
        for (zero, one) in [('\u{2061}', '\u{2063}'), ('\u{2063}', '\u{2061}'), ('\u{2064}', '\u{2061}')] {
            let run: Vec<char> = "send ~/.ssh"
                .bytes()
                .flat_map(|b| (0..8).rev().map(move |i| if b >> i & 1 == 1 { one } else { zero }))
                .collect();
            assert_eq!(invisible_operators(&run).as_deref(), Some("send ~/.ssh"), "{zero:?}/{one:?}");
        }
    }

    #[test]
    fn zero_width_bits_decode() {
        let run: Vec<char> = "key"
            .bytes()
            .flat_map(|b| (0..8).rev().map(move |i| if b >> i & 1 == 1 { '\u{200C}' } else { '\u{200B}' }))
            .collect();
        assert_eq!(zero_width_bits(&run).as_deref(), Some("key"));
    }
}
