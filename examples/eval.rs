//! Detection quality on the labelled corpus, by its README's method; on the real-world
//! captures (`CORPUS/real-world/captures/`, real benign vendor text); and on the
//! project's own authored set (`tests/eval/`: `dev.json`, `probes.json` and
//! `independent-dev.json` may be looked at while writing rules, and so may
//! `independent-holdout.json`, `independent2-holdout.json` and `independent4-dev.json`
//! since 2026-12-02; `holdout.json`, `independent3-holdout.json` and
//! `independent4-holdout.json` are reported as unseen).
//!
//! ```sh
//! cargo run --release --example eval -- ../shared/corpus            # the tables
//! cargo run --release --example eval -- ../shared/corpus --list     # plus every miss and false positive
//! cargo run --release --example eval -- ../shared/corpus --authored tests/eval
//! cargo run --release --example eval -- ../shared/corpus --rules our-rules.toml      # and extra rules
//! cargo run --release --example eval -- ../shared/corpus --check 0.94   # CI: exit 1 below that
//!                                         # recall, or on any real-world item at high
//! ```
//!
//! Each catalog is scanned on its own, as a reviewer scans one server. A tool counts
//! as flagged when it has a finding at `high` or above (the default gate), and, in a
//! second column, at `medium` or above.
//!
//! - Recall: `label == "malicious"` and `metadata_detectable == true`, per source and per
//!   category; the Cisco overt-capability server is reported apart from the rest.
//! - False positives: `label == "benign"` tools of the four real catalogs
//!   (github-mcp-server, mcp-snapshots, docker-mcp-registry, mcp-reference-servers),
//!   and, apart, the benign controls inside the benchmarks.
//! - Unlabelled tools (copies of baseline tools in attack variants) are skipped.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use serde_json::Value;
use toolreg::catalog;
use toolreg::detect::Detectors;
use toolreg::finding::Severity;

const REAL_BENIGN: &[&str] = &[
    "github-mcp-server.json",
    "mcp-snapshots.json",
    "docker-mcp-registry.json",
    "mcp-reference-servers.json",
];

#[derive(Default, Clone, Copy)]
struct Tally {
    total: usize,
    high: usize,
    medium: usize,
}

