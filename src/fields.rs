//! The field walker: every string and every object key a model can read, with its
//! RFC 6901 pointer and kind, and the text views rules run on (threats.md §0.1–§0.2).

use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::catalog::Header;
use crate::{charclass, decode};

/// What part of a tool or server a string is; rules choose the kinds they apply to
/// (the field codes of threats.md §14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// `name` of a tool (N).
    ToolName,
    /// `title`, `annotations.title`, `serverInfo.title` (T).
    Title,
    /// A tool's `description`, `serverInfo.description` (D).
    Description,
    /// The server's `instructions` (SI).
    Instructions,
    /// Any other string of `serverInfo` (name, version, websiteUrl).
    ServerInfo,
    /// A schema property name, at any depth (PN).
    PropertyName,
    /// A schema's text keyword: `description`, `title`, `$comment`, vendor keys (PD).
    SchemaText,
    /// A schema value: `enum`, `const`, `default`, `examples`, `pattern` (EV).
    SchemaValue,
    /// A structural schema keyword's value: `type`, `format`, `$ref`, `required` entries.
    SchemaKeyword,
    /// A string under `annotations` other than its title (AN).
    Annotation,
    /// `_meta`, `icons`, and other metadata (META).
    Meta,
    /// An object key that is not a property name.
    Key,
    /// Any other string (unknown top-level tool fields).
    Other,
}

impl FieldKind {
    /// Every kind, in declaration order.
    pub const ALL: [FieldKind; 13] = [
        FieldKind::ToolName,
        FieldKind::Title,
        FieldKind::Description,
        FieldKind::Instructions,
        FieldKind::ServerInfo,
        FieldKind::PropertyName,
        FieldKind::SchemaText,
        FieldKind::SchemaValue,
        FieldKind::SchemaKeyword,
        FieldKind::Annotation,
        FieldKind::Meta,
        FieldKind::Key,
        FieldKind::Other,
    ];

    /// Names and keys: text that is an identifier rather than prose.
    pub fn is_identifier(self) -> bool {
        matches!(self, FieldKind::ToolName | FieldKind::PropertyName | FieldKind::Key)
    }
}

/// One string a model can read, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// RFC 6901 pointer from the tool object (or the server header object).
    pub pointer: String,
    pub kind: FieldKind,
    pub text: &'a str,
}

/// Every string and key of one tool.
pub fn tool_fields(tool: &Value) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let Value::Object(map) = tool else { return out };
    for (key, value) in map {
        let pointer = format!("/{}", escape_token(key));
        out.push(Field { pointer: pointer.clone(), kind: FieldKind::Key, text: key });
        match (key.as_str(), value) {
            ("name", Value::String(s)) => out.push(Field { pointer, kind: FieldKind::ToolName, text: s }),
            ("title", Value::String(s)) => out.push(Field { pointer, kind: FieldKind::Title, text: s }),
            ("description", Value::String(s)) => {
                out.push(Field { pointer, kind: FieldKind::Description, text: s })
            }
            ("inputSchema" | "outputSchema", schema) => walk_schema(schema, &pointer, &mut out),
            ("annotations", Value::Object(annotations)) => {
                for (akey, avalue) in annotations {
                    let here = format!("{pointer}/{}", escape_token(akey));
                    out.push(Field { pointer: here.clone(), kind: FieldKind::Key, text: akey });
                    let kind = if akey == "title" { FieldKind::Title } else { FieldKind::Annotation };
                    walk_value(avalue, &here, kind, &mut out);
                }
            }
            ("_meta" | "icons", value) => walk_value(value, &pointer, FieldKind::Meta, &mut out),
            (_, value) => walk_value(value, &pointer, FieldKind::Other, &mut out),
        }
    }
    out
}

/// The server-level strings: `instructions` and every string of `serverInfo`.
pub fn header_fields(header: &Header) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    if let Some(text) = &header.instructions {
        out.push(Field { pointer: "/instructions".into(), kind: FieldKind::Instructions, text });
    }
    if let Some(Value::Object(info)) = &header.server_info {
        for (key, value) in info {
            let here = format!("/serverInfo/{}", escape_token(key));
            out.push(Field { pointer: here.clone(), kind: FieldKind::Key, text: key });
            let kind = match key.as_str() {
                "title" => FieldKind::Title,
                "description" => FieldKind::Description,
                "icons" | "_meta" => FieldKind::Meta,
                _ => FieldKind::ServerInfo,
            };
            walk_value(value, &here, kind, &mut out);
        }
    }
    out
}

