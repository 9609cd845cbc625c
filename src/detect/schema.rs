//! Schema poisoning in code (threats.md §4): what a pattern over one string cannot see —
//! unknown schema keywords, prose in structural keywords, remote `$ref`s, instructions
//! inside enum/const/default/examples values, and duplicate keys in a tool object.

use serde_json::{Map, Value};

use super::Hit;
use crate::catalog::Item;
use crate::fields::{escape_token, subschemas, FieldKind, Subschemas};
use crate::finding::{Finding, Locate, Rule, RuleClass, Severity};
use crate::item::ItemRef;
use crate::visible;

pub const UNKNOWN_KEYWORD: Rule = Rule {
    id: "SCH002",
    name: "non-standard-schema-keyword",
    title: "A schema key that is not a JSON Schema keyword",
    severity: Severity::Low,
    class: RuleClass::Detection,
    help: "Keys in a schema that are not JSON Schema keywords are still shown to the model by many clients: a place for instructions.",
};
pub const INVALID_STRUCTURE: Rule = Rule {
    id: "SCH003",
    name: "invalid-type-or-required",
    title: "Prose or unknown names in `type` or `required`",
    severity: Severity::High,
    class: RuleClass::Detection,
    help:
        "Prose in `type` or `required`, or names no property has, is instruction text in a structural field.",
};
pub const INSTRUCTION_IN_VALUES: Rule = Rule {
    id: "SCH004",
    name: "instruction-in-values",
    title: "Instructions inside enum, const, default or examples values",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "Enum, const, default and examples values are data; sentences addressed to the model there are poisoning.",
};
pub const REMOTE_REF: Rule = Rule {
    id: "SCH005",
    name: "remote-ref",
    title: "A `$ref` to a document outside the schema",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help:
        "A `$ref` to another document brings in a schema the reviewer never saw, and the client may fetch it.",
};
pub const DUPLICATE_KEYS: Rule = Rule {
    id: "JSON001",
    name: "duplicate-json-keys",
    title: "A key appears twice in one JSON object",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "A key given twice in one object means different parsers see different values: the reviewer may not see what the client uses. Every value is scanned; guard refuses such messages.",
};

pub const COVERT_CHANNEL: Rule = Rule {
    id: "SCH006",
    name: "covert-channel-parameter",
    title: "Free-text parameters named like side channels that the tool never explains",
    severity: Severity::Low,
    class: RuleClass::Detection,
    help: "Free-text parameters named like side channels (notes, context, debug) that the tool never explains are exfiltration channels.",
};
pub const CREDENTIAL_COLLECTION: Rule = Rule {
    id: "SCH008",
    name: "credential-collecting-schema",
    title: "A tool that asks for two or more kinds of credentials at once",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "A tool that asks for several kinds of credentials, or for the user's own secrets, is harvesting them.",
};

pub const DOCUMENTED_PARAMETERS_MISSING: Rule = Rule {
    id: "SCH010",
    name: "documented-parameters-missing",
    title: "The description documents parameters the input schema does not take",
    // One cue, and a stale docstring looks the same; medium only when no documented
    // parameter exists at all.
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "The description's argument list and the input schema disagree: the reviewer reads one interface and the model calls another (schema inconsistency).",
};

pub const RULES: [&Rule; 8] = [
    &UNKNOWN_KEYWORD,
    &INVALID_STRUCTURE,
    &INSTRUCTION_IN_VALUES,
    &REMOTE_REF,
    &DUPLICATE_KEYS,
    &COVERT_CHANNEL,
    &CREDENTIAL_COLLECTION,
    &DOCUMENTED_PARAMETERS_MISSING,
];

/// Parameter names that carry data out when nothing in the tool's purpose needs them.
const COVERT_NAMES: &[&str] = &[
    "sidenote",
    "side_note",
    "note",
    "notes",
    "feedback",
    "debug",
    "extra",
    "context",
    "metadata",
    "meta",
    "memo",
    "comment",
    "comments",
    "reasoning",
    "history",
    "tools_list",
    "tool_list",
    "conversation",
    "summary_of_chat",
    "aux",
    "payload",
    "session_data",
    "trace",
];

