//! `toolreg check`: the CI gate (design §5). Captured or live catalogs against the
//! registry; fails on drift, on blocked or unapproved content served, on detector
//! findings at or above fail-on (pinned or live), on broken, non-canonical or
//! incomplete registry files, on unused suppressions, and in pull-request mode
//! (`--base`) on pins changed without an approving review. What it could not check
//! (a missing catalog, an unreachable server, a broken registry) is exit 2.

use crate::item::ItemRef;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::places::Places;
use super::{emit, render_report, Context};
use crate::canon;
use crate::catalog::{self, Catalog};
use crate::cli::{CheckArgs, ReportFormat, SourceArgs};
use crate::drift::Drift;
use crate::error::Error;
use crate::finding::{Finding, Location, Severity};
use crate::policy::{self, Outcome};
use crate::registry::{
    since, PinState, Problem, Registry, Server, Verdict, BLOCKED_SERVED, UNAPPROVED_SERVED,
};
use crate::report::diff::{json_entries, short_digest, DriftEntry};
use crate::report::human::Style;
use crate::report::{self, Report, Shown};
use crate::visible;

pub fn run(args: &CheckArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    // What is checked must be what is committed: a registry half-written by a killed
    // command, or edited without a commit, is "could not check".
    let registry = ctx.committed_registry(args.staged)?;
    if let Some(dir) = args.catalogs.as_deref().filter(|d| !d.is_dir()) {
        return Err(Error::Usage(format!(
            "--catalogs {}: not a directory",
            visible::escape(&dir.display().to_string())
        )));
    }
    let detectors = ctx.registry_detectors(&registry)?;
    let template = super::read_template(&args.output)?;

    // Every server on its own, in parallel: its catalog, drift, and what it serves.
    let servers: Vec<&Server> = registry.servers.values().collect();
    let checked = crate::parallel::map(&servers, || (), |(), server| check_server(&registry, server, args));
    // Gate findings fail the run whatever their severity.
    let mut gate: Vec<Finding> = registry.problems.iter().map(|p| problem_finding(&registry, p)).collect();
    let mut drift_entries = Vec::new();
    let mut catalogs = Vec::new();
    let mut catalog_paths = Vec::new();
    let mut accepted = HashSet::new();
    let mut pinned = Vec::new();
    for result in checked {
        let one = result?;
        gate.extend(one.gate);
        drift_entries.extend(one.drift);
        catalogs.push(one.catalog);
        catalog_paths.push(one.path);
        accepted.extend(one.accepted);
        pinned.extend(one.pinned);
    }
    let tools: usize = catalogs.iter().map(|c| c.tools().count()).sum();
    // Detector findings on what is served, and on what is pinned but not served.
    catalogs.extend(pinned);
    let mut seen = HashSet::new();
    let found: Vec<Finding> = detectors
        .scan(&catalogs)
        .into_iter()
        .filter(|f| !accepted.contains(&(f.server.clone(), f.item_label(), f.fingerprint.clone())))
        .filter(|f| seen.insert((f.rule, f.server.clone(), f.item_label(), f.fingerprint.clone())))
        .collect();
    let ids: Vec<String> = registry.servers.keys().cloned().collect();
    let kept = policy::apply_suppressions(found, &registry.config.suppressions, &ids, crate::config::today());
    let (unused, detected): (Vec<Finding>, Vec<Finding>) =
        kept.findings.into_iter().partition(|f| f.rule.starts_with("SUP"));
    gate.extend(unused);
    gate.extend(stale_lock(&registry)?);
    if let Some(base) = &args.base {
        gate.extend(since::check(&registry, base, args.catalogs.as_deref())?);
    }

    let fail_on = args.fail_on.or(registry.config.fail_on).unwrap_or(Severity::High);
    let floor = registry.config.min_severity.unwrap_or(Severity::Low).min(fail_on);
    let mut findings: Vec<(Finding, bool)> = gate.into_iter().map(|f| (f, true)).collect();
    findings.extend(detected.into_iter().filter(|f| f.severity >= floor).map(|f| {
        let fails = f.severity >= fail_on;
        (f, fails)
    }));
    let catalog_files: Vec<(String, Option<PathBuf>)> =
        registry.servers.keys().cloned().zip(catalog_paths).collect();
    let places = Places::new(&registry, &catalog_files);
    for (finding, _) in &mut findings {
        finding.location = places.locate(finding);
    }
    findings.sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));

    let passed = !findings.iter().any(|(_, fails)| *fails);
    let report = Report {
        command: "check",
        findings: findings.iter().map(|(finding, fails)| Shown { finding, fails: *fails }).collect(),
        drift: &drift_entries,
        servers: registry.servers.len(),
        tools,
        rules: detectors.all_rules(),
        passed,
    };
    let text = match args.output.format {
        ReportFormat::Human => report::check::human(&report, Style { color: ctx.color }),
        ReportFormat::Json => {
            let shown: Vec<&Finding> = findings.iter().map(|(f, _)| f).collect();
            report::json::document(&shown, &drift_entries, registry.servers.len(), tools)?
        }
        format => render_report(format, &report, template.as_deref())?,
    };
    emit(out, &text)?;
    let outcome = super::outcome(passed, &args.output);
    // The process ends next: freeing every parsed catalog and pin one by one is
    // wasted work (a tenth of the run on a 25,000-tool registry).
    drop(report);
    std::mem::forget(findings);
    std::mem::forget(catalogs);
    std::mem::forget(registry);
    Ok(outcome)
}

