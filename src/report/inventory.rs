//! The inventory table as text: a terminal table, markdown (escaped for pull-request
//! comments and wikis), CSV (quoted; cells a spreadsheet would run as a formula are
//! defused).

use std::fmt::Write as _;

use crate::commands::inventory::Row;

/// A column: its heading, and its cell of a row.
type Column = (&'static str, fn(&Row) -> String);

/// The columns, in order.
fn columns() -> Vec<Column> {
    vec![
        ("server", |r| r.server.clone()),
        ("owner", |r| r.owner.clone()),
        ("approvers", |r| r.approvers.join("; ")),
        ("repository", |r| r.repository.clone()),
        ("support", |r| r.support.clone()),
        ("transport", |r| r.transport.clone()),
        ("runtime", |r| r.runtime.clone()),
        ("hosting", |r| r.hosting.clone()),
        ("sandbox", |r| r.sandbox.clone()),
        ("tools", |r| r.tools.to_string()),
        ("prompts", |r| r.prompts.to_string()),
        ("resources", |r| (r.resources + r.resource_templates).to_string()),
        ("data classes", |r| r.data_classes.join("; ")),
        ("OAuth scopes", |r| r.oauth_scopes.join("; ")),
        ("advertised scopes", |r| {
            let mark = |s: &String| {
                if r.undeclared_scopes.contains(s) {
                    format!("{s} (undeclared)")
                } else {
                    s.clone()
                }
            };
            r.advertised_scopes.iter().map(mark).collect::<Vec<_>>().join("; ")
        }),
        ("telemetry", |r| r.telemetry.clone()),
        ("status", |r| r.status.clone()),
        ("last review", |r| r.last_review.clone().unwrap_or_default()),
        ("reviewer", |r| r.last_reviewer.clone().unwrap_or_default()),
    ]
}

pub fn markdown(rows: &[Row]) -> String {
    let columns = columns();
    let mut out = String::from("| ");
    out.push_str(&columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(" | "));
    out.push_str(" |\n|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for row in rows {
        let cells: Vec<String> =
            columns.iter().map(|(_, cell)| super::markdown::escape(&cell(row))).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

pub fn csv(rows: &[Row]) -> String {
    let columns = columns();
    let mut out = columns.iter().map(|(name, _)| csv_cell(name)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&columns.iter().map(|(_, cell)| csv_cell(&cell(row))).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// RFC 4180 quoting; a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a `'`
/// first, so a spreadsheet shows it instead of running it.
fn csv_cell(text: &str) -> String {
    let defused =
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

pub fn human(rows: &[Row]) -> String {
    if rows.is_empty() {
        return "No servers registered.\n".to_owned();
    }
    let mut out = String::new();
    for row in rows {
        let _ = writeln!(
            out,
            "{}  ({}, {})",
            row.server,
            row.status,
            if row.owner.is_empty() { "no owner" } else { &row.owner }
        );
        for (name, cell) in columns().into_iter().skip(2) {
            let value = cell(row);
            if !value.is_empty() && value != "0" {
                let _ = writeln!(out, "  {name:<13} {value}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("a \"b\", c"), "\"a \"\"b\"\", c\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
    }
}
