//! `toolreg diff`: a catalog against one server's pins.

use std::io::Write;

use std::path::PathBuf;

use super::places::Places;
use super::{catalog_findings, emit, Context};
use crate::catalog::Catalog;
use crate::cli::{DiffArgs, SourceArgs};
use crate::drift::Drift;
use crate::error::Error;
use crate::finding::{Finding, Locate, Rule, Severity};
use crate::policy::{Outcome, Policy};
use crate::registry::Registry;
use crate::report::{Command, Report};

pub fn run(args: &DiffArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let template = super::read_template(&args.output)?;
    let compared = Compared::load(ctx, &args.server, &args.source)?;
    let config = &compared.registry.config;
    let policy = Policy {
        min_severity: config.min_severity.unwrap_or(Severity::Low),
        fail_on: config.fail_on.unwrap_or(Severity::High),
    };
    // The drift fails the run; detector findings on it are there to read (and fail
    // too from fail-on: they come only with drift).
    let report = Report {
        command: Command::Diff,
        verdict: policy.judge(compared.findings, 0),
        drift: std::slice::from_ref(&compared.drift),
        servers: 1,
        tools: compared.catalog.tools().count(),
        rules: compared.rules,
        extra: serde_json::Map::new(),
    };
    emit(out, &super::render(args.output.format, &report, ctx.color, template.as_deref())?)?;
    Ok(super::outcome(report.passed(), &args.output))
}

/// A catalog compared with one server's pins: what `diff` shows and `review` decides on.
pub struct Compared {
    pub registry: Registry,
    pub server: String,
    pub catalog: Catalog,
    pub drift: Drift,
    /// Change classes, then detector findings on what drifted, each placed.
    pub findings: Vec<Finding>,
    /// Every rule a finding may name.
    pub rules: Vec<&'static Rule>,
}

impl Compared {
    /// Loads the registry (refusing a broken one), the catalog, and compares them.
    pub fn load(ctx: &Context, server: &str, source: &SourceArgs) -> Result<Compared, Error> {
        let registry = ctx.registry()?;
        registry.ensure_sound()?;
        let pinned = registry.server(server)?;
        let catalog = super::fetch::server_catalog(source, pinned)?;
        let drift = Drift::between(pinned, &catalog)?;
        let detectors = ctx.registry_detectors(&registry)?;
        let min = registry.config.min_severity.unwrap_or(Severity::Low);
        let file = source.catalog.as_ref().filter(|c| *c != "-").map(PathBuf::from);
        let places = Places::new(&registry, file.map(|f| (pinned.id.clone(), f)));
        let detected = catalog_findings(&detectors, &registry.config, &catalog, &places);
        let findings = drift_findings(&drift, detected, min, &places);
        let server = pinned.id.clone();
        drop(places);
        Ok(Compared { server, registry, catalog, drift, findings, rules: detectors.all_rules() })
    }
}

/// The change classes of `drift`, then the detector findings (at or above `min`) on
/// the items that drifted: what is new is what needs reading.
pub fn drift_findings(
    drift: &Drift,
    detected: Vec<Finding>,
    min: Severity,
    places: &dyn Locate,
) -> Vec<Finding> {
    let mut findings = drift.findings(places);
    let drifted: Vec<Option<String>> = drift
        .header
        .iter()
        .chain(&drift.items)
        .map(|i| i.item.as_ref().map(crate::item::ItemRef::label))
        .collect();
    findings.extend(detected.into_iter().filter(|f| f.severity >= min && drifted.contains(&f.item_label())));
    findings
}
