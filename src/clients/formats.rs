//! Client configuration files as JSON values: JSON with comments and trailing commas
//! (VS Code, Zed, opencode), TOML (Codex), YAML (Continue, Goose). Every file is
//! attacker-shaped input: sizes and depths are bounded, and YAML aliases (whose
//! expansion can grow without bound) are refused.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Larger files are refused: no client configuration is near this.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Deeper nesting is refused (the same limit as catalogs).
const MAX_DEPTH: usize = 128;

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON; comments (`//`, `/* */`) and trailing commas accepted (JSONC).
    Json,
    Toml,
    Yaml,
}

/// The file's contents as a JSON value.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Value, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!("larger than {} MiB", MAX_BYTES / (1024 * 1024)));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 ({e})"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Json => {
            let plain = strip_jsonc(text);
            let mut deserializer = serde_json::Deserializer::from_str(&plain);
            let value: Value =
                serde::Deserialize::deserialize(&mut deserializer).map_err(|e| e.to_string())?;
            deserializer.end().map_err(|e| e.to_string())?;
            check_depth(&value)?;
            Ok(value)
        }
        Format::Toml => {
            let value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
            let value = serde_json::to_value(value).map_err(|e| e.to_string())?;
            check_depth(&value)?;
            Ok(value)
        }
        Format::Yaml => yaml(text),
    }
}

fn check_depth(value: &Value) -> Result<(), String> {
    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(list) => 1 + list.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    // serde_json has its own recursion limit while parsing; this bounds what follows.
    if depth(value) > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH}"));
    }
    Ok(())
}

/// JSONC → JSON: comments become spaces and a comma before `}` or `]` is dropped;
/// strings are left exactly as they are.
pub fn strip_jsonc(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        out.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if chars[i - 1] == '"' {
                        break;
                    }
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
                i += 2;
                out.push(' ');
            }
            ',' => {
                // A trailing comma: the next significant character closes the container.
                let mut j = i + 1;
                loop {
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                    if chars.get(j) == Some(&'/') && chars.get(j + 1) == Some(&'/') {
                        while j < chars.len() && chars[j] != '\n' {
                            j += 1;
                        }
                    } else if chars.get(j) == Some(&'/') && chars.get(j + 1) == Some(&'*') {
                        j += 2;
                        while j < chars.len() && !(chars[j] == '*' && chars.get(j + 1) == Some(&'/')) {
                            j += 1;
                        }
                        j += 2;
                    } else {
                        break;
                    }
                }
                if !matches!(chars.get(j), Some('}' | ']')) {
                    out.push(c);
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// YAML → JSON, from the parser's events (one document; anchors allowed, aliases
/// refused). Scalars: plain ones are read as YAML 1.2 core types (null, booleans,
/// numbers), quoted ones stay strings. Keys must be scalars.
fn yaml(text: &str) -> Result<Value, String> {
    let mut builder = Builder::default();
    Parser::new_from_str(text).load(&mut builder, false).map_err(|e| e.to_string())?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

/// Builds the value from YAML events.
#[derive(Default)]
struct Builder {
    /// Open containers, with the key waiting for a value in a mapping.
    stack: Vec<(Value, Option<String>)>,
    root: Option<Value>,
    error: Option<String>,
}

impl Builder {
    fn fail(&mut self, why: String) {
        if self.error.is_none() {
            self.error = Some(why);
        }
    }

    /// A finished value: into its container, or as the document.
    fn put(&mut self, value: Value) {
        let Some((container, key)) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(value);
            }
            return;
        };
        match container {
            Value::Array(list) => list.push(value),
            Value::Object(map) => match key.take() {
                Some(k) => {
                    map.insert(k, value);
                }
                None => match value {
                    Value::String(k) => *key = Some(k),
                    Value::Number(n) => *key = Some(n.to_string()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Null => *key = Some("null".into()),
                    _ => self.fail("a mapping key that is not a scalar".into()),
                },
            },
            _ => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::Alias(_) => self.fail("YAML aliases are not accepted in a client configuration".into()),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(format!("nested deeper than {MAX_DEPTH}"));
                    return;
                }
                let empty = if matches!(event, Event::SequenceStart(..)) {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                };
                self.stack.push((empty, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((value, _)) = self.stack.pop() {
                    self.put(value);
                }
            }
            Event::Scalar(text, style, _, tag) => {
                let value = if style == TScalarStyle::Plain && tag.is_none() {
                    plain_scalar(&text)
                } else {
                    Value::String(text)
                };
                self.put(value);
            }
            _ => {}
        }
    }
}

/// A plain YAML scalar as the YAML 1.2 core schema reads it.
fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return Value::Number(n.into());
    }
    if text.contains(['.', 'e', 'E'])
        && !text.chars().any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonc_loses_comments_and_trailing_commas_only() {
        let text = "{\n // a comment\n \"a\": \"http://x//y\", /* block\n */ \"b\": [1, 2,],\n \"c\": \"/* no */\",\n}";
        assert_eq!(
            parse(Format::Json, text.as_bytes()).unwrap(),
            json!({"a": "http://x//y", "b": [1, 2], "c": "/* no */"})
        );
        assert!(parse(Format::Json, b"{\"a\": 1} x").is_err());
    }

    #[test]
    fn yaml_scalars_lists_and_maps() {
        let text = "mcpServers:\n  - name: fs\n    command: npx\n    args: [\"-y\", pkg]\n    env: {A: '1', B: 2}\n    enabled: false\n";
        assert_eq!(
            parse(Format::Yaml, text.as_bytes()).unwrap(),
            json!({"mcpServers": [{"name": "fs", "command": "npx", "args": ["-y", "pkg"], "env": {"A": "1", "B": 2}, "enabled": false}]})
        );
    }

    #[test]
    fn yaml_aliases_and_deep_nesting_are_refused() {
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        assert!(parse(Format::Yaml, bomb.as_bytes()).unwrap_err().contains("aliases"));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(Format::Yaml, deep.as_bytes()).is_err());
        assert!(parse(Format::Json, deep.as_bytes()).is_err());
    }

    #[test]
    fn toml_tables() {
        let text = "[mcp_servers.github]\ncommand = \"docker\"\nargs = [\"run\"]\n[mcp_servers.github.env]\nTOKEN = \"x\"\n";
        assert_eq!(
            parse(Format::Toml, text.as_bytes()).unwrap(),
            json!({"mcp_servers": {"github": {"command": "docker", "args": ["run"], "env": {"TOKEN": "x"}}}})
        );
    }
}
