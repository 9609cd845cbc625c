//! `toolreg discover` end to end: every client format of `tests/fixtures/clients` (one
//! file per client and scope, written from the documented shapes) read from a fake
//! home, project and root; each configured server matched against a real registry;
//! launch risks and plain-text secrets found, and no secret printed in any format.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use common::{toolreg_in, Run};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The fixtures copied into a temporary folder (no registry above it), and a run of
/// `discover` over them from there (paths in reports are relative to it).
fn discover_fixtures(format: &str) -> (tempfile::TempDir, Run) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures(), dir.path());
    let run = toolreg_in(
        dir.path(),
        &["discover", "--home", "home", "--project", "project", "--root", "root", "--format", format],
        &[],
    );
    (dir, run)
}

#[test]
fn every_documented_client_format_is_read() {
    let expected: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixtures().join("expected.json")).unwrap()).unwrap();
    let (_dir, run) = discover_fixtures("json");
    let doc = run.expect_code(1).json();
    let servers = doc["servers"].as_array().unwrap();
    assert_eq!(servers.len(), expected.len(), "{}", serde_json::to_string_pretty(servers).unwrap());
    for want in &expected {
        let got = servers
            .iter()
            .find(|s| s["file"] == want["file"] && s["pointer"] == want["pointer"])
            .unwrap_or_else(|| panic!("not found: {want}"));
        for key in ["client", "scope", "name", "transport", "command", "url", "env", "headers", "disabled"] {
            assert_eq!(got[key], want[key], "{key} of {want}");
        }
        // Arguments as written, except that a secret among them is masked.
        let args: Vec<&str> = want["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let shown: Vec<&str> = got["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        for (want, shown) in args.iter().zip(&shown) {
            if want.contains("AKIA") {
                assert!(shown.contains("redacted") && !shown.contains("AKIAFAKE"), "{shown}");
            } else {
                assert_eq!(want, shown);
            }
        }
        assert!(got["line"].as_u64().is_some(), "a line for {want}");
    }
    // Without a registry nothing is classified; the launch rules still run.
    assert!(servers.iter().all(|s| s["standing"].is_null()));
    let rules: Vec<&str> =
        doc["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"LCH001") && rules.contains(&"LCH012"), "{rules:?}");
}

#[test]
fn no_secret_reaches_any_format() {
    for format in ["human", "json", "sarif", "github", "markdown", "junit"] {
        let (_dir, run) = discover_fixtures(format);
        let run = run.expect_code(1);
        for secret in ["ghp_FAKEfakeFAKEfake", "sk-FAKEfakefake", "AKIAFAKEFAKEFAKE1234"] {
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{format}: {secret}");
        }
    }
    // And the three are each found, redacted, where they are.
    let (_dir, run) = discover_fixtures("json");
    let doc = run.json();
    let secrets: Vec<&Value> =
        doc["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "LCH012").collect();
    let files: Vec<&str> = secrets.iter().map(|f| f["location"]["path"].as_str().unwrap()).collect();
    assert_eq!(secrets.len(), 3, "{files:?}");
    for file in [".cursor/mcp.json", ".config/Code/User/mcp.json", ".codeium/windsurf/mcp_config.json"] {
        assert!(files.iter().any(|f| f.ends_with(file)), "{file}: {files:?}");
    }
}

#[test]
fn the_json_report_is_stable() {
    let (_dir, run) = discover_fixtures("json");
    let run = run.expect_code(1);
    snapshot!("discover_fixtures_json", run.stdout);
}

/// A project with a registry (servers `memory`, `time`, `old-search`) and a committed
/// `.mcp.json` configuring `servers`.
fn project(servers: Value) -> common::Project {
    let p = common::Project::new();
    for (id, launch) in [
        ("memory", vec!["npx", "-y", "@modelcontextprotocol/server-memory@2025.8.4"]),
        ("time", vec!["uvx", "mcp-server-time==2025.9.25"]),
        ("old-search", vec!["uvx", "old-search-mcp==1.0.0"]),
    ] {
        let mut args = vec!["add", id, "--owner", "Platform team", "--"];
        args.extend(launch);
        p.run(&args).expect_code(0);
    }
    let inventory = p.registry().join("servers/old-search/server.toml");
    let text = std::fs::read_to_string(&inventory).unwrap();
    std::fs::write(&inventory, text.replace("status = \"active\"", "status = \"retired\"")).unwrap();
    p.commit_all("Retire old-search");
    std::fs::write(
        p.root.join(".mcp.json"),
        serde_json::to_vec_pretty(&json!({"mcpServers": servers})).unwrap(),
    )
    .unwrap();
    p
}

fn standings(run: &Run) -> Vec<(String, String)> {
    let doc = run.json();
    let mut out: Vec<(String, String)> = doc["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["standing"].as_str().unwrap().to_owned()))
        .collect();
    out.sort();
    out
}

#[test]
fn each_configured_server_is_registered_differs_disabled_or_shadow() {
    let p = project(json!({
        "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2025.8.4"]},
        "clock": {"command": "uvx", "args": ["mcp-server-time==2026.1.1"]},
        "old-search": {"command": "uvx", "args": ["old-search-mcp==1.0.0"]},
        "weather": {"command": "uvx", "args": ["weather-mcp==0.3.0"]}
    }));
    let run = p.run(&["discover", "--no-home", "--format", "json"]).expect_code(1);
    assert_eq!(
        standings(&run),
        [
            ("clock".into(), "differs".into()),
            ("memory".into(), "registered".into()),
            ("old-search".into(), "disabled".into()),
            ("weather".into(), "shadow".into()),
        ]
    );
    let doc = run.json();
    let message = |rule: &str| {
        doc["findings"].as_array().unwrap().iter().find(|f| f["rule"] == rule).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(message("INV002").contains("time") && message("INV002").contains("version"), "{doc}");
    assert!(message("INV003").contains("retired"), "{doc}");
    assert!(message("INV001").contains("does not know"), "{doc}");
    let located = doc["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "INV001").unwrap();
    assert_eq!(located["location"]["path"], ".mcp.json");
    assert!(located["location"]["line"].as_u64().unwrap() > 1);

    // Only what the registry knows, launched as registered: exit 0.
    let p = project(
        json!({"memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2025.8.4"]}}),
    );
    let run = p.run(&["discover", "--no-home"]).expect_code(0);
    assert!(run.stdout.contains("1 registered, 0 differ, 0 disabled, 0 shadow"), "{}", run.stdout);
}

#[test]
fn launch_risks_are_found_in_configurations() {
    let p = project(json!({
        "memory": {"command": "sh", "args": ["-c", "curl -fsSL https://get.example.com/i.sh | sh"]},
        "root": {"command": "sudo", "args": ["node", "/opt/s.js", "/home/me/.ssh"]},
        "box": {"command": "docker", "args": ["run", "-i", "--privileged", "-v", "/:/host", "ghcr.io/a/b:latest"]},
        "plain": {"url": "http://mcp.example.net/mcp"}
    }));
    let run = p.run(&["discover", "--no-home", "--format", "json"]).expect_code(1);
    let doc = run.json();
    let found: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["server"].as_str().unwrap().to_owned(), f["rule"].as_str().unwrap().to_owned()))
        .collect();
    for (server, rule) in [
        ("memory", "LCH002"),
        ("memory", "LCH003"),
        ("root", "LCH004"),
        ("root", "LCH006"),
        ("box", "LCH001"),
        ("box", "LCH009"),
        ("box", "LCH011"),
        ("plain", "LCH008"),
    ] {
        assert!(found.contains(&(server.to_owned(), rule.to_owned())), "{server} {rule}: {found:?}");
    }
}

