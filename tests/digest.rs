//! `toolreg digest` and canonical digests, end to end.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use common::{run_with_stdin, toolreg};
use sha2::{Digest as _, Sha256};

fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[test]
fn digest_lines_match_an_independent_canonical_form() {
    let run = toolreg(&["digest", "tests/fixtures/clean.json"]).expect_code(0);
    let catalog: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/fixtures/clean.json").expect("fixture"))
            .expect("json");
    // For ASCII-only text without numbers, RFC 8785 is serde_json's compact form with
    // sorted keys (its default map): an independent way to the same bytes.
    let expected: String = catalog["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|tool| {
            let name = tool["name"].as_str().expect("name");
            format!("clean-demo/{name} {}\n", sha256(serde_json::to_string(tool).expect("json").as_bytes()))
        })
        .collect();
    assert_eq!(run.stdout, expected);
}

#[test]
fn an_inserted_zero_width_space_is_drift_in_exactly_one_field() {
    let before = r#"[{"name": "t", "description": "Reads a file.", "inputSchema": {"type": "object"}}]"#;
    let after = "[{\"name\": \"t\", \"description\": \"Reads a\u{200b} file.\", \"inputSchema\": {\"type\": \"object\"}}]";
    let digest = |text: &str| {
        run_with_stdin(&["digest", "-", "--format", "json", "--server", "s"], Some(text.into()))
            .expect_code(0)
            .json()
    };
    let (a, b) = (digest(before), digest(after));
    let (ta, tb) = (&a["servers"][0]["tools"][0], &b["servers"][0]["tools"][0]);
    assert_ne!(ta["digest"], tb["digest"]);
    assert_ne!(ta["fields"]["description"], tb["fields"]["description"]);
    assert_eq!(ta["fields"]["name"], tb["fields"]["name"]);
    assert_eq!(ta["fields"]["inputSchema"], tb["fields"]["inputSchema"]);
    // Key order and whitespace in the input never change a digest.
    let reordered = r#"[{"inputSchema": {"type":"object"}, "description":"Reads a file.","name":"t"}]"#;
    assert_eq!(digest(reordered)["servers"][0]["tools"][0]["digest"], ta["digest"]);
}

#[test]
fn header_digest_covers_instructions() {
    let with = |instructions: &str| {
        let text = format!(
            r#"{{"server": {{"name": "s", "version": "1"}}, "instructions": "{instructions}", "tools": []}}"#
        );
        run_with_stdin(&["digest", "-", "--format", "json"], Some(text.into_bytes())).expect_code(0).json()
    };
    let (a, b) = (with("Use the tools."), with("Use the tools!"));
    assert_eq!(a["servers"][0]["server"], "s");
    assert!(a["servers"][0]["header"].as_str().is_some_and(|d| d.starts_with("sha256:") && d.len() == 71));
    assert_ne!(a["servers"][0]["header"], b["servers"][0]["header"]);
    let expected = sha256(br#"{"instructions":"Use the tools.","serverInfo":{"name":"s","version":"1"}}"#);
    assert_eq!(a["servers"][0]["header"], expected.as_str());
}

#[test]
fn unknown_fields_are_part_of_the_digest() {
    let plain = r#"[{"name": "t"}]"#;
    let extended = r#"[{"name": "t", "execution": {"taskSupport": "optional"}, "$schema": "x"}]"#;
    let digest = |text: &str| run_with_stdin(&["digest", "-"], Some(text.into())).expect_code(0).stdout;
    assert_ne!(digest(plain), digest(extended));
    let run =
        run_with_stdin(&["digest", "-", "--format", "json"], Some(extended.into())).expect_code(0).json();
    let fields = &run["servers"][0]["tools"][0]["fields"];
    assert!(fields["execution"].is_string() && fields["$schema"].is_string(), "{fields:#}");
}
