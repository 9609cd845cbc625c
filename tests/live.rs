//! Live catalogs over stdio: hostile fake servers (each ends in a clear error, exit 2,
//! no hang, the child reaped), both protocol eras, and the real reference servers
//! installed by `.ci/install-servers` (TOOLREG_TEST_SERVERS), checked against the
//! independent captures in ../shared/corpus/live/ when present.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{shared, toolreg_in, Run};
use serde_json::Value;

fn fake_server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers/fake_server.py").display().to_string()
}

/// `toolreg fetch` of the fake server in `mode`, with small limits; the run, its
/// duration, the catalog (when written) and whether the server process is gone.
fn fetch_fake(mode: &str) -> (Run, Duration, Option<Value>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid").display().to_string();
    let out = dir.path().join("catalog.json");
    let out_arg = out.display().to_string();
    let fake = fake_server();
    let start = Instant::now();
    let run = toolreg_in(
        dir.path(),
        &[
            "fetch",
            "--timeout",
            "2",
            "--max-message-bytes",
            "1048576",
            "--max-pages",
            "50",
            "-o",
            &out_arg,
            "--",
            "python3",
            &fake,
            mode,
            &pidfile,
        ],
        &[],
    );
    let took = start.elapsed();
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let gone = !Path::new(&format!("/proc/{}", pid.trim())).exists();
    let catalog = std::fs::read(&out).ok().map(|b| serde_json::from_slice(&b).unwrap());
    (run, took, catalog, gone)
}

fn names(catalog: &Value) -> Vec<&str> {
    catalog["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect()
}

#[test]
fn legacy_server_with_pages_roots_request_and_list_changed() {
    let (run, _, catalog, gone) = fetch_fake("good");
    run.expect_code(0);
    let catalog = catalog.unwrap();
    // Five tools over three pages, then list_changed: the re-list has six.
    assert_eq!(names(&catalog), ["tool_1", "tool_2", "tool_3", "tool_4", "tool_5", "tool_6"]);
    assert_eq!(catalog["server"]["name"], "fake");
    assert_eq!(catalog["protocolVersion"], "2025-11-25");
    assert_eq!(catalog["instructions"], "Fake tools.");
    assert_eq!(catalog["fetchedWith"]["era"], "legacy");
    assert_eq!(catalog["fetchedWith"]["clientCapabilities"], serde_json::json!({}));
    // Unknown fields survive untouched.
    let first = &catalog["tools"][0];
    assert_eq!(first["execution"]["taskSupport"], "forbidden");
    assert_eq!(first["inputSchema"]["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(first["x-vendor"]["kept"], true);
    assert!(gone, "the server was not reaped");
}

#[test]
fn modern_era_through_server_discover() {
    let (run, _, catalog, gone) = fetch_fake("modern");
    run.expect_code(0);
    let catalog = catalog.unwrap();
    assert_eq!(names(&catalog), ["tool_1", "tool_2"]);
    assert_eq!(catalog["protocolVersion"], "2026-07-28");
    assert_eq!(catalog["server"]["name"], "fake-modern");
    assert_eq!(catalog["instructions"], "Modern fake.");
    assert_eq!(catalog["fetchedWith"]["era"], "modern");
    assert!(gone);
}

#[test]
fn noise_on_stdout_and_a_stderr_flood_are_survived() {
    for mode in ["noise", "flood-stderr"] {
        let (run, _, catalog, gone) = fetch_fake(mode);
        let run = run.expect_code(0);
        assert_eq!(names(&catalog.unwrap()).len(), 6, "{mode}");
        if mode == "noise" {
            assert!(run.stderr.contains("skipped 2 non-JSON line(s)"), "{}", run.stderr);
        }
        assert!(gone, "{mode}");
    }
}

#[test]
fn hostile_servers_end_in_a_clear_error_without_hanging() {
    for (mode, needle) in [
        ("silent", "did not answer initialize within 2.0 s"),
        ("endless-line", "larger than the limit of 1048576 bytes"),
        ("endless-pages", "more than 50 pages"),
        ("exit-mid", "closed its output before answering initialize"),
        ("bad-utf8", "invalid UTF-8"),
    ] {
        let (run, took, catalog, gone) = fetch_fake(mode);
        let run = run.expect_code(2);
        assert!(run.stderr.contains(needle), "{mode}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{mode}: {}", run.stdout);
        assert!(catalog.is_none(), "{mode}: a failed fetch wrote a catalog");
        assert!(took < Duration::from_secs(15), "{mode} took {took:?}");
        assert!(gone, "{mode}: the server process was left running");
    }
}

#[test]
fn a_command_that_does_not_exist_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = toolreg_in(dir.path(), &["fetch", "--", "/nonexistent/mcp-server"], &[]).expect_code(2);
    assert!(run.stderr.contains("cannot start /nonexistent/mcp-server"), "{}", run.stderr);
    let run = toolreg_in(dir.path(), &["fetch", "--url", "http://127.0.0.1:9/mcp"], &[]).expect_code(2);
    assert!(run.stderr.contains("not built yet"), "{}", run.stderr);
}

/// The registered-server path: `diff --live` and `review --live` through server.toml.
#[test]
fn registered_server_live_diff_and_review() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = git2::Repository::init(root).unwrap();
    let mut config = repo.config().unwrap();
    config.set_str("user.name", "Ada Reviewer").unwrap();
    config.set_str("user.email", "ada@example.com").unwrap();
    toolreg_in(root, &["init"], &[]).expect_code(0);
    let fake = fake_server();
    let pidfile = root.join("pid").display().to_string();
    toolreg_in(root, &["add", "fake", "--owner", "QA", "--", "python3", &fake, "modern", &pidfile], &[])
        .expect_code(0);
    let diff = toolreg_in(root, &["diff", "fake", "--live", "--format", "json"], &[]).expect_code(1).json();
    assert_eq!(diff["drift"].as_array().unwrap().len(), 3, "{diff}"); // header + 2 tools
    toolreg_in(root, &["review", "fake", "--live", "--approve", "--note", "live"], &[]).expect_code(0);
    toolreg_in(root, &["diff", "fake", "--live"], &[]).expect_code(0);
    toolreg_in(root, &["fetch", "fake", "-o", "fake.json"], &[]).expect_code(0);
    toolreg_in(root, &["diff", "fake", "--catalog", "fake.json"], &[]).expect_code(0);
    toolreg_in(root, &["check", "--live"], &[]).expect_code(0);
    // A registered server that cannot be reached: could not check, never a pass.
    toolreg_in(root, &["add", "gone", "--owner", "QA", "--", "/nonexistent/server"], &[]).expect_code(0);
    let run = toolreg_in(root, &["check", "--live"], &[]).expect_code(2);
    assert!(run.stderr.contains("cannot start /nonexistent/server"), "{}", run.stderr);
}

/// Where `.ci/install-servers` put the reference servers, if it ran.
fn servers() -> Option<PathBuf> {
    match std::env::var_os("TOOLREG_TEST_SERVERS") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipping: TOOLREG_TEST_SERVERS is unset (run .ci/install-servers, as .ci/run does)");
            None
        }
    }
}