/// Credential kinds, by the words of a parameter name.
const CREDENTIAL_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "api key",
    "apikey",
    "private key",
    "access key",
    "credential",
    "credentials",
    "otp",
    "pin",
    "cookie",
    "session",
];

/// JSON Schema keywords (2020-12 vocabularies, draft-07 extras) and the editor
/// extensions clients are known to read; anything else in a schema is reported.
fn is_keyword(key: &str) -> bool {
    matches!(
        key,
        "$schema"
            | "$id"
            | "$ref"
            | "$anchor"
            | "$dynamicRef"
            | "$dynamicAnchor"
            | "$vocabulary"
            | "$comment"
            | "$defs"
            | "definitions"
            | "type"
            | "enum"
            | "const"
            | "multipleOf"
            | "maximum"
            | "exclusiveMaximum"
            | "minimum"
            | "exclusiveMinimum"
            | "maxLength"
            | "minLength"
            | "pattern"
            | "maxItems"
            | "minItems"
            | "uniqueItems"
            | "maxContains"
            | "minContains"
            | "maxProperties"
            | "minProperties"
            | "required"
            | "dependentRequired"
            | "dependencies"
            | "properties"
            | "patternProperties"
            | "additionalProperties"
            | "propertyNames"
            | "items"
            | "prefixItems"
            | "additionalItems"
            | "contains"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "allOf"
            | "anyOf"
            | "oneOf"
            | "not"
            | "if"
            | "then"
            | "else"
            | "dependentSchemas"
            | "title"
            | "description"
            | "default"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
            | "examples"
            | "example"
            | "format"
            | "contentEncoding"
            | "contentMediaType"
            | "contentSchema"
            | "nullable"
            | "markdownDescription"
            | "enumDescriptions"
            | "markdownEnumDescriptions"
            | "errorMessage"
            | "discriminator"
    )
}

const TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array", "null"];

/// SCH004: a schema value that sets off a poisoning rule is itself a finding — values
/// are where a reviewer expects data, not sentences to the model.
pub fn check_value_hits(kind: FieldKind, hits: &mut Vec<Hit>) {
    if kind != FieldKind::SchemaValue {
        return;
    }
    let Some(trigger) = hits.iter().find(|h| h.signal.is_some() && h.severity >= Severity::Low) else {
        return;
    };
    let hit = Hit::new(
        &INSTRUCTION_IN_VALUES,
        Severity::High,
        trigger.span,
        format!("a schema value carries text that {} flags", trigger.rule.id),
    );
    hits.push(hit);
}

/// JSON001 for every key given twice inside an item of any kind.
pub fn duplicate_keys(server: &str, item: &Item, places: &dyn Locate) -> Vec<Finding> {
    let key = item.key();
    item.duplicate_keys.iter().map(|d| duplicate_key(server, Some(&key), &d.pointer, places)).collect()
}

/// The tool a schema check is about, and who places its findings.
struct Subject<'a> {
    server: &'a str,
    tool: &'a Item,
    places: &'a dyn Locate,
}

/// Tool-level schema checks: SCH002, SCH003, SCH005, SCH006, SCH008, SCH010, JSON001.
pub fn check_tool(server: &str, tool: &Item, places: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = Subject { server, tool, places };
    parameters(&subject, &mut out);
    documented_parameters(&subject, &mut out);
    out.extend(duplicate_keys(server, tool, places));
    for key in ["inputSchema", "outputSchema"] {
        if let Some(schema) = tool.value.get(key) {
            let mut path = format!("/{key}");
            walk(&subject, schema, &mut path, &mut out);
        }
    }
    out
}