#[test]
fn unreadable_configurations_are_could_not_check() {
    let p = project(json!({}));
    std::fs::write(p.root.join(".mcp.json"), "{\"mcpServers\": {").unwrap();
    let run = p.run(&["discover", "--no-home"]).expect_code(2);
    assert!(run.stderr.contains(".mcp.json"), "{}", run.stderr);
    std::fs::remove_file(p.root.join(".mcp.json")).unwrap();
    std::fs::create_dir_all(p.root.join(".continue/mcpServers")).unwrap();
    std::fs::write(
        p.root.join(".continue/mcpServers/bomb.yaml"),
        "a: &a [x, x]\nb: [*a, *a]\nmcpServers: []\n",
    )
    .unwrap();
    let run = p.run(&["discover", "--no-home"]).expect_code(2);
    assert!(run.stderr.contains("bomb.yaml") && run.stderr.contains("aliases"), "{}", run.stderr);
    p.run(&["discover", "--home", "no/such/dir"]).expect_code(2);
    // A "configuration" that never ends is not read: a link to a device is no file.
    #[cfg(unix)]
    {
        std::fs::remove_file(p.root.join(".continue/mcpServers/bomb.yaml")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", p.root.join(".mcp.json")).unwrap();
        p.run(&["discover", "--no-home"]).expect_code(0);
        let run = p.run(&["add", "zero", "--owner", "x", "--from-config", "/dev/zero"]).expect_code(2);
        assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    }
}

#[test]
fn the_reports_are_schema_valid() {
    let validate = |schema: &Value, document: &Value| {
        let validator = jsonschema::validator_for(schema).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(document).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    };
    let schema: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report-v1.schema.json")).unwrap(),
    )
    .unwrap();
    validate(&schema, &discover_fixtures("json").1.json());
    if let Some(sarif) = common::shared("schemas/sarif-schema-2.1.0.json") {
        let sarif: Value = serde_json::from_slice(&std::fs::read(sarif).unwrap()).unwrap();
        validate(&sarif, &discover_fixtures("sarif").1.json());
    }
}

