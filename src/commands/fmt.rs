//! `toolreg fmt`: every registry JSON file in canonical text form (design §4).

use std::io::Write;

use super::{emit, Context};
use crate::cli::FmtArgs;
use crate::error::Error;
use crate::policy::Outcome;
use crate::registry::store::Changes;
use crate::registry::{canonical_text, NON_CANONICAL};
use crate::visible;

pub fn run(args: &FmtArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    if !args.check {
        ctx.recover()?;
    }
    let registry = ctx.registry()?;
    let mut changes = Changes::default();
    let mut report = String::new();
    for problem in registry.problems.iter().filter(|p| p.rule.id == NON_CANONICAL.id) {
        let text = std::fs::read_to_string(&problem.path)
            .map_err(|e| Error::Usage(format!("{}: {e}", problem.path.display())))?;
        let value: serde_json::Value = serde_json::from_str(&text)?;
        let canonical = canonical_text::to_text(&value);
        let shown = visible::escape(&problem.path.display().to_string());
        if args.check {
            report.push_str(&format!("--- {shown}\n+++ {shown} (canonical)\n"));
            let diff = similar::TextDiff::from_lines(text.as_str(), canonical.as_str());
            for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
                report.push_str(&visible::escape_multiline(&hunk.to_string()));
            }
        } else {
            report.push_str(&format!("formatted {shown}\n"));
        }
        changes.write(problem.path.clone(), canonical);
    }
    if changes.is_empty() {
        emit(out, "Every registry file is canonical.\n")?;
        return Ok(Outcome::Pass);
    }
    if args.check {
        report.push_str("Run `toolreg fmt` to rewrite these files.\n");
        emit(out, &report)?;
        return Ok(Outcome::Fail);
    }
    let repo = crate::git::Repo::discover(&registry.root).ok();
    changes.write_only(repo.as_ref())?;
    emit(out, &report)?;
    Ok(Outcome::Pass)
}
