//! `toolreg check`: the CI gate (design §5). Captured or live catalogs against the
//! registry; fails on drift, on blocked or unapproved content served, on detector
//! findings at or above fail-on (pinned or live), on broken, non-canonical or
//! incomplete registry files, on unused suppressions, and in pull-request mode
//! (`--base`) on pins changed without an approving review. What it could not check
//! (a missing catalog, an unreachable server, a broken registry) is exit 2.

use crate::item::ItemRef;
use std::collections::HashSet;
use std::io::Write;

use serde_json::{json, Value};

use super::places::Places;
use super::{emit, Context};
use crate::canon;
use crate::catalog::{self, Catalog};
use crate::cli::{CheckArgs, SourceArgs};
use crate::drift::Drift;
use crate::error::Error;
use crate::finding::{Finding, Locate, Location, Severity};
use crate::policy::{self, Outcome, Policy};
use crate::registry::{
    since, PinState, Problem, Registry, Server, Verdict, BLOCKED_SERVED, UNAPPROVED_SERVED,
};
use crate::report::diff::short_digest;
use crate::report::{Command, Report};
use crate::visible;

pub fn run(args: &CheckArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    // What is checked must be what is committed: a registry half-written by a killed
    // command, or edited without a commit, is "could not check".
    let mut registry = ctx.committed_registry(args.staged)?;
    // In pull-request mode the base decides who may approve and what the bar is.
    let base = match &args.base {
        Some(rev) => {
            let base = since::Base::load(&registry, rev)?;
            base.govern(&mut registry);
            if !base.verifies_reviewers() {
                eprintln!(
                    "toolreg: note: reviewer identities are unverified: the base names no [registry] allowed-signers"
                );
            }
            Some(base)
        }
        None => None,
    };
    if let Some(dir) = args.catalogs.as_deref().filter(|d| !d.is_dir()) {
        return Err(Error::Usage(format!(
            "--catalogs {}: not a directory",
            visible::escape(&dir.display().to_string())
        )));
    }
    let detectors = ctx.registry_detectors(&registry)?;
    let template = super::read_template(&args.output)?;
    let catalog_files = args.catalogs.as_deref().map_or_else(Vec::new, |dir| {
        registry.servers.keys().map(|id| (id.clone(), dir.join(format!("{id}.json")))).collect()
    });
    let places = Places::new(&registry, catalog_files);

    // Every server in service on its own, in parallel: its catalog, drift, and what it
    // serves. One the registry disabled or retired is not launched nor required; a
    // catalog of it captured all the same means it is still served.
    let servers: Vec<&Server> = registry.servers.values().filter(|s| s.inventory.is_active()).collect();
    let checked =
        crate::parallel::map(&servers, 1, || (), |(), server| check_server(&registry, server, args, &places));
    let mut findings: Vec<Finding> =
        registry.problems.iter().map(|p| problem_finding(&registry, p)).collect();
    findings.extend(inactive_served(&registry, args.catalogs.as_deref()));
    // The servers the repository's own client configurations launch, and every
    // registered launch, judged like any configured one.
    findings.extend(configured(&registry, &detectors, args.base.as_deref())?);
    findings.extend(super::discover::registered_launches(&registry, &detectors));
    let mut drift = Vec::new();
    let mut catalogs = Vec::new();
    let mut accepted = HashSet::new();
    let mut pinned = Vec::new();
    for result in checked {
        let one = result?;
        findings.extend(one.findings);
        drift.push(one.drift);
        catalogs.push(one.catalog);
        accepted.extend(one.accepted);
        pinned.extend(one.pinned);
    }
    let tools: usize = catalogs.iter().map(|c| c.tools().count()).sum();
    // Detector findings on what is served, and on what is pinned but not served.
    catalogs.extend(pinned);
    let mut seen = HashSet::new();
    let found: Vec<Finding> = detectors
        .scan(&catalogs, &places)
        .into_iter()
        .filter(|f| !accepted.contains(&(f.server.clone(), f.item_label(), f.fingerprint.clone())))
        .filter(|f| seen.insert((f.rule, f.server.clone(), f.item_label(), f.fingerprint.clone())))
        .collect();
    let ids: Vec<String> = registry.servers.keys().cloned().collect();
    let today = crate::config::today();
    let kept = policy::apply_suppressions(found, &registry.config.suppressions, Some(&ids), today, &places);
    findings.extend(kept.findings);
    findings.extend(stale_lock(&registry)?);
    if let Some(base) = &base {
        findings.extend(since::check(&registry, base, args.catalogs.as_deref(), &places)?);
    }
    drop(places);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let policy = Policy {
        min_severity: registry.config.min_severity.unwrap_or(Severity::Low),
        fail_on: args.fail_on.or(registry.config.fail_on).unwrap_or(Severity::High),
    };
    let report = Report {
        command: Command::Check,
        verdict: policy.judge(findings, kept.suppressed),
        drift: &drift,
        servers: registry.servers.len(),
        tools,
        rules: detectors.all_rules(),
        extra: serde_json::Map::new(),
    };
    emit(out, &super::render(args.output.format, &report, ctx.color, template.as_deref())?)?;
    let outcome = super::outcome(report.passed(), &args.output);
    // The process ends next: freeing every parsed catalog and pin one by one is
    // wasted work (a tenth of the run on a 25,000-tool registry).
    std::mem::forget(report);
    std::mem::forget(drift);
    std::mem::forget(catalogs);
    std::mem::forget(registry);
    Ok(outcome)
}

