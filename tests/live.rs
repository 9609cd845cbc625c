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
use toolreg::item::Kind;

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
    keys(catalog, Kind::Tool)
}

/// The keys (`name`, `uri`, `uriTemplate`) of the items of `kind`, in catalog order.
fn keys(catalog: &Value, kind: Kind) -> Vec<&str> {
    let list = catalog[kind.list_key()].as_array().unwrap_or_else(|| panic!("no {kind} list: {catalog}"));
    list.iter().map(|t| t[kind.name_key()].as_str().unwrap()).collect()
}

/// Prompts, resources and templates in both eras: the prompts over two pages, their
/// list changed after the first page (a client that read on without listing again
/// would see prompt_2 twice), each request of the modern era with its `_meta` (the
/// fake refuses any without), every unknown field kept.
#[test]
fn every_kind_in_both_eras_with_pages_and_list_changed() {
    for mode in ["good", "modern"] {
        let (run, _, catalog, gone) = fetch_fake(mode);
        let run = run.expect_code(0);
        let catalog = catalog.unwrap();
        assert_eq!(keys(&catalog, Kind::Prompt), ["prompt_0", "prompt_1", "prompt_2", "prompt_3"], "{mode}");
        assert_eq!(
            keys(&catalog, Kind::Resource),
            ["fake://resource/1", "fake://resource/2", "fake://resource/3"],
            "{mode}"
        );
        assert_eq!(
            keys(&catalog, Kind::ResourceTemplate),
            ["fake://template/1/{id}", "fake://template/2/{id}"],
            "{mode}"
        );
        for kind in Kind::LISTED {
            let items = catalog[kind.list_key()].as_array().unwrap();
            assert!(items.iter().all(|i| i["x-vendor"]["kept"] == true), "{mode} {kind}: {catalog}");
        }
        assert_eq!(catalog["prompts"][1]["arguments"][0]["name"], "topic");
        assert_eq!(catalog["resources"][0]["annotations"]["priority"], 0.5);
        let tools = if mode == "good" { 6 } else { 2 };
        assert_eq!(names(&catalog).len(), tools, "{mode}");
        assert!(
            run.stderr.contains(&format!(
                "fetched {tools} tool(s), 4 prompt(s), 3 resource(s), 2 resource-template(s)"
            )),
            "{mode}: {}",
            run.stderr
        );
        assert!(gone, "{mode}");
    }
}

/// A server that advertises tools only is asked for nothing else (this one answers
/// any other listing with an error), and its catalog has the members it always had.
#[test]
fn a_tools_only_server_is_asked_for_tools_only() {
    let (run, _, catalog, gone) = fetch_fake("tools-only");
    run.expect_code(0);
    let catalog = catalog.unwrap();
    let members: Vec<&String> = catalog.as_object().unwrap().keys().collect();
    assert_eq!(
        members,
        ["capabilities", "fetchedWith", "instructions", "protocolVersion", "server", "tools"]
    );
    assert_eq!(names(&catalog).len(), 6);
    assert!(gone);
}

