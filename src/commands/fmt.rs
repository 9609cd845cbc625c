//! `toolreg fmt`: every registry JSON file in canonical text form (design §4).

use std::io::Write;

use super::{emit, Context};
use crate::cli::FmtArgs;
use crate::config::{Config, REGISTRY_FORMAT};
use crate::error::Error;
use crate::policy::Outcome;
use crate::registry::store::Changes;
use crate::registry::{canonical_text, Registry, CONFIG_FILE, NON_CANONICAL};
use crate::visible;

pub fn run(args: &FmtArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    if !args.check {
        ctx.recover()?;
    }
    let registry = ctx.registry()?;
    if args.migrate {
        return migrate(&registry, out);
    }
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

/// `fmt --migrate`: toolreg.toml's `[registry] format` set to the newest, its text kept
/// otherwise (comments and all). Pins are left as they are: what the new format reads
/// differently shows as drift in `diff` and `check`, to be reviewed.
fn migrate(registry: &Registry, out: &mut dyn Write) -> Result<Outcome, Error> {
    let from = registry.config.registry.format;
    if from >= REGISTRY_FORMAT {
        emit(out, &format!("The registry is already format {from}: nothing to migrate.\n"))?;
        return Ok(Outcome::Pass);
    }
    let path = registry.root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Usage(format!("{}: {e}", visible::escape(&path.display().to_string()))))?;
    let migrated = with_format(&text, REGISTRY_FORMAT);
    // The edit must mean what it says before anything is written.
    let config = Config::parse(&path, &migrated)?;
    if config.registry.format != REGISTRY_FORMAT {
        return Err(Error::Usage(format!(
            "{}: could not set [registry] format = {REGISTRY_FORMAT}; set it by hand",
            visible::escape(&path.display().to_string())
        )));
    }
    let mut changes = Changes::default();
    changes.write(path.clone(), migrated);
    let repo = crate::git::Repo::discover(&registry.root).ok();
    changes.write_only(repo.as_ref())?;
    emit(
        out,
        &format!(
            "Migrated {} from format {from} to {REGISTRY_FORMAT}: the server header pin now covers the \
             server's declared capabilities.\nNothing was re-pinned: `toolreg diff` shows what now differs \
             (`/capabilities` of each header), `toolreg review` approves it. Commit toolreg.toml.\n",
            visible::escape(&path.display().to_string())
        ),
    )?;
    Ok(Outcome::Pass)
}

/// `text` with `format = N` in its `[registry]` table: an existing `format` line of
/// that table replaced, else one added under the table's header, else the table added.
fn with_format(text: &str, format: u32) -> String {
    let line = format!("format = {format}");
    let mut out: Vec<String> = Vec::new();
    let mut in_registry = false;
    let mut done = false;
    for original in text.lines() {
        let trimmed = original.trim();
        if trimmed.starts_with('[') {
            in_registry = trimmed == "[registry]";
            out.push(original.to_owned());
            if in_registry && !done && !text_has_format(text) {
                out.push(line.clone());
                done = true;
            }
            continue;
        }
        if in_registry && !done && trimmed.split('=').next().map(str::trim) == Some("format") {
            out.push(line.clone());
            done = true;
            continue;
        }
        out.push(original.to_owned());
    }
    let mut result = out.join("\n");
    if !done {
        result.push_str(&format!("\n\n[registry]\n{line}"));
    }
    result.push('\n');
    result
}

/// Whether `[registry]` already has a `format` key (to replace rather than add).
fn text_has_format(text: &str) -> bool {
    let mut in_registry = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_registry = line == "[registry]";
        } else if in_registry && line.split('=').next().map(str::trim) == Some("format") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_set_where_it_belongs() {
        assert_eq!(
            with_format("[policy]\nfail-on = \"high\"\n", 2),
            "[policy]\nfail-on = \"high\"\n\n[registry]\nformat = 2\n"
        );
        assert_eq!(
            with_format("[registry]\n# who\nreviewers = []\n[rules]\nformat = 9\n", 2),
            "[registry]\nformat = 2\n# who\nreviewers = []\n[rules]\nformat = 9\n"
        );
        assert_eq!(with_format("[registry]\nformat = 1\n", 2), "[registry]\nformat = 2\n");
    }
}