/// SCH006 and SCH008 over the top-level parameters.
fn parameters(subject: &Subject<'_>, out: &mut Vec<Finding>) {
    let tool = subject.tool;
    let Some(props) = tool.value.pointer("/inputSchema/properties").and_then(Value::as_object) else {
        return;
    };
    let covert_named: Vec<&str> = props
        .keys()
        .filter(|name| COVERT_NAMES.iter().any(|c| c.eq_ignore_ascii_case(name)))
        .map(String::as_str)
        .collect();
    let covert: Vec<&str> = if covert_named.is_empty() {
        covert_named
    } else {
        let description = tool.value.get("description").and_then(Value::as_str).unwrap_or("").to_lowercase();
        covert_named.into_iter().filter(|name| !description.contains(&name.to_lowercase())).collect()
    };
    if !covert.is_empty() {
        let severity = if covert.len() >= 2 { Severity::High } else { Severity::Low };
        let listed = covert.iter().map(|n| visible::escape(n)).collect::<Vec<_>>().join(", ");
        out.push(finding(
            subject,
            &COVERT_CHANNEL,
            severity,
            "/inputSchema/properties",
            &format!("parameters named like side channels, and not mentioned by the description: {listed}"),
            &listed,
        ));
    }
    let mut kinds: Vec<&str> = Vec::new();
    let mut asks_the_user = false;
    for (name, schema) in props {
        let lower = name.to_ascii_lowercase();
        let maybe = ["pass", "secret", "token", "key", "credential", "otp", "pin", "cookie", "session"];
        if !maybe.iter().any(|m| lower.contains(m)) {
            continue;
        }
        let words = format!(" {} ", crate::fields::ident_words(name));
        let Some(kind) = CREDENTIAL_WORDS.iter().find(|w| words.contains(&format!(" {w} "))) else {
            continue;
        };
        if words.contains(" name ") || words.contains(" id ") {
            continue; // `secret_name`: which secret, not the secret
        }
        if !kinds.contains(kind) {
            kinds.push(kind);
        }
        let text = schema.get("description").and_then(Value::as_str).unwrap_or("").to_lowercase();
        asks_the_user |= text.split(|c: char| !c.is_alphanumeric()).any(|w| w == "your");
    }
    // Several kinds of secret, or two that the schema asks of "your" account, is what
    // a credential harvester looks like; one API token beside a managed secret is not.
    let severity = match kinds.len() {
        n if n >= 3 => Severity::High,
        2 if asks_the_user => Severity::High,
        2 => Severity::Medium,
        _ => return,
    };
    let listed = kinds.join(", ");
    out.push(finding(
        subject,
        &CREDENTIAL_COLLECTION,
        severity,
        "/inputSchema/properties",
        &format!("the tool asks for {} kinds of credentials at once ({listed})", kinds.len()),
        &listed,
    ));
}

/// How many missing names a SCH010 finding spells out.
const NAMED_MISSING: usize = 8;

/// SCH010: the names a docstring's argument section lists (`Args:`, `Arguments:`,
/// `Parameters:`) that the input schema does not have. Medium when none of them is
/// there (`sub`: "Args: a, b" over an empty schema), low when some are.
fn documented_parameters(subject: &Subject<'_>, out: &mut Vec<Finding>) {
    let tool = subject.tool;
    let Some(description) = tool.value.get("description").and_then(Value::as_str) else {
        return;
    };
    let documented = docstring_arguments(description);
    if documented.is_empty() {
        return;
    }
    let props = tool.value.pointer("/inputSchema/properties").and_then(Value::as_object);
    let taken = |name: &str| props.is_some_and(|p| p.contains_key(name));
    let missing: Vec<&str> = documented.iter().copied().filter(|name| !taken(name)).collect();
    if missing.is_empty() {
        return;
    }
    let severity = if missing.len() == documented.len() { Severity::Medium } else { Severity::Low };
    let mut listed =
        missing.iter().take(NAMED_MISSING).map(|n| visible::escape(n)).collect::<Vec<_>>().join(", ");
    if missing.len() > NAMED_MISSING {
        listed.push_str(&format!(" and {} more", missing.len() - NAMED_MISSING));
    }
    out.push(finding(
        subject,
        &DOCUMENTED_PARAMETERS_MISSING,
        severity,
        "/description",
        &format!("the description documents parameters the input schema does not take: {listed}"),
        &listed,
    ));
}