/// The other kinds are read as warily as tools: exit 2, a clear reason, no catalog.
#[test]
fn hostile_listings_of_other_kinds_end_in_a_clear_error() {
    for (mode, needle) in [
        ("dup-prompts", "prompts/list names the prompt prompt_1 twice"),
        ("endless-resources", "more than 50 pages of resources/list"),
        (
            "prompts-not-found",
            "advertises the \"prompts\" capability but answers prompts/list with \"method not found\"",
        ),
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
        // Issue 13 §7: the real reason, at once, and no catalog that scan would refuse.
        ("deep", "nesting deeper than 128 levels"),
        ("dup-names", "tools/list names the tool tool_1 twice"),
        ("dup-key", "the key /result/tools/0/description given twice"),
        ("no-result", "the answer to initialize has neither a result nor an error"),
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
    // Nothing listens on the discard port: could not fetch, exit 2.
    let run = toolreg_in(dir.path(), &["fetch", "--url", "http://127.0.0.1:9/mcp"], &[]).expect_code(2);
    assert!(run.stderr.contains("server/discover") || run.stderr.contains("initialize"), "{}", run.stderr);
    for (url, needle) in [
        ("ftp://127.0.0.1/mcp", "only http:// and https://"),
        ("http://user:pw@127.0.0.1/mcp", "credentials in the URL are refused"),
    ] {
        let run = toolreg_in(dir.path(), &["fetch", "--url", url], &[]).expect_code(2);
        assert!(run.stderr.contains(needle), "{url}: {}", run.stderr);
        assert!(!run.stderr.contains("pw@"), "{}", run.stderr);
    }
}

/// A server process the test started, killed when the test ends however it ends.
struct Started(std::process::Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the fake HTTP server in `mode`; its port and its directory (with the log).
fn fake_http(mode: &str) -> (Started, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers/fake_http_server.py");
    let child = std::process::Command::new("python3").arg(script).arg(mode).arg(dir.path()).spawn().unwrap();
    let started = Started(child);
    let port_file = dir.path().join("port");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !port_file.exists() {
        assert!(Instant::now() < deadline, "the fake HTTP server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let port = std::fs::read_to_string(port_file).unwrap().trim().parse().unwrap();
    (started, port, dir)
}

/// What the fake HTTP server saw, one entry per request.
fn http_log(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn streamable_http_in_both_eras_with_sessions() {
    // Modern: JSON answers, MCP-Protocol-Version and Mcp-Method on every POST.
    let (_server, port, dir) = fake_http("modern");
    let out = dir.path().join("modern.json");
    let url = format!("http://127.0.0.1:{port}/mcp");
    toolreg_in(dir.path(), &["fetch", "--url", &url, "-o", &out.display().to_string()], &[]).expect_code(0);
    let catalog: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(names(&catalog), ["http_tool_1", "http_tool_2"]);
    assert_eq!(catalog["fetchedWith"]["era"], "modern");
    assert_eq!(catalog["fetchedWith"]["transport"], "streamable-http");
    assert_eq!(catalog["server"]["name"], "fake-http");
    assert_eq!(catalog["tools"][0]["x-vendor"]["kept"], true);

    // Legacy: event-stream answers with a priming event, a session, a server request
    // answered by POST, two pages, and the session ended with DELETE.
    let (_server, port, dir) = fake_http("legacy");
    let url = format!("http://127.0.0.1:{port}/mcp");
    let run = toolreg_in(dir.path(), &["fetch", "--url", &url], &[]).expect_code(0);
    let catalog: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(names(&catalog), ["http_tool_1", "http_tool_2", "http_tool_3"]);
    assert_eq!(catalog["fetchedWith"]["era"], "legacy");
    let log = http_log(dir.path());
    let after_initialize: Vec<&Value> =
        log.iter().skip_while(|e| e["method"] != "initialize").skip(1).collect();
    assert!(after_initialize.len() >= 4, "{log:?}");
    for entry in &after_initialize {
        assert_eq!(entry["session"], "session-42", "{entry}");
        assert_eq!(entry["version"], "2025-11-25", "{entry}");
    }
    assert!(
        log.iter().any(|e| e["verb"] == "POST" && e["method"].is_null()),
        "no reply to roots/list: {log:?}"
    );
    assert_eq!(log.last().unwrap()["verb"], "DELETE", "{log:?}");
}

#[test]
fn a_bearer_token_comes_from_the_environment_and_is_never_shown() {
    let (_server, port, dir) = fake_http("auth");
    let url = format!("http://127.0.0.1:{port}/mcp");
    let run = toolreg_in(dir.path(), &["fetch", "--url", &url], &[]).expect_code(2);
    assert!(run.stderr.contains("refused access (HTTP 401)"), "{}", run.stderr);
    assert!(run.stderr.contains("resource_metadata="), "the challenge is reported: {}", run.stderr);
    let run =
        toolreg_in(dir.path(), &["fetch", "--url", &url, "--token-env", "MCP_TOKEN"], &[]).expect_code(2);
    assert!(run.stderr.contains("MCP_TOKEN") && run.stderr.contains("not set"), "{}", run.stderr);
    let envs = [("MCP_TOKEN", "s3cret-t0ken")];
    let run =
        toolreg_in(dir.path(), &["fetch", "--url", &url, "--token-env", "MCP_TOKEN"], &envs).expect_code(0);
    assert!(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"));
    assert!(http_log(dir.path()).iter().filter(|e| e["auth"] == true).all(|e| e["tokenOk"] == true));
    // A wrong token: refused, and still not shown.
    let envs = [("MCP_TOKEN", "wr0ng-t0ken")];
    let run =
        toolreg_in(dir.path(), &["fetch", "--url", &url, "--token-env", "MCP_TOKEN"], &envs).expect_code(2);
    assert!(!run.stderr.contains("wr0ng"), "{}", run.stderr);
    // Never over plain http to another host.
    let run = toolreg_in(
        dir.path(),
        &["fetch", "--url", "http://203.0.113.9/mcp", "--token-env", "MCP_TOKEN"],
        &envs,
    )
    .expect_code(2);
    assert!(run.stderr.contains("refusing to send a bearer token over plain http"), "{}", run.stderr);

    // The same through a registered server's [launch] url and token_env.
    let root = dir.path().join("reg");
    std::fs::create_dir(&root).unwrap();
    let repo = git2::Repository::init(&root).unwrap();
    let mut config = repo.config().unwrap();
    config.set_str("user.name", "Ada Reviewer").unwrap();
    config.set_str("user.email", "ada@example.com").unwrap();
    toolreg_in(&root, &["init"], &[]).expect_code(0);
    let add =
        ["add", "remote", "--owner", "QA", "--url", &url, "--token-env", "MCP_TOKEN", "--scope", "tools"];
    toolreg_in(&root, &add, &[]).expect_code(0);
    toolreg_in(&root, &["fetch", "remote"], &[]).expect_code(2);
    let envs = [("MCP_TOKEN", "s3cret-t0ken")];
    let run = toolreg_in(&root, &["fetch", "remote"], &envs).expect_code(0);
    assert!(run.stdout.contains("http_tool_2") && !run.stdout.contains("s3cret"));
    toolreg_in(&root, &["review", "remote", "--live", "--approve"], &envs).expect_code(0);
    toolreg_in(&root, &["check", "--live"], &envs).expect_code(0);
    let pins = std::fs::read_dir(root.join("registry/servers/remote")).unwrap();
    for pin in pins {
        let text = std::fs::read_to_string(pin.unwrap().path()).unwrap_or_default();
        assert!(!text.contains("s3cret"));
    }
}

#[test]
fn hostile_http_servers_end_in_a_clear_error_without_hanging() {
    for (mode, needle) in [
        ("hang", "did not answer initialize within 2.0 s"),
        ("huge", "larger than the limit of 1048576 bytes"),
        ("endless-sse", "did not bring the answer within the timeout"),
        ("redirect", "toolreg follows no redirects"),
        ("bad-utf8", "invalid UTF-8"),
        ("foreign-endpoint", "another origin"),
        ("gzip-bomb", "is compressed (Content-Encoding: gzip)"),
    ] {
        let (_server, port, dir) = fake_http(mode);
        let out = dir.path().join("catalog.json");
        let start = Instant::now();
        let url = format!("http://127.0.0.1:{port}/mcp");
        let args = ["fetch", "--timeout", "2", "--max-message-bytes", "1048576", "--url", &url, "-o"];
        let mut args = args.to_vec();
        let out_arg = out.display().to_string();
        args.push(&out_arg);
        let run = toolreg_in(dir.path(), &args, &[]).expect_code(2);
        assert!(run.stderr.contains(needle), "{mode}: {}", run.stderr);
        assert!(!out.exists(), "{mode}: a failed fetch wrote a catalog");
        assert!(start.elapsed() < Duration::from_secs(15), "{mode} took {:?}", start.elapsed());
    }
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
    // The header, 2 tools, 4 prompts, 3 resources and 2 templates: every kind is drift.
    assert_eq!(diff["drift"].as_array().unwrap().len(), 12, "{diff}");
    toolreg_in(root, &["review", "fake", "--live", "--approve", "--note", "live"], &[]).expect_code(0);
    toolreg_in(root, &["diff", "fake", "--live"], &[]).expect_code(0);
    toolreg_in(root, &["fetch", "fake", "-o", "fake.json"], &[]).expect_code(0);
    toolreg_in(root, &["diff", "fake", "--catalog", "fake.json"], &[]).expect_code(0);
    toolreg_in(root, &["check", "--live"], &[]).expect_code(0);
    let scan = toolreg_in(root, &["scan", "--live", "fake", "--format", "json"], &[]).expect_code(0).json();
    let summary = &scan["summary"];
    assert_eq!((summary["servers"].as_u64(), summary["tools"].as_u64()), (Some(1), Some(2)), "{scan}");
    toolreg_in(root, &["scan", "--live"], &[]).expect_code(0);
    let run = toolreg_in(root, &["scan", "--live", "nope"], &[]).expect_code(2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    // A registered server that cannot be reached: could not check, never a pass.
    toolreg_in(root, &["add", "gone", "--owner", "QA", "--", "/nonexistent/server"], &[]).expect_code(0);
    let run = toolreg_in(root, &["check", "--live"], &[]).expect_code(2);
    assert!(run.stderr.contains("cannot start /nonexistent/server"), "{}", run.stderr);
    // Locked, every kind matches at runtime too.
    toolreg_in(root, &["lock"], &[]).expect_code(0);
    let lock = root.join("registry/toolreg.lock").display().to_string();
    toolreg_in(root, &["verify", "--lock", &lock, "fake", "--live"], &[]).expect_code(0);
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
        // Fidelity: every tool's digest equals the independent raw capture's; and
        // every prompt, resource and template the capture lists (it asked for them when
        // advertised, as toolreg does), with the same items.
        if let Some(capture) = shared(&format!("corpus/live/{name}.json")) {
            assert_eq!(
                digests(&out),
                digests_of_capture(&capture, "/tools"),
                "{name}: digests differ from the capture"
            );
            let captured: Value = serde_json::from_slice(&std::fs::read(&capture).unwrap()).unwrap();
            for kind in [Kind::Prompt, Kind::Resource, Kind::ResourceTemplate] {
                assert_eq!(
                    item_digests(&catalog, kind),
                    item_digests(&captured, kind),
                    "{name}: the {kind}s differ from the capture"
                );
            }
        }
    }
}

/// `(key, digest)` of every item of `kind` in `doc`, sorted; `None` when `doc` has no
/// such list (the server does not advertise the kind).
fn item_digests(doc: &Value, kind: Kind) -> Option<Vec<(String, String)>> {
    let list = doc.get(kind.list_key())?.as_array().unwrap();
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|item| {
            let key = item[kind.name_key()].as_str().unwrap().to_owned();
            (key, toolreg::canon::digest(item).unwrap().as_str().to_owned())
        })
        .collect();
    out.sort();
    Some(out)
}

/// server-everything (at the version `.ci/install-servers` pins) serves 4 prompts, 7
/// resources and 2 resource templates; each fetched item digests as the same item of
/// the independent capture.
#[test]
fn server_everything_serves_every_kind() {
    let Some(dir) = servers() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("everything.json").display().to_string();
    let bin = dir.join("node_modules/.bin/mcp-server-everything").display().to_string();
    let run = toolreg_in(scratch.path(), &["fetch", "-o", &out, "--", &bin, "stdio"], &[]).expect_code(0);
    assert!(
        run.stderr.contains("fetched 13 tool(s), 4 prompt(s), 7 resource(s), 2 resource-template(s)"),
        "{}",
        run.stderr
    );
    let catalog: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for (kind, count) in [(Kind::Prompt, 4), (Kind::Resource, 7), (Kind::ResourceTemplate, 2)] {
        assert_eq!(item_digests(&catalog, kind).unwrap().len(), count, "{kind}");
    }
    let Some(capture) = shared("corpus/live/server-everything.json") else { return };
    let captured: Value = serde_json::from_slice(&std::fs::read(capture).unwrap()).unwrap();
    for kind in [Kind::Prompt, Kind::Resource, Kind::ResourceTemplate] {
        let fetched = item_digests(&catalog, kind).unwrap();
        let expected = item_digests(&captured, kind).unwrap();
        assert_eq!(fetched, expected, "{kind}s differ from the capture");
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

/// The digests of the tools at `pointer` in an independent capture.
fn digests_of_capture(capture: &Path, pointer: &str) -> Vec<(String, String)> {
    let value: Value = serde_json::from_slice(&std::fs::read(capture).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools.json");
    std::fs::write(
        &tools,
        serde_json::to_vec(&serde_json::json!({"tools": value.pointer(pointer).unwrap()})).unwrap(),
    )
    .unwrap();
    digests(&tools.display().to_string())
}

/// server-everything over Streamable HTTP and over the legacy HTTP+SSE transport. It
/// calls `app.listen(PORT)` with no host, which binds every interface; a preloaded shim
/// (tests/fixtures/servers/bind-loopback.cjs) makes it listen on 127.0.0.1 only, and
/// the test checks the kernel's socket table before it sends anything.
#[test]
fn server_everything_over_http_on_loopback_only() {
    let Some(dir) = servers() else { return };
    let script = dir.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers/bind-loopback.cjs");
    let scratch = tempfile::tempdir().unwrap();
    for (mode, path, transport) in
        [("streamableHttp", "/mcp", "streamable-http"), ("sse", "/sse", "http+sse")]
    {
        let port = free_port();
        let child = std::process::Command::new("node")
            .arg("--require")
            .arg(&shim)
            .arg(&script)
            .arg(mode)
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let _server = Started(child);
        let addresses = wait_for_listener(port);
        assert_eq!(addresses, ["0100007F"], "{mode} must listen on 127.0.0.1 only");
        let out = scratch.path().join(format!("{mode}.json")).display().to_string();
        let url = format!("http://127.0.0.1:{port}{path}");
        toolreg_in(scratch.path(), &["fetch", "--url", &url, "-o", &out], &[]).expect_code(0);
        let catalog: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(catalog["tools"].as_array().unwrap().len(), 13, "{mode}");
        for (kind, count) in [(Kind::Prompt, 4), (Kind::Resource, 7), (Kind::ResourceTemplate, 2)] {
            assert_eq!(keys(&catalog, kind).len(), count, "{mode}: {kind}s");
        }
        assert_eq!(catalog["fetchedWith"]["transport"], transport, "{mode}");
        assert_eq!(catalog["fetchedWith"]["era"], "legacy", "{mode}");
        // Fidelity: over either transport, the digests of the independent Streamable
        // HTTP capture (the HTTP+SSE capture records the flow, not the tools).
        if let Some(capture) = shared("corpus/live/server-everything.http.json") {
            let expected = digests_of_capture(&capture, "/legacyStreamableHttp/tools");
            assert_eq!(digests(&out), expected, "{mode}: digests differ from the capture");
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The local addresses (hex, as /proc/net shows them) listening on `port`, once any is.
fn wait_for_listener(port: u16) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut addresses = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let Some((address, hex_port)) = fields.get(1).and_then(|l| l.split_once(':')) else {
                    continue;
                };
                if fields.get(3) == Some(&"0A") && u16::from_str_radix(hex_port, 16) == Ok(port) {
                    addresses.push(address.to_owned());
                }
            }
        }
        if !addresses.is_empty() {
            return addresses;
        }
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A wrapper (npx → node, uvx → python) leaves children behind; toolreg kills the
/// whole process group, not only the process it started.
#[test]
fn a_wrappers_children_are_killed_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_server();
    let script = format!("sleep 300 & echo $! > sleeper.pid; exec python3 '{fake}' good server.pid");
    toolreg_in(dir.path(), &["fetch", "-o", "catalog.json", "--", "sh", "-c", &script], &[]).expect_code(0);
    let sleeper = std::fs::read_to_string(dir.path().join("sleeper.pid")).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", sleeper.trim())).unwrap_or_default();
    // Gone, or a zombie waiting for its new parent to reap it: either way, not running.
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    assert!(matches!(state, None | Some("Z" | "X")), "the wrapper's child still runs: {stat}");
}
