//! Crash consistency of registry writes (README "Writes"; store.rs): a `review` stopped
//! at every step (TOOLREG_CRASHPOINT) or killed with SIGKILL at random moments leaves
//! the registry old or new — never half — once `toolreg recover` (or any writing
//! command) has run, and `check` never passes on a state in between.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{catalog_v1, Project};
use serde_json::{json, Value};

/// `n` tools, each described `"<prefix> tool <i>."`.
fn catalog(n: usize, prefix: &str) -> Value {
    let mut catalog = catalog_v1();
    catalog["tools"] = Value::Array(
        (0..n)
            .map(|i| {
                json!({"name": format!("tool_{i:04}"), "description": format!("{prefix} tool {i}."),
                       "inputSchema": {"type": "object", "properties": {}}})
            })
            .collect(),
    );
    catalog
}

/// A project with `n` tools approved at v1, HEAD committed, and `catalogs/demo.json`
/// holding v2 (every tool changed). Returns the v2 path and the old HEAD.
fn project(n: usize) -> (Project, String, git2::Oid) {
    let p = Project::new();
    let v1 = p.catalog("v1.json", &catalog(n, "First"));
    p.run(&["review", "demo", "--catalog", &v1, "--approve", "--note", "v1"]).expect_code(0);
    std::fs::create_dir(p.root.join("catalogs")).unwrap();
    let v2 = p.catalog("catalogs/demo.json", &catalog(n, "Second"));
    p.commit_all("catalogs");
    let old = p.repo().head().unwrap().target().unwrap();
    (p, v2, old)
}

fn review_args(v2: &str) -> Vec<&str> {
    vec!["review", "demo", "--catalog", v2, "--approve", "--note", "v2"]
}

fn check_code(p: &Project) -> i32 {
    let run = p.run(&["check", "--catalogs", "catalogs"]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.code
}

/// Files under registry/ that differ from HEAD (index or working tree) or are untracked.
fn uncommitted(p: &Project) -> Vec<String> {
    let repo = p.repo();
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).pathspec("registry");
    let statuses = repo.statuses(Some(&mut options)).unwrap();
    statuses.iter().map(|s| format!("{:?} {}", s.status(), s.path().unwrap())).collect()
}

fn journal(p: &Project) -> PathBuf {
    p.root.join(".git/toolreg-transaction")
}

/// What HEAD is: the old commit, a complete new review commit on it, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    Old,
    New,
}

fn head(p: &Project, old: git2::Oid, expected_paths: &BTreeSet<String>) -> Head {
    let repo = p.repo();
    let commit = repo.head().unwrap().peel_to_commit().unwrap();
    if commit.id() == old {
        return Head::Old;
    }
    assert_eq!(commit.parent_id(0).unwrap(), old, "HEAD is neither the old commit nor a child of it");
    assert!(commit.message().unwrap().starts_with("review(demo): approve"), "{:?}", commit.message());
    let parent = commit.parent(0).unwrap().tree().unwrap();
    let diff = repo.diff_tree_to_tree(Some(&parent), Some(&commit.tree().unwrap()), None).unwrap();
    let paths: BTreeSet<String> =
        diff.deltas().map(|d| d.new_file().path().unwrap().display().to_string()).collect();
    assert_eq!(&paths, expected_paths, "HEAD is a partial commit");
    Head::New
}

/// After recovery the registry must be exactly old or new, clean, and checked as such.
fn assert_old_or_new(p: &Project, old: git2::Oid, expected: &BTreeSet<String>, what: &str) -> Head {
    assert!(!journal(p).exists(), "{what}: the journal is still there");
    let state = head(p, old, expected);
    assert_eq!(uncommitted(p), Vec::<String>::new(), "{what}: registry files differ from HEAD ({state:?})");
    let want = if state == Head::New { 0 } else { 1 };
    assert_eq!(check_code(p), want, "{what}: check on the {state:?} state");
    state
}

fn reset(p: &Project, old: git2::Oid) {
    // A kill while git held the index lock (a stat refresh outside any journal, say)
    // leaves `index.lock` behind on an otherwise exact state; no toolreg runs now.
    let _ = std::fs::remove_file(p.root.join(".git/index.lock"));
    let repo = p.repo();
    let commit = repo.find_object(old, None).unwrap();
    repo.reset(&commit, git2::ResetType::Hard, None).unwrap();
    assert_eq!(uncommitted(p), Vec::<String>::new(), "reset left something");
}

/// The paths a complete review of `n` changed tools commits.
fn expected_paths(n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("registry/servers/demo/tools/tool_{i:04}.json")).collect()
}