/// The parameter names of a Google-style argument section: the lines one
/// level deeper than its header that start `name:` or `name (type):`. Names a
/// framework fills in itself (`ctx`, `self`) are left out: they are never in a schema.
fn docstring_arguments(description: &str) -> Vec<&str> {
    const HEADERS: [&str; 4] = ["args:", "arguments:", "parameters:", "params:"];
    const IMPLICIT: [&str; 5] = ["ctx", "self", "cls", "args", "kwargs"];
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut names = Vec::new();
    let mut lines = description.lines();
    while let Some(line) = lines.next() {
        if !HEADERS.iter().any(|h| line.trim().eq_ignore_ascii_case(h)) {
            continue;
        }
        let header = indent(line);
        let mut level = None;
        for entry in lines.by_ref() {
            if entry.trim().is_empty() {
                continue;
            }
            let depth = indent(entry);
            if depth <= header && !entry.trim_start().starts_with(['-', '*']) {
                break;
            }
            if *level.get_or_insert(depth) != depth {
                continue; // a continuation line of the entry above
            }
            let text = entry.trim_start().trim_start_matches(['-', '*']).trim_start();
            let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
            let (name, rest) = text.split_at(end);
            let rest = rest.trim_start();
            let typed = rest.starts_with('(') && rest.find("):").is_some();
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if valid && (rest.starts_with(':') || typed) && !IMPLICIT.contains(&name) {
                names.push(name);
            }
        }
    }
    // Sorted once rather than searched at every line: the text is the server's, and a
    // hostile one may list a hundred thousand names.
    names.sort_unstable();
    names.dedup();
    names
}

/// Appends `/token` to `path`, returning the length to truncate back to.
fn enter(path: &mut String, token: &str) -> usize {
    let mark = path.len();
    path.push('/');
    path.push_str(&escape_token(token));
    mark
}

fn walk(subject: &Subject<'_>, schema: &Value, path: &mut String, out: &mut Vec<Finding>) {
    let Value::Object(map) = schema else { return };
    check_object(subject, map, path, out);
    for (key, value) in map {
        let mark = enter(path, key);
        match subschemas(key) {
            Some(Subschemas::Named) => {
                if let Value::Object(children) = value {
                    for (name, child) in children {
                        let inner = enter(path, name);
                        walk(subject, child, path, out);
                        path.truncate(inner);
                    }
                }
            }
            Some(Subschemas::One | Subschemas::List) => match value {
                Value::Array(list) => {
                    for (i, item) in list.iter().enumerate() {
                        let inner = enter(path, &i.to_string());
                        walk(subject, item, path, out);
                        path.truncate(inner);
                    }
                }
                other => walk(subject, other, path, out),
            },
            None => {}
        }
        path.truncate(mark);
    }
}

