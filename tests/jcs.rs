//! RFC 8785 conformance: the published test vectors (from `../shared/schemas`, skipped
//! with a message where absent) and the project's own vectors, which always run.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use toolreg::canon::canonical;

fn canonical_text(input: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(input).expect("vector parses");
    String::from_utf8(canonical(&value).expect("canonicalizes")).expect("utf-8")
}

#[test]
fn rfc8785_published_vectors() {
    let Some(root) = common::shared("schemas/jcs-testdata") else { return };
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("input")).expect("input dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name").to_owned();
        let input = std::fs::read_to_string(&path).expect("input");
        let expected = std::fs::read_to_string(root.join("output").join(&name)).expect("output");
        assert_eq!(canonical_text(&input), expected, "vector {}", path.display());
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} vectors found");
}

/// Written for this project from RFC 8785 §3.2: property sorting by UTF-16 code
/// units, string escaping, and ECMAScript number serialization.
#[test]
fn own_vectors() {
    let vectors = [
        (r#"{"b":2,"a":1,"c":{"z":[3,{"y":1,"x":2}]}}"#, r#"{"a":1,"b":2,"c":{"z":[3,{"x":2,"y":1}]}}"#),
        // U+E000 (one UTF-16 unit) sorts after U+1F600 (a surrogate pair starting D83D).
        ("{\"\u{e000}\":1,\"\u{1f600}\":2,\"a\":3}", "{\"a\":3,\"\u{1f600}\":2,\"\u{e000}\":1}"),
        (r#"["\u0000\u001f\"\\/","\u00e9\u200b"]"#, "[\"\\u0000\\u001f\\\"\\\\/\",\"\u{e9}\u{200b}\"]"),
        (
            "[1.0, 100, 1e2, 1.5e-7, 123456789012345680000, 0.1, -0]",
            "[1,100,100,1.5e-7,123456789012345680000,0.1,0]",
        ),
        ("[1e21, 1e-6, 9007199254740993]", "[1e+21,0.000001,9007199254740992]"),
        ("  { \"a\" : [ true , false , null ] }  ", r#"{"a":[true,false,null]}"#),
    ];
    for (input, expected) in vectors {
        assert_eq!(canonical_text(input), expected, "input {input}");
    }
}