/// What checking one server found.
struct ServerCheck {
    catalog: Catalog,
    path: Option<PathBuf>,
    gate: Vec<Finding>,
    drift: Vec<DriftEntry>,
    accepted: Vec<(String, Option<String>, String)>,
    pinned: Option<Catalog>,
}

fn check_server(registry: &Registry, server: &Server, args: &CheckArgs) -> Result<ServerCheck, Error> {
    let (source, path) = match &args.catalogs {
        Some(dir) => {
            let path = dir.join(format!("{}.json", server.id));
            if !path.is_file() {
                return Err(Error::Usage(format!(
                    "could not check {}: no captured catalog at {}",
                    server.id,
                    visible::escape(&path.display().to_string())
                )));
            }
            (SourceArgs { catalog: Some(path.display().to_string()), live: false }, Some(path))
        }
        None => (SourceArgs { catalog: None, live: true }, None),
    };
    let catalog = super::fetch::server_catalog(&source, server)?;
    let drift = Drift::between(server, &catalog)?;
    let served = served_digests(server, &catalog)?;
    let mut gate = drift.findings();
    gate.extend(served_findings(registry, server, &served));
    Ok(ServerCheck {
        accepted: accepted_findings(server, &served),
        pinned: pinned_not_served(server, &served)?,
        drift: json_entries(&drift),
        gate,
        catalog,
        path,
    })
}

/// The digest of every item a catalog serves: its header (`None`), then each item.
type Served = Vec<(Option<ItemRef>, String)>;

fn served_digests(server: &Server, catalog: &Catalog) -> Result<Served, Error> {
    let mut served = vec![(None, canon::digest(&server.header_value(&catalog.header))?.to_string())];
    for item in &catalog.items {
        served.push((Some(item.key()), canon::digest(&item.value)?.to_string()));
    }
    Ok(served)
}

/// Served content whose digest is blocked, or whose pin is not (or no longer) approved.
fn served_findings(registry: &Registry, server: &Server, served: &Served) -> Vec<Finding> {
    let mut out = Vec::new();
    for (item, digest) in served {
        let item = item.as_ref();
        if let Some(entry) = registry.blocked.find(digest) {
            out.push(Finding::about(
                &BLOCKED_SERVED,
                BLOCKED_SERVED.severity,
                &server.id,
                item,
                "",
                format!(
                    "serves {} — blocked by {} on {}: {}",
                    short_digest(digest),
                    visible::escape(&entry.by),
                    visible::escape(&entry.at),
                    visible::escape(&entry.reason)
                ),
                digest,
                digest,
            ));
        }
        if let Some(pin) = server.pin(item).filter(|p| p.digest == *digest) {
            let state = pin.state();
            if state != PinState::Approved {
                let why = if state == PinState::Revoked {
                    "its approval was revoked"
                } else {
                    "no review approves it"
                };
                out.push(Finding::about(
                    &UNAPPROVED_SERVED,
                    UNAPPROVED_SERVED.severity,
                    &server.id,
                    item,
                    "",
                    format!("serves the pinned {}, but {why}", short_digest(digest)),
                    digest,
                    digest,
                ));
            }
        }
    }
    out
}

