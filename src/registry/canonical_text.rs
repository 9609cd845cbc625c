//! The text form of every registry JSON file: sorted keys, two-space indent, trailing
//! newline, and every character that is not printable ASCII written as `\uXXXX`, so a
//! hidden character shows in a pull-request diff (design §4).

use serde_json::Value;

/// `value` in the registry's canonical text form.
pub fn to_text(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out.push('\n');
    out
}

/// Whether `text` is exactly the canonical form of the JSON it holds.
pub fn is_canonical(text: &str, value: &Value) -> bool {
    to_text(value) == text
}

/// The 1-based line on which the value at JSON `pointer` starts in `to_text(value)`,
/// or `None` when the pointer names nothing. Every scalar and every empty container
/// takes one line; a non-empty container takes its opening line, its members, and a
/// closing line: the layout `write_value` produces.
pub fn line_of(value: &Value, pointer: &str) -> Option<usize> {
    let mut line = 1;
    let mut here = value;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        line += 1; // the container's opening line
        here = match here {
            Value::Object(map) => {
                let mut found = None;
                for (key, member) in map {
                    if *key == token {
                        found = Some(member);
                        break;
                    }
                    line += lines(member);
                }
                found?
            }
            Value::Array(items) => {
                let index: usize = token.parse().ok()?;
                for item in items.get(..index)? {
                    line += lines(item);
                }
                items.get(index)?
            }
            _ => return None,
        };
    }
    Some(line)
}

/// How many lines `value` takes in canonical text.
fn lines(value: &Value) -> usize {
    match value {
        Value::Array(items) if !items.is_empty() => 2 + items.iter().map(lines).sum::<usize>(),
        Value::Object(map) if !map.is_empty() => 2 + map.values().map(lines).sum::<usize>(),
        _ => 1,
    }
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            // serde_json's map is a BTreeMap here: keys iterate sorted, by bytes.
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_agrees_with_the_text() {
        let value = serde_json::json!({
            "digest": "sha256:0",
            "reviews": [{"by": "a"}, {"by": "b", "note": "n"}],
            "tool": {"description": "d", "inputSchema": {"properties": {"a/b": {"type": "string"}}}, "name": "t"}
        });
        let text = to_text(&value);
        let lines: Vec<&str> = text.lines().collect();
        for (pointer, expected) in [
            ("", "{"),
            ("/digest", "  \"digest\": \"sha256:0\","),
            ("/reviews/1/note", "      \"note\": \"n\""),
            ("/tool/description", "    \"description\": \"d\","),
            ("/tool/inputSchema/properties/a~1b/type", "          \"type\": \"string\""),
            ("/tool/name", "    \"name\": \"t\""),
        ] {
            let line = line_of(&value, pointer).unwrap();
            assert_eq!(lines[line - 1], expected, "{pointer}");
        }
        assert_eq!(line_of(&value, "/tool/missing"), None);
        assert_eq!(line_of(&value, "/reviews/9"), None);
    }
    use serde_json::json;

    #[test]
    fn sorted_indented_and_escaped() {
        let value =
            json!({"b": [1, {"z": null, "a": true}], "a": "x\u{200b}y\n\u{1F600}\"\\", "e": {}, "f": []});
        let text = to_text(&value);
        assert_eq!(
            text,
            "{\n  \"a\": \"x\\u200by\\u000a\\ud83d\\ude00\\\"\\\\\",\n  \"b\": [\n    1,\n    {\n      \"a\": true,\n      \"z\": null\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}\n"
        );
        // Round trip: the text parses back to the same value, and is canonical.
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        assert!(is_canonical(&text, &back));
        assert!(!is_canonical(&serde_json::to_string_pretty(&value).unwrap(), &value));
    }

    #[test]
    fn only_printable_ascii_in_output() {
        let value = json!({"k\u{202e}": "\u{e0041}\u{7f}\u{1b}[31m"});
        assert!(to_text(&value).chars().all(|c| c == '\n' || (' '..='~').contains(&c)));
    }
}
