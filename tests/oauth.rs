//! OAuth metadata end to end: a local OAuth-protected MCP server (tests/fixtures/servers/
//! oauth_server.py, 127.0.0.1 only, its variant switched through a file while it runs),
//! and the official Python SDK's own resource-server implementation when
//! TOOLREG_TEST_SERVERS holds it. Fetch → review → a changed variant → check → review.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{toolreg_in, Run, ADA};
use serde_json::Value;

const TOKEN: &str = "s3cret-t0ken";
const ENV: [(&str, &str); 1] = [("MCP_TOKEN", TOKEN)];

/// A server process the test started, killed when the test ends however it ends.
struct Started(std::process::Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fake OAuth server: its process, its port, and its directory (variant, log).
struct OAuthServer {
    _process: Started,
    port: u16,
    dir: tempfile::TempDir,
}

impl OAuthServer {
    fn start(python: &str, script: &str) -> OAuthServer {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers").join(script);
        let child = std::process::Command::new(python).arg(script).arg(dir.path()).spawn().unwrap();
        let process = Started(child);
        let port_file = dir.path().join("port");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !port_file.exists() {
            assert!(Instant::now() < deadline, "the OAuth test server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let port = std::fs::read_to_string(port_file).unwrap().trim().parse().unwrap();
        OAuthServer { _process: process, port, dir }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn variant(&self, name: &str) {
        std::fs::write(self.dir.path().join("variant"), name).unwrap();
    }

    /// What the server saw since the last call, one entry per request.
    fn take_log(&self) -> Vec<Value> {
        let path = self.dir.path().join("log");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

/// A git repository with a registry that registers the server at `url` as `files`,
/// declaring `scopes`.
struct Registry {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Registry {
    fn new(url: &str, scopes: &[&str]) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let repo = git2::Repository::init(&root).unwrap();
        let mut config = repo.config().unwrap();
        config.set_str("user.name", "Ada Reviewer").unwrap();
        config.set_str("user.email", "ada@example.com").unwrap();
        let registry = Registry { _dir: dir, root };
        registry.run(&["init"]).expect_code(0);
        let mut add = vec!["add", "files", "--url", url, "--token-env", "MCP_TOKEN", "--owner", "Platform"];
        add.extend(["--approver", ADA]);
        for scope in scopes {
            add.extend(["--scope", scope]);
        }
        registry.run(&add).expect_code(0);
        registry
    }

    fn run(&self, args: &[&str]) -> Run {
        toolreg_in(&self.root, args, &ENV)
    }

    fn head(&self) -> String {
        git2::Repository::open(&self.root).unwrap().head().unwrap().target().unwrap().to_string()
    }

    /// Every file under the repository (but .git), with its content.
    fn files(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.file_name().is_some_and(|n| n == ".git") {
                    continue;
                }
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                    out.push((path, text));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

/// The rule ids of a JSON report's findings, and the evidence of those of `rule`.
fn rules(report: &Value) -> Vec<String> {
    let list = report["findings"].as_array().unwrap();
    list.iter().map(|f| f["rule"].as_str().unwrap().to_owned()).collect()
}

fn evidence(report: &Value, rule: &str) -> Vec<String> {
    let list = report["findings"].as_array().unwrap();
    list.iter().filter(|f| f["rule"] == rule).map(|f| f["evidence"].as_str().unwrap().to_owned()).collect()
}

fn check_json(registry: &Registry, code: i32) -> Value {
    registry.run(&["check", "--live", "--format", "json"]).expect_code(code).json()
}

#[test]
fn oauth_metadata_is_pinned_reviewed_and_gated() {
    let server = OAuthServer::start("python3", "oauth_server.py");
    let url = server.url();
    let registry = Registry::new(&url, &["files:read"]);

    // The first review pins the auth item with the tool and the header.
    let run =
        registry.run(&["review", "files", "--live", "--approve", "--note", "first look"]).expect_code(0);
    assert!(run.stdout.contains("approved  auth:oauth"), "{}", run.stdout);
    let pin: Value = serde_json::from_str(
        &std::fs::read_to_string(registry.root.join("registry/servers/files/auth/oauth.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        pin["auth"]["protected_resource"]["scopes_supported"],
        serde_json::json!(["files:read", "files:write"])
    );
    assert_eq!(pin["auth"]["challenge"]["scope"], serde_json::json!(["files:read"]));
    assert_eq!(
        pin["auth"]["authorization_servers"][0]["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );

    // server.toml declares files:read only: the advertised files:write fails the gate.
    let report = check_json(&registry, 1);
    assert_eq!(
        rules(&report),
        ["OAU003", "OAU012"],
        "files:write is shown (medium), undeclared fails: {report:#}"
    );
    assert_eq!(evidence(&report, "OAU012"), ["files:write"]);
    // The inventory shows what is declared beside what the approved metadata asks for.
    let inventory = registry.run(&["inventory", "--format", "json"]).expect_code(0).json();
    let row = &inventory["servers"][0];
    assert_eq!(row["oauthScopes"], serde_json::json!(["files:read"]));
    assert_eq!(row["advertisedScopes"], serde_json::json!(["files:read", "files:write"]));
    assert_eq!(row["undeclaredScopes"], serde_json::json!(["files:write"]));
    let table = registry.run(&["inventory", "--format", "markdown"]).expect_code(0);
    assert!(table.stdout.contains(r"files\:write \(undeclared\)"), "{}", table.stdout);
    let toml = registry.root.join("registry/servers/files/server.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let declared = text.replace(
        r#"oauth-scopes = ["files:read"]"#,
        r#"oauth-scopes = ["files:read", "files:write", "files:delete"]"#,
    );
    assert_ne!(text, declared, "{text}");
    std::fs::write(&toml, declared).unwrap();
    commit_all(&registry.root, "declare the scopes the server needs");
    let run = registry.run(&["check", "--live"]).expect_code(0);
    assert!(run.stdout.contains("PASS"), "{}", run.stdout);

    // The server widens its scopes: the gate names the new scope.
    server.variant("widened");
    let run = registry.run(&["check", "--live", "--color", "never"]).expect_code(1);
    assert!(run.stdout.contains("OAU001") && run.stdout.contains("files:delete"), "{}", run.stdout);
    let report = check_json(&registry, 1);
    assert_eq!(evidence(&report, "OAU001"), ["files:delete"]);
    assert!(rules(&report).contains(&"PIN002".to_owned()), "{report:#}");
    let diff = registry.run(&["diff", "files", "--live", "--color", "never"]).expect_code(1);
    assert!(diff.stdout.contains("/protected_resource/scopes_supported"), "{}", diff.stdout);
    assert!(diff.stdout.contains("files:delete"), "{}", diff.stdout);

    // Reviewed: the new metadata is the pin, and the gate passes.
    registry.run(&["review", "files", "--live", "--approve", "--note", "delete is needed"]).expect_code(0);
    registry.run(&["check", "--live"]).expect_code(0);

    // The lock carries the auth item's digest, and verify holds the server to it.
    registry.run(&["lock"]).expect_code(0);
    commit_all(&registry.root, "lock");
    let lock_path = registry.root.join("registry/toolreg.lock");
    let lock: Value = serde_json::from_str(&std::fs::read_to_string(&lock_path).unwrap()).unwrap();
    let digest = lock["servers"]["files"]["auth"]["oauth"].as_str().unwrap().to_owned();
    assert!(digest.starts_with("sha256:"), "{lock:#}");
    let lock_arg = lock_path.display().to_string();
    registry.run(&["verify", "--lock", &lock_arg, "files", "--live"]).expect_code(0);
    server.variant("offline");
    let run =
        registry.run(&["verify", "--lock", &lock_arg, "files", "--live", "--format", "json"]).expect_code(1);
    assert!(run.stdout.contains("auth"), "{}", run.stdout);

    // offline_access: added, high-risk at sight, and not declared.
    let report = check_json(&registry, 1);
    for rule in ["OAU001", "OAU002", "OAU012"] {
        assert_eq!(evidence(&report, rule), ["offline_access"], "{rule}: {report:#}");
    }
    // A high-risk scope is approved only with a reason.
    let run = registry.run(&["review", "files", "--live", "--approve"]).expect_code(1);
    assert!(run.stderr.contains("OAU002"), "{}", run.stderr);

    // The token never reached an output, a file or the registry's history.
    for (path, text) in registry.files() {
        assert!(!text.contains(TOKEN), "{} holds the token", path.display());
    }
    let history =
        std::process::Command::new("git").arg("-C").arg(&registry.root).args(["log", "-p"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&history.stdout).contains(TOKEN));
}

fn commit_all(root: &Path, message: &str) {
    let repo = git2::Repository::open(root).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = repo.signature().unwrap();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &[&parent]).unwrap();
}

#[test]
fn every_variant_gives_its_finding_and_exit_code() {
    let server = OAuthServer::start("python3", "oauth_server.py");
    let registry = Registry::new(&server.url(), &["files:read", "files:write"]);
    registry.run(&["review", "files", "--live", "--approve"]).expect_code(0);
    registry.run(&["check", "--live"]).expect_code(0);
    let head = registry.head();

    // Policy: exit 1, each with the finding that says what changed.
    let policy = [
        ("widened", vec!["OAU001", "OAU003", "OAU012"]),
        ("offline", vec!["OAU001", "OAU002", "OAU012"]),
        ("challenge-widened", vec!["OAU001"]),
        ("issuer-changed", vec!["OAU004"]),
        ("endpoint-moved", vec!["OAU005"]),
        ("no-s256", vec!["OAU006", "OAU007"]),
        ("resource-mismatch", vec!["OAU008"]),
        ("implicit", vec!["OAU010"]),
        ("plain-http-endpoint", vec!["OAU009", "OAU005"]),
        ("esc-scope", vec!["CTL001", "OAU001", "OAU012"]),
        ("no-auth", vec!["PIN005"]),
    ];
    for (variant, expected) in policy {
        server.variant(variant);
        let run = registry.run(&["check", "--live", "--format", "json"]).expect_code(1);
        assert!(!run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'), "{variant}: raw ESC");
        let found = rules(&run.json());
        for rule in expected {
            assert!(found.contains(&rule.to_owned()), "{variant}: no {rule} in {found:?}");
        }
        // The human report shows no raw control character either.
        let human = registry.run(&["check", "--live", "--color", "never"]).expect_code(1);
        assert!(!human.stdout.contains('\u{1b}'), "{variant}: {}", human.stdout);
    }

    // Could not check: exit 2, named, nothing raw, nothing written.
    let hostile = [
        ("huge", "larger than the limit"),
        ("redirect", "another origin"),
        ("invalid-json", "is not JSON"),
        ("challenge-esc", "OAuth discovery"),
    ];
    for (variant, needle) in hostile {
        server.variant(variant);
        let run = registry.run(&["check", "--live"]).expect_code(2);
        assert!(run.stderr.contains(needle), "{variant}: {}", run.stderr);
        assert!(!run.stderr.contains('\u{1b}') && !run.stdout.contains('\u{1b}'), "{variant}: raw ESC");
        let run = registry.run(&["review", "files", "--live", "--approve"]).expect_code(2);
        assert!(run.stderr.contains(needle), "{variant}: {}", run.stderr);
        let out = registry.root.join(format!("{variant}.json"));
        let out_arg = out.display().to_string();
        let fetch =
            ["fetch", "--url", &server.url(), "--token-env", "MCP_TOKEN", "-o", &out_arg, "--timeout", "5"];
        registry.run(&fetch).expect_code(2);
        assert!(!out.exists(), "{variant}: fetch wrote {}", out.display());
    }
    // Captured catalogs carry the auth item: check --catalogs gates it the same way.
    std::fs::create_dir_all(registry.root.join("catalogs")).unwrap();
    let captured = registry.root.join("catalogs/files.json").display().to_string();
    for (variant, code) in [("baseline", 0), ("widened", 1)] {
        server.variant(variant);
        registry
            .run(&["fetch", "--url", &server.url(), "--token-env", "MCP_TOKEN", "-o", &captured])
            .expect_code(0);
        let run = registry.run(&["check", "--catalogs", "catalogs", "--format", "json"]).expect_code(code);
        if code == 1 {
            assert_eq!(evidence(&run.json(), "OAU001"), ["files:delete"]);
        }
    }
    // A body that never ends is cut off by the timeout.
    server.variant("endless");
    let out = registry.root.join("endless.json").display().to_string();
    let run = registry
        .run(&["fetch", "--url", &server.url(), "--token-env", "MCP_TOKEN", "-o", &out, "--timeout", "2"])
        .expect_code(2);
    assert!(run.stderr.contains("within 2.0 s"), "{}", run.stderr);
    assert!(!Path::new(&out).exists());
    assert_eq!(registry.head(), head, "a failed command committed something");
}

#[test]
fn discovery_follows_the_spec_order_and_never_sends_the_token_elsewhere() {
    let server = OAuthServer::start("python3", "oauth_server.py");
    let dir = tempfile::tempdir().unwrap();
    let fetch = |envs: &[(&str, &str)], token: bool| -> Value {
        let url = server.url();
        let mut args = vec!["fetch", "--url", url.as_str()];
        if token {
            args.extend(["--token-env", "MCP_TOKEN"]);
        }
        serde_json::from_str(&toolreg_in(dir.path(), &args, envs).expect_code(0).stdout).unwrap()
    };

    // No resource_metadata in the challenge: the path-suffixed well-known, then the root.
    server.variant("root-prm");
    server.take_log();
    let catalog = fetch(&ENV, true);
    let auth = &catalog["auth"][0];
    assert_eq!(
        auth["protected_resource"]["metadata_url"],
        format!("http://127.0.0.1:{}/.well-known/oauth-protected-resource", server.port)
    );
    let paths: Vec<String> =
        server.take_log().iter().map(|e| e["path"].as_str().unwrap().to_owned()).collect();
    let suffixed = paths.iter().position(|p| p == "/.well-known/oauth-protected-resource/mcp");
    let root = paths.iter().position(|p| p == "/.well-known/oauth-protected-resource");
    assert!(suffixed.is_some() && suffixed < root, "{paths:?}");

    // RFC 8414 first, then OpenID discovery.
    server.variant("openid");
    let catalog = fetch(&ENV, true);
    assert_eq!(
        catalog["auth"][0]["authorization_servers"][0]["metadata_url"],
        format!("http://127.0.0.1:{}/.well-known/openid-configuration", server.port)
    );
    let log = server.take_log();
    let paths: Vec<&str> = log.iter().map(|e| e["path"].as_str().unwrap()).collect();
    let rfc8414 = paths.iter().position(|p| *p == "/.well-known/oauth-authorization-server");
    let openid = paths.iter().position(|p| *p == "/.well-known/openid-configuration");
    assert!(rfc8414.is_some() && rfc8414 < openid, "{paths:?}");

    // With a token: only the MCP requests carry it; the probe and every metadata request
    // go without. The token is in no output.
    let mcp = |e: &Value| e["verb"] == "POST" && e["path"] == "/mcp";
    assert!(log.iter().filter(|e| e["auth"] == true).all(|e| mcp(e) && e["tokenOk"] == true), "{log:?}");
    assert!(log.iter().filter(|e| e["verb"] == "GET").all(|e| e["auth"] == false), "{log:?}");
    assert_eq!(log.iter().filter(|e| mcp(e) && e["auth"] == false).count(), 1, "one probe: {log:?}");
    assert!(!catalog.to_string().contains(TOKEN));
    // Without a token configured, no request carries an Authorization header at all.
    server.variant("no-auth");
    let catalog = fetch(&[], false);
    assert!(catalog.get("auth").is_none(), "a server that asks for no token has no auth item");
    assert!(server.take_log().iter().all(|e| e["auth"] == false));
    server.variant("baseline");
    let run = toolreg_in(dir.path(), &["fetch", "--url", &server.url()], &[]).expect_code(2);
    assert!(run.stderr.contains("refused access (HTTP 401)"), "{}", run.stderr);
    assert!(server.take_log().iter().all(|e| e["auth"] == false));
}

/// The official MCP Python SDK (mcp 2.3.0) in resource-server mode: toolreg pins what
/// that real implementation publishes.
#[test]
fn the_sdk_resource_server_is_pinned_as_it_publishes() {
    let Some(dir) = std::env::var_os("TOOLREG_TEST_SERVERS").map(PathBuf::from) else {
        eprintln!("skipping: TOOLREG_TEST_SERVERS is unset (run .ci/install-servers, as .ci/run does)");
        return;
    };
    let python = dir.join("venv/bin/python").display().to_string();
    let server = OAuthServer::start(&python, "sdk_oauth_server.py");
    let url = server.url();
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("sdk.json").display().to_string();
    toolreg_in(scratch.path(), &["fetch", "--url", &url, "--token-env", "MCP_TOKEN", "-o", &out], &ENV)
        .expect_code(0);
    let catalog: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let auth = &catalog["auth"][0];
    assert_eq!(auth["challenge"]["scheme"], "Bearer", "{auth:#}");
    assert_eq!(auth["protected_resource"]["resource"], url.as_str(), "{auth:#}");
    assert_eq!(auth["protected_resource"]["scopes_supported"], serde_json::json!(["files:read"]));
    let issuer = auth["protected_resource"]["authorization_servers"][0].as_str().unwrap();
    assert_eq!(auth["authorization_servers"][0]["issuer"], issuer);
    assert!(catalog["tools"].as_array().unwrap().iter().any(|t| t["name"] == "read_file"));
    // What the SDK publishes raises nothing at or above high.
    let report = toolreg_in(scratch.path(), &["scan", &out, "--format", "json"], &[]).expect_code(0).json();
    assert!(rules(&report).iter().all(|r| !r.starts_with("OAU0") || r == "OAU003"), "{report:#}");
}
