//! Runtime policy: what guard does at the moment of a call. Each approved item gets an
//! action — `allow`, `ask` (a person at the client approves each call) or `deny` —
//! from `[runtime.tools]` (`prompts`, `resources`) in its server.toml, else from
//! toolreg.toml's `[runtime]` defaults by class (destructive, open-world, sends,
//! deletes, pays), else the default; and each server its egress and path limits
//! (`allowed-hosts`, `allowed-roots`, `denied-paths`). All of it is resolved into
//! toolreg.lock when the lock is written, so guard reads one reviewed file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::item::{ItemRef, Kind};

/// What guard does with a call of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    /// A person approves each call at the client (MCP elicitation), else it is refused.
    Ask,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Ask => "ask",
            Action::Deny => "deny",
        }
    }
}

/// `[runtime]` of a server.toml: its limits and its per-item actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerRuntime {
    /// Hosts URL-valued arguments may name (`api.example.com`, `*.example.com`,
    /// `https://api.example.com:8443`); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Folders path-valued arguments must stay inside; empty: anywhere not denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_roots: Vec<String>,
    /// Paths refused on top of the default deny list ([`DEFAULT_DENIED`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, Action>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompts: BTreeMap<String, Action>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Action>,
}

impl ServerRuntime {
    pub fn is_empty(&self) -> bool {
        *self == ServerRuntime::default()
    }

    /// The action server.toml sets for `item`, if any.
    fn explicit(&self, item: &ItemRef) -> Option<Action> {
        let map = match item.kind {
            Kind::Tool => &self.tools,
            Kind::Prompt => &self.prompts,
            Kind::Resource => &self.resources,
            _ => return None,
        };
        map.get(&item.name).copied()
    }
}

/// `[runtime]` of toolreg.toml: the action of an item server.toml says nothing about,
/// by what it is. The strictest class that applies wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Defaults {
    /// Any item no class below applies to.
    #[serde(default = "allow")]
    pub default: Action,
    /// Tools whose pinned annotations say `destructiveHint: true`.
    #[serde(default = "ask")]
    pub destructive: Action,
    /// Tools whose pinned annotations say `openWorldHint: true`.
    #[serde(default = "allow")]
    pub open_world: Action,
    /// Tools named for sending (send, email, post, publish, notify, message, …).
    #[serde(default = "ask")]
    pub sends: Action,
    /// Tools named for deleting (delete, remove, drop, destroy, wipe, purge, …).
    #[serde(default = "ask")]
    pub deletes: Action,
    /// Tools named for paying (pay, charge, transfer, purchase, refund, …).
    #[serde(default = "ask")]
    pub pays: Action,
    /// The tenant every audit line names (an organisation, an environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

fn allow() -> Action {
    Action::Allow
}

fn ask() -> Action {
    Action::Ask
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            default: Action::Allow,
            destructive: Action::Ask,
            open_world: Action::Allow,
            sends: Action::Ask,
            deletes: Action::Ask,
            pays: Action::Ask,
            tenant: None,
        }
    }
}

/// The classes a tool's name can put it in: (class, the verbs that do). Names are read
/// as `verb_noun` or `noun_verb`: the first or last word decides, unless the first is
/// a read (`get_post`, `list_deleted` are reads). Deliberately narrow: a name is weak
/// evidence, and `destructiveHint` or `[runtime.tools]` say more.
pub const NAMED_CLASSES: [(&str, &[&str]); 3] = [
    (
        "sends",
        &[
            "send",
            "post",
            "publish",
            "notify",
            "tweet",
            "reply",
            "forward",
            "broadcast",
            "upload",
            "share",
            "email",
            "mail",
            "message",
            "dm",
            "sms",
        ],
    ),
    (
        "deletes",
        &[
            "delete",
            "remove",
            "rm",
            "drop",
            "destroy",
            "wipe",
            "purge",
            "erase",
            "truncate",
            "unlink",
            "revoke",
            "uninstall",
        ],
    ),
    ("pays", &["pay", "charge", "transfer", "purchase", "buy", "refund", "withdraw", "donate"]),
];

/// First words that make a name a read, whatever follows.
const READS: [&str; 16] = [
    "get", "list", "read", "fetch", "search", "find", "show", "describe", "view", "query", "lookup", "count",
    "check", "inspect", "preview", "validate",
];

/// Verbs that, before a payment noun, make a tool pay (`create_payment`).
const PAYMENT_VERBS: [&str; 7] = ["create", "make", "send", "submit", "initiate", "execute", "process"];
const PAYMENT_NOUNS: [&str; 6] = ["payment", "payments", "payout", "invoice", "transfer", "charge"];

/// The named classes of a tool called `name`.
pub fn named_classes(name: &str) -> Vec<&'static str> {
    let words = crate::fields::ident_words(name);
    let words: Vec<&str> = words.split(' ').filter(|w| !w.is_empty()).collect();
    let (Some(&first), Some(&last)) = (words.first(), words.last()) else { return Vec::new() };
    if READS.contains(&first) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (class, verbs) in NAMED_CLASSES {
        if verbs.contains(&first) || verbs.contains(&last) {
            out.push(class);
        }
    }
    if PAYMENT_VERBS.contains(&first)
        && words.iter().any(|w| PAYMENT_NOUNS.contains(w))
        && !out.contains(&"pays")
    {
        out.push("pays");
    }
    out
}

