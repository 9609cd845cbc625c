//! `toolreg.lock`: the approved, non-revoked pins of a registry in the one small file an
//! agent host needs at runtime (`verify`, `guard`): per server its launch identity,
//! header digest, the capability profile catalogs were fetched with, and `{tool: digest}`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canon;
use crate::catalog::Catalog;
use crate::finding::{Rule, RuleClass, Severity};
use crate::item::{ItemRef, Kind};
use crate::registry::inventory::Launch;
use crate::registry::{canonical_text, PinState, Registry};

pub const FILE_NAME: &str = "toolreg.lock";
pub const FORMAT_VERSION: u32 = 1;
/// RFC 8785 canonical JSON, then SHA-256: what every digest in the lock means.
pub const DIGEST_SCHEME: &str = "sha256-jcs";

pub const STALE_LOCK: Rule = Rule {
    id: "LOCK001",
    name: "stale-lock",
    title: "toolreg.lock does not match the registry's approved pins",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "Agent hosts enforce toolreg.lock, so a lock that lags behind the registry enforces \
           old decisions (a revoked tool still allowed, an approved one refused). Run `toolreg lock` \
           and commit the result.",
};

pub const LOCK_MISMATCH: Rule = Rule {
    id: "LOCK002",
    name: "lock-mismatch",
    title: "A served item differs from toolreg.lock",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "`toolreg verify` found an item served but not locked, locked but not served, or served \
           with another digest than the lock approves. Guard hides and refuses what is not locked; \
           review the change in the registry, then `toolreg lock`.",
};

pub static RULES: [&Rule; 2] = [&STALE_LOCK, &LOCK_MISMATCH];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Lock {
    pub version: u32,
    pub digest_scheme: String,
    /// The registry commit the lock was made from (`null` outside git or before a commit).
    pub registry_commit: Option<String>,
    pub servers: BTreeMap<String, LockedServer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LockedServer {
    /// How the server is started: its command (environment variable names only) or
    /// its URL (and the name of its token's variable), as server.toml says.
    pub launch: Launch,
    /// The approved server header (`serverInfo`, `protocolVersion`, `instructions`).
    pub header: Option<String>,
    /// The protocol version the header was pinned with: guard checks a header with it,
    /// since every client negotiates its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// The client capabilities catalogs are fetched with (they change what is listed).
    pub client_capabilities: Value,
    /// Whether `header` covers the server's declared `capabilities` (registries of
    /// format 2 and later); absent in locks of format-1 registries.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub header_pins_capabilities: bool,
    /// Approved items of each listed kind: key (name, `uri`, `uriTemplate`) → digest.
    /// Only `tools` is always written, so a lock of a tools-only registry reads as
    /// it always did.
    pub tools: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompts: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_templates: BTreeMap<String, String>,
    /// The approved auth item (`oauth`): what the server asks clients to be allowed to do.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub auth: BTreeMap<String, String>,
    /// What guard does at a call: each approved item's action, egress and path limits.
    #[serde(default, skip_serializing_if = "crate::runtime::Locked::is_empty")]
    pub runtime: crate::runtime::Locked,
    /// What the digests above leave out (server.toml `[digest]`), so that `verify` and
    /// `guard` digest a served item exactly as the registry did. With a policy, each
    /// digest is of the item as the policy leaves it (the pin keeps the exact one).
    #[serde(default, skip_serializing_if = "crate::volatile::DigestPolicy::is_empty")]
    pub digest: crate::volatile::DigestPolicy,
}

impl LockedServer {
    /// The approved items of `kind` (empty for the header: see `header`).
    pub fn approved(&self, kind: Kind) -> &BTreeMap<String, String> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        match kind {
            Kind::Server => &NONE,
            Kind::Tool => &self.tools,
            Kind::Prompt => &self.prompts,
            Kind::Resource => &self.resources,
            Kind::ResourceTemplate => &self.resource_templates,
            Kind::Auth => &self.auth,
        }
    }

    fn approved_mut(&mut self, kind: Kind) -> Option<&mut BTreeMap<String, String>> {
        match kind {
            Kind::Server => None,
            Kind::Tool => Some(&mut self.tools),
            Kind::Prompt => Some(&mut self.prompts),
            Kind::Resource => Some(&mut self.resources),
            Kind::ResourceTemplate => Some(&mut self.resource_templates),
            Kind::Auth => Some(&mut self.auth),
        }
    }

    /// The digest of an item as this lock compares it: under the lock's `[digest]`
    /// policy, or `exact` (already computed) without one. A value that cannot be
    /// canonicalized (never from JSON) gets an empty digest, which nothing matches.
    pub fn item_digest(&self, kind: Kind, name: &str, value: &Value, exact: &str) -> String {
        if self.digest.is_empty() {
            return exact.to_owned();
        }
        self.digest.digest(kind, name, value).unwrap_or_default()
    }

    /// The digest of a served item as this lock compares it.
    pub fn served_digest(&self, kind: Kind, name: &str, value: &Value) -> Result<String, canon::CanonError> {
        if self.digest.is_empty() {
            return Ok(canon::digest(value)?.to_string());
        }
        self.digest.digest(kind, name, value)
    }

    /// The digest the lock approves for `item`, if any.
    pub fn digest_of(&self, item: &ItemRef) -> Option<&String> {
        self.approved(item.kind).get(&item.name)
    }
}

