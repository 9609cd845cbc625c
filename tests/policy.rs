//! The runtime policy at guard, end to end: a scripted MCP client (Python, both eras,
//! with and without elicitation) through `toolreg guard` to a fixture server that
//! records every request it receives — so a refused call is one the server never saw.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Project;
use serde_json::{json, Value};

fn fixture(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative).display().to_string()
}

/// A registry with the policy fixture registered, its runtime limits set, its tools
/// approved and locked; a home with `~/.ssh`; a data folder (the allowed root) with a
/// link that leaves it.
struct Setup {
    p: Project,
    lock: PathBuf,
    home: PathBuf,
    data: PathBuf,
    runs: AtomicUsize,
}

const PLANTED: &str = "planted-secret-value-4f1c";

fn setup() -> Setup {
    let p = Project::new();
    let fetch_calls = p.root.join("fetch-calls").display().to_string();
    let server = fixture("servers/policy_server.py");
    p.run(&["add", "policy", "--owner", "QA", "--", "python3", &server, &fetch_calls]).expect_code(0);
    let data = p.root.join("data");
    let outside = p.root.join("outside");
    let home = p.root.join("home");
    for dir in [&data, &outside, &home.join(".ssh")] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(data.join("notes.txt"), "notes").unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "key").unwrap();
    std::os::unix::fs::symlink(&outside, data.join("link")).unwrap();
    let toml = p.registry().join("servers/policy/server.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(&format!(
        "\n[runtime]\nallowed-hosts = [\"api.example.com\"]\nallowed-roots = [{:?}]\n\n[runtime.tools]\nwipe = \"deny\"\n",
        data.display().to_string()
    ));
    std::fs::write(&toml, text).unwrap();
    let config = p.registry().join("toolreg.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("# tenant = \"acme-prod\"", "tenant = \"acme-test\"")).unwrap();
    p.commit_all("runtime policy");
    p.run(&["fetch", "policy", "-o", "policy.json"]).expect_code(0);
    p.run(&["review", "policy", "--catalog", "policy.json", "--approve"]).expect_code(0);
    p.run(&["lock"]).expect_code(0);
    p.commit_all("lock");
    let lock = p.registry().join("toolreg.lock");
    Setup { p, lock, home, data, runs: AtomicUsize::new(0) }
}

/// What one scripted session gave: its step lines, the requests the server received,
/// and the audit log's lines.
struct Session {
    steps: Vec<Value>,
    received: Vec<Value>,
    audit: Vec<Value>,
}

impl Session {
    /// The names of the tools/call the server received.
    fn called(&self) -> Vec<String> {
        self.received
            .iter()
            .filter(|r| r["method"] == "tools/call")
            .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The text guard (or the server) answered step `i` with, and whether it is an error.
    fn answer(&self, i: usize) -> (String, bool) {
        let result = &self.steps[i]["response"]["result"];
        let text = result["content"][0]["text"].as_str().unwrap_or_default().to_owned();
        (text, result["isError"] == true)
    }
}

impl Setup {
    fn run(&self, era: &str, elicitation: &str, script: Value) -> Session {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        let dir = &self.p.root;
        let script_path = dir.join(format!("script-{n}.json"));
        std::fs::write(&script_path, script.to_string()).unwrap();
        let calls = dir.join(format!("calls-{n}"));
        let audit = dir.join(format!("audit-{n}.log"));
        let output = Command::new("python3")
            .arg(fixture("mcp_client.py"))
            .args(["--era", era, "--elicitation", elicitation, "--timeout", "10"])
            .arg(&script_path)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_toolreg"))
            .args(["guard", "--lock"])
            .arg(&self.lock)
            .args(["--server", "policy", "--user", "alice", "--ask-timeout", "1", "--audit-log"])
            .arg(&audit)
            .args(["--", "python3", &fixture("servers/policy_server.py")])
            .arg(&calls)
            .current_dir(dir)
            .env("HOME", &self.home)
            .env_remove("TOOLREG_AUDIT_KEY_FILE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("\"done\": true"),
            "the client did not finish:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let lines = |text: &str| -> Vec<Value> {
            text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
        };
        let steps = lines(&stdout).into_iter().filter(|l: &Value| l.get("step").is_some()).collect();
        let received = lines(&std::fs::read_to_string(&calls).unwrap_or_default());
        let audit = lines(&std::fs::read_to_string(&audit).unwrap_or_default());
        Session { steps, received, audit }
    }

