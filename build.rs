//! Build script: the prefix literals and guard of every built-in rule pattern, computed
//! once here instead of at every start (`src/detect/prefix.rs`, shared with the engine), the
//! syntax of every built-in pattern, allow, allow_unless and unless checked (a broken
//! built-in rule file fails the build), and each rule file as JSON: the same data, which
//! parses in a fifth of the time TOML takes at every start, its patterns and examples kept
//! apart as they are (unescaping them was most of that time); and each of those patterns
//! parsed, its windows counting characters (`src/detect/chars.rs`), as bytes
//! (`src/detect/hir_bytes.rs`), so that the engine compiles one without parsing it again.
//! A word boundary beside a non-ASCII letter fails the build, as it fails a user's rule
//! file at load.

use std::fmt::Write as _;

#[allow(dead_code)]
#[path = "src/detect/prefix.rs"]
mod prefix;

#[allow(dead_code)]
#[path = "src/detect/hir_bytes.rs"]
mod hir_bytes;

#[allow(dead_code)]
#[path = "src/detect/chars.rs"]
mod chars;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/detect/prefix.rs");
    println!("cargo:rerun-if-changed=src/detect/hir_bytes.rs");
    println!("cargo:rerun-if-changed=src/detect/chars.rs");
    println!("cargo:rerun-if-changed=detectors");
    // Every rule file in detectors/, not a second list of the embedded ones: the engine
    // takes a file's prefixes from here only when its text is the embedded one.
    let mut files: Vec<String> = std::fs::read_dir("detectors")
        .unwrap_or_else(|e| panic!("detectors: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path().display().to_string()))
        .filter(|path| path.ends_with(".toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// (rule file, the prefix of every pattern of its rules, in order) for every file in detectors/.\n",
    );
    out.push_str("pub static BUILTIN_PREFIXES: &[(&str, &[Prefix])] = &[\n");
    let mut as_json = String::from(
        "/// (rule file, the same file as JSON with every string of its lists of patterns and examples\n\
         /// empty, those strings in order, each ended by U+001F) for every file in detectors/.\n",
    );
    as_json.push_str("pub static BUILTIN_JSON: &[(&str, &str, &str)] = &[\n");
    let mut hirs = String::from(
        "/// (rule file, every pattern, allow and unless of its rules parsed, in order) for every file in detectors/.\n",
    );
    hirs.push_str("pub static BUILTIN_HIRS: &[(&str, &[&[u8]])] = &[\n");
    let mut faults = Vec::new();
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (twin, lists) = lists_apart(&parsed);
        let json = serde_json::to_string(&twin).unwrap_or_else(|e| panic!("{file}: {e}"));
        let _ = writeln!(as_json, "    ({file:?}, {json:?}, {lists:?}),");
        let _ = writeln!(out, "    ({file:?}, &[");
        let _ = writeln!(hirs, "    ({file:?}, &[");
        let rules = parsed.get("rule").and_then(toml::Value::as_array).cloned().unwrap_or_default();
        for rule in rules {
            let id = rule.get("id").and_then(toml::Value::as_str).unwrap_or("?").to_owned();
            // The order the engine reads them in (src/detect/rules.rs, `compile`).
            for key in ["patterns", "allow", "allow_unless", "unless"] {
                let list = rule.get(key).and_then(toml::Value::as_array).cloned().unwrap_or_default();
                for pattern in list.iter().filter_map(toml::Value::as_str) {
                    let prefix = prefix::prefix(pattern).unwrap_or_else(|e| {
                        panic!("{file}: rule {id}: {key} {pattern:?} does not compile: {e}")
                    });
                    if key == "patterns" {
                        write_prefix(&mut out, &prefix);
                    }
                    let hir = regex_syntax::ParserBuilder::new()
                        .unicode(false)
                        .utf8(false)
                        .build()
                        .parse(pattern)
                        .unwrap_or_else(|e| {
                            panic!("{file}: rule {id}: {key} {pattern:?} does not parse: {e}")
                        });
                    if let Some(fault) = chars::boundary_fault(&hir) {
                        faults.push(format!("{file}: rule {id}: {key} {pattern:?}: {fault}"));
                    }
                    write_bytes(&mut hirs, &hir_bytes::encode(&chars::count_characters(&hir)));
                }
            }
        }
        out.push_str("    ]),\n");
        hirs.push_str("    ]),\n");
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
    out.push_str("];\n");
    as_json.push_str("];\n");
    hirs.push_str("];\n");
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    for (name, text) in
        [("builtin_prefixes.rs", out), ("builtin_json.rs", as_json), ("builtin_hirs.rs", hirs)]
    {
        std::fs::write(std::path::Path::new(&dir).join(name), text)
            .unwrap_or_else(|e| panic!("writing {name}: {e}"));
    }
}

/// What ends each string kept apart (the unit separator, which no rule text holds).
const END: char = '\u{1f}';

/// The lists of strings of every rule that hold patterns or examples, in the order the
/// engine reads them back (src/detect/rules.rs, `fill_lists`).
pub const LISTS: [&str; 6] = ["patterns", "allow", "allow_unless", "unless", "match", "no_match"];

/// `file` with every string of its rules' [`LISTS`] empty, and those strings, in order,
/// each ended by U+001F (the unit separator). JSON escapes every backslash of a pattern, and unescaping
/// them was most of the cost of reading the rule files at every start; the strings
/// apart are read as they are.
fn lists_apart(file: &toml::Table) -> (toml::Table, String) {
    let mut twin = file.clone();
    let mut strings = String::new();
    let rules = twin.get_mut("rule").and_then(toml::Value::as_array_mut);
    for rule in rules.into_iter().flatten().filter_map(toml::Value::as_table_mut) {
        for key in LISTS {
            for item in rule.get_mut(key).and_then(toml::Value::as_array_mut).into_iter().flatten() {
                if let toml::Value::String(text) = item {
                    assert!(!text.contains(END), "a rule string holds U+001F: {text:?}");
                    strings.push_str(text);
                    strings.push(END);
                    text.clear();
                }
            }
        }
    }
    (twin, strings)
}

/// Bytes as a byte string literal, on a line of their own.
fn write_bytes(out: &mut String, bytes: &[u8]) {
    out.push_str("        ");
    write_byte_string(out, bytes);
    out.push_str(",\n");
}

/// Bytes as a byte string literal.
fn write_byte_string(out: &mut String, bytes: &[u8]) {
    out.push_str("b\"");
    for &byte in bytes {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push('"');
}

/// One pattern's prefix as a constant expression: its lists of literals each one byte
/// string (`prefix::Literals`): one relocation for the loader to apply for each list,
/// not one for each literal.
fn write_prefix(out: &mut String, prefix: &prefix::Prefix) {
    let literals = |out: &mut String, list: prefix::Literals| {
        out.push_str("Literals(");
        write_byte_string(out, list.0);
        out.push(')');
    };
    out.push_str("        Prefix { literals: ");
    match prefix.literals {
        None => out.push_str("None"),
        Some(list) => {
            out.push_str("Some(");
            literals(out, list);
            out.push(')');
        }
    }
    out.push_str(", guard: Guard { words: ");
    literals(out, prefix.guard.words);
    out.push_str(", packed: &[");
    for &(word, mask) in prefix.guard.packed {
        let _ = write!(out, "({word:#x}, {mask:#x}), ");
    }
    out.push(']');
    let guard = &prefix.guard;
    let _ =
        write!(out, ", word_start: {}, text_start: {} }}, required: &[", guard.word_start, guard.text_start);
    for &required in prefix.required {
        literals(out, required);
        out.push_str(", ");
    }
    out.push_str("] },\n");
}
