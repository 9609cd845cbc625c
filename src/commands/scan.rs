//! `toolreg scan`: detectors over catalog files, no registry needed.

use std::io::Write;

use super::{emit, load_inputs, Context};
use crate::catalog::Catalog;
use crate::cli::{ReportFormat, ScanArgs};
use crate::error::Error;
use crate::finding::{Counts, Severity};
use crate::policy::{self, Outcome, Policy};
use crate::registry::Server;
use crate::report::{self, ScanReport};

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
    let policy::Suppressed { findings, suppressed } =
        policy::apply_suppressions(found, &ctx.config.suppressions, &servers, crate::config::today());
    let policy = Policy {
        min_severity: args.min_severity.or(ctx.config.min_severity).unwrap_or(Severity::Low),
        fail_on: args.fail_on.or(ctx.config.fail_on).unwrap_or(Severity::High),
    };
    let outcome = policy.outcome(&findings);
    let shown = policy.shown(&findings);
    let hidden = Counts::of(findings.iter().filter(|f| f.severity < policy.min_severity.min(policy.fail_on)));
    let report = ScanReport {
        findings: shown,
        servers: catalogs.len(),
        tools: catalogs.iter().map(|c| c.tools.len()).sum(),
    };
    let text = match args.format {
        ReportFormat::Json => report::json::render(&report)?,
        ReportFormat::Human => {
            let verdict = report::human::Verdict { outcome, fail_on: policy.fail_on, hidden, suppressed };
            report::human::render(&report, &verdict, report::human::Style { color: ctx.color })
        }
    };
    emit(out, &text)?;
    // The process ends next: freeing every parsed value and compiled rule one by one
    // is wasted work.
    std::mem::forget(catalogs);
    std::mem::forget(detectors);
    Ok(outcome)
}