impl Tally {
    fn add(&mut self, worst: Option<Severity>) {
        self.total += 1;
        self.high += usize::from(worst.is_some_and(|s| s >= Severity::High));
        self.medium += usize::from(worst.is_some_and(|s| s >= Severity::Medium));
    }
    fn row(&self, name: &str) -> String {
        let pct = |n: usize| if self.total == 0 { 0.0 } else { 100.0 * n as f64 / self.total as f64 };
        format!(
            "| {name} | {} | {} ({:.1}%) | {} ({:.1}%) |",
            self.total,
            self.high,
            pct(self.high),
            self.medium,
            pct(self.medium)
        )
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: eval CORPUS_DIR [--list]");
        return ExitCode::from(2);
    };
    let list = args.iter().any(|a| a == "--list");
    let value_of = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let authored_dir = value_of("--authored");
    let min_recall = match value_of("--check").map(|v| v.parse::<f64>()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            eprintln!("--check takes the least recall at high, such as 0.94");
            return ExitCode::from(2);
        }
    };
    // `--rules FILE`: extra rule files on top of the built-in ones (as `scan --rules`).
    let extra: Vec<std::path::PathBuf> =
        value_of("--rules").map(std::path::PathBuf::from).into_iter().collect();
    let detectors = match Detectors::load(&extra, &[]) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => {
            eprintln!("error: {dir}: {e}");
            return ExitCode::from(2);
        }
    };
    files.sort();

    let mut by_source: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut recall, mut overt, mut benign_real, mut benign_controls) =
        (Tally::default(), Tally::default(), Tally::default(), Tally::default());
    let mut misses = Vec::new();
    let mut false_positives = Vec::new();
    let mut real_per_file: BTreeMap<String, Tally> = BTreeMap::new();

    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Ok(bytes) = std::fs::read(path) else { continue };
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else { continue };
        let catalogs = match catalog::parse(&name, &bytes, "corpus") {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        // (server, tool) → worst severity and the rules at that severity
        let mut worst: HashMap<(String, String), (Severity, Vec<&'static str>)> = HashMap::new();
        for one in catalogs.chunks(1) {
            for f in detectors.scan(one, &toolreg::finding::Nowhere) {
                let Some(tool) = f.tool().map(str::to_owned) else { continue };
                let entry =
                    worst.entry((one[0].server.clone(), tool)).or_insert((Severity::Info, Vec::new()));
                if f.severity > entry.0 {
                    *entry = (f.severity, vec![f.rule]);
                } else if f.severity == entry.0 && !entry.1.contains(&f.rule) {
                    entry.1.push(f.rule);
                }
            }
        }
        let source = doc["source"].as_str().unwrap_or(&name).to_owned();
        for label in doc["labels"].as_array().into_iter().flatten() {
            let (Some(server), Some(tool), Some(kind)) =
                (label["server"].as_str(), label["tool"].as_str(), label["label"].as_str())
            else {
                continue;
            };
            let found = worst.get(&(server.to_owned(), toolreg::visible::escape(tool))).map(|w| w.0);
            let found = found.filter(|s| *s > Severity::Info);
            let rules = worst
                .get(&(server.to_owned(), toolreg::visible::escape(tool)))
                .map(|w| w.1.join(","))
                .unwrap_or_default();
            let category = label["category"].as_str().unwrap_or("?");
            if kind == "malicious" && label["metadata_detectable"].as_bool() == Some(true) {
                if category.starts_with("overt-malicious-capability") {
                    overt.add(found);
                } else {
                    recall.add(found);
                    by_source.entry(source.clone()).or_default().add(found);
                    for c in category.split(';') {
                        by_category.entry(c.trim().to_owned()).or_default().add(found);
                    }
                }
                if found.is_none_or(|s| s < Severity::High) {
                    misses.push(format!(
                        "{name} | {server} | {tool} | {category} | {}",
                        found.map_or("-".into(), |s| format!("{s} {rules}"))
                    ));
                }
            } else if kind == "benign" {
                if REAL_BENIGN.contains(&name.as_str()) {
                    benign_real.add(found);
                    real_per_file.entry(name.clone()).or_default().add(found);
                    if found.is_some_and(|s| s >= Severity::Medium) {
                        false_positives.push(format!(
                            "{name} | {server} | {tool} | {} {rules}",
                            found.map_or("-".into(), |s| s.to_string())
                        ));
                    }
                } else {
                    benign_controls.add(found);
                    if found.is_some_and(|s| s >= Severity::High) {
                        false_positives.push(format!(
                            "(control) {name} | {server} | {tool} | {} {rules}",
                            found.map_or("-".into(), |s| s.to_string())
                        ));
                    }
                }
            }
        }
    }

    println!("## Recall: metadata-detectable malicious tools\n");
    println!("| set | tools | flagged ≥ high | flagged ≥ medium |\n|---|---|---|---|");
    println!("{}", recall.row("**all but Cisco overt-capability**"));
    println!("{}", overt.row("Cisco overt-capability server (apart)"));
    println!("\n### By source\n\n| source | tools | ≥ high | ≥ medium |\n|---|---|---|---|");
    for (source, t) in &by_source {
        println!("{}", t.row(source));
    }
    println!("\n### By category\n\n| category | tools | ≥ high | ≥ medium |\n|---|---|---|---|");
    for (category, t) in &by_category {
        println!("{}", t.row(category));
    }
    println!("\n## False positives: benign tools flagged\n\n| set | tools | flagged ≥ high | flagged ≥ medium |\n|---|---|---|---|");
    println!("{}", benign_real.row("**the four real benign catalogs**"));
    for (file, t) in &real_per_file {
        println!("{}", t.row(file));
    }
    println!("{}", benign_controls.row("benign controls inside benchmarks (apart)"));
    if list {
        println!("\n## Misses (malicious, not flagged at high)\n");
        for m in &misses {
            println!("- {m}");
        }
        println!("\n## False positives (real catalogs: at medium or above; controls: at high)\n");
        for f in &false_positives {
            println!("- {f}");
        }
    }
    let real_world = std::path::Path::new(dir).join("real-world").join("captures");
    let mut real_world_flagged = 0;
    if real_world.is_dir() {
        match real_world_section(&real_world, &detectors, list) {
            Ok(n) => real_world_flagged = n,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(authored) = &authored_dir {
        for (file, unseen) in [
            ("dev.json", false),
            ("probes.json", false),
            ("independent-dev.json", false),
            // The second and third authors' sets were read while writing ML021-ML023
            // (2026-12-02): tuned on since; the fourth author's set stays unseen.
            ("independent-holdout.json", false),
            ("independent2-holdout.json", false),
            // The fifth author's set (2026-12-02, eleventh sitting): rules may be
            // written from its dev half; its holdout half is only measured.
            ("independent4-dev.json", false),
            ("holdout.json", true),
            ("independent3-holdout.json", true),
            ("independent4-holdout.json", true),
        ] {
            if let Err(e) =
                authored_section(&std::path::Path::new(authored).join(file), unseen, &detectors, list)
            {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(min) = min_recall {
        let recall_high = recall.high as f64 / recall.total.max(1) as f64;
        println!("\ncheck: recall at high {recall_high:.4} (least {min}); real-world items at high: {real_world_flagged}");
        if recall_high < min || real_world_flagged > 0 {
            println!("check: FAIL");
            return ExitCode::from(1);
        }
        println!("check: PASS");
    }
    ExitCode::SUCCESS
}

/// The real-world captures as catalogs: the probe's lists, without the JSON-RPC errors
/// it records for a list a server does not serve; `instructions` from its
/// `initializeResponse`.
fn capture_catalog(name: &str, capture: &Value) -> Value {
    let mut catalog = serde_json::Map::new();
    let init = capture.pointer("/initializeResponse/result");
    let server =
        init.and_then(|i| i.get("serverInfo")).cloned().unwrap_or_else(|| serde_json::json!({"name": name}));
    catalog.insert("server".into(), server);
    if let Some(text) = init.and_then(|i| i.get("instructions")).filter(|t| t.is_string()) {
        catalog.insert("instructions".into(), text.clone());
    }
    for key in ["tools", "prompts", "resources", "resourceTemplates"] {
        if let Some(Value::Array(list)) = capture.get(key) {
            let items: Vec<Value> = list
                .iter()
                .filter(|i| i.get("error").is_none() && i.get("jsonrpc").is_none())
                .cloned()
                .collect();
            catalog.insert(key.into(), Value::Array(items));
        }
    }
    Value::Object(catalog)
}

/// The real-world items (tools, prompts, resources, templates) with a finding at
/// medium or above, all captures scanned together as one registry would be: counted at
/// both gates, listed when at high (all of them with `--list`); how many at high.
fn real_world_section(dir: &std::path::Path, detectors: &Detectors, list: bool) -> Result<usize, String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut catalogs = Vec::new();
    let mut items = 0;
    for path in &paths {
        let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let capture: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{name}: {e}"))?;
        let text = serde_json::to_vec(&capture_catalog(&name, &capture)).map_err(|e| e.to_string())?;
        for mut one in catalog::parse(&name, &text, &name).map_err(|e| e.to_string())? {
            one.server = name.clone();
            items += one.items.len();
            catalogs.push(one);
        }
    }
    // (server, item) → the worst severity and the rules at medium or above
    let mut flagged: BTreeMap<(String, String), (Severity, Vec<String>)> = BTreeMap::new();
    for finding in detectors.scan(&catalogs, &toolreg::finding::Nowhere) {
        if finding.severity >= Severity::Medium {
            let item = finding.item_label().unwrap_or_else(|| "(server)".into());
            let entry =
                flagged.entry((finding.server.clone(), item)).or_insert((finding.severity, Vec::new()));
            entry.0 = entry.0.max(finding.severity);
            entry.1.push(format!("{} {}", finding.rule, finding.severity));
        }
    }
    let high = flagged.values().filter(|(s, _)| *s >= Severity::High).count();
    println!("\n## Real-world captures (benign vendor text, scanned together)\n");
    println!(
        "{} servers, {items} items; items with a finding at high or above: {high}; at medium or above: {} ({:.2}%)\n",
        paths.len(),
        flagged.len(),
        100.0 * flagged.len() as f64 / items.max(1) as f64
    );
    for ((server, item), (severity, rules)) in &flagged {
        if list || *severity >= Severity::High {
            println!("- {server} | {item} | {}", rules.join(", "));
        }
    }
    Ok(high)
}

/// The authored set: recall (attacks flagged at high) and false positives (hard benign
/// texts flagged at high), per language, class and location.
fn authored_section(
    path: &std::path::Path,
    unseen: bool,
    detectors: &Detectors,
    list: bool,
) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut tallies: BTreeMap<(String, String, String), Tally> = BTreeMap::new();
    let mut wrong = Vec::new();
    for item in doc["items"].as_array().into_iter().flatten() {
        let text = |k: &str| item[k].as_str().unwrap_or("?").to_owned();
        let (label, id) = (text("label"), text("id"));
        let bytes = serde_json::to_vec(&item["catalog"]).map_err(|e| e.to_string())?;
        let catalogs = catalog::parse(&id, &bytes, &id).map_err(|e| e.to_string())?;
        let worst =
            detectors.scan(&catalogs, &toolreg::finding::Nowhere).into_iter().map(|f| f.severity).max();
        let mut axes =
            vec![("language", text("language")), ("class", text("class")), ("location", text("location"))];
        // probes.json: which batch of the sitting (A, B, … in its `about`)
        if item.get("batch").is_some() {
            axes.push(("batch", text("batch")));
        }
        for (axis, value) in axes {
            tallies.entry((label.clone(), axis.to_owned(), value)).or_default().add(worst);
        }
        tallies.entry((label.clone(), "all".to_owned(), "all".to_owned())).or_default().add(worst);
        let high = worst.is_some_and(|s| s >= Severity::High);
        if (label == "attack") != high {
            wrong.push(format!("{id} | {label} | {}", worst.map_or("-".to_owned(), |s| s.to_string())));
        }
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let status = if unseen {
        "unseen: no rule was written or tuned from it"
    } else {
        "dev: rules may have been tuned on it"
    };
    println!("\n## Authored set `{name}` ({status})\n");
    for label in ["attack", "benign"] {
        let what =
            if label == "attack" { "recall (attacks flagged)" } else { "false positives (benign flagged)" };
        println!("\n### {what}\n\n| axis | value | items | ≥ high | ≥ medium |\n|---|---|---|---|---|");
        for ((l, axis, value), tally) in &tallies {
            if l == label {
                println!("{}", tally.row(&format!("{axis} | {value}")));
            }
        }
    }
    if list {
        println!("\n### Wrong at high (attacks missed, benign flagged)\n");
        for line in &wrong {
            println!("- {line}");
        }
    }
    Ok(())
}