/// A JSON Schema at any depth: keywords are recognised so each string gets its kind.
fn walk_schema<'a>(schema: &'a Value, pointer: &str, out: &mut Vec<Field<'a>>) {
    let Value::Object(map) = schema else {
        // `true`/`false` schemas carry no text; anything else odd is still walked.
        walk_value(schema, pointer, FieldKind::SchemaText, out);
        return;
    };
    for (key, value) in map {
        let here = format!("{pointer}/{}", escape_token(key));
        out.push(Field { pointer: here.clone(), kind: FieldKind::Key, text: key });
        match key.as_str() {
            "properties" | "patternProperties" => {
                walk_named_schemas(value, &here, FieldKind::PropertyName, out)
            }
            "$defs" | "definitions" | "dependentSchemas" => {
                walk_named_schemas(value, &here, FieldKind::Key, out)
            }
            "items"
            | "additionalProperties"
            | "additionalItems"
            | "unevaluatedProperties"
            | "unevaluatedItems"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames" => match value {
                Value::Array(list) => walk_schema_list(list, &here, out),
                _ => walk_schema(value, &here, out),
            },
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => match value {
                Value::Array(list) => walk_schema_list(list, &here, out),
                _ => walk_value(value, &here, FieldKind::SchemaText, out),
            },
            "enum" | "const" | "default" | "examples" | "example" | "pattern" => {
                walk_value(value, &here, FieldKind::SchemaValue, out)
            }
            "type" | "format" | "$ref" | "$schema" | "$id" | "$anchor" | "required" | "contentEncoding"
            | "contentMediaType" => walk_value(value, &here, FieldKind::SchemaKeyword, out),
            // description, title, $comment, markdownDescription, x-*, and unknown keys:
            // all prose a model may read.
            _ => walk_value(value, &here, FieldKind::SchemaText, out),
        }
    }
}

fn walk_schema_list<'a>(list: &'a [Value], pointer: &str, out: &mut Vec<Field<'a>>) {
    for (i, item) in list.iter().enumerate() {
        walk_schema(item, &format!("{pointer}/{i}"), out);
    }
}

fn walk_named_schemas<'a>(value: &'a Value, pointer: &str, name_kind: FieldKind, out: &mut Vec<Field<'a>>) {
    let Value::Object(map) = value else {
        walk_value(value, pointer, FieldKind::SchemaText, out);
        return;
    };
    walk_named(map, pointer, name_kind, out);
}

fn walk_named<'a>(
    map: &'a Map<String, Value>,
    pointer: &str,
    name_kind: FieldKind,
    out: &mut Vec<Field<'a>>,
) {
    for (name, schema) in map {
        let here = format!("{pointer}/{}", escape_token(name));
        out.push(Field { pointer: here.clone(), kind: name_kind, text: name });
        walk_schema(schema, &here, out);
    }
}