impl Lock {
    /// The lock of `registry` as it is: approved and not revoked pins only.
    pub fn of(registry: &Registry, commit: Option<String>) -> Lock {
        // A disabled or retired server is left out: guard refuses to start it.
        let servers = registry
            .servers
            .values()
            .filter(|server| server.inventory.is_active())
            .map(|server| {
                let approved = |pin: &&crate::registry::Pin| pin.state() == PinState::Approved;
                let mut locked = LockedServer {
                    launch: server.inventory.launch.clone(),
                    header: server.header.as_ref().filter(approved).map(|p| p.digest.clone()),
                    protocol_version: server
                        .header
                        .as_ref()
                        .filter(approved)
                        .and_then(|p| p.value.get("protocolVersion"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    client_capabilities: Value::Object(serde_json::Map::new()),
                    header_pins_capabilities: registry.config.registry.pins_capabilities(),
                    tools: BTreeMap::new(),
                    prompts: BTreeMap::new(),
                    resources: BTreeMap::new(),
                    resource_templates: BTreeMap::new(),
                    auth: BTreeMap::new(),
                    runtime: crate::runtime::Locked::default(),
                    digest: server.inventory.digest.clone(),
                };
                let settings = &server.inventory.runtime;
                let defaults = &registry.config.runtime;
                for (item, pin) in server.items().filter(|(_, pin)| approved(pin)) {
                    let digest = locked.item_digest(item.kind, &item.name, &pin.value, &pin.digest);
                    if let Some(map) = locked.approved_mut(item.kind) {
                        map.insert(item.name.clone(), digest);
                    }
                    if matches!(item.kind, Kind::Tool | Kind::Prompt | Kind::Resource) {
                        locked.runtime.items.insert(item.spec(), defaults.decide(settings, item, &pin.value));
                    }
                }
                locked.runtime.allowed_hosts = settings.allowed_hosts.clone();
                locked.runtime.allowed_roots = settings.allowed_roots.clone();
                locked.runtime.denied_paths = settings.denied_paths.clone();
                locked.runtime.tenant = defaults.tenant.clone();
                (server.id.clone(), locked)
            })
            .collect();
        Lock {
            version: FORMAT_VERSION,
            digest_scheme: DIGEST_SCHEME.into(),
            registry_commit: commit,
            servers,
        }
    }

    /// Reads and checks a lock file.
    pub fn load(path: &Path) -> Result<Lock, String> {
        let shown = crate::visible::escape(&path.display().to_string());
        let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
        Lock::parse(&bytes, &shown)
    }

    /// Checks the bytes of a lock file (`shown` names it in messages).
    pub fn parse(bytes: &[u8], shown: &str) -> Result<Lock, String> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| format!("{shown}: not a toolreg.lock: not UTF-8"))?;
        let parsed = crate::json::parse(text).map_err(|e| format!("{shown}: not a toolreg.lock: {e}"))?;
        if let Some(duplicate) = parsed.duplicate_keys.first() {
            let at = crate::visible::escape(&duplicate.pointer);
            return Err(format!("{shown}: not a toolreg.lock: the key {at} is given twice"));
        }
        let lock: Lock =
            serde_json::from_value(parsed.value).map_err(|e| format!("{shown}: not a toolreg.lock: {e}"))?;
        if lock.version != FORMAT_VERSION {
            return Err(format!(
                "{shown}: lock format version {} (this toolreg reads {FORMAT_VERSION})",
                lock.version
            ));
        }
        if lock.digest_scheme != DIGEST_SCHEME {
            return Err(format!(
                "{shown}: digest scheme {} (this toolreg computes {DIGEST_SCHEME})",
                crate::visible::escape(&lock.digest_scheme)
            ));
        }
        Ok(lock)
    }