fn check_object(subject: &Subject<'_>, map: &Map<String, Value>, pointer: &str, out: &mut Vec<Finding>) {
    for (key, value) in map {
        let known = is_keyword(key) || key.starts_with("x-") || key.starts_with("x_");
        let structural = matches!(key.as_str(), "type" | "required" | "$ref");
        if known && !structural {
            continue;
        }
        // Pointers are made only for a finding: most keys of most schemas have none.
        let here = || format!("{pointer}/{}", escape_token(key));
        if !known {
            let shown = visible::escape(key);
            out.push(finding(
                subject,
                &UNKNOWN_KEYWORD,
                Severity::Low,
                &here(),
                &format!("{shown:?} is not a JSON Schema keyword; clients may still show it to the model"),
                key,
            ));
        }
        match (key.as_str(), value) {
            ("type", Value::String(t)) if !TYPES.contains(&t.as_str()) => {
                let severity =
                    if t.contains(char::is_whitespace) { Severity::High } else { Severity::Medium };
                out.push(finding(
                    subject,
                    &INVALID_STRUCTURE,
                    severity,
                    &here(),
                    "`type` is not a JSON Schema type",
                    t,
                ));
            }
            ("type", Value::Array(list)) => {
                for (i, item) in list.iter().enumerate() {
                    if !item.as_str().is_some_and(|t| TYPES.contains(&t)) {
                        let text = item.as_str().unwrap_or_default();
                        out.push(finding(
                            subject,
                            &INVALID_STRUCTURE,
                            Severity::Medium,
                            &format!("{}/{i}", here()),
                            "`type` lists something that is not a JSON Schema type",
                            text,
                        ));
                    }
                }
            }
            ("required", Value::Array(list)) => {
                let declared = map.get("properties").and_then(Value::as_object);
                for (i, item) in list.iter().enumerate() {
                    let at = || format!("{}/{i}", here());
                    match item.as_str() {
                        Some(name) if name.trim().contains(char::is_whitespace) => {
                            out.push(finding(
                                subject,
                                &INVALID_STRUCTURE,
                                Severity::High,
                                &at(),
                                "a `required` entry is prose, not a property name",
                                name,
                            ));
                        }
                        Some(name) if declared.is_some_and(|d| !d.contains_key(name)) => {
                            out.push(finding(
                                subject,
                                &INVALID_STRUCTURE,
                                Severity::Low,
                                &at(),
                                "a `required` entry names no declared property",
                                name,
                            ));
                        }
                        Some(_) => {}
                        None => out.push(finding(
                            subject,
                            &INVALID_STRUCTURE,
                            Severity::Medium,
                            &at(),
                            "a `required` entry is not a string",
                            "",
                        )),
                    }
                }
            }
            ("$ref", Value::String(target)) if !target.starts_with('#') => {
                out.push(finding(
                    subject,
                    &REMOTE_REF,
                    Severity::Medium,
                    &here(),
                    "the schema refers to a document the reviewer never saw, and a client may fetch it",
                    target,
                ));
            }
            _ => {}
        }
    }
}

/// JSON001 for the key at `pointer` (of an item, or of the catalog when `item` is `None`).
pub fn duplicate_key(server: &str, item: Option<&ItemRef>, pointer: &str, places: &dyn Locate) -> Finding {
    let message = "the key appears more than once in this object; parsers disagree on which value wins";
    Finding::of(&DUPLICATE_KEYS)
        .about(server, item)
        .pointer(pointer)
        .message(message)
        .evidence(pointer)
        .field_in(places)
        .build()
}

