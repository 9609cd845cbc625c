//! Detectors over the whole set of scanned catalogs: tool names that look alike
//! (UTS #39 skeletons, threats.md §6.9), tool and server names that collide across
//! servers, and text that refers to another server's tools (threats.md §2).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::catalog::Catalog;
use crate::fields::{Field, FieldKind};
use crate::finding::{Finding, Locate, Rule, RuleClass, Severity};
use crate::item::ItemRef;
use crate::visible;

pub const CONFUSABLE_NAMES: Rule = Rule {
    id: "UNI009",
    name: "confusable-name-collision",
    title: "Two different tool names look the same (UTS #39 skeletons match)",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "Two different tool names that look the same (UTS #39 skeletons match): the model or user may call the impostor.",
};

pub const CROSS_SERVER_REFERENCE: Rule = Rule {
    id: "SH001",
    name: "cross-server-tool-reference",
    title: "Text refers to a tool of another server",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "Text that names a tool of another server is how a poisoned tool steers a trusted one (shadowing).",
};

pub const NAME_COLLISION: Rule = Rule {
    id: "SH003",
    name: "tool-name-collision",
    title: "Tools of different servers share a name (ignoring case and separators)",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "Tools of different servers with the same name (ignoring case and separators) let a client call the wrong one; within one server it is squatting.",
};

pub const SERVER_NAME_COLLISION: Rule = Rule {
    id: "SH007",
    name: "server-name-collision",
    title: "Two scanned servers whose names differ only in case or separators",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "A server named like another one (`check_sig_` beside `check_sig`) is how a squatter is installed in its place: check which one the registry approved.",
};

pub const RULES: [&Rule; 4] =
    [&CONFUSABLE_NAMES, &CROSS_SERVER_REFERENCE, &NAME_COLLISION, &SERVER_NAME_COLLISION];

/// High-value tool names a poisoned tool of any server may try to steer, referred to
/// even when no scanned server has them (threats.md §2).
const HIGH_VALUE_TOOLS: &[&str] = &[
    "send_email",
    "send_message",
    "send_mail",
    "read_file",
    "write_file",
    "execute_command",
    "run_command",
    "run_shell",
    "shell_exec",
    "http_request",
    "git_push",
    "create_pull_request",
    "transfer_funds",
    "make_payment",
    "send_payment",
    "upload_file",
    "delete_file",
    "fetch_url",
    "send_sms",
    "post_message",
];

/// A finding about one tool name of the set; `key` is what its fingerprint binds
/// besides the place (the look-alike, say).
#[allow(clippy::too_many_arguments)]
fn tool_finding(
    rule: &'static Rule,
    severity: Severity,
    server: &str,
    tool: &str,
    pointer: &str,
    span: Option<[usize; 2]>,
    message: String,
    key: &str,
    places: &dyn Locate,
) -> Finding {
    let item = ItemRef::tool(tool);
    Finding::of(rule)
        .severity(severity)
        .about(server, Some(&item))
        .pointer(pointer)
        .message(message)
        .evidence(tool)
        .key(key)
        .span(span)
        .field_in(places)
        .build()
}

/// A finding about a tool's whole name (`/name`, spanning all of it).
fn name_finding(
    rule: &'static Rule,
    severity: Severity,
    server: &str,
    name: &str,
    message: String,
    key: &str,
    places: &dyn Locate,
) -> Finding {
    let span = Some([0, name.chars().count()]);
    tool_finding(rule, severity, server, name, "/name", span, message, key, places)
}

/// The set-wide detectors (UNI009, SH003, SH007); SH001 runs field by field
/// ([`References`]).
pub fn check(catalogs: &[Catalog], places: &dyn Locate) -> Vec<Finding> {
    let mut out = confusable_names(catalogs, places);
    out.extend(name_collisions(catalogs, places));
    out.extend(server_name_collisions(catalogs, places));
    out
}

/// SH007: servers of the set whose names fold to the same string — separators and case
/// aside, read by their UTS #39 skeleton (`check_sіg` with a Cyrillic `і`) — but are
/// not the same name (`check_sig_` beside `check_sig`): which one is the squatter the
/// names cannot tell, so each is reported, once, on its header. The same name twice
/// (one server scanned before and after a change) is not a collision.
fn server_name_collisions(catalogs: &[Catalog], places: &dyn Locate) -> Vec<Finding> {
    let mut by_key: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for catalog in catalogs {
        let skeleton: String = unicode_security::skeleton(&catalog.server).collect();
        by_key.entry(folded(&skeleton)).or_default().insert(&catalog.server);
    }
    let mut out = Vec::new();
    for names in by_key.values().filter(|names| names.len() > 1) {
        for &server in names {
            let others: Vec<String> = names
                .iter()
                .filter(|&&other| other != server)
                .take(NAMED_LOOKALIKES)
                .map(|other| visible::escape(other))
                .collect();
            let message = format!(
                "another scanned server's name differs only in case or separators: {}",
                others.join(", ")
            );
            out.push(
                Finding::of(&SERVER_NAME_COLLISION)
                    .severity(Severity::Medium)
                    .about(server, None)
                    .message(message)
                    .evidence(server)
                    .key(&others.join(","))
                    .field_in(places)
                    .build(),
            );
        }
    }
    out
}

