//! `toolreg scan`: detectors over catalog files, no registry needed.

use std::io::Write;

use super::{emit, load_inputs, Context};
use crate::catalog::Catalog;
use crate::cli::{ReportFormat, ScanArgs};
use crate::error::Error;
use crate::finding::{Counts, Location, Severity};
use crate::policy::{self, Outcome, Policy};
use crate::registry::Server;
use crate::report::{self, Report, ScanReport, Shown};
use crate::visible;
use std::collections::HashMap;
use std::path::Path;

/// The live catalogs of the registered servers `ids` (all of them when empty).
fn live_catalogs(ids: &[String], ctx: &Context) -> Result<Vec<Catalog>, Error> {
    let registry = ctx.registry()?;
    let servers: Vec<&Server> = if ids.is_empty() {
        registry.servers.values().collect()
    } else {
        ids.iter().map(|id| registry.server(id)).collect::<Result<_, _>>()?
    };
    servers.into_iter().map(super::fetch::live_catalog).collect()
}

pub fn run(args: &ScanArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let template = super::read_template(&args.output)?;
    // Compiling the rules and parsing the inputs are independent: do both at once.
    let (detectors, catalogs) = std::thread::scope(|scope| {
        let detectors = scope.spawn(|| ctx.detectors(&args.rules));
        let catalogs =
            if args.live { live_catalogs(&args.input.files, ctx) } else { load_inputs(&args.input) };
        (detectors.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), catalogs)
    });
    let (detectors, catalogs) = (detectors?, catalogs?);
    let servers: Vec<String> = catalogs.iter().map(|c| c.server.clone()).collect();
    let found = detectors.scan(&catalogs);
    let policy::Suppressed { findings: mut all, suppressed } =
        policy::apply_suppressions(found, &ctx.config.suppressions, &servers, crate::config::today());
    let policy = Policy {
        min_severity: args.min_severity.or(ctx.config.min_severity).unwrap_or(Severity::Low),
        fail_on: args.fail_on.or(ctx.config.fail_on).unwrap_or(Severity::High),
    };
    // A finding points at the file its catalog came from (resolved once per catalog:
    // a corpus scan has thousands of findings).
    let mut files: HashMap<String, Option<Location>> = HashMap::new();
    for catalog in &catalogs {
        let file = catalog.origin.split("#/").next().filter(|o| !o.starts_with('<'));
        let location = file.map(|f| Location { path: super::display_path(Path::new(f)), line: None });
        files.entry(visible::label(&catalog.server)).or_insert(location);
    }
    for finding in &mut all {
        finding.location = files.get(&finding.server).cloned().flatten();
    }
    let findings = all;
    let outcome = policy.outcome(&findings);
    let shown = policy.shown(&findings);
    let hidden = Counts::of(findings.iter().filter(|f| f.severity < policy.min_severity.min(policy.fail_on)));
    let tools = catalogs.iter().map(|c| c.tools().count()).sum();
    let text = match args.output.format {
        ReportFormat::Json => {
            report::json::render(&ScanReport { findings: shown, servers: catalogs.len(), tools })?
        }
        ReportFormat::Human => {
            let verdict = report::human::Verdict { outcome, fail_on: policy.fail_on, hidden, suppressed };
            let report = ScanReport { findings: shown, servers: catalogs.len(), tools };
            report::human::render(&report, &verdict, report::human::Style { color: ctx.color })
        }
        format => {
            let report = Report {
                command: "scan",
                findings: shown
                    .iter()
                    .map(|f| Shown { finding: f, fails: f.severity >= policy.fail_on })
                    .collect(),
                drift: &[],
                servers: catalogs.len(),
                tools,
                rules: detectors.all_rules(),
                passed: outcome == Outcome::Pass,
            };
            super::render_report(format, &report, template.as_deref())?
        }
    };
    emit(out, &text)?;
    // The process ends next: freeing every parsed value and compiled rule one by one
    // is wasted work.
    std::mem::forget(catalogs);
    std::mem::forget(detectors);
    Ok(super::outcome(outcome == Outcome::Pass, &args.output))
}
