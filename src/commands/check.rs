//! `toolreg check` (first form): captured catalogs against the registry. Fails on drift,
//! on a blocked or unapproved digest in use, and on broken or non-canonical registry
//! files. A registered server without a catalog could not be checked: exit 2.

use std::io::Write;

use super::{emit, Context};
use crate::canon;
use crate::cli::{CheckArgs, ReportFormat, SourceArgs};
use crate::drift::Drift;
use crate::error::Error;
use crate::finding::Finding;
use crate::policy::Outcome;
use crate::registry::{PinState, Problem, Registry, Server, BLOCKED_SERVED, UNAPPROVED_SERVED};
use crate::report;
use crate::report::diff::{json_entries, short_digest};
use crate::report::human::Style;
use crate::visible;

pub fn run(args: &CheckArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let registry = ctx.registry()?;
    if let Some(dir) = args.catalogs.as_deref().filter(|d| !d.is_dir()) {
        return Err(Error::Usage(format!(
            "--catalogs {}: not a directory",
            visible::escape(&dir.display().to_string())
        )));
    }
    let mut findings: Vec<Finding> =
        registry.problems.iter().map(|p| problem_finding(&registry, p)).collect();
    let mut drift_entries = Vec::new();
    let mut tools = 0;
    for server in registry.servers.values() {
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
        tools += catalog.tools.len();
        let drift = Drift::between(server, &catalog)?;
        findings.extend(drift.findings());
        drift_entries.extend(json_entries(&drift));
        findings.extend(served_findings(&registry, server, &catalog)?);
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let shown: Vec<&Finding> = findings.iter().collect();
    let text = match args.format {
        ReportFormat::Human => {
            report::check::human(&shown, registry.servers.len(), tools, Style { color: ctx.color })
        }
        ReportFormat::Json => report::json::document(&shown, &drift_entries, registry.servers.len(), tools)?,
    };
    emit(out, &text)?;
    Ok(if findings.is_empty() { Outcome::Pass } else { Outcome::Fail })
}

/// Served content whose digest is blocked, or whose pin is not (or no longer) approved.
fn served_findings(
    registry: &Registry,
    server: &Server,
    catalog: &crate::catalog::Catalog,
) -> Result<Vec<Finding>, Error> {
    let mut out = Vec::new();
    let header_digest = canon::digest(&canon::header_value(&catalog.header))?.to_string();
    let mut served: Vec<(Option<&str>, String)> = vec![(None, header_digest)];
    for tool in &catalog.tools {
        served.push((Some(tool.name.as_str()), canon::digest(&tool.value)?.to_string()));
    }
    for (tool, digest) in served {
        if let Some(entry) = registry.blocked.find(&digest) {
            out.push(Finding::about(
                &BLOCKED_SERVED,
                BLOCKED_SERVED.severity,
                &server.id,
                tool,
                "",
                format!(
                    "serves {} — blocked by {} on {}: {}",
                    short_digest(&digest),
                    visible::escape(&entry.by),
                    visible::escape(&entry.at),
                    visible::escape(&entry.reason)
                ),
                &digest,
                &digest,
            ));
        }
        let pin = match tool {
            Some(name) => server.tools.get(name),
            None => server.header.as_ref(),
        };
        if let Some(pin) = pin.filter(|p| p.digest == digest) {
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
                    tool,
                    "",
                    format!("serves the pinned {}, but {why}", short_digest(&digest)),
                    &digest,
                    &digest,
                ));
            }
        }
    }
    Ok(out)
}

/// A registry problem as a finding, placed at its server (when the file is one's).
fn problem_finding(registry: &Registry, problem: &Problem) -> Finding {
    let relative = problem.path.strip_prefix(&registry.root).unwrap_or(&problem.path);
    let server = match relative.strip_prefix("servers").ok().and_then(|r| r.iter().next()) {
        Some(id) => id.to_string_lossy().into_owned(),
        None => "(registry)".to_owned(),
    };
    let shown = relative.display().to_string();
    Finding::about(
        problem.rule,
        problem.rule.severity,
        &server,
        None,
        "",
        format!("{}: {}", visible::escape(&shown), problem.message),
        &shown,
        &shown,
    )
}