/// Most look-alikes a finding names; the rest are counted.
const NAMED_LOOKALIKES: usize = 3;

/// UNI009: every tool whose name has the same skeleton as a different name elsewhere
/// in the set. When one side is ASCII, only the non-ASCII impostor is reported (high);
/// when both are ASCII (`send_emaiI` vs `send_email`) both are, at medium.
fn confusable_names(catalogs: &[Catalog], places: &dyn Locate) -> Vec<Finding> {
    // skeleton → name → servers having a tool of that name
    let mut by_skeleton: BTreeMap<String, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    let mut skeletons: HashMap<&str, String> = HashMap::new();
    for catalog in catalogs {
        for tool in catalog.tools() {
            let skeleton = skeletons
                .entry(&tool.name)
                .or_insert_with(|| unicode_security::skeleton(&tool.name).collect());
            by_skeleton
                .entry(skeleton.clone())
                .or_default()
                .entry(&tool.name)
                .or_default()
                .insert(&catalog.server);
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
                let message = format!("tool name looks the same as {}", described.join(", "));
                findings.push(name_finding(&CONFUSABLE_NAMES, severity, server, name, message, name, places));
            }
        }
    }
    findings
}

/// A name with separators removed and case folded: `send-Email` → `sendemail`.
fn folded(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | '.' | ' ')).flat_map(char::to_lowercase).collect()
}

/// SH003: tools of different servers whose names fold to the same string. A client
/// that namespaces poorly may call the wrong one.
fn name_collisions(catalogs: &[Catalog], places: &dyn Locate) -> Vec<Finding> {
    let mut by_key: BTreeMap<String, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for catalog in catalogs {
        for tool in catalog.tools() {
            by_key
                .entry(folded(&tool.name))
                .or_default()
                .entry(catalog.server.as_str())
                .or_default()
                .insert(&tool.name);
        }
    }
    let mut out = Vec::new();
    // Within one server: `get_prices` and `Get_Prices` side by side is squatting.
    for servers in by_key.values() {
        for (&server, names) in servers.iter().filter(|(_, names)| names.len() > 1) {
            let all: Vec<&str> = names.iter().copied().collect();
            // Which one is the impostor cannot be known from the names: report each.
            for &name in names {
                let other = all.iter().find(|&&o| o != name).copied().unwrap_or_default();
                let message = format!(
                    "the same server has a tool whose name differs only in case or separators: {}",
                    visible::escape(other)
                );
                out.push(name_finding(&NAME_COLLISION, Severity::High, server, name, message, other, places));
            }
        }
    }
    for servers in by_key.values().filter(|servers| servers.len() > 1) {
        for (&server, names) in servers {
            let others: Vec<String> = servers
                .iter()
                .filter(|(&other, _)| other != server)
                .take(NAMED_LOOKALIKES)
                .map(|(other, n)| {
                    let name = n.iter().next().copied().unwrap_or_default();
                    format!("{} ({})", visible::escape(name), visible::escape(other))
                })
                .collect();
            for &name in names {
                let message = format!("another server has a tool of the same name: {}", others.join(", "));
                out.push(name_finding(
                    &NAME_COLLISION,
                    Severity::Medium,
                    server,
                    name,
                    message,
                    name,
                    places,
                ));
            }
        }
    }
    out
}

/// A tool name distinctive enough to count as a reference when it appears in text:
/// compound (`send_email`, `getUser`), not a common word (`fetch`, `search`).
fn is_distinctive(name: &str) -> bool {
    name.len() >= 6
        && name.is_ascii()
        && (name.contains(['_', '-', '.']) || name.chars().skip(1).any(|c| c.is_ascii_uppercase()))
}