    fn path(&self, relative: &str) -> String {
        self.data.join(relative).display().to_string()
    }
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"call": name, "arguments": arguments})
}

/// The message of the question a step carried (legacy: the request's params; modern:
/// the input request).
fn question(step: &Value) -> String {
    let asked = &step["elicitations"][0];
    let params = if asked.get("method").is_some() { &asked["params"] } else { asked };
    params["message"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn ask_goes_through_the_client_in_both_eras() {
    let s = setup();
    for era in ["legacy", "modern"] {
        for mode in ["accept", "decline", "cancel", "never", "undeclared"] {
            let target = s.path("old.txt");
            let script = json!([{"list": "tools"}, call("delete_file", json!({"path": target}))]);
            let session = s.run(era, mode, script);
            let step = &session.steps[1];
            let asked = mode != "undeclared";
            assert_eq!(
                step["elicitations"].as_array().map(Vec::len),
                Some(usize::from(asked)),
                "{era} {mode}: {step}"
            );
            if asked {
                let message = question(step);
                assert!(
                    message.contains("delete_file") && message.contains("old.txt"),
                    "{era} {mode}: {message}"
                );
            }
            let (text, is_error) = session.answer(1);
            match mode {
                "accept" => {
                    assert_eq!((text.as_str(), is_error), ("delete_file ok", false), "{era}: {step}");
                    assert_eq!(session.called(), ["delete_file"], "{era}");
                }
                "never" if era == "modern" => {
                    // The client never retried: nothing reached the server.
                    assert_eq!(step["no_retry"], true, "{step}");
                    assert_eq!(step["response"]["result"]["resultType"], "input_required");
                    assert!(session.called().is_empty());
                }
                _ => {
                    let expected = match mode {
                        "decline" => "declined",
                        "cancel" => "cancelled",
                        "never" => "in time",
                        _ => "cannot ask",
                    };
                    assert!(is_error && text.contains(expected), "{era} {mode}: {step}");
                    assert!(
                        session.called().is_empty(),
                        "{era} {mode}: the server got {:?}",
                        session.called()
                    );
                }
            }
        }
    }
}

#[test]
fn arguments_are_checked_before_they_reach_the_server() {
    let s = setup();
    let script = json!([
        {"list": "tools"},
        call("echo", json!({})),
        call("echo", json!({"text": 5})),
        call("echo", json!({"text": "hi", "extra": 1})),
        call("echo", json!({"text": "hi"})),
        call("fetch_url", json!({"url": "https://evil.example/x"})),
        call("fetch_url", json!({"url": "https://API.example.com/v1"})),
        call("read_file", json!({"path": format!("{}/../outside/secret.txt", s.data.display())})),
        call("read_file", json!({"path": s.path("link/secret.txt")})),
        call("read_file", json!({"path": "~/.ssh/id_rsa"})),
        call("read_file", json!({"path": s.path("notes.txt")})),
        call("wipe", json!({})),
    ]);
    let session = s.run("legacy", "accept", script);
    assert_eq!(session.called(), ["echo", "fetch_url", "read_file"], "only the valid, allowed calls arrive");
    let expect = [
        (1, "schema"),
        (2, "schema"),
        (3, "schema"),
        (5, "names a host that allowed-hosts does not list"),
        (7, "outside allowed-roots"),
        (8, "outside allowed-roots"),
        (9, "inside the denied path"),
        (11, "the runtime policy denies wipe"),
    ];
    for (step, needle) in expect {
        let (text, is_error) = session.answer(step);
        assert!(is_error, "step {step} passed: {}", session.steps[step]);
        let needle = if needle == "schema" { "do not match the approved inputSchema" } else { needle };
        assert!(text.contains(needle), "step {step}: {text}");
    }
    for (step, needle) in [(7, "/path"), (9, "/path"), (5, "/url")] {
        assert!(
            session.answer(step).0.contains(needle),
            "the refusal names the argument: {}",
            session.answer(step).0
        );
    }
    for step in [4, 6, 10] {
        assert!(!session.answer(step).1, "step {step} refused: {}", session.steps[step]);
    }
    // Each refusal is in the audit log with the rule that made it.
    let rules: Vec<&str> = session
        .audit
        .iter()
        .filter(|l| l["decision"] == "deny")
        .map(|l| l["rule"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        rules,
        [
            "schema",
            "schema",
            "schema",
            "allowed-hosts",
            "allowed-roots",
            "allowed-roots",
            "denied-paths",
            "server.toml"
        ]
    );
}

#[test]
fn after_list_changed_guard_lists_again_and_refuses_until_it_has_verified() {
    let s = setup();
    for era in ["legacy", "modern"] {
        let script = json!([
            {"list": "tools"},
            call("echo", json!({"text": "a"})),
            call("touch", json!({})),
            {"expect_notification": "notifications/tools/list_changed", "within": 5},
            {"sleep": 0.5},
            call("echo", json!({"text": "b"})),
            call("mutate", json!({})),
            {"expect_notification": "notifications/tools/list_changed", "within": 5},
            {"sleep": 0.5},
            call("echo", json!({"text": "c"})),
        ]);
        let session = s.run(era, "accept", script);
        // Unchanged after touch: verified again by guard's own listing, and served.
        assert!(!session.answer(5).1, "{era}: {}", session.steps[5]);
        // Changed by mutate: refused, although the client never listed again.
        let (text, is_error) = session.answer(9);
        assert!(is_error && text.contains("not served at its approved digest"), "{era}: {text}");
        assert_eq!(session.called(), ["echo", "touch", "echo", "mutate"], "{era}");
        let lists: Vec<&Value> = session.received.iter().filter(|r| r["method"] == "tools/list").collect();
        let own = lists
            .iter()
            .filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with("toolreg-guard-list-")))
            .count();
        assert_eq!((lists.len(), own), (3, 2), "{era}: the client listed once, guard twice: {lists:?}");
    }
}

#[test]
fn the_audit_log_answers_who_what_and_why_without_arguments() {
    let s = setup();
    let body = format!("the password is {PLANTED} and the key ghp_0123456789abcdefghijklmnopqrstuvwxyz");
    let script = json!([
        {"list": "tools"},
        call("send_email", json!({"to": "bob@example.com", "body": body})),
        call("echo", json!({"text": PLANTED})),
        call("read_file", json!({"path": format!("~/.ssh/{PLANTED}")})),
        call("echo", json!({"text": PLANTED, PLANTED: 1})),
        call("wipe", json!({})),
        call("wipe", json!({})),
    ]);
    let session = s.run("legacy", "accept", script);
    // The question shows the arguments, the secrets redacted.
    let message = question(&session.steps[1]);
    assert!(message.contains("bob@example.com") && message.contains("\u{27E8}redacted\u{27E9}"), "{message}");
    assert!(!message.contains(PLANTED) && !message.contains("ghp_0123"), "{message}");
    assert_eq!(session.called(), ["send_email", "echo"]);
    assert!(
        session.answer(4).0.contains("argument /text does not match")
            || session.answer(4).0.contains("the arguments does not match"),
        "{}",
        session.answer(4).0
    );

    let lock: Value = serde_json::from_str(&std::fs::read_to_string(&s.lock).unwrap()).unwrap();
    let commit = lock["registryCommit"].as_str().unwrap().to_owned();
    assert!(!session.audit.is_empty());
    for line in &session.audit {
        let text = line.to_string();
        assert!(!text.contains(PLANTED) && !text.contains("ghp_0123"), "an argument reached the log: {text}");
        for field in [
            "time",
            "correlation",
            "session",
            "event",
            "user",
            "server",
            "rule",
            "decision",
            "approval",
            "reason",
            "latencyMs",
        ] {
            assert!(line.get(field).is_some(), "{field} missing: {text}");
        }
        assert_eq!(line["user"], "alice");
        assert_eq!(line["tenant"], "acme-test");
        assert_eq!(line["registryCommit"], commit.as_str());
        assert_eq!(line["server"], "policy");
    }
    let calls: Vec<&Value> =
        session.audit.iter().filter(|l| l["kind"] == "tool" && l["tool"] == "send_email").collect();
    let decided: Vec<(&str, &str, &str)> = calls
        .iter()
        .filter(|l| {
            l["event"] == "decision" && l["correlation"].as_str().is_some_and(|c| !c.ends_with(":null"))
        })
        .map(|l| {
            (l["decision"].as_str().unwrap(), l["approval"].as_str().unwrap(), l["rule"].as_str().unwrap())
        })
        .collect();
    assert!(decided.contains(&("ask", "not asked", "class:sends")), "{decided:?}");
    assert!(decided.contains(&("allow", "approved", "class:sends")), "{decided:?}");
    let outcome = calls.iter().find(|l| l["event"] == "outcome").expect("an outcome line");
    assert_eq!((outcome["outcome"].as_str(), outcome["approval"].as_str()), (Some("ok"), Some("approved")));
    assert_eq!(outcome["client"]["name"], "scripted-client");
    assert_eq!(outcome["client"]["version"], "0.1");
    assert!(outcome["digest"].as_str().is_some_and(|d| d.starts_with("sha256:")));
    assert!(outcome["result"]["sha256"].as_str().is_some_and(|h| h.len() == 64));
    assert!(outcome["callMs"].as_f64().is_some());
    let decision = calls.iter().find(|l| l["approval"] == "approved" && l["event"] == "decision").unwrap();
    assert!(decision["arguments"]["bytes"].as_u64().is_some_and(|b| b > 0));

    // The export: the chain verified, then JSON, CSV and a summary of denials.
    let audit = s.p.root.join("audit-0.log").display().to_string();
    let json = s.p.run(&["log", "--audit", &audit, "--format", "json"]).expect_code(0).json();
    assert_eq!(json["entries"].as_array().map(Vec::len), Some(session.audit.len()));
    let denials = &json["summary"]["denials"][0];
    assert_eq!((denials["item"].as_str(), denials["count"].as_u64()), (Some("wipe"), Some(2)), "{json:#}");
    let csv = s.p.run(&["log", "--audit", &audit, "--format", "csv"]).expect_code(0).stdout;
    assert!(csv.starts_with("\"seq\",\"time\",\"correlation\""), "{csv}");
    assert_eq!(csv.lines().count(), session.audit.len() + 1);
    assert!(!csv.contains(PLANTED));
    let human = s.p.run(&["log", "--audit", &audit]).expect_code(0).stdout;
    assert!(human.contains("policy wipe scripted-client: 2 (server.toml)  ← repeated"), "{human}");
    // A tampered log is not exported.
    let text = std::fs::read_to_string(&audit).unwrap();
    std::fs::write(&audit, text.replacen("\"deny\"", "\"allow\"", 1)).unwrap();
    let run = s.p.run(&["log", "--audit", &audit, "--format", "csv"]).expect_code(1);
    assert!(run.stdout.contains("tampered") && !run.stdout.contains("\"seq\""), "{}", run.stdout);
}