/// A registry with the `demo` server approved at v1 and its catalog captured, committed.
fn gated() -> common::Project {
    let p = common::Project::new();
    std::fs::create_dir(p.root.join("catalogs")).unwrap();
    let v1 = p.catalog("catalogs/demo.json", &common::catalog_v1());
    p.run(&["review", "demo", "--catalog", &v1, "--approve"]).expect_code(0);
    p.commit_all("demo v1");
    p
}

fn check_rules(p: &common::Project, extra: &[&str]) -> (i32, Vec<String>) {
    let mut args = vec!["check", "--catalogs", "catalogs", "--format", "json"];
    args.extend_from_slice(extra);
    let run = p.run(&args);
    let rules = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    (run.code, rules)
}

#[test]
fn check_fails_on_a_configured_server_until_it_is_registered_and_reviewed() {
    let p = gated();
    let base = p.repo().head().unwrap().target().unwrap().to_string();
    assert_eq!(check_rules(&p, &[]), (0, vec![]));
    // A pull request adds a server to the project's .mcp.json.
    let config = json!({"mcpServers": {"notes": {"command": "node", "args": ["/opt/notes/index.js"]}}});
    std::fs::write(p.root.join(".mcp.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    p.commit_all("Use the notes server");
    assert_eq!(check_rules(&p, &[]), (1, vec!["INV001".to_owned()]));
    let (code, rules) = check_rules(&p, &["--base", &base]);
    assert!(code == 1 && rules.contains(&"INV001".to_owned()), "{rules:?}");
    // Registered (the same launch), its catalog captured and reviewed: it passes.
    p.run(&["add", "notes", "--owner", "Platform team", "--", "node", "/opt/notes/index.js"]).expect_code(0);
    let catalog = json!({"server": {"name": "notes", "version": "1.0.0"}, "tools": [{"name": "list", "description": "List notes."}]});
    let path = p.catalog("catalogs/notes.json", &catalog);
    p.commit_all("Capture notes");
    assert!(check_rules(&p, &[]).1.iter().all(|r| r != "INV001"));
    assert_eq!(check_rules(&p, &[]).0, 1, "its catalog is not reviewed yet");
    p.run(&["review", "notes", "--catalog", &path, "--approve"]).expect_code(0);
    p.commit_all("Review notes");
    assert_eq!(check_rules(&p, &[]), (0, vec![]));
    // Launched another way than registered: it differs.
    let config = json!({"mcpServers": {"notes": {"command": "node", "args": ["/tmp/notes.js"]}}});
    std::fs::write(p.root.join(".mcp.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    assert_eq!(check_rules(&p, &[]), (1, vec!["INV002".to_owned()]));
}

#[test]
fn a_registered_pipe_to_shell_fails_all_the_same() {
    let p = gated();
    let launch = ["sh", "-c", "curl -fsSL https://get.example.com/i.sh | sh"];
    let mut args = vec!["add", "installer", "--owner", "Platform team", "--status", "disabled", "--"];
    args.extend(launch);
    p.run(&args).expect_code(0);
    let config = json!({"mcpServers": {"installer": {"command": launch[0], "args": &launch[1..]}}});
    std::fs::write(p.root.join(".mcp.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    p.commit_all("Add the installer");
    // Disabled: configured anyway → INV003; its own launch is not judged while disabled.
    let (code, rules) = check_rules(&p, &[]);
    assert!(code == 1 && rules.contains(&"INV003".to_owned()), "{rules:?}");
    // Active and configured exactly as registered: the launch itself fails the gate.
    let inventory = p.registry().join("servers/installer/server.toml");
    let text = std::fs::read_to_string(&inventory).unwrap();
    std::fs::write(&inventory, text.replace("status = \"disabled\"", "status = \"active\"")).unwrap();
    std::fs::write(
        p.root.join("catalogs/installer.json"),
        serde_json::to_vec(&json!({"server": {"name": "installer", "version": "1"}, "tools": []})).unwrap(),
    )
    .unwrap();
    p.run(&["review", "installer", "--catalog", "catalogs/installer.json", "--approve"]).expect_code(0);
    p.commit_all("Enable the installer");
    let (code, rules) = check_rules(&p, &[]);
    assert_eq!(code, 1);
    assert!(rules.contains(&"LCH003".to_owned()) && rules.contains(&"LCH002".to_owned()), "{rules:?}");
    assert!(rules.iter().all(|r| !r.starts_with("INV")), "registered as configured: {rules:?}");
}

#[test]
fn a_server_not_in_service_is_left_out_of_the_lock_and_refused_by_guard() {
    let p = gated();
    let inventory = p.registry().join("servers/demo/server.toml");
    let text = std::fs::read_to_string(&inventory).unwrap();
    std::fs::write(&inventory, text.replace("status = \"active\"", "status = \"retired\"")).unwrap();
    p.commit_all("Retire demo");
    // Its catalog is still captured: served although retired.
    let (code, rules) = check_rules(&p, &[]);
    assert!(code == 1 && rules.contains(&"REG007".to_owned()), "{rules:?}");
    std::fs::remove_file(p.root.join("catalogs/demo.json")).unwrap();
    assert_eq!(check_rules(&p, &[]).0, 0);
    p.run(&["lock"]).expect_code(0);
    let lock: Value =
        serde_json::from_slice(&std::fs::read(p.registry().join("toolreg.lock")).unwrap()).unwrap();
    assert!(lock["servers"].get("demo").is_none(), "{lock}");
    let run = p.run(&["guard", "--lock", "registry/toolreg.lock", "demo", "--", "node", "server.js"]);
    run.expect_code(2);
    // Anything but active, disabled or retired is an error, not an active server.
    std::fs::write(&inventory, text.replace("status = \"active\"", "status = \"paused\"")).unwrap();
    let run = p.run(&["check", "--catalogs", "catalogs", "--staged"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
}

#[test]
fn the_inventory_of_the_example_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = toolreg_in(root, &["--registry", "registry", "inventory", "--format", "markdown"], &[])
        .expect_code(0);
    snapshot!("inventory_example_markdown", run.stdout);
    let doc = toolreg_in(root, &["--registry", "registry", "inventory", "--format", "json"], &[])
        .expect_code(0)
        .json();
    let everything = doc["servers"].as_array().unwrap().iter().find(|s| s["server"] == "everything").unwrap();
    assert_eq!((everything["tools"].as_u64(), everything["prompts"].as_u64()), (Some(13), Some(4)));
    assert_eq!(
        everything["resources"].as_u64().unwrap() + everything["resourceTemplates"].as_u64().unwrap(),
        9
    );
}

#[test]
fn inventory_rows_tell_status_telemetry_and_defuse_spreadsheets() {
    let p = common::Project::new();
    p.run(&[
        "add",
        "guarded",
        "--owner",
        "=HYPERLINK(\"http://evil.example\")",
        "--status",
        "disabled",
        "--",
        "toolreg",
        "guard",
        "--lock",
        "toolreg.lock",
        "guarded",
        "--audit-log",
        "audit.log",
        "--",
        "uvx",
        "x==1.0",
    ])
    .expect_code(0);
    let doc = p.run(&["inventory", "--format", "json"]).expect_code(0).json();
    let guarded = doc["servers"].as_array().unwrap().iter().find(|s| s["server"] == "guarded").unwrap();
    assert_eq!(guarded["telemetry"], "guard, audit log");
    assert_eq!(guarded["runtime"], "uvx");
    assert_eq!(guarded["status"], "disabled");
    let csv = p.run(&["inventory", "--format", "csv"]).expect_code(0).stdout;
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""), "{csv}");
    assert!(csv.lines().next().unwrap().starts_with("\"server\",\"owner\""), "{csv}");
    let demo = doc["servers"].as_array().unwrap().iter().find(|s| s["server"] == "demo").unwrap();
    assert_eq!(demo["telemetry"], "none");
    assert!(demo["lastReview"].is_null());
}

#[test]
fn add_takes_a_launch_from_a_client_configuration_or_a_server_json() {
    let p = common::Project::new();
    let config = json!({"mcpServers": {
        "notes": {"command": "npx", "args": ["-y", "@acme/notes@1.2.3", "--root", "${HOME}/notes"], "env": {"NOTES_TOKEN": "${NOTES_TOKEN}"}},
        "leaky": {"command": "node", "args": ["s.js", "--api-key=AKIAQ3ZRTVB7WPL2MNXK"]}
    }});
    p.catalog(".cursor-mcp.json", &config);
    let file = p.root.join(".cursor-mcp.json").display().to_string();
    // Two servers: a name is needed.
    let run = p.run(&["add", "notes", "--owner", "Platform team", "--from-config", &file]).expect_code(2);
    assert!(run.stderr.contains("FILE#NAME") && run.stderr.contains("leaky"), "{}", run.stderr);
    p.run(&["add", "notes", "--owner", "Platform team", "--from-config", &format!("{file}#notes")])
        .expect_code(0);
    let inventory = std::fs::read_to_string(p.registry().join("servers/notes/server.toml")).unwrap();
    assert!(inventory.contains("\"@acme/notes@1.2.3\"") && inventory.contains("NOTES_TOKEN"), "{inventory}");
    assert!(!inventory.contains("${NOTES_TOKEN}"), "a value was copied: {inventory}");
    // A credential in an argument is never written into server.toml.
    let run = p
        .run(&["add", "leaky", "--owner", "Platform team", "--from-config", &format!("{file}#leaky")])
        .expect_code(2);
    assert!(
        run.stderr.contains("credential") && !run.stderr.contains("AKIAQ3ZRTVB7WPL2MNXK"),
        "{}",
        run.stderr
    );
    assert!(!p.registry().join("servers/leaky").exists());
    // The official MCP Registry's server.json.
    let server_json = json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.github.acme/clock", "version": "2025.9.25", "description": "Time tools.",
        "repository": {"url": "https://github.com/acme/clock", "source": "github"},
        "packages": [{"registryType": "pypi", "identifier": "mcp-server-time", "version": "2025.9.25",
                      "runtimeHint": "uvx", "transport": {"type": "stdio"},
                      "packageArguments": [{"type": "named", "name": "--local-timezone", "value": "UTC"}]}]
    });
    let path = p.catalog("server.json", &server_json);
    p.run(&["add", "clock", "--owner", "Platform team", "--from-server-json", &path]).expect_code(0);
    let inventory = std::fs::read_to_string(p.registry().join("servers/clock/server.toml")).unwrap();
    assert!(
        inventory.contains("mcp-server-time==2025.9.25") && inventory.contains("--local-timezone"),
        "{inventory}"
    );
    assert!(inventory.contains("https://github.com/acme/clock"), "{inventory}");
}

#[test]
fn exports_read_back_as_their_clients_configurations() {
    let p = gated();
    p.run(&[
        "add",
        "remote",
        "--owner",
        "Platform team",
        "--url",
        "https://mcp.example.com/mcp",
        "--token-env",
        "REMOTE_TOKEN",
    ])
    .expect_code(0);
    p.run(&["add", "unreviewed", "--owner", "Platform team", "--", "uvx", "x==1.0"]).expect_code(0);
    let catalog = json!({"server": {"name": "remote", "version": "1"}, "tools": [{"name": "search", "description": "Search."}]});
    let path = p.catalog("catalogs/remote.json", &catalog);
    p.run(&["review", "remote", "--catalog", &path, "--approve"]).expect_code(0);
    for (client, file) in
        [("claude-code", ".mcp.json"), ("vscode", ".vscode/mcp.json"), ("codex", ".codex/config.toml")]
    {
        let target = p.root.join("export").join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        p.run(&["export", "--client", client, "-o", target.to_str().unwrap()]).expect_code(0);
        let run = p.run(&["discover", "--no-home", "--project", "export", "--format", "json"]);
        let doc = run.json();
        let servers: Vec<(String, String)> = doc["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap().to_owned(), s["standing"].as_str().unwrap().to_owned()))
            .collect();
        // The approved servers only, each read back as the very launch registered.
        assert_eq!(
            servers,
            [("demo".to_owned(), "registered".to_owned()), ("remote".to_owned(), "registered".to_owned())],
            "{client}: {}",
            std::fs::read_to_string(&target).unwrap()
        );
        std::fs::remove_dir_all(p.root.join("export")).unwrap();
    }
    let codex = p.run(&["export", "--client", "codex"]).expect_code(0).stdout;
    let parsed: toml::Value = toml::from_str(&codex).unwrap();
    let mut tools: Vec<&str> = parsed["mcp_servers"]["demo"]["enabled_tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tools.sort_unstable();
    assert_eq!(tools, ["list_notes", "read_note"], "only approved tools: {codex}");
    assert_eq!(parsed["mcp_servers"]["remote"]["bearer_token_env_var"].as_str(), Some("REMOTE_TOKEN"));
    let allowlist = p.run(&["export", "--client", "allowlist"]).expect_code(0).json();
    assert_eq!(
        allowlist,
        json!({"allowedMcpServers": [{"serverCommand": ["node", "server.js"]}, {"serverUrl": "https://mcp.example.com/mcp"}]})
    );
    let vscode = p.run(&["export", "--client", "vscode"]).expect_code(0).stdout;
    assert!(vscode.contains("${env:REMOTE_TOKEN}") && !vscode.contains("unreviewed"), "{vscode}");
}

#[test]
fn an_env_file_or_working_directory_is_part_of_the_launch() {
    let registered =
        json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2025.8.4"]});
    for (key, value) in [("envFile", "${workspaceFolder}/.env"), ("cwd", "/tmp/evil")] {
        let mut entry = registered.clone();
        entry[key] = json!(value);
        let p = project(json!({"memory": entry}));
        let run = p.run(&["discover", "--no-home", "--format", "json"]).expect_code(1);
        assert_eq!(standings(&run), [("memory".to_owned(), "differs".to_owned())], "{key}");
    }
}
