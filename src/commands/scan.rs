//! `toolreg scan`: detectors over catalog files, no registry needed.

use std::io::Write;

use super::places::CatalogFiles;
use super::{emit, load_inputs, Context};
use crate::catalog::Catalog;
use crate::cli::ScanArgs;
use crate::error::Error;
use crate::finding::Severity;
use crate::policy::{self, Outcome, Policy};
use crate::registry::Server;
use crate::report::{Command, Report};

/// Input bytes whose parsing takes about as long as compiling the rules.
const PARSE_WORTH_A_THREAD: u64 = 256 * 1024;

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
    // Compiling the rules and parsing the inputs are independent: both at once, when
    // the inputs take long enough to read to be worth a thread.
    let (detectors, catalogs) = crate::parallel::join(
        args.live || super::input_bytes(&args.input) >= PARSE_WORTH_A_THREAD,
        || ctx.detectors(&args.rules),
        || if args.live { live_catalogs(&args.input.files, ctx) } else { load_inputs(&args.input) },
    );
    let (detectors, catalogs) = (detectors?, catalogs?);
    let servers: Vec<String> = catalogs.iter().map(|c| c.server.clone()).collect();
    let places = CatalogFiles::new(&catalogs, ctx.config.path.as_deref());
    let found = detectors.scan(&catalogs, &places);
    let kept = policy::apply_suppressions(
        found,
        &ctx.config.suppressions,
        Some(&servers),
        crate::config::today(),
        &places,
    );
    let policy = Policy {
        min_severity: args.min_severity.or(ctx.config.min_severity).unwrap_or(Severity::Low),
        fail_on: args.fail_on.or(ctx.config.fail_on).unwrap_or(Severity::High),
    };
    let report = Report {
        command: Command::Scan,
        verdict: policy.judge(kept.findings, kept.suppressed),
        drift: &[],
        servers: catalogs.len(),
        tools: catalogs.iter().map(|c| c.tools().count()).sum(),
        rules: detectors.all_rules(),
        extra: serde_json::Map::new(),
    };
    emit(out, &super::render(args.output.format, &report, ctx.color, template.as_deref())?)?;
    let passed = report.passed();
    // The process ends next: freeing every parsed value and compiled rule one by one
    // is wasted work.
    std::mem::forget(catalogs);
    std::mem::forget(detectors);
    std::mem::forget(report);
    Ok(super::outcome(passed, &args.output))
}