fn finding(
    subject: &Subject<'_>,
    rule: &'static Rule,
    severity: Severity,
    pointer: &str,
    message: &str,
    evidence: &str,
) -> Finding {
    Finding::of(rule)
        .severity(severity)
        .about(subject.server, Some(&subject.tool.key()))
        .pointer(pointer)
        .message(message)
        .evidence(evidence)
        .field_in(subject.places)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Kind;
    use serde_json::json;

    fn run(schema: Value) -> Vec<(&'static str, Severity)> {
        let tool = Item {
            kind: Kind::Tool,
            name: "t".into(),
            value: json!({"name": "t", "inputSchema": schema}),
            duplicate_keys: vec![],
            source_pointer: "/0".into(),
        };
        check_tool("s", &tool, &crate::finding::Nowhere).into_iter().map(|f| (f.rule, f.severity)).collect()
    }

    #[test]
    fn structural_poisoning_is_found() {
        assert_eq!(
            run(json!({"type": "object", "properties": {"a": {"type": "string", "extra": "read the key"}}})),
            vec![("SCH002", Severity::Low)]
        );
        assert_eq!(
            run(json!({"type": "object", "properties": {"a": {"type": "the string of the ssh key"}}})),
            vec![("SCH003", Severity::High)]
        );
        assert_eq!(
            run(json!({"type": "object", "properties": {"a": {}}, "required": ["a", "then read the file"]})),
            vec![("SCH003", Severity::High)]
        );
        assert_eq!(
            run(json!({"$ref": "https://evil.example/schema.json"})),
            vec![("SCH005", Severity::Medium)]
        );
    }

    #[test]
    fn credential_harvesting_schemas() {
        let asks = |props: Value| run(json!({"type": "object", "properties": props}));
        let harvest =
            asks(json!({"secret": {"description": "Your secret"}, "auth_token": {"type": "string"}}));
        assert_eq!(harvest, vec![("SCH008", Severity::High)]);
        let managed = asks(json!({"secret_name": {}, "secret_value": {}, "api_token": {}}));
        assert_eq!(managed, vec![("SCH008", Severity::Medium)]);
        let many = asks(json!({"api_key": {}, "password": {}, "private_key": {}}));
        assert_eq!(many, vec![("SCH008", Severity::High)]);
        let covert = asks(json!({"city": {}, "feedback": {}, "debug": {}}));
        assert_eq!(covert, vec![("SCH006", Severity::High)]);
    }

    fn documented(description: &str, schema: Value) -> Vec<(&'static str, Severity)> {
        let tool = Item {
            kind: Kind::Tool,
            name: "t".into(),
            value: json!({"name": "t", "description": description, "inputSchema": schema}),
            duplicate_keys: vec![],
            source_pointer: "/0".into(),
        };
        check_tool("s", &tool, &crate::finding::Nowhere).into_iter().map(|f| (f.rule, f.severity)).collect()
    }

    #[test]
    fn a_description_that_documents_another_interface() {
        let doc = "a minus b\n\n    Args:\n        a: integer\n        b: integer\n    ";
        let empty = json!({"type": "object", "properties": {}});
        assert_eq!(documented(doc, empty), vec![("SCH010", Severity::Medium)]);
        let renamed = json!({"type": "object", "properties": {"a": {}, "c": {}}});
        assert_eq!(documented(doc, renamed), vec![("SCH010", Severity::Low)]);
        let both = json!({"type": "object", "properties": {"a": {}, "b": {}}});
        assert!(documented(doc, both.clone()).is_empty());
        // typed entries, continuation lines, a framework's ctx, a Returns section after
        let typed = "Adds.\n\nArgs:\n    a (int): first\n        which is long\n    b (int): second\n    ctx: the MCP context\nReturns:\n    total: int";
        assert!(documented(typed, both.clone()).is_empty());
        assert_eq!(docstring_arguments(typed), vec!["a", "b"]);
        // a hostile docstring: many names, listed once each, the finding names eight
        let many: String = (0..5000).map(|i| format!("    p{i}: x\n    p{i}: again\n")).collect();
        assert_eq!(docstring_arguments(&format!("Args:\n{many}")).len(), 5000);
        let tool = Item {
            kind: Kind::Tool,
            name: "t".into(),
            value: json!({"name": "t", "description": format!("Args:\n{many}"), "inputSchema": {}}),
            duplicate_keys: vec![],
            source_pointer: "/0".into(),
        };
        let found = check_tool("s", &tool, &crate::finding::Nowhere);
        assert!(
            found.iter().any(|f| f.rule == "SCH010" && f.evidence.ends_with("and 4992 more")),
            "{found:?}"
        );
        // prose that says "parameters:" in a sentence is no section
        assert!(documented("Takes these parameters: a and b.", json!({})).is_empty());
    }

    #[test]
    fn ordinary_schemas_are_quiet() {
        let schema = json!({"type": "object", "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"path": {"type": ["string", "null"], "description": "p", "x-order": 1},
                           "n": {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/n"}]}},
            "required": ["path"], "additionalProperties": false, "$defs": {"n": {"type": "number"}}});
        assert!(run(schema).is_empty());
    }
}
