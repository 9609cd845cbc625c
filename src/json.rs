//! JSON parsing into `serde_json::Value` that also keeps what `Value` forgets: keys
//! that appear twice in one object, with every earlier value (RFC 8259 §4 leaves their
//! meaning to each parser, so a reviewer and a client may see different values: each
//! must be scanned). The last value wins in `value`, as in serde_json. Documents nested
//! deeper than [`MAX_DEPTH`] levels are refused before parsing (exactly that deep is
//! fine: serde_json's own limit stops one level short of it).

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::fields::escape_token;

/// More duplicates than this in one document, or pointers longer than this in all,
/// are not recorded one by one: the document is marked [`Parsed::too_many_duplicates`].
const MAX_RECORDED: usize = 1000;
const MAX_POINTER_BYTES: usize = 1 << 20;

/// A parsed document and every duplicated key.
pub struct Parsed {
    pub value: Value,
    pub duplicate_keys: Vec<Duplicate>,
    /// Some duplicates were not recorded: a reader that must see every value refuses.
    pub too_many_duplicates: bool,
}

/// A key given more than once: where (RFC 6901), and a value `value` does not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Duplicate {
    pub pointer: String,
    pub earlier: Value,
}

/// The deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// Why a document was not parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep { line: usize, column: usize },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl ParseError {
    /// Where it happened: line and column, both from 1.
    pub fn position(&self) -> (usize, usize) {
        match self {
            ParseError::TooDeep { line, column } => (*line, *column),
            ParseError::Json(e) => (e.line(), e.column()),
        }
    }
}

/// Parses `text`, recording duplicate keys.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    check_depth(text)?;
    let state = RefCell::new(State::default());
    let mut deserializer = serde_json::Deserializer::from_str(text);
    // The depth was checked above, so the visitor's recursion is bounded.
    deserializer.disable_recursion_limit();
    let value = ValueSeed(&state).deserialize(&mut deserializer)?;
    deserializer.end()?;
    let state = state.into_inner();
    Ok(Parsed { value, duplicate_keys: state.duplicates, too_many_duplicates: state.dropped })
}

/// Refuses nesting past [`MAX_DEPTH`], in one pass over the bytes (strings skipped:
/// inside one, only a quote or a backslash matters, found with `memchr`). The line and
/// column are counted only for the error.
fn check_depth(text: &str) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => {
                // Skip to the closing quote: past every escaped character.
                let mut from = at + 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[from.min(bytes.len())..]) {
                        Some(i) if bytes[from + i] == b'\\' => from += i + 2,
                        Some(i) => {
                            at = from + i;
                            break;
                        }
                        None => return Ok(()),
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
                    let column = text[line_start..=at].chars().count();
                    return Err(ParseError::TooDeep { line, column });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    Ok(())
}

#[derive(Default)]
struct State {
    path: Vec<Segment>,
    duplicates: Vec<Duplicate>,
    pointer_bytes: usize,
    dropped: bool,
}

enum Segment {
    Key(String),
    Index(usize),
}

impl State {
    /// The pointer of `key` in the current object, unless recording it would pass the
    /// limits (checked before the pointer is built: its length is known beforehand).
    fn pointer_within_budget(&self, key: &str) -> Option<String> {
        let length: usize = self
            .path
            .iter()
            .map(|s| match s {
                Segment::Key(k) => k.len() * 2 + 1,
                Segment::Index(_) => 21,
            })
            .sum::<usize>()
            + key.len() * 2
            + 1;
        if self.duplicates.len() >= MAX_RECORDED || self.pointer_bytes + length > MAX_POINTER_BYTES {
            return None;
        }
        Some(format!("{}/{}", self.pointer(), escape_token(key)))
    }

    fn pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            out.push('/');
            match segment {
                Segment::Key(k) => out.push_str(&escape_token(k)),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

#[derive(Clone, Copy)]
struct ValueSeed<'a>(&'a RefCell<State>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            self.0.borrow_mut().path.push(Segment::Index(items.len()));
            let next = seq.next_element_seed(self);
            self.0.borrow_mut().path.pop();
            match next? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            self.0.borrow_mut().path.push(Segment::Key(key));
            let value = access.next_value_seed(self);
            let popped = self.0.borrow_mut().path.pop();
            let value = value?;
            let Some(Segment::Key(key)) = popped else { continue };
            match map.entry(key) {
                serde_json::map::Entry::Vacant(vacant) => {
                    vacant.insert(value);
                }
                serde_json::map::Entry::Occupied(mut occupied) => {
                    let pointer = self.0.borrow().pointer_within_budget(occupied.key());
                    let earlier = occupied.insert(value);
                    let mut state = self.0.borrow_mut();
                    match pointer {
                        Some(pointer) => {
                            state.pointer_bytes += pointer.len();
                            state.duplicates.push(Duplicate { pointer, earlier });
                        }
                        None => state.dropped = true,
                    }
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_recorded_and_the_last_value_wins() {
        let parsed = parse(r#"{"tools": [{"name": "a", "description": "x", "description": "y", "s": {"k~/": 1, "k~/": 2}}]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.value["tools"][0]["description"], "y");
        let pointers: Vec<&str> = parsed.duplicate_keys.iter().map(|d| d.pointer.as_str()).collect();
        assert_eq!(pointers, vec!["/tools/0/description", "/tools/0/s/k~0~1"]);
        assert_eq!(parsed.duplicate_keys[0].earlier, "x", "the earlier value is kept");
    }

    #[test]
    fn same_value_as_serde_json() {
        let text = r#"{"a": [1, -2, 3.5, 1e300, true, null, "s\u00e9"], "b": {"c": {}}}"#;
        let ours = parse(text).map(|p| p.value).ok();
        let theirs: Option<Value> = serde_json::from_str(text).ok();
        assert_eq!(ours, theirs);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&deep).is_err_and(|e| e.to_string() == "nesting deeper than 128 levels"));
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&at_limit).is_ok(), "exactly {MAX_DEPTH} levels is within the limit");
        let over = format!("{{\"a\": \"[[[\", \"b\":\n {}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(
            matches!(parse(&over), Err(ParseError::TooDeep { line: 2, column: 129 })),
            "brackets in strings do not count"
        );
        // An escaped quote does not end a string (its brackets stay inside); an escaped
        // backslash before the closing quote does (the brackets after it count).
        let hidden = format!("{{\"a\": \"x\\\"{}\"}}", "[".repeat(MAX_DEPTH + 5));
        assert!(parse(&hidden).is_ok(), "brackets after an escaped quote are inside the string");
        let counted =
            format!("{{\"a\": \"x\\\\\", \"b\": {}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(
            matches!(parse(&counted), Err(ParseError::TooDeep { .. })),
            "after an escaped backslash the string ends and the brackets count"
        );
        assert!(parse("\"unterminated \\").is_err(), "a string cut after a backslash");
    }
}