/// How an item's action was decided, for the lock and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decided {
    pub action: Action,
    /// `server.toml` (an explicit entry), `class:destructive`, `class:sends`, …, or `default`.
    pub rule: String,
}

impl Defaults {
    /// The action for `item` of a server whose server.toml says `runtime`, with the
    /// item's pinned value (annotations and name decide its classes).
    pub fn decide(&self, runtime: &ServerRuntime, item: &ItemRef, value: &Value) -> Decided {
        if let Some(action) = runtime.explicit(item) {
            return Decided { action, rule: "server.toml".into() };
        }
        let mut best = Decided { action: self.default, rule: "default".into() };
        for (class, action) in self.classes(item, value) {
            if action > best.action {
                best = Decided { action, rule: format!("class:{class}") };
            }
        }
        best
    }

    /// The classes `item` is in, each with its action.
    fn classes(&self, item: &ItemRef, value: &Value) -> Vec<(&'static str, Action)> {
        if item.kind != Kind::Tool {
            return Vec::new();
        }
        let hint = |name: &str| value.pointer(&format!("/annotations/{name}")) == Some(&Value::Bool(true));
        let mut out = Vec::new();
        if hint("destructiveHint") {
            out.push(("destructive", self.destructive));
        }
        if hint("openWorldHint") {
            out.push(("open-world", self.open_world));
        }
        for class in named_classes(&item.name) {
            let action = match class {
                "sends" => self.sends,
                "deletes" => self.deletes,
                _ => self.pays,
            };
            out.push((class, action));
        }
        out
    }
}

/// Paths guard refuses in any path-valued argument, whatever the registry says (a
/// leading `~` is the home of the user guard runs as). A file named `.env` or `.env.*`
/// anywhere is refused too.
pub const DEFAULT_DENIED: [&str; 14] = [
    "~/.ssh",
    "~/.aws",
    "~/.gnupg",
    "~/.config/gcloud",
    "~/.azure",
    "~/.kube",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.git-credentials",
    "~/.config/gh",
    "~/.npmrc",
    "~/.pypirc",
    "/etc/shadow",
    "/etc/sudoers",
];

/// A server's runtime policy as toolreg.lock carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Locked {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_roots: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_paths: Vec<String>,
    /// Each approved item's action, by `KIND:NAME` spec (a tool by its bare name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<String, Decided>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl Locked {
    pub fn is_empty(&self) -> bool {
        *self == Locked::default()
    }

    /// The action for `item`: what the lock decided, else allow (a lock written before
    /// runtime policies existed decides nothing).
    pub fn decided(&self, item: &ItemRef) -> Decided {
        self.items
            .get(&item.spec())
            .cloned()
            .unwrap_or(Decided { action: Action::Allow, rule: "default".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn explicit_entries_win_then_the_strictest_class_then_the_default() {
        let defaults = Defaults::default();
        let mut runtime = ServerRuntime::default();
        runtime.tools.insert("wipe".into(), Action::Deny);
        runtime.tools.insert("delete_file".into(), Action::Allow);
        let tool = |name: &str| ItemRef::tool(name);
        let decide = |name: &str, value: Value| defaults.decide(&runtime, &tool(name), &value);
        assert_eq!(decide("wipe", json!({})).action, Action::Deny);
        assert_eq!(
            decide("delete_file", json!({})),
            Decided { action: Action::Allow, rule: "server.toml".into() }
        );
        assert_eq!(
            decide("remove_item", json!({})),
            Decided { action: Action::Ask, rule: "class:deletes".into() }
        );
        assert_eq!(decide("sendEmail", json!({})).rule, "class:sends");
        assert_eq!(decide("make_payment", json!({})).rule, "class:pays");
        let destructive = json!({"annotations": {"destructiveHint": true}});
        assert_eq!(decide("edit", destructive).rule, "class:destructive");
        assert_eq!(decide("fetch", json!({"annotations": {"openWorldHint": true}})).action, Action::Allow);
        assert_eq!(decide("read_file", json!({"annotations": {"destructiveHint": false}})).rule, "default");
        // Words, not substrings, at the verb's place: `sender_info`, `paypal_status` are
        // not actions, and a name that starts with a read is a read.
        for name in [
            "sender_info",
            "list_removed",
            "paypal_status",
            "dropdown",
            "get-annotated-message",
            "get_post",
            "payment_status",
            "list_deleted_files",
        ] {
            assert_eq!(decide(name, json!({})).rule, "default", "{name}");
        }
        for (name, class) in [
            ("file_delete", "class:deletes"),
            ("create_payment", "class:pays"),
            ("post_message", "class:sends"),
            ("delete_entities", "class:deletes"),
            ("git_checkout", "default"),
            ("git_reset", "default"),
        ] {
            assert_eq!(decide(name, json!({})).rule, class, "{name}");
        }
        let strict = Defaults { default: Action::Deny, ..Defaults::default() };
        assert_eq!(strict.decide(&runtime, &tool("x"), &json!({})).action, Action::Deny);
        let prompt = ItemRef::new(Kind::Prompt, "send_report");
        assert_eq!(defaults.decide(&runtime, &prompt, &json!({})).rule, "default", "classes are for tools");
    }
}