    /// The lock's file text: canonical, like every registry file.
    pub fn to_text(&self) -> Result<String, serde_json::Error> {
        Ok(canonical_text::to_text(&serde_json::to_value(self)?))
    }

    /// What differs between this lock and `current` (the registry's lock now), ignoring
    /// the commit each was made from; empty when the lock is up to date.
    pub fn stale_against(&self, current: &Lock) -> Vec<String> {
        let mut out = Vec::new();
        for (id, server) in &current.servers {
            match self.servers.get(id) {
                None => out.push(format!("{id}: registered but not in the lock")),
                Some(locked) if locked != server => {
                    out.push(format!("{id}: the lock differs from the approved pins"))
                }
                Some(_) => {}
            }
        }
        for id in self.servers.keys().filter(|id| !current.servers.contains_key(*id)) {
            out.push(format!("{}: in the lock but no longer registered", crate::visible::escape(id)));
        }
        out
    }
}

/// One difference between a served catalog and a locked server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The item's kind (`server` for the header).
    pub kind: Kind,
    /// The item's key; `null` for the server header.
    pub item: Option<String>,
    /// The tool's name, for a tool (as before other kinds were locked).
    pub tool: Option<String>,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    pub locked: Option<String>,
    pub served: Option<String>,
}

impl Mismatch {
    /// The difference as a finding (LOCK002), for every report format.
    pub fn finding(&self, server: &str, at: Option<crate::finding::Location>) -> crate::finding::Finding {
        let item = self.item.as_ref().map(|name| ItemRef::new(self.kind, name.clone()));
        let what = item.as_ref().map_or_else(
            || "the server header".to_owned(),
            |i| format!("{} {}", i.kind, crate::visible::escape(&i.name)),
        );
        let short =
            |d: &Option<String>| d.as_deref().map_or_else(String::new, crate::report::diff::short_digest);
        let (locked, served) = (short(&self.locked), short(&self.served));
        let message = match self.change {
            "added" => format!("{what} is served ({served}) but not in the lock"),
            "removed" => format!("{what} is in the lock ({locked}) but not served"),
            _ => format!("{what} is served as {served}; the lock approves {locked}"),
        };
        let digest = self.served.as_deref().or(self.locked.as_deref()).unwrap_or_default();
        crate::finding::Finding::of(&LOCK_MISMATCH)
            .about(server, item.as_ref())
            .message(message)
            .evidence(digest)
            .at(at)
            .build()
    }
}

/// Compares the digests of `catalog` with `locked`: what is served but not locked
/// (added), locked but not served (removed), or served with another digest (changed).
pub fn verify(locked: &LockedServer, catalog: &Catalog) -> Result<Vec<Mismatch>, canon::CanonError> {
    let mut out = Vec::new();
    let scoped = catalog.header.scoped(locked.header_pins_capabilities);
    let header = canon::digest(&canon::header_value(&scoped))?.to_string();
    if locked.header.as_deref() != Some(header.as_str()) {
        out.push(Mismatch {
            kind: Kind::Server,
            item: None,
            tool: None,
            change: if locked.header.is_some() { "changed" } else { "added" },
            locked: locked.header.clone(),
            served: Some(header),
        });
    }
    for kind in Kind::PINNED {
        let mut served = BTreeMap::new();
        for item in catalog.of_kind(kind) {
            served.insert(item.name.as_str(), locked.served_digest(kind, &item.name, &item.value)?);
        }
        let locked_items = locked.approved(kind);
        let mismatch = |name: &str, change, locked: Option<&String>, served: Option<&String>| Mismatch {
            kind,
            item: Some(name.to_owned()),
            tool: (kind == Kind::Tool).then(|| name.to_owned()),
            change,
            locked: locked.cloned(),
            served: served.cloned(),
        };
        for (name, digest) in &served {
            match locked_items.get(*name) {
                None => out.push(mismatch(name, "added", None, Some(digest))),
                Some(pinned) if pinned != digest => {
                    out.push(mismatch(name, "changed", Some(pinned), Some(digest)))
                }
                Some(_) => {}
            }
        }
        for (name, digest) in locked_items {
            if !served.contains_key(name.as_str()) {
                out.push(mismatch(name, "removed", Some(digest), None));
            }
        }
    }
    Ok(out)
}
