//! Build script: the prefix literals of every built-in rule pattern, computed once here
//! instead of at every start (`src/detect/prefix.rs`, shared with the engine), the
//! syntax of every built-in pattern, allow and unless checked (a broken built-in rule
//! file fails the build), and each rule file as JSON: the same data, which parses in a
//! fifth of the time TOML takes at every start.

use std::fmt::Write as _;

#[allow(dead_code)]
#[path = "src/detect/prefix.rs"]
mod prefix;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/detect/prefix.rs");
    println!("cargo:rerun-if-changed=detectors");
    // Every rule file in detectors/, not a second list of the embedded ones: the engine
    // looks a pattern up here and computes it itself when it is missing.
    let mut files: Vec<String> = std::fs::read_dir("detectors")
        .unwrap_or_else(|e| panic!("detectors: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path().display().to_string()))
        .filter(|path| path.ends_with(".toml"))
        .collect();
    files.sort();
    let mut table: Vec<(String, Option<Vec<Vec<u8>>>)> = Vec::new();
    let mut as_json = String::from("/// (rule file, the same file as JSON) for every file in detectors/.\n");
    as_json.push_str("pub static BUILTIN_JSON: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let json = serde_json::to_string(&parsed).unwrap_or_else(|e| panic!("{file}: {e}"));
        let _ = writeln!(as_json, "    ({file:?}, {json:?}),");
        let rules = parsed.get("rule").and_then(toml::Value::as_array).cloned().unwrap_or_default();
        for rule in rules {
            let id = rule.get("id").and_then(toml::Value::as_str).unwrap_or("?").to_owned();
            for key in ["patterns", "allow", "unless"] {
                let list = rule.get(key).and_then(toml::Value::as_array).cloned().unwrap_or_default();
                for pattern in list.iter().filter_map(toml::Value::as_str) {
                    let prefixes = prefix::prefix_literals(pattern).unwrap_or_else(|e| {
                        panic!("{file}: rule {id}: {key} {pattern:?} does not compile: {e}")
                    });
                    if key == "patterns" {
                        table.push((pattern.to_owned(), prefixes));
                    }
                }
            }
        }
    }
    table.sort();
    table.dedup_by(|a, b| a.0 == b.0);
    let mut out =
        String::from("/// (pattern, its prefix literals) of every built-in pattern, sorted by pattern.\n");
    out.push_str("pub static BUILTIN_PREFIXES: &[(&str, Option<&[&[u8]]>)] = &[\n");
    for (pattern, prefixes) in &table {
        let _ = write!(out, "    ({pattern:?}, ");
        match prefixes {
            None => out.push_str("None"),
            Some(list) => {
                out.push_str("Some(&[");
                for literal in list {
                    let _ = write!(out, "&{literal:?}, ");
                }
                out.push_str("])");
            }
        }
        out.push_str("),\n");
    }
    out.push_str("];\n");
    as_json.push_str("];\n");
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    for (name, text) in [("builtin_prefixes.rs", out), ("builtin_json.rs", as_json)] {
        std::fs::write(std::path::Path::new(&dir).join(name), text)
            .unwrap_or_else(|e| panic!("writing {name}: {e}"));
    }
}
