//! The fuzz harness: one function per parser of untrusted bytes, each with the
//! property it must keep. Shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`) and
//! by `tests/fuzz_regressions.rs`, which replays every seed and every saved crash on
//! stable Rust in the ordinary test run.
//!
//! A harness never panics on its own account except to report a broken property.

#![allow(dead_code)] // each fuzz target uses one function

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;
use toolreg::guard::judge::{Judge, Mode, Settings};

/// One harness: bytes in, a panic only for a broken property.
pub type Harness = fn(&[u8]);

/// Every target, by the name `cargo fuzz run` takes.
pub const TARGETS: [(&str, Harness); 12] = [
    ("catalog", catalog),
    ("scan", scan),
    ("json", json),
    ("jsonrpc_guard", jsonrpc_guard),
    ("sse", sse),
    ("canon", canon),
    ("escape", escape),
    ("pin", pin),
    ("lock", lock),
    ("toolreg_toml", toolreg_toml),
    ("server_toml", server_toml),
    ("rules_toml", rules_toml),
];

/// Catalog loading, in every input shape: an error or catalogs, never a panic.
pub fn catalog(data: &[u8]) {
    let _ = toolreg::catalog::parse("fuzz.json", data, "fuzz");
}

/// Loading then every built-in detector: findings, never a panic.
pub fn scan(data: &[u8]) {
    static DETECTORS: OnceLock<Option<toolreg::detect::Detectors>> = OnceLock::new();
    let Ok(catalogs) = toolreg::catalog::parse("fuzz.json", data, "fuzz") else { return };
    if let Some(detectors) = DETECTORS.get_or_init(|| toolreg::detect::Detectors::builtin().ok()) {
        let _ = detectors.scan(&catalogs, &toolreg::finding::Nowhere);
    }
}

/// The duplicate-aware parser agrees with serde_json wherever both accept, keeps
/// every earlier value of a duplicated key, and never nests past its limit.
pub fn json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = toolreg::json::parse(text) else { return };
    if parsed.duplicate_keys.is_empty() && !parsed.too_many_duplicates {
        if let Ok(theirs) = serde_json::from_str::<Value>(text) {
            assert_eq!(parsed.value, theirs, "the parsers disagree");
        }
    }
    for duplicate in &parsed.duplicate_keys {
        assert!(duplicate.pointer.starts_with('/'), "a pointer: {}", duplicate.pointer);
    }
}

/// Guard's judge, fed any sequence of client and server lines (the first byte of each
/// line picks the side), with a lock that approves one item of each listed kind. The
/// property: nothing that reads an item reaches the server unless it reads an approved
/// one (`tools/call` of `echo`, `prompts/get` of `greet`, `resources/read` or
/// `resources/subscribe` of `file:///ok.txt`); no listing of any kind reaches the
/// client with anything but the approved item of that kind; everything passed on is
/// one line of strict JSON.
pub fn jsonrpc_guard(data: &[u8]) {
    let approved = guard_approved();
    let digest = |v: &Value| toolreg::canon::digest(v).map(|d| d.to_string()).unwrap_or_default();
    let mut lock = serde_json::json!({
        "launch": {"command": "server"},
        "header": null,
        "clientCapabilities": {},
    });
    for (list_key, key, item) in &approved {
        lock[*list_key] = serde_json::json!({ *key: digest(item) });
    }
    let Ok(locked) = serde_json::from_value(lock) else { return };
    let mut judge = Judge::new(locked, Mode::Enforce, Settings::plain("fuzz"));
    for chunk in data.split(|&b| b == b'\n') {
        let Some((&side, line)) = chunk.split_first() else { continue };
        let to_server = side % 2 == 0;
        let outcome = if to_server { judge.on_client(line) } else { judge.on_server(line) };
        // What is passed on is one line; guard's own lines (answers, questions, its own
        // listings) may be several, each strict.
        if let Some(bytes) = &outcome.forward {
            one_strict_line(bytes);
        }
        if let Some(bytes) = &outcome.reply {
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                one_strict_line(line);
            }
        }
        let Some(forwarded) = outcome.forward else { continue };
        let Ok(value) = serde_json::from_slice::<Value>(&forwarded) else { continue };
        let messages = match value {
            Value::Array(batch) => batch,
            single => vec![single],
        };
        for message in &messages {
            if to_server {
                let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
                let reads = [
                    ("tools/call", "name", "echo"),
                    ("prompts/get", "name", "greet"),
                    ("resources/read", "uri", "file:///ok.txt"),
                    ("resources/subscribe", "uri", "file:///ok.txt"),
                ];
                if let Some((_, name_key, allowed)) = reads.iter().find(|(m, _, _)| *m == method) {
                    let name = message.get("params").and_then(|p| p.get(*name_key)).and_then(Value::as_str);
                    assert!(name == Some(*allowed), "forwarded: {message}");
                }
            } else {
                for (list_key, _, item) in &approved {
                    if let Some(Value::Array(items)) = message.get("result").and_then(|r| r.get(*list_key)) {
                        assert!(items.iter().all(|i| i == item), "listed: {message}");
                    }
                }
            }
        }
    }
}

