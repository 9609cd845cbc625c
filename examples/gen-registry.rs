//! Generates a registry of N servers × M tools, every pin approved, with the matching
//! captured catalogs: the input of the `check` benchmark (issue 6: 500 × 50 < 2 s).
//!
//! ```sh
//! toolreg init /tmp/big/registry                   # a registry (and a git repository)
//! cargo run --release --example gen-registry -- /tmp/big 500 50
//! cd /tmp/big && toolreg check --catalogs catalogs
//! ```
//!
//! Writes `DIR/registry/servers/<id>/…` (inventory, header and tool pins, in canonical
//! form, each with an approving review) and `DIR/catalogs/<id>.json`. Pins are computed
//! with toolreg's own parser and digests, so they agree with what `check` computes.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{json, Value};
use toolreg::registry::canonical_text::to_text;
use toolreg::{canon, catalog};

const REVIEWER: &str = "Bench Reviewer <bench@example.com>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [dir, servers, tools] => {
            servers.parse::<usize>().ok().zip(tools.parse::<usize>().ok()).map(|n| (dir, n))
        }
        _ => None,
    };
    let Some((dir, (servers, tools))) = parsed else {
        eprintln!(
            "usage: gen-registry DIR SERVERS TOOLS (DIR/registry must exist: `toolreg init DIR/registry`)"
        );
        return ExitCode::from(2);
    };
    match generate(Path::new(dir), servers, tools) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-registry: {e}");
            ExitCode::from(2)
        }
    }
}

fn generate(dir: &Path, servers: usize, tools: usize) -> Result<(), Box<dyn std::error::Error>> {
    let registry = dir.join("registry");
    if !registry.join("toolreg.toml").is_file() {
        return Err(
            format!("{} has no toolreg.toml: run `toolreg init` there first", registry.display()).into()
        );
    }
    std::fs::create_dir_all(dir.join("catalogs"))?;
    for s in 0..servers {
        let id = format!("server-{s:04}");
        let document = catalog_of(s, tools);
        let text = serde_json::to_vec_pretty(&document)?;
        std::fs::write(dir.join("catalogs").join(format!("{id}.json")), &text)?;
        let parsed = catalog::parse(&id, &text, &id)?.pop().ok_or("empty catalog")?;
        let server_dir = registry.join("servers").join(&id);
        std::fs::create_dir_all(server_dir.join("tools"))?;
        std::fs::write(
            server_dir.join("server.toml"),
            format!(
                "owner = \"Team {s}\"\napprovers = [\"{REVIEWER}\"]\n\n[launch]\ncommand = \"node\"\nargs = [\"server-{s}.js\"]\n"
            ),
        )?;
        std::fs::write(server_dir.join("server.json"), pin("header", &canon::header_value(&parsed.header))?)?;
        for tool in parsed.tools() {
            std::fs::write(
                server_dir.join("tools").join(format!("{}.json", tool.name)),
                pin("tool", &tool.value)?,
            )?;
        }
    }
    Ok(())
}

/// A pin file: the content, its digest, one approving review.
fn pin(key: &str, value: &Value) -> Result<String, Box<dyn std::error::Error>> {
    let digest = canon::digest(value)?.to_string();
    let review = json!({"at": "2026-11-25T00:00:00Z", "by": REVIEWER, "digest": digest,
                        "note": "generated for the benchmark", "verdict": "approved"});
    Ok(to_text(&json!({"digest": digest, key: value, "reviews": [review]})))
}

/// A realistic, benign catalog: varied names and descriptions, a few parameters each.
fn catalog_of(server: usize, tools: usize) -> Value {
    let verbs = ["get", "list", "create", "update", "search", "archive", "export", "sync"];
    let nouns = ["issue", "record", "invoice", "ticket", "document", "event", "contact", "report"];
    let tools: Vec<Value> = (0..tools)
        .map(|t| {
            let (verb, noun) = (verbs[t % verbs.len()], nouns[(t / verbs.len()) % nouns.len()]);
            json!({
                "name": format!("{verb}_{noun}_{server:04}_{t:03}"),
                "title": format!("{} {noun} ({t})", verb.to_uppercase()),
                "description": format!(
                    "{} a {noun} in workspace {server}. Returns the {noun} as JSON with its id, \
                     status and timestamps. Use `limit` to bound the number of results.",
                    capitalised(verb)
                ),
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "description": format!("The {noun} id.")},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Most results."},
                        "fields": {"type": "array", "items": {"type": "string"}, "description": "Fields to return."}
                    },
                    "required": ["id"]
                },
                "annotations": {"readOnlyHint": verb == "get" || verb == "list" || verb == "search"}
            })
        })
        .collect();
    json!({
        "server": {"name": format!("server-{server:04}"), "version": "1.0.0"},
        "protocolVersion": "2025-11-25",
        "instructions": format!("Workspace tools for team {server}."),
        "tools": tools
    })
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}