/// Each step of the write, stopped dead: the registry is old or new after recovery,
/// and nothing in between passes `check` or is read by `diff`.
#[test]
fn a_review_stopped_at_each_step_is_recovered_to_old_or_new() {
    let expected = expected_paths(6);
    for (point, after) in [
        ("objects", Head::Old),
        ("journal", Head::Old),
        ("ref", Head::New),
        ("index", Head::New),
        ("worktree:1", Head::New),
        ("worktree:4", Head::New),
        ("done", Head::New),
    ] {
        let (p, v2, old) = project(6);
        let run = p.run_env(&review_args(&v2), &[("TOOLREG_CRASHPOINT", point)]);
        assert_eq!(run.code, 86, "{point}: did not stop there: {}", run.stderr);
        if point == "objects" {
            // Nothing visible changed: exactly the old state, no journal.
            assert!(!journal(&p).exists());
            assert_old_or_new(&p, old, &expected, point);
        } else {
            assert!(journal(&p).exists(), "{point}: no journal");
            let check = p.run(&["check", "--catalogs", "catalogs"]).expect_code(2);
            assert!(check.stderr.contains("toolreg recover"), "{point}: {}", check.stderr);
            let diff = p.run(&["diff", "demo", "--catalog", &v2]).expect_code(2);
            assert!(diff.stderr.contains("interrupted toolreg write"), "{point}: {}", diff.stderr);
            let recovered = p.run(&["recover"]).expect_code(0);
            assert!(recovered.stdout.contains("recovered"), "{point}: {}", recovered.stdout);
        }
        let state = assert_old_or_new(&p, old, &expected, point);
        assert_eq!(state, after, "{point}");
        p.run(&["recover"]).expect_code(0);
        // And the review works (again, or finds nothing left to do).
        p.run(&review_args(&v2)).expect_code(0);
        assert_old_or_new(&p, old, &expected, point);
    }
}

/// Any writing command recovers first: a `review` after the crash finishes the
/// interrupted one, and `revoke` works on the result.
#[test]
fn the_next_writing_command_recovers() {
    let (p, v2, old) = project(4);
    p.run_env(&review_args(&v2), &[("TOOLREG_CRASHPOINT", "worktree:2")]).expect_code(86);
    let run = p.run(&review_args(&v2)).expect_code(0);
    assert!(run.stderr.contains("recovered an interrupted toolreg write"), "{}", run.stderr);
    assert!(run.stdout.contains("Nothing to review"), "{}", run.stdout);
    assert_eq!(assert_old_or_new(&p, old, &expected_paths(4), "review"), Head::New);
    p.run_env(&["revoke", "demo/tool_0001", "--reason", "x"], &[("TOOLREG_CRASHPOINT", "index")])
        .expect_code(86);
    let run = p.run(&["fmt"]).expect_code(0);
    assert!(run.stderr.contains("recovered an interrupted toolreg write"), "{}", run.stderr);
    assert!(!journal(&p).exists());
    assert_eq!(uncommitted(&p), Vec::<String>::new());
    let repo = p.repo();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert!(head.message().unwrap().starts_with("revoke(demo): tool_0001"), "{:?}", head.message());
    p.run(&["check", "--catalogs", "catalogs"]).expect_code(1); // REG006: revoked and served
}

/// Recovery never overwrites what someone changed after the crash: it refuses,
/// naming the file, writes nothing, and works once the file is restored.
#[test]
fn recovery_refuses_a_file_edited_since_the_crash() {
    let (p, v2, old) = project(4);
    p.run_env(&review_args(&v2), &[("TOOLREG_CRASHPOINT", "ref")]).expect_code(86);
    let pin = p.registry().join("servers/demo/tools/tool_0002.json");
    let before = std::fs::read(&pin).unwrap();
    std::fs::write(&pin, b"{\"mine\": true}\n").unwrap();
    for args in [vec!["recover"], review_args(&v2)] {
        let run = p.run(&args).expect_code(2);
        assert!(run.stderr.contains("tool_0002.json"), "{}", run.stderr);
        assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
        assert!(journal(&p).exists());
        assert_eq!(std::fs::read(&pin).unwrap(), b"{\"mine\": true}\n");
        let other = std::fs::read(p.registry().join("servers/demo/tools/tool_0001.json")).unwrap();
        assert!(String::from_utf8_lossy(&other).contains("First tool 1."), "another file was written");
    }
    p.run(&["check", "--catalogs", "catalogs"]).expect_code(2);
    std::fs::write(&pin, before).unwrap();
    p.run(&["recover"]).expect_code(0);
    assert_eq!(assert_old_or_new(&p, old, &expected_paths(4), "restored"), Head::New);
}

