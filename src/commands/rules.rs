//! `toolreg rules list | explain ID | test [FILE]`: the detector set and its self-test.

use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;

use super::{emit, Context};
use crate::cli::{RulesAction, RulesArgs, SimpleFormat};
use crate::detect::rules::{example_kind, TextRule};
use crate::detect::Detectors;
use crate::error::Error;
use crate::policy::Outcome;

pub fn run(args: &RulesArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    match &args.action {
        RulesAction::List { format } => {
            let detectors = ctx.detectors(&args.rules)?;
            emit(out, &list(&detectors, *format)?)?;
            Ok(Outcome::Pass)
        }
        RulesAction::Explain { id } => {
            let detectors = ctx.detectors(&args.rules)?;
            emit(out, &explain(&detectors, id)?)?;
            Ok(Outcome::Pass)
        }
        RulesAction::Test { file } => {
            let mut extra = args.rules.clone();
            extra.extend(file.iter().cloned());
            let detectors = ctx.detectors_unproven(&extra)?;
            let only = file.as_ref().map(|f| f.display().to_string());
            let (text, outcome) = test(&detectors, only.as_deref());
            emit(out, &text)?;
            Ok(outcome)
        }
    }
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    name: &'a str,
    severity: &'a str,
    title: &'a str,
    /// The rule file, or `code` for a detector implemented in `src/detect/`.
    source: String,
}

fn list(detectors: &Detectors, format: SimpleFormat) -> Result<String, Error> {
    let rows: Vec<Listed<'_>> = detectors
        .all_rules()
        .into_iter()
        .map(|rule| Listed {
            id: rule.id,
            name: rule.name,
            severity: rule.severity.as_str(),
            title: rule.title,
            source: text_rule(detectors, rule.id).map_or_else(|| "code".to_owned(), |t| t.source.clone()),
        })
        .collect();
    Ok(match format {
        SimpleFormat::Json => {
            let mut text = serde_json::to_string_pretty(&serde_json::json!({"version": 1, "rules": rows}))?;
            text.push('\n');
            text
        }
        SimpleFormat::Human => {
            let mut text = String::new();
            for row in &rows {
                let _ = writeln!(text, "{:<8} {:<9} {:<36} {}", row.id, row.severity, row.name, row.title);
            }
            let _ = writeln!(
                text,
                "\n{} rules ({} from rule files, {} in code).",
                rows.len(),
                detectors.rules.rules().len(),
                rows.len() - detectors.rules.rules().len()
            );
            text
        }
    })
}

fn text_rule<'a>(detectors: &'a Detectors, id: &str) -> Option<&'a TextRule> {
    detectors.rules.rules().iter().find(|r| r.rule.id.eq_ignore_ascii_case(id))
}

fn explain(detectors: &Detectors, id: &str) -> Result<String, Error> {
    let Some(rule) = detectors.all_rules().into_iter().find(|r| r.id.eq_ignore_ascii_case(id)) else {
        return Err(Error::Usage(format!("no rule {id:?}: `toolreg rules list` shows them all")));
    };
    let mut text = String::new();
    let _ = writeln!(text, "{} {} ({})", rule.id, rule.name, rule.severity);
    let _ = writeln!(text, "\n{}\n", rule.title);
    match text_rule(detectors, rule.id) {
        Some(data) => {
            let kinds: Vec<&str> = data.kinds.iter().map(|k| k.name()).collect();
            let _ = writeln!(text, "What it finds: {}.", data.message);
            let _ = writeln!(text, "Fields: {} (on the {} view).", kinds.join(", "), data.view.name());
            if let Some(signal) = data.signal {
                let _ = writeln!(text, "Counts toward TR000 as: {}.", signal.name());
            }
            if data.min_matches > 1 {
                let _ = writeln!(text, "Fires only with {} distinct matches in one field.", data.min_matches);
            }
            if let Some(example) = data.matching.first() {
                let _ = writeln!(
                    text,
                    "\nExample ({}):\n  {}",
                    example_kind(&data.kinds).name(),
                    crate::visible::escape(example)
                );
            }
            if let Some(example) = data.no_match.first() {
                let _ = writeln!(text, "Not flagged:\n  {}", crate::visible::escape(example));
            }
            let _ = writeln!(text, "\nWhat to do: {}", data.remediation);
            for reference in &data.references {
                let _ = writeln!(text, "See: {reference}");
            }
            let _ = writeln!(text, "\nDefined in {}.", data.source);
        }
        None => {
            let _ = writeln!(text, "Why and what to do: {}", rule.help);
            let _ = writeln!(text, "\nA detector in code (src/detect/); its cases are in the test suite.");
        }
    }
    Ok(text)
}

fn test(detectors: &Detectors, only: Option<&str>) -> (String, Outcome) {
    let rules: Vec<&TextRule> =
        detectors.rules.rules().iter().filter(|r| only.is_none_or(|f| r.source == f)).collect();
    let examples: usize = rules.iter().map(|r| r.matching.len() + r.no_match.len()).sum();
    let failures: Vec<_> = detectors
        .rules
        .test_examples()
        .into_iter()
        .filter(|f| only.is_none_or(|file| f.source == file))
        .collect();
    let mut text = String::new();
    for failure in &failures {
        let expected =
            if failure.expected_match { "should match but does not" } else { "should not match but does" };
        let _ = writeln!(
            text,
            "FAIL {} ({}): {expected}:\n  {}",
            failure.rule,
            failure.source,
            crate::visible::escape(&failure.example)
        );
    }
    let _ = writeln!(text, "Tested {examples} examples of {} rules.", rules.len());
    let _ = writeln!(text, "{} passed, {} failed", examples - failures.len(), failures.len());
    (text, if failures.is_empty() { Outcome::Pass } else { Outcome::Fail })
}
