//! `toolreg diff`: a catalog against one server's pins.

use std::io::Write;

use super::{catalog_findings, emit, load_server_catalog, Context};
use crate::cli::{DiffArgs, ReportFormat};
use crate::drift::Drift;
use crate::error::Error;
use crate::finding::{Finding, Severity};
use crate::policy::Outcome;
use crate::report::diff::{self, DiffReport};
use crate::report::human::Style;

pub fn run(args: &DiffArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let registry = ctx.registry()?;
    registry.ensure_sound()?;
    let server = registry.server(&args.server)?;
    let catalog = load_server_catalog(&args.catalog, &server.id)?;
    let drift = Drift::between(server, &catalog)?;
    let detectors = ctx.registry_detectors(&registry)?;
    let min = registry.config.min_severity.unwrap_or(Severity::Low);
    let findings = drift_findings(&drift, catalog_findings(&detectors, &registry.config, &catalog), min);
    let report =
        DiffReport { drift: &drift, tools: catalog.tools.len(), findings: findings.iter().collect() };
    let text = match args.format {
        ReportFormat::Human => diff::human(&report, Style { color: ctx.color }),
        ReportFormat::Json => diff::json(&[report])?,
    };
    emit(out, &text)?;
    Ok(if drift.is_empty() { Outcome::Pass } else { Outcome::Fail })
}

/// The change classes of `drift`, then the detector findings (at or above `min`) on
/// the items that drifted: what is new is what needs reading.
pub fn drift_findings(drift: &Drift, detected: Vec<Finding>, min: Severity) -> Vec<Finding> {
    let mut findings = drift.findings();
    let drifted: Vec<Option<String>> = drift
        .header
        .iter()
        .chain(&drift.tools)
        .map(|i| i.tool.as_deref().map(crate::visible::escape))
        .collect();
    findings.extend(detected.into_iter().filter(|f| f.severity >= min && drifted.contains(&f.tool)));
    findings
}
