//! Snapshots of the reports on the small fixture set: the promised shape of the
//! human and JSON output. Stored in the top-level `snapshots/` (design §9).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

#[macro_use]
mod common;

use common::toolreg;

#[test]
fn human_report_of_hidden_content() {
    let run = toolreg(&["scan", "tests/fixtures/hidden.json", "--color", "never"]).expect_code(1);
    snapshot!("scan_hidden_human", run.stdout);
}

#[test]
fn json_report_of_hidden_content() {
    let run = toolreg(&["scan", "tests/fixtures/hidden.json", "--format", "json"]).expect_code(1);
    snapshot!("scan_hidden_json", run.stdout);
}

#[test]
fn human_report_of_a_clean_catalog() {
    let run = toolreg(&["scan", "tests/fixtures/clean.json", "--color", "never"]).expect_code(0);
    snapshot!("scan_clean_human", run.stdout);
}

#[test]
fn json_report_of_legitimate_unicode() {
    let run = toolreg(&["scan", "tests/fixtures/legit.json", "--format", "json", "--min-severity", "info"])
        .expect_code(0);
    snapshot!("scan_legit_json", run.stdout);
}

#[test]
fn digest_lines() {
    let run = toolreg(&["digest", "tests/fixtures/clean.json", "tests/fixtures/hidden.json"]).expect_code(0);
    snapshot!("digest_fixtures", run.stdout);
}