/// `check` cannot vouch for registry files that are not HEAD's: changed, staged,
/// untracked, or — what an interrupted write of an earlier toolreg left — a HEAD that
/// moved while the index and the working tree kept the old pins. `--staged` (for
/// pre-commit hooks) accepts a staged change only. Outside git there is no HEAD.
#[test]
fn check_never_passes_on_registry_files_that_differ_from_head() {
    let (p, v2, _old) = project(3);
    p.run(&review_args(&v2)).expect_code(0);
    p.run(&["check", "--catalogs", "catalogs"]).expect_code(0);
    let pin = p.registry().join("servers/demo/tools/tool_0001.json");
    let text = std::fs::read_to_string(&pin).unwrap();

    // Changed in the working tree (still passing on its own: only whitespace moved).
    std::fs::write(&pin, text.replace("\n", "\n ").trim_end().to_owned() + "\n").unwrap();
    let run = p.run(&["check", "--catalogs", "catalogs"]).expect_code(2);
    assert!(
        run.stderr.contains("tool_0001.json") && run.stderr.contains("differ from HEAD"),
        "{}",
        run.stderr
    );
    p.run(&["check", "--catalogs", "catalogs", "--staged"]).expect_code(2);
    // Staged: refused, except with --staged.
    let repo = p.repo();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("registry/servers/demo/tools/tool_0001.json")).unwrap();
    index.write().unwrap();
    p.run(&["check", "--catalogs", "catalogs"]).expect_code(2);
    let staged = p.run(&["check", "--catalogs", "catalogs", "--staged"]);
    assert_ne!(staged.code, 2, "{}", staged.stderr);
    std::fs::write(&pin, &text).unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("registry/servers/demo/tools/tool_0001.json")).unwrap();
    index.write().unwrap();
    p.run(&["check", "--catalogs", "catalogs"]).expect_code(0);

    // Untracked.
    std::fs::write(p.registry().join("servers/demo/tools/extra.json"), &text).unwrap();
    p.run(&["check", "--catalogs", "catalogs"]).expect_code(2);
    std::fs::remove_file(p.registry().join("servers/demo/tools/extra.json")).unwrap();
    p.run(&["check", "--catalogs", "catalogs"]).expect_code(0);

    // HEAD moved to a commit with other pins, index and working tree left behind.
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let mut builder = git2::Index::new().unwrap();
    builder.read_tree(&head.tree().unwrap()).unwrap();
    builder.remove_path(Path::new("registry/servers/demo/tools/tool_0002.json")).unwrap();
    let tree = repo.find_tree(builder.write_tree_to(&repo).unwrap()).unwrap();
    let signature = repo.signature().unwrap();
    repo.commit(Some("HEAD"), &signature, &signature, "moved", &tree, &[&head]).unwrap();
    let run = p.run(&["check", "--catalogs", "catalogs"]).expect_code(2);
    assert!(run.stderr.contains("tool_0002.json"), "{}", run.stderr);

    // A registry outside any git repository: nothing to compare with, checked as it is.
    let loose = tempfile::tempdir().unwrap();
    copy_dir(&p.registry(), &loose.path().join("registry"));
    copy_dir(&p.root.join("catalogs"), &loose.path().join("catalogs"));
    common::toolreg_in(loose.path(), &["check", "--catalogs", "catalogs"], &[]).expect_code(0);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Where a killed review stood, read from the journal, HEAD, the index and the files.
fn phase(p: &Project, old: git2::Oid, finished: bool) -> &'static str {
    let repo = p.repo();
    let at_old = repo.head().unwrap().target().unwrap() == old;
    let Ok(text) = std::fs::read(journal(p)) else {
        return match (finished, at_old) {
            (true, _) => "finished before the kill",
            (false, true) => "before the journal (loading, objects)",
            (false, false) => "after the journal was removed",
        };
    };
    if at_old {
        return "journal written, ref not moved";
    }
    let journal: Value = serde_json::from_slice(&text).unwrap();
    let index = repo.index().unwrap();
    let (mut index_new, mut files_new, mut total) = (0, 0, 0);
    for file in journal["files"].as_array().unwrap() {
        total += 1;
        let path = file["path"].as_str().unwrap();
        let new = git2::Oid::from_str(file["new"].as_str().unwrap()).unwrap();
        if index.get_path(Path::new(path), 0).is_some_and(|e| e.id == new) {
            index_new += 1;
        }
        if git2::Oid::hash_file(git2::ObjectType::Blob, p.root.join(path)).is_ok_and(|id| id == new) {
            files_new += 1;
        }
    }
    if index_new < total {
        "ref moved, index not written"
    } else if files_new < total {
        "index written, working tree partly written"
    } else {
        "working tree written, journal not removed"
    }
}

