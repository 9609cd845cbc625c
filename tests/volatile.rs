//! Volatile metadata end to end (issue 20): a fixture server that computes two schema
//! defaults at start, through `fetch --repeat`, a reviewed `[digest]` exclusion, and
//! every command that digests (check --live, diff, lock, verify --live, guard) — and the
//! real `@currents/mcp` when the workspace's `../shared` and the test servers are there.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Project;
use serde_json::{json, Value};

const FROM: &str = "/tools/list_runs/inputSchema/properties/from/default";
const TO: &str = "/tools/list_runs/inputSchema/properties/to/default";

fn fixture(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative).display().to_string()
}

/// A registry with the volatile fixture registered as `vol` (its variant file in the
/// project), its catalog approved as first fetched, and locked.
struct Setup {
    p: Project,
    variant: PathBuf,
}

/// A project whose only server is the one a test adds (`check --live` starts them all).
fn project() -> Project {
    let p = Project::new();
    std::fs::remove_dir_all(p.registry().join("servers/demo")).unwrap();
    p.commit_all("only the server under test");
    p
}

fn setup() -> Setup {
    let p = project();
    let variant = p.root.join("variant");
    let server = fixture("servers/volatile_server.py");
    let variant_arg = variant.display().to_string();
    p.run(&["add", "vol", "--owner", "QA", "--", "python3", &server, &variant_arg]).expect_code(0);
    p.commit_all("add vol");
    p.run(&["fetch", "vol", "-o", "vol.json"]).expect_code(0);
    p.run(&["review", "vol", "--catalog", "vol.json", "--approve"]).expect_code(0);
    p.run(&["lock"]).expect_code(0);
    p.commit_all("lock");
    Setup { p, variant }
}

impl Setup {
    fn toml(&self) -> PathBuf {
        self.p.registry().join("servers/vol/server.toml")
    }

    fn lock(&self) -> String {
        self.p.registry().join("toolreg.lock").display().to_string()
    }

    fn add_to_toml(&self, text: &str) {
        let mut toml = std::fs::read_to_string(self.toml()).unwrap();
        toml.push_str(text);
        std::fs::write(self.toml(), toml).unwrap();
    }

    /// Excludes the two computed defaults, locks and commits: the approved state most
    /// tests start from.
    fn exclude_the_defaults_and_lock(&self) {
        self.add_to_toml(&format!("\n[digest]\nexclude = [\"{FROM}\", \"{TO}\"]\n"));
        self.p.run(&["lock"]).expect_code(0);
        self.p.commit_all("exclude");
    }

