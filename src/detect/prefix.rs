//! Prefix literals of a rule pattern: the literals every match starts with, which the
//! rule engine's literal prefilter (`literals.rs`) searches for. Shared with `build.rs`, which
//! computes them for the built-in rule files once, at build time (a `#[path]`
//! module there: this file uses nothing but `regex_syntax`).

/// Prefix literals shorter than this do not make a useful prefilter: such patterns
/// always run.
pub const MIN_LITERAL: usize = 2;

/// Parses `pattern` as the engine compiles it (ASCII classes, bytes) and returns the
/// literals every match starts with, when there is a list of them and each is long
/// enough to filter on; `Err` is the parse error. Classes of more than four characters
/// are not expanded (`you\s` gives `you`), which keeps the lists short — unless that
/// leaves a literal too short (`a\s+partir` gives `a`): then the six ASCII spaces are
/// expanded too (`a `, `a\t`, …), so that the pattern need not run on every field.
pub fn prefix_literals(pattern: &str) -> Result<Option<Vec<Vec<u8>>>, String> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    for class_limit in [4, 6] {
        let seq = Extractor::new().kind(ExtractKind::Prefix).limit_class(class_limit).extract(&hir);
        let Some(literals) = seq.literals() else { continue };
        if !literals.is_empty() && literals.iter().all(|l| l.as_bytes().len() >= MIN_LITERAL) {
            return Ok(Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect()));
        }
    }
    Ok(None)
}