#[test]
fn the_seven_reference_servers() {
    let Some(dir) = servers() else { return };
    let node = |bin: &str| dir.join("node_modules/.bin").join(bin).display().to_string();
    let py = |bin: &str| dir.join("venv/bin").join(bin).display().to_string();
    let scratch = tempfile::tempdir().unwrap();
    let allowed = scratch.path().display().to_string();
    let git_repo = env!("CARGO_MANIFEST_DIR").to_owned();
    let cases: Vec<(&str, Vec<String>, usize, &str)> = vec![
        ("server-everything", vec![node("mcp-server-everything"), "stdio".into()], 13, "legacy"),
        ("server-filesystem", vec![node("mcp-server-filesystem"), allowed], 14, "legacy"),
        ("server-memory", vec![node("mcp-server-memory")], 9, "legacy"),
        ("server-sequential-thinking", vec![node("mcp-server-sequential-thinking")], 1, "legacy"),
        ("mcp-server-fetch", vec![py("mcp-server-fetch")], 1, "modern"),
        ("mcp-server-git", vec![py("mcp-server-git"), "--repository".into(), git_repo], 12, "modern"),
        (
            "mcp-server-time",
            vec![py("mcp-server-time"), "--local-timezone".into(), "UTC".into()],
            2,
            "modern",
        ),
    ];
    for (name, argv, count, era) in cases {
        let out = scratch.path().join(format!("{name}.json")).display().to_string();
        let mut args = vec!["fetch", "-o", out.as_str(), "--"];
        args.extend(argv.iter().map(String::as_str));
        toolreg_in(scratch.path(), &args, &[]).expect_code(0);
        let catalog: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(catalog["tools"].as_array().unwrap().len(), count, "{name}");
        assert_eq!(catalog["fetchedWith"]["era"], era, "{name}");
        if name == "server-everything" {
            // The TypeScript SDK's additions survive: execution and $schema on every tool.
            assert!(catalog["tools"].as_array().unwrap().iter().all(|t| t.get("execution").is_some()));
            assert!(catalog["tools"][0]["inputSchema"].get("$schema").is_some());
        }
        // Fidelity: every tool's digest equals the independent raw capture's.
        if let Some(capture) = shared(&format!("corpus/live/{name}.json")) {
            assert_eq!(
                digests(&out),
                digests_of_capture(&capture),
                "{name}: digests differ from the capture"
            );
        }
    }
}

/// `tool digest` pairs of a catalog file, by tool name.
fn digests(path: &str) -> Vec<(String, String)> {
    let run = toolreg_in(Path::new("."), &["digest", path, "--format", "json"], &[]).expect_code(0);
    let doc = run.json();
    let mut out: Vec<(String, String)> = doc["servers"][0]["tools"]
        .as_array()
        .or_else(|| doc["tools"].as_array())
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["digest"].as_str().unwrap().to_owned()))
        .collect();
    out.sort();
    out
}

fn digests_of_capture(capture: &Path) -> Vec<(String, String)> {
    let value: Value = serde_json::from_slice(&std::fs::read(capture).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools.json");
    std::fs::write(&tools, serde_json::to_vec(&serde_json::json!({"tools": value["tools"]})).unwrap())
        .unwrap();
    digests(&tools.display().to_string())
}