/// SH001: text of one server's tool that names a tool only another server (or the
/// built-in list of high-value tools) has — the shadowing vector. Built once per scan,
/// then asked about each prose field during the main walk.
pub struct References<'a> {
    /// Distinctive tool name → servers that have it (empty: a built-in high-value name).
    owners: HashMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> References<'a> {
    pub fn new(catalogs: &'a [Catalog]) -> References<'a> {
        let mut owners: HashMap<&'a str, BTreeSet<&'a str>> = HashMap::new();
        for catalog in catalogs {
            for tool in catalog.tools() {
                if is_distinctive(&tool.name) {
                    owners.entry(tool.name.as_str()).or_default().insert(catalog.server.as_str());
                }
            }
        }
        for name in HIGH_VALUE_TOOLS {
            owners.entry(name).or_default();
        }
        References { owners }
    }

    /// The first reference in one field of `catalog` to a tool it does not have.
    pub fn check(
        &self,
        catalog: &Catalog,
        own: &HashSet<&str>,
        item: Option<&ItemRef>,
        field: &Field<'_>,
        places: &dyn Locate,
    ) -> Option<Finding> {
        if !matches!(
            field.kind,
            FieldKind::Description | FieldKind::Instructions | FieldKind::SchemaText | FieldKind::Title
        ) {
            return None;
        }
        let token = field
            .text
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map(|t| t.trim_matches(|c| c == '.' || c == '-'))
            .filter(|t| is_distinctive(t))
            .find(|t| {
                self.owners
                    .get(t)
                    .is_some_and(|servers| !own.contains(t) && !servers.contains(catalog.server.as_str()))
            })?;
        let servers = self.owners.get(token)?;
        let whose = if servers.is_empty() {
            "a high-value tool this server does not provide".to_owned()
        } else {
            let names: Vec<String> = servers.iter().take(2).map(|s| visible::escape(s)).collect();
            format!("a tool of {}", names.join(", "))
        };
        let message = format!("the text names {} ({whose})", visible::escape(token));
        // A mention is a reason to review, not a sink: no signal, the composite needs more.
        Some(
            Finding::of(&CROSS_SERVER_REFERENCE)
                .severity(Severity::Medium)
                .about(&catalog.server, item)
                .pointer(&field.pointer)
                .message(message)
                .evidence(token)
                .field_in(places)
                .build(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Header, Item};
    use crate::finding::Nowhere;
    use crate::item::Kind;

    fn catalog(server: &str, names: &[&str]) -> Catalog {
        Catalog {
            server: server.into(),
            origin: "t".into(),
            header: Header::default(),
            items: names
                .iter()
                .map(|n| Item {
                    kind: Kind::Tool,
                    name: (*n).into(),
                    value: serde_json::json!({ "name": n }),
                    duplicate_keys: vec![],
                    source_pointer: String::new(),
                })
                .collect(),
            duplicates: vec![],
        }
    }

    #[test]
    fn impostor_names_are_reported() {
        let set =
            [catalog("mail", &["send_email"]), catalog("evil", &["send_emai\u{0406}", "s\u{0435}nd_email"])];
        let findings = confusable_names(&set, &Nowhere);
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert!(findings.iter().all(|f| f.severity == Severity::High && f.server == "evil"));

        let ascii = [catalog("a", &["send_email"]), catalog("b", &["send_emaiI"])];
        let findings = confusable_names(&ascii, &Nowhere);
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(|f| f.severity == Severity::Medium));
    }

    #[test]
    fn servers_named_alike_are_reported_and_the_same_name_twice_is_not() {
        let set =
            [catalog("check_sig", &["check"]), catalog("check_sig_", &["check"]), catalog("check_sig", &[])];
        let found = server_name_collisions(&set, &Nowhere);
        let servers: Vec<&str> = found.iter().map(|f| f.server.as_str()).collect();
        assert_eq!(servers, ["check_sig", "check_sig_"], "{found:#?}");
        assert!(found
            .iter()
            .all(|f| f.rule == "SH007" && f.severity == Severity::Medium && f.item.is_none()));
        let homoglyph = [catalog("check_sig", &[]), catalog("check_s\u{0456}g", &[])];
        assert_eq!(server_name_collisions(&homoglyph, &Nowhere).len(), 2, "a Cyrillic і reads as i");
        let distinct = [catalog("github", &[]), catalog("gitlab", &[]), catalog("github", &[])];
        assert!(server_name_collisions(&distinct, &Nowhere).is_empty());
    }

    #[test]
    fn same_name_in_many_servers_is_not_a_collision() {
        let set = [catalog("a", &["read_file"]), catalog("b", &["read_file"])];
        assert!(confusable_names(&set, &Nowhere).is_empty());
        let collisions = name_collisions(&set, &Nowhere);
        assert_eq!(collisions.len(), 2, "the same name in two servers is a collision (SH003)");
        assert!(collisions.iter().all(|f| f.rule == "SH003" && f.severity == Severity::Medium));
    }
}
