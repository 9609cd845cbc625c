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