/// Any JSON value: every string and key, all of one kind (keys are [`FieldKind::Key`]).
fn walk_value<'a>(value: &'a Value, pointer: &str, kind: FieldKind, out: &mut Vec<Field<'a>>) {
    match value {
        Value::String(s) => out.push(Field { pointer: pointer.to_owned(), kind, text: s }),
        Value::Array(list) => {
            for (i, item) in list.iter().enumerate() {
                walk_value(item, &format!("{pointer}/{i}"), kind, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let here = format!("{pointer}/{}", escape_token(key));
                out.push(Field { pointer: here.clone(), kind: FieldKind::Key, text: key });
                walk_value(item, &here, kind, out);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// RFC 6901 reference-token escaping: `~` → `~0`, `/` → `~1`.
pub fn escape_token(key: &str) -> String {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1")
    } else {
        key.to_owned()
    }
}

/// The shadow view keyword rules scan (threats.md §0.2): hidden channels decoded in
/// place (Tags → ASCII, variation-selector runs → bytes), remaining default-ignorables
/// stripped, NFKC, lowercase. `ig\u{200B}nore` and `ＩＧＮＯＲＥ` both read `ignore`.
pub fn shadow(text: &str) -> String {
    if !charclass::needs_inspection(text) {
        return text.to_lowercase();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut revealed = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if charclass::is_tag(c) {
            let end = run_end(&chars, i, charclass::is_tag);
            revealed.push_str(&decode::tags(&chars[i..end]));
            i = end;
        } else if charclass::is_variation_selector(c)
            && run_end(&chars, i, charclass::is_variation_selector) - i >= 2
        {
            let end = run_end(&chars, i, charclass::is_variation_selector);
            if let Some(payload) = decode::variation_selectors(&chars[i..end]) {
                revealed.push_str(&payload);
            }
            i = end;
        } else {
            if !charclass::is_default_ignorable(c) {
                revealed.push(c);
            }
            i += 1;
        }
    }
    revealed.nfkc().collect::<String>().to_lowercase()
}

fn run_end(chars: &[char], start: usize, member: fn(char) -> bool) -> usize {
    chars[start..].iter().position(|&c| !member(c)).map_or(chars.len(), |n| start + n)
}

/// Identifier words for names and keys: snake, kebab, dot and camelCase split into
/// lowercase words (`content_from_readingSSH-id.rsa` → `content from reading ssh id rsa`).
pub fn ident_words(name: &str) -> String {
    let chars: Vec<char> = shadow(name).chars().collect();
    let original: Vec<char> = name.chars().filter(|c| !charclass::is_default_ignorable(*c)).collect();
    // Case boundaries come from the original spelling; the shadow is already lowercase.
    let upper: Vec<bool> = if original.len() == chars.len() {
        original.iter().map(|c| c.is_uppercase()).collect()
    } else {
        vec![false; chars.len()]
    };
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let boundary = i > 0
            && upper[i]
            && (!upper[i - 1] || upper.get(i + 1).is_some_and(|next| !next && chars[i + 1].is_alphabetic()));
        let digit_edge =
            i > 0 && (c.is_ascii_digit() != chars[i - 1].is_ascii_digit()) && chars[i - 1].is_alphanumeric();
        if (boundary || digit_edge) && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn walker_visits_every_string_and_key_with_its_pointer() {
        let tool = json!({
            "name": "add",
            "description": "Adds.",
            "inputSchema": {"type": "object", "properties": {
                "a/b": {"type": "string", "description": "first", "enum": ["x", "y"]},
                "nested": {"type": "object", "properties": {"deep~key": {"default": "d", "x-note": "v"}}}
            }, "required": ["a/b"]},
            "annotations": {"title": "Add", "readOnlyHint": true},
            "_meta": {"vendor": "m"},
            "execution": {"taskSupport": "optional"}
        });
        let fields = tool_fields(&tool);
        let find =
            |p: &str, k: FieldKind| fields.iter().find(|f| f.pointer == p && f.kind == k).map(|f| f.text);
        assert_eq!(find("/name", FieldKind::ToolName), Some("add"));
        assert_eq!(find("/inputSchema/properties/a~1b", FieldKind::PropertyName), Some("a/b"));
        assert_eq!(find("/inputSchema/properties/a~1b/description", FieldKind::SchemaText), Some("first"));
        assert_eq!(find("/inputSchema/properties/a~1b/enum/1", FieldKind::SchemaValue), Some("y"));
        assert_eq!(
            find("/inputSchema/properties/nested/properties/deep~0key", FieldKind::PropertyName),
            Some("deep~key")
        );
        assert_eq!(
            find("/inputSchema/properties/nested/properties/deep~0key/default", FieldKind::SchemaValue),
            Some("d")
        );
        assert_eq!(
            find("/inputSchema/properties/nested/properties/deep~0key/x-note", FieldKind::SchemaText),
            Some("v")
        );
        assert_eq!(find("/inputSchema/required/0", FieldKind::SchemaKeyword), Some("a/b"));
        assert_eq!(find("/annotations/title", FieldKind::Title), Some("Add"));
        assert_eq!(find("/_meta/vendor", FieldKind::Meta), Some("m"));
        assert_eq!(find("/execution/taskSupport", FieldKind::Other), Some("optional"));
        assert_eq!(find("/execution", FieldKind::Key), Some("execution"));
    }

    #[test]
    fn shadow_view_defeats_obfuscation() {
        assert_eq!(shadow("Ig\u{200b}nore ALL"), "ignore all");
        assert_eq!(shadow("\u{ff29}\u{ff27}\u{ff2e}\u{ff2f}\u{ff32}\u{ff25}"), "ignore");
        assert_eq!(shadow("ok\u{e0001}\u{e0068}\u{e0069}\u{e007f}"), "okhi");
        assert_eq!(shadow("\u{1d42c}\u{1d41e}\u{1d427}\u{1d41d}"), "send");
    }

    #[test]
    fn ident_words_split_every_convention() {
        assert_eq!(ident_words("content_from_reading_ssh_id_rsa"), "content from reading ssh id rsa");
        assert_eq!(ident_words("readSSHKey-file.v2"), "read ssh key file v 2");
        assert_eq!(ident_words("getURLPath"), "get url path");
    }
}
