//! `toolreg scan`: detectors over catalog files, no registry needed.

use std::io::Write;

use super::{emit, load_inputs, Context};
use crate::cli::{ReportFormat, ScanArgs};
use crate::error::Error;
use crate::finding::Counts;
use crate::policy::{Outcome, Policy};
use crate::report::{self, ScanReport};

pub fn run(args: &ScanArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let catalogs = load_inputs(&args.input)?;
    let detectors = crate::detect::Detectors::builtin()?;
    let findings = detectors.scan(&catalogs);
    let policy = Policy { min_severity: args.min_severity, fail_on: args.fail_on };
    let outcome = policy.outcome(&findings);
    let shown = policy.shown(&findings);
    let hidden = Counts::of(findings.iter().filter(|f| !shown.iter().any(|s| std::ptr::eq(*s, *f))));
    let report = ScanReport {
        findings: shown,
        servers: catalogs.len(),
        tools: catalogs.iter().map(|c| c.tools.len()).sum(),
    };
    let text = match args.format {
        ReportFormat::Json => report::json::render(&report)?,
        ReportFormat::Human => {
            let verdict = report::human::Verdict { outcome, fail_on: policy.fail_on, hidden };
            report::human::render(&report, &verdict, report::human::Style { color: ctx.color })
        }
    };
    emit(out, &text)?;
    // The process ends next: freeing every parsed value one by one is wasted work.
    std::mem::forget(catalogs);
    Ok(outcome)
}
