//! Every fuzz seed and every saved crash, through the same harness the fuzz targets
//! use (`fuzz/harness.rs`), on stable Rust, in the ordinary test run: a crash once
//! found stays fixed. To keep one, copy the input libFuzzer saved
//! (`fuzz/artifacts/TARGET/crash-…`) to `fuzz/regressions/TARGET/`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_seed_and_saved_crash_keeps_its_property() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for (target, run) in harness::TARGETS {
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| run(&bytes));
                assert!(outcome.is_ok(), "{target}: {} broke its property", path.display());
                replayed += 1;
            }
        }
        assert!(root.join("seeds").join(target).is_dir(), "{target} has no seeds");
    }
    assert!(replayed >= harness::TARGETS.len(), "{replayed} inputs replayed");
}

/// `cargo fuzz list` names exactly the harness's targets.
#[test]
fn every_harness_function_is_a_fuzz_target() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.toml")).unwrap();
    for (target, _) in harness::TARGETS {
        assert!(manifest.contains(&format!("name = \"{target}\"")), "{target} is not in fuzz/Cargo.toml");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/fuzz_targets/{target}.rs"));
        assert!(
            std::fs::read_to_string(source).unwrap().contains(&format!("harness::{target}(")),
            "{target}"
        );
    }
}

/// The guard property holds on hand-written hostile sessions too (each line: side
/// byte, then the message).
#[test]
fn the_guard_property_holds_on_hostile_sessions() {
    let lines: [&[u8]; 11] = [
        b"\x00{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"extra\",\"arguments\":{\"x\":\"\\ud800\"}}}",
        b"\x00{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"extra\"}}",
        b"\x00\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"extra\"}}",
        b"\x00{\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"name\":\"extra\"}}",
        b"\x00[1,\r{\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"extra\"}}\r]",
        b"\x01{\"jsonrpc\":\"2.0\",\"id\":2.0,\"result\":{\"tools\":[{\"name\":\"extra\"}]}}",
        b"\x01{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{\"tools\":[{\"name\":\"extra\"}],\"tools\":[]}}",
        b"\x00{\"id\":9,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///etc/shadow\"}}",
        b"\x00{\"id\":10,\"method\":\"resources/subscribe\",\"params\":{\"uri\":\"file:///etc/shadow\"}}",
        b"\x00{\"id\":11,\"method\":\"prompts/get\",\"params\":{\"name\":\"greet\",\"name\":\"sneaky\"}}",
        b"\x01{\"id\":\"2\",\"result\":{\"prompts\":[{\"name\":\"sneaky\"}],\"resources\":[{\"uri\":\"file:///x\"}]}}",
    ];
    harness::jsonrpc_guard(&lines.join(&b'\n'));
}
