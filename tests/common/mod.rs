//! The test harness: run the real `toolreg` binary with a scrubbed environment.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use assert_cmd::Command;

/// An insta snapshot stored in the top-level `snapshots/`, the tool version masked.
#[allow(unused_macros)]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            filters => vec![(r#""toolVersion": "[^"]+""#, r#""toolVersion": "[version]""#)],
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// Result of one run: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON document on stdout.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }
}

/// `toolreg ARGS…` run from the repository root, with no colour or CI variables.
pub fn toolreg(args: &[&str]) -> Run {
    run_with_stdin(args, None)
}

/// As [`toolreg`], feeding `stdin`.
pub fn run_with_stdin(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = Command::cargo_bin("toolreg").expect("the toolreg binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("TOOLREG_REGISTRY")
        .env_remove("TOOLREG_AUDIT_KEY_FILE")
        .args(args);
    match stdin {
        Some(bytes) => {
            cmd.write_stdin(bytes);
        }
        None => {
            cmd.write_stdin(Vec::new());
        }
    }
    let output = cmd.output().expect("toolreg runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `../shared/<rel>` beside the repository, when this checkout has it.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("shared").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} is absent (a fresh clone outside the workspace)", path.display());
        None
    }
}

/// The findings of a JSON report for `tool` (`None` = server level) and `rule`.
pub fn findings<'a>(
    report: &'a serde_json::Value,
    tool: Option<&str>,
    rule: &str,
) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["rule"] == rule && f["tool"].as_str() == tool)
        .collect()
}

/// `toolreg ARGS…` run in `dir`, with extra environment variables.
pub fn toolreg_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = Command::cargo_bin("toolreg").expect("the toolreg binary is built");
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("TOOLREG_REGISTRY")
        .env_remove("TOOLREG_AUDIT_KEY_FILE")
        .env_remove("TOOLREG_FAILPOINT")
        .envs(envs.iter().copied())
        .args(args)
        .write_stdin(Vec::new());
    let output = cmd.output().expect("toolreg runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub const ADA: &str = "Ada Reviewer <ada@example.com>";

/// A git repository with a registry and one registered server, `demo`.
pub struct Project {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let repo = git2::Repository::init(&root).unwrap();
        let mut config = repo.config().unwrap();
        config.set_str("user.name", "Ada Reviewer").unwrap();
        config.set_str("user.email", "ada@example.com").unwrap();
        let project = Project { _dir: dir, root };
        project.run(&["init"]).expect_code(0);
        project
            .run(&["add", "demo", "--owner", "Platform team", "--approver", ADA, "--", "node", "server.js"])
            .expect_code(0);
        project
    }

    pub fn run(&self, args: &[&str]) -> Run {
        toolreg_in(&self.root, args, &[])
    }

    pub fn run_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        toolreg_in(&self.root, args, envs)
    }

    /// Writes a catalog file and returns its path (as a string for argv).
    pub fn catalog(&self, name: &str, value: &Value) -> String {
        let path = self.root.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        path.display().to_string()
    }

    pub fn registry(&self) -> PathBuf {
        self.root.join("registry")
    }

    pub fn repo(&self) -> git2::Repository {
        git2::Repository::open(&self.root).unwrap()
    }

    /// Commits every file of the working tree (`git add -A && git commit`): what a
    /// person does by hand, and what CI then checks out.
    pub fn commit_all(&self, message: &str) {
        let repo = self.repo();
        let mut index = repo.index().unwrap();
        index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let signature = repo.signature().unwrap();
        let parent = repo.head().unwrap().peel_to_commit().unwrap();
        repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &[&parent]).unwrap();
    }
}

/// The `demo` server's first catalog: two tools, a header.
pub fn catalog_v1() -> Value {
    json!({
        "server": {"name": "demo", "version": "1.0.0"},
        "protocolVersion": "2025-11-25",
        "instructions": "Tools for reading notes.",
        "tools": [
            {"name": "read_note", "description": "Read a note by its title.",
             "inputSchema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
             "annotations": {"readOnlyHint": true}},
            {"name": "list_notes", "description": "List the titles of all notes.",
             "inputSchema": {"type": "object", "properties": {}}}
        ]
    })
}