/// The items the guard harness's lock approves: (list key, key, item).
pub fn guard_approved() -> [(&'static str, &'static str, Value); 4] {
    use serde_json::json;
    [
        ("tools", "echo", json!({"name": "echo", "inputSchema": {"type": "object"}})),
        ("prompts", "greet", json!({"name": "greet", "description": "Say hello."})),
        ("resources", "file:///ok.txt", json!({"uri": "file:///ok.txt", "name": "ok"})),
        ("resourceTemplates", "file:///{name}", json!({"uriTemplate": "file:///{name}", "name": "files"})),
    ]
}

fn one_strict_line(bytes: &[u8]) {
    let Some(body) = bytes.strip_suffix(b"\n") else { panic!("not one line") };
    assert!(!body.contains(&b'\n') && !body.contains(&b'\r'), "a raw line break inside");
    let text = std::str::from_utf8(body).unwrap_or_else(|e| panic!("not UTF-8: {e}"));
    assert!(toolreg::json::parse(text).is_ok_and(|p| p.duplicate_keys.is_empty()), "not strict JSON");
}

/// The event-stream parser: bounded events, never a panic, never a loop.
pub fn sse(data: &[u8]) {
    let mut events = toolreg::mcp::sse::Events::new(Cursor::new(data), 4096);
    for _ in 0..=data.len() {
        match events.next_event() {
            Ok(Some(event)) => assert!(event.data.len() <= 4096, "an event past the limit"),
            Ok(None) | Err(_) => return,
        }
    }
    panic!("more events than bytes");
}

/// Canonical JSON is a fixed point: canonicalising its own output changes nothing,
/// and the digest is that of the canonical bytes.
pub fn canon(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = toolreg::json::parse(text) else { return };
    let Ok(bytes) = toolreg::canon::canonical(&parsed.value) else { return };
    let again: Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("canonical output re-parses: {e}"));
    let twice = toolreg::canon::canonical(&again).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bytes, twice, "canonical form is not a fixed point");
    let digest = toolreg::canon::digest(&parsed.value).map(|d| d.to_string()).unwrap_or_default();
    assert_eq!(digest, toolreg::canon::Digest::of_bytes(&bytes).to_string());
}

/// The escaping function: no raw control, bidi, zero-width, Tags or private-use
/// character in its output, for any input; and the last-pass variant likewise.
pub fn escape(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for (shown, keep_lines) in [
        (toolreg::visible::escape(&text), false),
        (toolreg::visible::escape_multiline(&text), true),
        (toolreg::visible::neutralize_multiline(&text), true),
    ] {
        let mut prev = None;
        for c in shown.chars() {
            let ours = c == '\u{27E8}' || c == '\u{27E9}' || (keep_lines && (c == '\n' || c == '\t'));
            assert!(ours || !toolreg::visible::must_escape(c, prev), "raw U+{:04X} in {shown:?}", c as u32);
            prev = Some(c);
        }
    }
}

/// A pin file, as a pull request could write it.
pub fn pin(data: &[u8]) {
    let mut problems = Vec::new();
    let _ = toolreg::registry::parse_pin(Path::new("servers/x/tools/t.json"), data, "tool", &mut problems);
    let _ = toolreg::registry::parse_pin(Path::new("servers/x/server.json"), data, "server", &mut problems);
}

/// toolreg.lock.
pub fn lock(data: &[u8]) {
    let _ = toolreg::lock::Lock::parse(data, "toolreg.lock");
}

/// toolreg.toml.
pub fn toolreg_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = toolreg::config::Config::parse(Path::new("toolreg.toml"), text);
}

/// A server's server.toml.
pub fn server_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(inventory) = toolreg::registry::inventory::Inventory::parse(text) {
        let _ = inventory.to_toml("x");
    }
}

/// A rule file (`--rules`, `[rules] extra`).
pub fn rules_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = toolreg::detect::RuleSet::load(vec![("fuzz.toml".into(), text.to_owned().into())], &[]);
}
