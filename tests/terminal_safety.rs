//! Design §6: untrusted text never reaches a terminal raw. Every dangerous class is
//! planted in every place a catalog can put text, and every human-facing output is
//! checked for a raw dangerous character.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use common::{run_with_stdin, toolreg};
use toolreg::visible::must_escape;

/// One sample of every class design §6 names, plus a forged escape.
const DANGEROUS: &[&str] = &[
    "\u{1b}[2J\u{1b}[31m",              // ESC sequences
    "\u{1b}]8;;https://x.example\u{7}", // OSC hyperlink
    "\u{9b}31m\u{85}",                  // C1 CSI, NEL
    "\u{0}\u{7}\u{8}\r\u{7f}",          // C0 and DEL
    "\u{202e}\u{2066}\u{200f}",         // bidi
    "\u{200b}\u{200d}\u{2060}\u{feff}", // zero-width
    "\u{e0001}\u{e0041}\u{e007f}",      // Tags
    "\u{fe00}\u{fe01}\u{e0100}",        // variation-selector run
    "\u{e000}\u{f0000}\u{10fffd}",      // private use
    "\u{fdd0}\u{ffff}",                 // noncharacters
    "\u{2028}\u{2029}\u{3164}\u{ad}",   // separators, filler, soft hyphen
    "\u{27e8}U+0041\u{27e9}",           // a forged ⟨U+0041⟩
];

fn hostile_catalog() -> String {
    let all: String = DANGEROUS.concat();
    let catalog = serde_json::json!({
        "server": {"name": format!("srv{all}"), "version": all},
        "instructions": format!("Do this{all}"),
        "tools": [{
            "name": format!("tool{all}"),
            "title": all,
            "description": format!("Describe{all}"),
            "inputSchema": {"type": "object", "properties": {
                format!("prop{all}"): {"type": "string", "description": all, "enum": [all]}
            }},
            "annotations": {"title": all},
            "_meta": {format!("key{all}"): all}
        }]
    });
    catalog.to_string()
}

/// Fails on any raw character that must be escaped, and on a `⟨` that does not open
/// one of our own `⟨U+XXXX⟩` escapes (a forged escape must itself be escaped).
fn assert_safe(output: &str, what: &str) {
    let mut prev = None;
    for c in output.chars() {
        let ours = c == '\u{27E8}' || c == '\u{27E9}' || c == '\n';
        assert!(
            ours || !must_escape(c, prev),
            "{what}: raw U+{:04X} reached the output:\n{output}",
            c as u32
        );
        prev = Some(c);
    }
    assert!(!output.contains("\u{27E8}U+0041\u{27E9}"), "{what}: a forged escape passed through");
}

#[test]
fn no_output_lets_a_dangerous_character_through() {
    let catalog = hostile_catalog().into_bytes();
    let outputs = [
        ("scan human", vec!["scan", "-", "--color", "never", "--min-severity", "info"]),
        ("scan json", vec!["scan", "-", "--format", "json", "--min-severity", "info"]),
        ("digest human", vec!["digest", "-"]),
        ("digest json", vec!["digest", "-", "--format", "json"]),
    ];
    for (what, args) in outputs {
        let run = run_with_stdin(&args, Some(catalog.clone()));
        assert_ne!(run.code, 2, "{what}: {}", run.stderr);
        // JSON escapes C0 controls itself; check the decoded strings too.
        let text = if what.ends_with("json") { decode_json_strings(&run.stdout) } else { run.stdout.clone() };
        assert_safe(&text, what);
        assert_safe(&run.stderr, what);
    }
}

#[test]
fn colour_output_adds_only_our_own_sequences() {
    let run = run_with_stdin(&["scan", "-", "--color", "always"], Some(hostile_catalog().into_bytes()));
    let ours = [
        "\u{1b}[1m",
        "\u{1b}[2m",
        "\u{1b}[0m",
        "\u{1b}[1;31m",
        "\u{1b}[1;32m",
        "\u{1b}[1;35m",
        "\u{1b}[33m",
        "\u{1b}[36m",
    ];
    let mut stripped = run.stdout.clone();
    for seq in ours {
        stripped = stripped.replace(seq, "");
    }
    assert!(run.stdout.contains("\u{1b}[1;31m"), "colour was asked for");
    assert_safe(&stripped, "scan human colour");
}