/// Findings a reviewer accepted when approving what is served now: (server, item
/// label, fingerprint), in findings' escaped form.
fn accepted_findings(server: &Server, served: &Served) -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    for (item, digest) in served {
        let Some(pin) =
            server.pin(item.as_ref()).filter(|p| p.digest == *digest && p.state() == PinState::Approved)
        else {
            continue;
        };
        for review in pin.reviews.iter().filter(|r| r.digest == *digest && r.verdict == Verdict::Approved) {
            for accepted in &review.accepted {
                let label = item.as_ref().map(ItemRef::label);
                out.push((visible::label(&server.id), label, accepted.fingerprint.clone()));
            }
        }
    }
    out
}

/// A catalog of `server`'s pinned content that the served catalog does not hold (so
/// that its findings are reported too), or `None` when everything pinned is served.
fn pinned_not_served(server: &Server, served: &Served) -> Result<Option<Catalog>, Error> {
    let digests: HashSet<&str> = served.iter().map(|(_, d)| d.as_str()).collect();
    let mut document = json!({"server": server.id, "tools": []});
    let mut any = false;
    for (item, pin) in server.items().filter(|(_, p)| !digests.contains(p.digest.as_str())) {
        let list =
            document.as_object_mut().map(|d| d.entry(item.kind.list_key()).or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = list {
            list.push(pin.value.clone());
            any = true;
        }
    }
    let header = server.header.as_ref().filter(|p| !digests.contains(p.digest.as_str()));
    if !any && header.is_none() {
        return Ok(None);
    }
    if let Some(instructions) = header.and_then(|p| p.value.get("instructions")) {
        document["instructions"] = instructions.clone();
    }
    let origin = format!("<pins of {}>", server.id);
    let mut parsed = catalog::parse(&origin, &serde_json::to_vec(&document)?, &server.id)?;
    Ok(parsed.pop())
}

/// When the registry has a toolreg.lock: what in it no longer matches the approved pins.
fn stale_lock(registry: &Registry) -> Result<Vec<Finding>, Error> {
    let path = registry.root.join(crate::lock::FILE_NAME);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let existing = crate::lock::Lock::load(&path).map_err(Error::Usage)?;
    let current = super::lock::current_lock(registry);
    let shown = super::display_path(&path);
    Ok(existing
        .stale_against(&current)
        .into_iter()
        .map(|why| {
            let rule = &crate::lock::STALE_LOCK;
            let mut finding = Finding::about(
                rule,
                rule.severity,
                "(registry)",
                None,
                "",
                format!("{shown}: {why}"),
                &why,
                &why,
            );
            finding.location = Some(Location { path: shown.clone(), line: None });
            finding
        })
        .collect())
}

/// A registry problem as a finding, placed at its server (when the file is one's).
fn problem_finding(registry: &Registry, problem: &Problem) -> Finding {
    let relative = problem.path.strip_prefix(&registry.root).unwrap_or(&problem.path);
    let server = match relative.strip_prefix("servers").ok().and_then(|r| r.iter().next()) {
        Some(id) => id.to_string_lossy().into_owned(),
        None => "(registry)".to_owned(),
    };
    let shown = relative.display().to_string();
    let mut finding = Finding::about(
        problem.rule,
        problem.rule.severity,
        &server,
        None,
        "",
        format!("{}: {}", visible::escape(&shown), problem.message),
        &shown,
        &shown,
    );
    finding.location = Some(Location { path: super::display_path(&problem.path), line: None });
    finding
}
