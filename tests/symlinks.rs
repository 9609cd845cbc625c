//! toolreg never follows a symbolic link inside the registry, and its temp files
//! cannot be redirected (README "Writes"; store.rs).

#![cfg(unix)]
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{catalog_v1, Project};
use serde_json::json;

/// A project with v1 approved and committed, `catalogs/demo.json` = v1, and a v2.
fn approved() -> (Project, String) {
    let p = Project::new();
    std::fs::create_dir(p.root.join("catalogs")).unwrap();
    let v1 = p.catalog("catalogs/demo.json", &catalog_v1());
    p.run(&["review", "demo", "--catalog", &v1, "--approve"]).expect_code(0);
    let mut v2 = catalog_v1();
    v2["tools"][0]["description"] = json!("Read a note by its title, quickly.");
    let v2 = p.catalog("v2.json", &v2);
    p.commit_all("catalogs");
    (p, v2)
}

/// The old temp name (`.<file>.toolreg-<pid>.tmp`) was predictable: a link planted
/// there for the pid the review would get made it write outside the registry. `sh`
/// keeps its pid across `exec`, so the link is planted for exactly that pid.
#[test]
fn a_link_planted_at_the_old_temp_name_is_never_followed() {
    let (p, v2) = approved();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("victim.txt");
    std::fs::write(&target, "precious\n").unwrap();
    let tools = p.registry().join("servers/demo/tools");
    let script =
        r#"ln -s "$1" "$2/.read_note.json.toolreg-$$.tmp" && exec "$3" review demo --catalog "$4" --approve"#;
    let output = std::process::Command::new("sh")
        .current_dir(&p.root)
        .env_remove("TOOLREG_REGISTRY")
        .env_remove("TOOLREG_FAILPOINT")
        .env_remove("TOOLREG_CRASHPOINT")
        .args(["-c", script, "sh"])
        .arg(&target)
        .arg(&tools)
        .arg(env!("CARGO_BIN_EXE_toolreg"))
        .arg(&v2)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n", "wrote through the planted link");
    let pin = tools.join("read_note.json");
    assert!(!std::fs::symlink_metadata(&pin).unwrap().file_type().is_symlink(), "the pin became a link");
    assert!(std::fs::read_to_string(&pin).unwrap().contains("quickly"));
}

/// A linked `servers/`, server folder, `tools/` folder or pin: exit 2 naming the link
/// in every command that reads or writes the registry; the link's target untouched.
#[test]
fn links_inside_the_registry_are_refused_everywhere() {
    for link in ["servers", "servers/demo", "servers/demo/tools", "servers/demo/tools/read_note.json"] {
        let (p, v2) = approved();
        let real = p.registry().join(link);
        let outside = tempfile::tempdir().unwrap();
        let moved = outside.path().join("moved");
        std::fs::rename(&real, &moved).unwrap();
        symlink(&moved, &real).unwrap();
        p.commit_all("a link");
        let snapshot = tree_bytes(outside.path());
        for args in [
            vec!["check", "--catalogs", "catalogs"],
            vec!["review", "demo", "--catalog", &v2, "--approve"],
            vec!["diff", "demo", "--catalog", &v2],
            vec!["fmt"],
            vec!["fmt", "--check"],
            vec!["lock"],
            vec!["revoke", "demo/read_note", "--reason", "x"],
            vec!["log"],
        ] {
            let run = p.run(&args).expect_code(2);
            assert!(run.stderr.contains("is a symbolic link"), "{link} {args:?}: {}", run.stderr);
            assert!(run.stderr.contains(link), "{link} {args:?}: {}", run.stderr);
        }
        assert_eq!(tree_bytes(outside.path()), snapshot, "{link}: something wrote through the link");
        assert!(!p.registry().join("toolreg.lock").exists(), "{link}: lock wrote");
    }
}

/// `toolreg lock` refuses to write through a link (its report would name the link's
/// target while the write replaced the link).
#[test]
fn lock_never_writes_through_a_link() {
    let (p, _) = approved();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("elsewhere.lock");
    std::fs::write(&target, "mine\n").unwrap();
    let lock = p.registry().join("toolreg.lock");
    symlink(&target, &lock).unwrap();
    let run = p.run(&["lock"]).expect_code(2);
    assert!(run.stderr.contains("toolreg.lock") && run.stderr.contains("symbolic link"), "{}", run.stderr);
    let other = p.root.join("out.lock");
    symlink(&target, &other).unwrap();
    std::fs::remove_file(&lock).unwrap();
    let run = p.run(&["lock", "--output", "out.lock"]).expect_code(2);
    assert!(run.stderr.contains("out.lock") && run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
    assert!(std::fs::symlink_metadata(&other).unwrap().file_type().is_symlink());
    // Without links it writes and names the real file.
    let run = p.run(&["lock"]).expect_code(0);
    assert!(run.stdout.contains("registry/toolreg.lock"), "{}", run.stdout);
}

fn tree_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree_bytes(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}
