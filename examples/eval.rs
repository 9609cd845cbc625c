//! Detection quality on the labelled corpus, by its README's method.
//!
//! ```sh
//! cargo run --release --example eval -- ../shared/corpus            # the table
//! cargo run --release --example eval -- ../shared/corpus --list     # plus every miss and false positive
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
    let detectors = match Detectors::builtin() {
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
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
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
                    if found.is_some_and(|s| s >= Severity::High) {
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
        println!("\n## False positives at high or above\n");
        for f in &false_positives {
            println!("- {f}");
        }
    }
    ExitCode::SUCCESS
}