#[test]
fn error_messages_escape_what_they_quote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = "evil\u{1b}[2J\u{202e}.json";
    let path = dir.path().join(name);
    std::fs::write(&path, "[{\"name\": \"a\"}, {\"name\": \"a\"}]").expect("write");
    let run = toolreg(&["scan", path.to_str().expect("utf-8")]).expect_code(2);
    assert_safe(&run.stderr, "error");
    assert!(run.stderr.contains("evil\u{27E8}U+001B\u{27E9}[2J"), "{}", run.stderr);

    let dup = "[{\"name\": \"a\\u001b[2J\"}, {\"name\": \"a\\u001b[2J\"}]";
    let run = run_with_stdin(&["scan", "-"], Some(dup.into())).expect_code(2);
    assert_safe(&run.stderr, "duplicate-name error");
}

/// Every string value and key in a JSON document, one per line.
fn decode_json_strings(text: &str) -> String {
    fn walk(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push_str(k);
                    out.push('\n');
                    walk(v, out);
                }
            }
            _ => {}
        }
    }
    let value: serde_json::Value = serde_json::from_str(text).expect("JSON output");
    let mut out = String::new();
    walk(&value, &mut out);
    out
}

/// Issue 13 §7: a name quoted by an error is escaped once (`⟨U+001B⟩`, never
/// `⟨U+27E8⟩U+001B⟩`), and clap's own errors quote the command line escaped too.
#[test]
fn errors_escape_once_and_argument_errors_escape_too() {
    let name = "a\u{1b}[2Jb";
    for args in [
        vec!["verify", "--lock", name, "x", "--catalog", "c.json"],
        vec!["log", "--verify-audit", name],
        vec!["check", "--catalogs", name],
        vec!["review", name, "--catalog", "c.json"],
    ] {
        let run = toolreg(&args).expect_code(2);
        assert_safe(&run.stderr, "error");
        assert!(run.stderr.contains("a\u{27E8}U+001B\u{27E9}[2Jb"), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("U+27E8"), "{args:?}: escaped twice: {}", run.stderr);
    }
    for args in [
        vec!["scan", "--bogus\u{9b}2J\u{202e}x"],
        vec!["nonexistent\u{1b}]8;;x\u{7}"],
        vec!["scan", "--format", "\u{202e}json"],
    ] {
        let run = toolreg(&args).expect_code(2);
        assert_safe(&run.stderr, "argument error");
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
}

/// Issue 13 §7: every JSON output keeps the promise that `jq -r` prints nothing raw.
#[test]
fn json_outputs_carry_no_raw_dangerous_character() {
    let p = common::Project::new();
    let benign = common::catalog_v1();
    p.catalog("benign.json", &benign);
    p.run(&["review", "demo", "--catalog", "benign.json", "--approve"]).expect_code(0);
    p.run(&["lock"]).expect_code(0);
    p.commit_all("lock");
    std::fs::write(p.root.join("hostile.json"), hostile_catalog()).expect("write");
    std::fs::create_dir(p.root.join("catalogs")).expect("mkdir");
    std::fs::write(p.root.join("catalogs/demo.json"), hostile_catalog()).expect("write");
    let lock = p.registry().join("toolreg.lock").display().to_string();
    for (what, args) in [
        ("verify", vec!["verify", "--lock", &lock, "demo", "--catalog", "hostile.json", "--format", "json"]),
        ("diff", vec!["diff", "demo", "--catalog", "hostile.json", "--format", "json"]),
        ("check", vec!["check", "--catalogs", "catalogs", "--format", "json"]),
        ("check sarif", vec!["check", "--catalogs", "catalogs", "--format", "sarif"]),
        ("scan sarif", vec!["scan", "hostile.json", "--format", "sarif"]),
        ("digest", vec!["digest", "hostile.json", "--format", "json"]),
    ] {
        let run = p.run(&args);
        assert_ne!(run.code, 2, "{what}: {}", run.stderr);
        assert_safe(&decode_json_strings(&run.stdout), what);
        assert_safe(&run.stderr, what);
    }
}
