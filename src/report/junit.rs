//! JUnit XML, for CI systems that show test reports: one test case per server and
//! tool with findings (failing when any finding fails the run), or one passing case
//! when there are none.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Report;
use crate::policy::Judged;

pub fn render(report: &Report<'_>) -> String {
    let mut cases: BTreeMap<(&str, String), Vec<&Judged>> = BTreeMap::new();
    for shown in report.findings() {
        let item = shown.finding.item_label().unwrap_or_else(|| "(server)".to_owned());
        cases.entry((shown.finding.server.as_str(), item)).or_default().push(shown);
    }
    let failures = cases.values().filter(|c| c.iter().any(|s| s.fails)).count();
    let tests = cases.len().max(1);
    let suite = format!("toolreg {}", report.command.as_str());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\">", xml(&suite));
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        xml(&suite)
    );
    if cases.is_empty() {
        let _ = writeln!(
            out,
            "    <testcase classname=\"toolreg\" name=\"{} server(s), {} tool(s)\"/>",
            report.servers, report.tools
        );
    }
    for ((server, tool), findings) in &cases {
        let _ = writeln!(out, "    <testcase classname=\"{}\" name=\"{}\">", xml(server), xml(tool));
        let mut notes = String::new();
        for shown in findings {
            let f = &shown.finding;
            let line = format!("{} {} [{}] {} {}", f.rule, f.name, f.severity, f.pointer, f.message);
            if shown.fails {
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    xml(f.rule),
                    xml(&f.message),
                    xml(&line)
                );
            } else {
                let _ = writeln!(notes, "{line}");
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "      <system-out>{}</system-out>", xml(&notes));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Text safe in XML attributes and content; characters XML 1.0 cannot hold at all
/// become `⟨U+XXXX⟩`.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "⟨U+{:04X}⟩", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}
