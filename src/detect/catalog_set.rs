//! Detectors over the whole set of scanned catalogs: tool names that look alike
//! across (or within) servers (UTS #39 skeletons, threats.md §6.9).

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::Catalog;
use crate::finding::{fingerprint, Finding, Rule, Severity};
use crate::visible;

pub const CONFUSABLE_NAMES: Rule = Rule {
    id: "UNI009",
    name: "confusable-name-collision",
    title: "Two different tool names look the same (UTS #39 skeletons match)",
    severity: Severity::High,
};

pub const RULES: [&Rule; 1] = [&CONFUSABLE_NAMES];

/// Most look-alikes a finding names; the rest are counted.
const NAMED_LOOKALIKES: usize = 3;

/// UNI009: every tool whose name has the same skeleton as a different name elsewhere
/// in the set. When one side is ASCII, only the non-ASCII impostor is reported (high);
/// when both are ASCII (`send_emaiI` vs `send_email`) both are, at medium.
pub fn check(catalogs: &[Catalog]) -> Vec<Finding> {
    // skeleton → name → servers having a tool of that name
    let mut by_skeleton: BTreeMap<String, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for catalog in catalogs {
        for tool in &catalog.tools {
            let skeleton: String = unicode_security::skeleton(&tool.name).collect();
            by_skeleton.entry(skeleton).or_default().entry(&tool.name).or_default().insert(&catalog.server);
        }
    }
    let mut findings = Vec::new();
    for names in by_skeleton.values().filter(|names| names.len() > 1) {
        for (&name, servers) in names {
            let others: Vec<(&str, &BTreeSet<&str>)> =
                names.iter().filter(|(&other, _)| other != name).map(|(&o, s)| (o, s)).collect();
            let any_ascii_other = others.iter().any(|(o, _)| o.is_ascii());
            let severity = match (name.is_ascii(), any_ascii_other) {
                (true, _) if others.iter().all(|(o, _)| !o.is_ascii()) => continue,
                (true, _) => Severity::Medium,
                (false, true) => Severity::High,
                (false, false) => Severity::Medium,
            };
            let mut described: Vec<String> = others
                .iter()
                .take(NAMED_LOOKALIKES)
                .map(|(other, where_)| {
                    let servers: Vec<String> = where_.iter().take(2).map(|s| visible::escape(s)).collect();
                    format!("{} ({})", visible::escape(other), servers.join(", "))
                })
                .collect();
            if others.len() > NAMED_LOOKALIKES {
                described.push(format!("and {} more", others.len() - NAMED_LOOKALIKES));
            }
            for &server in servers {
                findings.push(Finding {
                    rule: CONFUSABLE_NAMES.id,
                    name: CONFUSABLE_NAMES.name,
                    severity,
                    server: visible::escape(server),
                    tool: Some(visible::escape(name)),
                    pointer: "/name".to_owned(),
                    span: Some([0, name.chars().count()]),
                    message: format!("tool name looks the same as {}", described.join(", ")),
                    evidence: visible::escape(name),
                    decoded: None,
                    fingerprint: fingerprint(CONFUSABLE_NAMES.id, server, Some(name), "/name", name),
                });
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Header, Tool};

    fn catalog(server: &str, names: &[&str]) -> Catalog {
        Catalog {
            server: server.into(),
            origin: "t".into(),
            header: Header::default(),
            tools: names
                .iter()
                .map(|n| Tool { name: (*n).into(), value: serde_json::json!({ "name": n }) })
                .collect(),
        }
    }

    #[test]
    fn impostor_names_are_reported() {
        let set =
            [catalog("mail", &["send_email"]), catalog("evil", &["send_emai\u{0406}", "s\u{0435}nd_email"])];
        let findings = check(&set);
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert!(findings.iter().all(|f| f.severity == Severity::High && f.server == "evil"));

        let ascii = [catalog("a", &["send_email"]), catalog("b", &["send_emaiI"])];
        let findings = check(&ascii);
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(|f| f.severity == Severity::Medium));
    }

    #[test]
    fn same_name_in_many_servers_is_not_a_collision() {
        let set = [catalog("a", &["read_file"]), catalog("b", &["read_file"])];
        assert!(check(&set).is_empty());
    }
}