/// REG007 for each server not in service whose catalog was captured all the same.
fn inactive_served(registry: &Registry, catalogs: Option<&std::path::Path>) -> Vec<Finding> {
    let Some(dir) = catalogs else { return Vec::new() };
    registry
        .servers
        .values()
        .filter(|s| !s.inventory.is_active())
        .filter_map(|server| {
            let path = dir.join(format!("{}.json", server.id));
            path.is_file().then(|| {
                Finding::of(&crate::registry::INACTIVE_SERVED)
                    .about(&server.id, None)
                    .message(format!(
                        "the registry marks it {}, but its catalog is captured",
                        server.inventory.status
                    ))
                    .evidence(&server.inventory.status)
                    .at(Some(Location { path: super::display_path(&path), line: None }))
                    .build()
            })
        })
        .collect()
}

/// Findings on the MCP servers the repository's committed client configurations
/// launch (`.mcp.json`, `.vscode/mcp.json`, …): standing and launch risks. In
/// pull-request mode, only entries of files changed since the base.
fn configured(
    registry: &Registry,
    detectors: &crate::detect::Detectors,
    base: Option<&str>,
) -> Result<Vec<Finding>, Error> {
    let Ok(repo) = crate::git::Repo::discover(&registry.root) else { return Ok(Vec::new()) };
    let places =
        crate::clients::Places { home: None, project: Some(repo.workdir().to_path_buf()), root: None };
    let found = crate::clients::discover(&places);
    super::discover::refuse_unreadable(&found.unreadable)?;
    let mut entries = found.entries;
    if let Some(base) = base {
        let snapshot = repo.snapshot(base, std::path::Path::new(""))?;
        entries.retain(|e| repo.relative(&e.file).is_none_or(|r| !snapshot.same_as(&r, &e.file)));
    }
    Ok(super::discover::judge(&entries, Some(registry), detectors).findings)
}

/// What checking one server found.
struct ServerCheck {
    catalog: Catalog,
    /// Drift and what is served without approval (or blocked), each placed.
    findings: Vec<Finding>,
    drift: Drift,
    accepted: Vec<(String, Option<String>, String)>,
    pinned: Option<Catalog>,
}

fn check_server(
    registry: &Registry,
    server: &Server,
    args: &CheckArgs,
    places: &dyn Locate,
) -> Result<ServerCheck, Error> {
    let source = match &args.catalogs {
        Some(dir) => {
            let path = dir.join(format!("{}.json", server.id));
            if !path.is_file() {
                return Err(Error::Usage(format!(
                    "could not check {}: no captured catalog at {}",
                    server.id,
                    visible::escape(&path.display().to_string())
                )));
            }
            SourceArgs { catalog: Some(path.display().to_string()), live: false }
        }
        None => SourceArgs { catalog: None, live: true },
    };
    let catalog = super::fetch::server_catalog(&source, server)?;
    let drift = Drift::between(server, &catalog)?;
    let served = served_digests(server, &catalog)?;
    let mut findings = drift.findings(places);
    findings.extend(served_findings(registry, server, &served, places));
    for auth in catalog.of_kind(crate::item::Kind::Auth) {
        let declared = &server.inventory.oauth_scopes;
        findings.extend(crate::detect::oauth::undeclared(&server.id, declared, &auth.value, places));
    }
    Ok(ServerCheck {
        accepted: accepted_findings(server, &served),
        pinned: pinned_not_served(server, &served)?,
        drift,
        findings,
        catalog,
    })
}

/// The digest of every item a catalog serves: its header (`None`), then each item.
type Served = Vec<(Option<ItemRef>, String)>;

fn served_digests(server: &Server, catalog: &Catalog) -> Result<Served, Error> {
    let mut served = vec![(None, canon::digest(&server.header_value(&catalog.header))?.to_string())];
    for item in &catalog.items {
        let key = item.key();
        let digest = server.served_digest(&key, &item.value)?;
        served.push((Some(key), digest));
    }
    Ok(served)
}

/// Served content whose digest is blocked, or whose pin is not (or no longer) approved.
fn served_findings(
    registry: &Registry,
    server: &Server,
    served: &Served,
    places: &dyn Locate,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (item, digest) in served {
        let item = item.as_ref();
        if let Some(entry) = registry.blocked.find(digest) {
            let message = format!(
                "serves {} — blocked by {} on {}: {}",
                short_digest(digest),
                visible::escape(&entry.by),
                visible::escape(&entry.at),
                visible::escape(&entry.reason)
            );
            out.push(
                Finding::of(&BLOCKED_SERVED)
                    .about(&server.id, item)
                    .message(message)
                    .evidence(digest)
                    .pin_in(places)
                    .build(),
            );
        }
        if let Some(pin) = server.pin(item).filter(|p| p.digest == *digest) {
            let state = pin.state();
            if state != PinState::Approved {
                let why = if state == PinState::Revoked {
                    "its approval was revoked"
                } else {
                    "no review approves it"
                };
                out.push(
                    Finding::of(&UNAPPROVED_SERVED)
                        .about(&server.id, item)
                        .message(format!("serves the pinned {}, but {why}", short_digest(digest)))
                        .evidence(digest)
                        .pin_in(places)
                        .build(),
                );
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
            Finding::of(&crate::lock::STALE_LOCK)
                .about("(registry)", None)
                .message(format!("{shown}: {why}"))
                .evidence(&why)
                .at(Some(Location { path: shown.clone(), line: None }))
                .build()
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
    Finding::of(problem.rule)
        .about(&server, None)
        .message(format!("{}: {}", visible::escape(&shown), problem.message))
        .evidence(&shown)
        .at(Some(Location { path: super::display_path(&problem.path), line: None }))
        .build()
}