/// Tiny deterministic PRNG (xorshift), seeded from the clock and printed.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// SIGKILL at random moments of a `review --approve` of many changed tools: after
/// every kill, `check` fails (exit 2) unless the state is exactly old or new, and after
/// `toolreg recover` the registry is exactly old or new. Sizes: TOOLREG_KILL_TOOLS
/// (default 250) and TOOLREG_KILL_ITERATIONS (default 60); TOOLREG_KILL_SEED replays.
#[cfg(unix)]
#[test]
fn kill_loop_leaves_the_registry_old_or_new() {
    let env =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let tools = env("TOOLREG_KILL_TOOLS", 250) as usize;
    let iterations = env("TOOLREG_KILL_ITERATIONS", 60);
    let seed = env(
        "TOOLREG_KILL_SEED",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
    );
    let (p, v2, old) = project(tools);
    let expected = expected_paths(tools);

    // One uninterrupted run: how long the whole command takes.
    let started = Instant::now();
    p.run(&review_args(&v2)).expect_code(0);
    let mut full = started.elapsed();
    assert_eq!(assert_old_or_new(&p, old, &expected, "uninterrupted"), Head::New);
    reset(&p, old);

    let mut rng = Rng(seed);
    let mut phases: std::collections::BTreeMap<&str, u32> = Default::default();
    let (mut ended_old, mut ended_new, mut locks, mut check_refused) = (0, 0, 0, 0);
    for i in 0..iterations {
        // Half the kills anywhere in the run, half in its last quarter, where the
        // write itself happens (loading, diffing and scanning come first).
        let at = if i % 2 == 0 { rng.next_f64() * 1.05 } else { 0.75 + rng.next_f64() * 0.3 };
        let delay = full.mul_f64(at);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_toolreg"))
            .current_dir(&p.root)
            .env_remove("TOOLREG_REGISTRY")
            .env_remove("TOOLREG_FAILPOINT")
            .env_remove("TOOLREG_CRASHPOINT")
            .args(review_args(&v2))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        if finished {
            // The machine got faster than the timed run (shared CPUs): aim earlier.
            full = full.mul_f64(0.9);
        }
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let what = format!("iteration {i} (seed {seed}, delay {delay:?})");
        let phase = phase(&p, old, finished);
        *phases.entry(phase).or_default() += 1;
        if finished {
            assert!(status.success(), "{what}: the review failed on its own");
        }

        // Before recovery: check passes only on an exact old or new state.
        let exact = !journal(&p).exists() && uncommitted(&p).is_empty();
        let code = check_code(&p);
        if exact {
            let want = if head(&p, old, &expected) == Head::New { 0 } else { 1 };
            assert_eq!(code, want, "{what}: check on an exact state ({phase})");
        } else {
            assert_eq!(code, 2, "{what}: check did not refuse a broken state ({phase})");
            check_refused += 1;
        }

        // Recovery, following its own advice about a lock a kill left behind.
        let mut run = p.run(&["recover"]);
        if run.code == 2 && run.stderr.contains(".lock exists") {
            locks += 1;
            let branch =
                p.repo().find_reference("HEAD").unwrap().symbolic_target().unwrap().unwrap().to_owned();
            for lock in [".git/index.lock".to_owned(), format!(".git/{branch}.lock")] {
                let _ = std::fs::remove_file(p.root.join(lock));
            }
            run = p.run(&["recover"]);
        }
        run.expect_code(0);
        match assert_old_or_new(&p, old, &expected, &what) {
            Head::Old => ended_old += 1,
            Head::New => {
                ended_new += 1;
                reset(&p, old);
            }
        }
    }
    eprintln!(
        "kill loop: {iterations} kills of a {tools}-tool review (uninterrupted {full:?}, seed {seed}); \
         phases {phases:?}; check refused {check_refused} broken states; after recovery {ended_old} old, \
         {ended_new} new; stale locks removed {locks}"
    );
    let writing: u32 = phases
        .iter()
        .filter(|(k, _)| !k.starts_with("before") && !k.starts_with("finished"))
        .map(|(_, v)| *v)
        .sum();
    assert!(writing > 0, "no kill landed inside the write: {phases:?}");
}