    /// One guard session: list the tools, call list_runs. (listed names, call answer).
    fn guard(&self) -> (Vec<String>, String) {
        let script = self.p.root.join("script.json");
        let steps = json!([{"list": "tools"}, {"call": "list_runs", "arguments": {"project": "p"}}]);
        std::fs::write(&script, steps.to_string()).unwrap();
        let output = Command::new("python3")
            .arg(fixture("mcp_client.py"))
            .args(["--era", "legacy", "--elicitation", "never", "--timeout", "10"])
            .arg(&script)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_toolreg"))
            .args(["guard", "--lock", &self.lock(), "--server", "vol", "--", "python3"])
            .arg(fixture("servers/volatile_server.py"))
            .arg(&self.variant)
            .current_dir(&self.p.root)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("\"done\": true"), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        let lines: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let step = |i: u64| lines.iter().find(|l| l["step"] == i).cloned().unwrap_or_default();
        let listed = step(0)["response"]["result"]["tools"]
            .as_array()
            .map(|tools| tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let answer =
            step(1)["response"]["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned();
        (listed, answer)
    }
}

fn valid_json_v1(document: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report-v1.schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(document).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn computed_defaults_pinned_with_a_reviewed_exclusion() {
    let s = setup();
    let p = &s.p;
    // Without an exclusion every start drifts, at every gate.
    let check = p.run(&["check", "--live", "--format", "json"]).expect_code(1).json();
    let rules: Vec<&str> =
        check["findings"].as_array().unwrap().iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(rules.contains(&"PIN002"), "{rules:?}");
    p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(1);
    let (listed, answer) = s.guard();
    assert!(
        !listed.contains(&"list_runs".to_owned()) && listed.contains(&"get_run".to_owned()),
        "{listed:?}"
    );
    assert!(!answer.contains("list_runs ok"), "{answer}");

    // The repeat fetch finds exactly the two computed defaults and proposes them.
    let found = p.run(&["fetch", "vol", "--repeat", "3"]).expect_code(0).stdout;
    assert!(found.contains("Fetched 3 times: 2 pointer(s) differ"), "{found}");
    assert_eq!(found.matches("fetch 3: \"").count(), 2, "{found}");
    let proposal = &found[found.find("[digest]").expect("a proposal")..];
    assert_eq!(proposal.trim(), format!("[digest]\nexclude = [\n  \"{FROM}\",\n  \"{TO}\",\n]"));

    // Reviewed like any policy: committed, then locked.
    s.add_to_toml(&format!("\n{proposal}"));
    p.commit_all("exclude the computed defaults of list_runs");
    p.run(&["lock", "--check"]).expect_code(1);
    p.run(&["lock"]).expect_code(0);
    p.commit_all("lock");
    let lock: Value = serde_json::from_str(&std::fs::read_to_string(s.lock()).unwrap()).unwrap();
    assert_eq!(lock["servers"]["vol"]["digest"]["exclude"], json!([FROM, TO]));

    // Now every gate passes across restarts.
    for _ in 0..2 {
        p.run(&["check", "--live"]).expect_code(0);
        p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(0);
        let (listed, answer) = s.guard();
        assert!(listed.contains(&"list_runs".to_owned()), "{listed:?}");
        assert_eq!(answer, "list_runs ok");
    }
    // diff shows the excluded changes, marked, and calls it no drift.
    let diff = p.run(&["diff", "vol", "--live", "--format", "json"]).expect_code(0).json();
    valid_json_v1(&diff);
    let ignored: Vec<&Value> =
        diff["drift"].as_array().unwrap().iter().filter(|d| d["change"] == "ignored").collect();
    assert_eq!(ignored.len(), 1, "{diff:#}");
    assert_eq!(
        ignored[0]["ignored"],
        json!([FROM.trim_start_matches("/tools/list_runs"), TO.trim_start_matches("/tools/list_runs")])
    );
    let human = p.run(&["diff", "vol", "--live", "--color", "never"]).expect_code(0).stdout;
    assert!(human.contains("ignored (server.toml [digest] leaves these out):"), "{human}");
    assert!(human.contains("/inputSchema/properties/from/default:"), "{human}");

    // A change to the description still fails every gate.
    std::fs::write(&s.variant, "description").unwrap();
    let check = p.run(&["check", "--live", "--format", "json"]).expect_code(1).json();
    let pin001 = common::findings(&check, Some("list_runs"), "PIN001");
    assert!(!pin001.is_empty(), "{check:#}");
    p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(1);
    let (listed, answer) = s.guard();
    assert!(!listed.contains(&"list_runs".to_owned()), "{listed:?}");
    assert!(!answer.contains("list_runs ok"), "{answer}");
    // diff shows the real change as drift and the excluded ones as ignored.
    let human = p.run(&["diff", "vol", "--live", "--color", "never"]).expect_code(1).stdout;
    assert!(human.contains("/description:") && human.contains("ignored (server.toml"), "{human}");
}

/// A hostile server that hides an instruction in the excluded value: the exclusion
/// keeps the value's type and length pinned, so every gate still fails.
#[test]
fn an_excluded_value_that_changes_its_shape_is_drift() {
    let s = setup();
    let p = &s.p;
    s.exclude_the_defaults_and_lock();
    p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(0);
    std::fs::write(&s.variant, "long-default").unwrap();
    p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(1);
    let check = p.run(&["check", "--live", "--format", "json"]).expect_code(1).json();
    assert!(!common::findings(&check, Some("list_runs"), "PIN002").is_empty(), "{check:#}");
    let (listed, answer) = s.guard();
    assert!(!listed.contains(&"list_runs".to_owned()), "{listed:?}");
    assert!(!answer.contains("list_runs ok"), "{answer}");
    let diff = p.run(&["diff", "vol", "--live", "--format", "json"]).expect_code(1).json();
    let changed = diff["drift"].as_array().unwrap().iter().find(|d| d["change"] == "changed").cloned();
    assert_eq!(
        changed.map(|c| c["fields"].clone()),
        Some(json!(["/inputSchema/properties/to/default"])),
        "{diff:#}"
    );
}

#[test]
fn the_lock_carries_the_exclusions_and_tampering_is_caught() {
    let s = setup();
    let p = &s.p;
    s.add_to_toml(&format!("\n[digest]\nexclude = [\"{FROM}\", \"{TO}\"]\n"));
    p.commit_all("exclude");
    p.run(&["lock"]).expect_code(0);
    p.commit_all("lock");
    p.run(&["lock", "--check"]).expect_code(0);
    p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(0);
    let pristine = std::fs::read_to_string(s.lock()).unwrap();

    // One exclusion dropped from the lock: lock --check sees it, and verify digests
    // with what the lock says — which no longer matches what is served.
    let mut lock: Value = serde_json::from_str(&pristine).unwrap();
    lock["servers"]["vol"]["digest"]["exclude"] = json!([FROM]);
    std::fs::write(s.lock(), serde_json::to_string_pretty(&lock).unwrap()).unwrap();
    let stale = p.run(&["lock", "--check"]).expect_code(1);
    let said = format!("{}{}", stale.stdout, stale.stderr);
    assert!(said.contains("vol: the lock differs from the approved pins"), "{said}");
    p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(1);

    // One widened to the description: refused when the lock is read.
    lock["servers"]["vol"]["digest"]["exclude"] = json!([FROM, "/tools/list_runs/description"]);
    std::fs::write(s.lock(), serde_json::to_string_pretty(&lock).unwrap()).unwrap();
    let refused = p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(2);
    assert!(refused.stderr.contains("/tools/list_runs/description"), "{}", refused.stderr);
    p.run(&["lock", "--check"]).expect_code(2);
    std::fs::write(s.lock(), pristine).unwrap();
    p.run(&["lock", "--check"]).expect_code(0);
}

#[test]
fn exclusions_of_text_names_or_whole_schemas_are_refused() {
    let s = setup();
    let p = &s.p;
    let pristine = std::fs::read_to_string(s.toml()).unwrap();
    for (pointer, why) in [
        ("/tools/list_runs/description", "text a model reads"),
        ("/tools/list_runs/name", "text a model reads"),
        ("/tools/list_runs/inputSchema/properties/from/description", "text a model reads"),
        ("/tools/list_runs/inputSchema", "a whole schema"),
        ("/tools/list_runs/inputSchema/properties/from", "a whole schema"),
        ("/tools/list_runs/annotations/readOnlyHint", "annotations"),
        ("/tools/*/inputSchema/properties/*/default", "at most one"),
    ] {
        std::fs::write(s.toml(), format!("{pristine}\n[digest]\nexclude = [\"{pointer}\"]\n")).unwrap();
        p.commit_all("widen");
        for args in [&["check", "--live"][..], &["lock"], &["diff", "vol", "--live"]] {
            let run = p.run(args).expect_code(2);
            assert!(
                run.stderr.contains(pointer) && run.stderr.contains(why),
                "{args:?} {pointer}: {}",
                run.stderr
            );
        }
    }
    // Nothing was written by the refused lock.
    std::fs::write(s.toml(), &pristine).unwrap();
    p.commit_all("back");
    p.run(&["lock", "--check"]).expect_code(0);
}

#[test]
fn set_like_arrays_compare_without_order_only_when_asked() {
    let s = setup();
    let p = &s.p;
    s.exclude_the_defaults_and_lock();
    p.run(&["check", "--live"]).expect_code(0);
    // The enum of get_run served in another order: drift while order counts.
    std::fs::write(&s.variant, "enum-order").unwrap();
    let check = p.run(&["check", "--live", "--format", "json"]).expect_code(1).json();
    assert!(!common::findings(&check, Some("get_run"), "PIN002").is_empty(), "{check:#}");
    s.add_to_toml("unordered = true\n");
    p.run(&["lock"]).expect_code(0);
    p.commit_all("unordered");
    p.run(&["check", "--live"]).expect_code(0);
    p.run(&["verify", "--lock", &s.lock(), "--live", "vol"]).expect_code(0);
    // A member added is still drift.
    std::fs::remove_file(&s.variant).unwrap();
    let mut catalog: Value = serde_json::from_str(&p.run(&["fetch", "vol"]).expect_code(0).stdout).unwrap();
    for tool in catalog["tools"].as_array_mut().unwrap().iter_mut().filter(|t| t["name"] == "get_run") {
        tool["inputSchema"]["properties"]["status"]["enum"] =
            json!(["failed", "passed", "skipped", "purged"]);
    }
    let path = p.catalog("more.json", &catalog);
    let diff = p.run(&["diff", "vol", "--catalog", &path, "--format", "json"]).expect_code(1).json();
    let changed: Vec<&Value> =
        diff["drift"].as_array().unwrap().iter().filter(|d| d["change"] == "changed").collect();
    assert_eq!(changed.len(), 1, "{diff:#}");
    assert_eq!(changed[0]["fields"], json!(["/inputSchema/properties/status/enum"]));
}

/// The real `@currents/mcp` (its version from ../shared/corpus/real-world/servers.tsv):
/// two starts drift; with the exclusion, `check --live` passes twice.
#[test]
fn the_real_currents_server_pins_with_one_exclusion() {
    let Some(tsv) = common::shared("corpus/real-world/servers.tsv") else { return };
    let Some(servers) = std::env::var_os("TOOLREG_TEST_SERVERS") else {
        eprintln!("skipping: TOOLREG_TEST_SERVERS is unset (run .ci/install-servers, as .ci/run does)");
        return;
    };
    let row = std::fs::read_to_string(tsv).unwrap();
    let wanted = row
        .lines()
        .find(|l| l.starts_with("currents-mcp\t"))
        .and_then(|l| l.rsplit('@').next())
        .expect("currents-mcp in servers.tsv")
        .to_owned();
    let package = Path::new(&servers).join("currents/node_modules/@currents/mcp");
    let installed: Value =
        serde_json::from_str(&std::fs::read_to_string(package.join("package.json")).unwrap()).unwrap();
    assert_eq!(installed["version"], wanted.as_str(), "install the version servers.tsv names");

    let p = project();
    let entry = package.join("build/index.js").display().to_string();
    p.run(&["add", "currents", "--owner", "QA", "--env", "CURRENTS_API_KEY", "--", "node", &entry])
        .expect_code(0);
    p.commit_all("add currents");
    let env = [("CURRENTS_API_KEY", "x")];
    p.run_env(&["fetch", "currents", "-o", "currents.json"], &env).expect_code(0);
    p.run_env(&["review", "currents", "--catalog", "currents.json", "--approve"], &env).expect_code(0);
    p.commit_all("review");
    p.run_env(&["check", "--live"], &env).expect_code(1);
    let found = p.run_env(&["fetch", "currents", "--repeat", "2"], &env).expect_code(0).stdout;
    assert!(
        found.contains("/tools/currents-get-spec-files-performance/inputSchema/properties/from/default"),
        "{found}"
    );
    // The date-only defaults of another tool move at midnight (UTC): the exclusion
    // names the two properties of any tool.
    let toml = p.registry().join("servers/currents/server.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(
        "\n[digest]\nexclude = [\"/tools/*/inputSchema/properties/from/default\", \"/tools/*/inputSchema/properties/to/default\"]\n",
    );
    std::fs::write(&toml, text).unwrap();
    p.commit_all("exclude the computed date range");
    for _ in 0..2 {
        p.run_env(&["check", "--live"], &env).expect_code(0);
    }
}
