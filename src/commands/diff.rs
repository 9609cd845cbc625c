//! `toolreg diff`: a catalog against one server's pins.

use std::io::Write;

use std::path::PathBuf;

use super::places::Places;
use super::{catalog_findings, emit, Context};
use crate::catalog::Catalog;
use crate::cli::{DiffArgs, ReportFormat, SourceArgs};
use crate::drift::Drift;
use crate::error::Error;
use crate::finding::{Finding, Severity};
use crate::policy::Outcome;
use crate::registry::Registry;
use crate::report::diff::{self, DiffReport};
use crate::report::human::Style;
use crate::report::{Report, Shown};

pub fn run(args: &DiffArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let template = super::read_template(&args.output)?;
    let compared = Compared::load(ctx, &args.server, &args.source)?;
    let report = DiffReport {
        drift: &compared.drift,
        tools: compared.catalog.tools().count(),
        findings: compared.findings.iter().collect(),
    };
    let passed = compared.drift.is_empty();
    let text = match args.output.format {
        ReportFormat::Human => diff::human(&report, Style { color: ctx.color }),
        ReportFormat::Json => diff::json(&[report])?,
        format => {
            // The drift fails the run; detector findings on it are there to read.
            let mut findings = compared.findings.clone();
            let server = compared.registry.server(&compared.server)?;
            let catalog_file = args.source.catalog.as_ref().filter(|c| *c != "-").map(PathBuf::from);
            let catalogs = [(server.id.clone(), catalog_file)];
            let places = Places::new(&compared.registry, &catalogs);
            for finding in &mut findings {
                finding.location = places.locate(finding);
            }
            let entries = diff::json_entries(&compared.drift);
            let machine = Report {
                command: "diff",
                findings: findings
                    .iter()
                    .map(|f| Shown { finding: f, fails: f.rule.starts_with("PIN") })
                    .collect(),
                drift: &entries,
                servers: 1,
                tools: compared.catalog.tools().count(),
                rules: ctx.registry_detectors(&compared.registry)?.all_rules(),
                passed,
            };
            super::render_report(format, &machine, template.as_deref())?
        }
    };
    emit(out, &text)?;
    Ok(super::outcome(passed, &args.output))
}

/// A catalog compared with one server's pins: what `diff` shows and `review` decides on.
pub struct Compared {
    pub registry: Registry,
    pub server: String,
    pub catalog: Catalog,
    pub drift: Drift,
    /// Change classes, then detector findings on what drifted.
    pub findings: Vec<Finding>,
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
        let findings = drift_findings(&drift, catalog_findings(&detectors, &registry.config, &catalog), min);
        Ok(Compared { server: pinned.id.clone(), registry, catalog, drift, findings })
    }
}

/// The change classes of `drift`, then the detector findings (at or above `min`) on
/// the items that drifted: what is new is what needs reading.
pub fn drift_findings(drift: &Drift, detected: Vec<Finding>, min: Severity) -> Vec<Finding> {
    let mut findings = drift.findings();
    let drifted: Vec<Option<String>> = drift
        .header
        .iter()
        .chain(&drift.items)
        .map(|i| i.item.as_ref().map(crate::item::ItemRef::label))
        .collect();
    findings.extend(detected.into_iter().filter(|f| f.severity >= min && drifted.contains(&f.item_label())));
    findings
}
