//! The git-backed registry (design §4): where it is, what it pins, and whether its
//! files are intact. Loading never trusts a pin: each digest is recomputed.

pub mod canonical_text;
pub mod inventory;
pub mod since;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canon;
use crate::config::Config;
use crate::finding::{Rule, RuleClass, Severity};
use crate::item::{ItemRef, Kind};
use inventory::Inventory;

/// The registry's configuration file name.
pub const CONFIG_FILE: &str = "toolreg.toml";

/// A registry that cannot be used: unreadable, malformed, or not where it was said to be.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RegistryError {
    pub path: String,
    pub message: String,
}

impl RegistryError {
    pub fn new(path: &Path, message: impl Into<String>) -> RegistryError {
        RegistryError { path: crate::visible::escape(&path.display().to_string()), message: message.into() }
    }
}

/// Where the registry is: `explicit` (`--registry` or `TOOLREG_REGISTRY`), else the
/// first directory walking up from `start` that holds `toolreg.toml`, or whose
/// `registry/` does.
pub fn locate(explicit: Option<&Path>, start: &Path) -> Result<PathBuf, RegistryError> {
    if let Some(dir) = explicit {
        if dir.join(CONFIG_FILE).is_file() {
            return Ok(dir.to_path_buf());
        }
        return Err(RegistryError::new(
            dir,
            "no toolreg.toml here: not a registry (`toolreg init` makes one)",
        ));
    }
    for dir in start.ancestors() {
        if dir.join(CONFIG_FILE).is_file() {
            return Ok(dir.to_path_buf());
        }
        if dir.join("registry").join(CONFIG_FILE).is_file() {
            return Ok(dir.join("registry"));
        }
    }
    Err(RegistryError::new(
        start,
        "no registry found here or above (looked for toolreg.toml and registry/toolreg.toml); \
         `toolreg init` makes one, `--registry DIR` points at one",
    ))
}

/// A review record (design §4). Records are appended, never rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub digest: String,
    /// `Name <email>`.
    pub by: String,
    /// UTC, RFC 3339.
    pub at: String,
    pub verdict: Verdict,
    #[serde(default)]
    pub note: String,
    /// Findings at or above fail-on the reviewer accepted, each with a reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<Accepted>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approved,
    Rejected,
    Revoked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Rejected => "rejected",
            Verdict::Revoked => "revoked",
        }
    }
}

/// A finding a reviewer accepted when approving: bound to its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    pub rule: String,
    pub pointer: String,
    pub fingerprint: String,
    pub reason: String,
}

/// What a pin file holds: one tool (`tools/<tool>.json`) or one server header
/// (`server.json`), its digest, and its reviews.
#[derive(Debug, Clone)]
pub struct Pin {
    pub path: PathBuf,
    pub digest: String,
    pub value: Value,
    pub reviews: Vec<Review>,
}

/// Whether a pin may be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    Approved,
    /// Its approval was revoked: serving it fails the gate until re-approved.
    Revoked,
    /// No review record approves its digest (a pin written by hand).
    Unreviewed,
}

impl Pin {
    /// The latest verdict on the pinned digest decides.
    pub fn state(&self) -> PinState {
        match self.reviews.iter().rev().find(|r| r.digest == self.digest).map(|r| r.verdict) {
            Some(Verdict::Approved) => PinState::Approved,
            Some(Verdict::Revoked) => PinState::Revoked,
            _ => PinState::Unreviewed,
        }
    }

    /// The file's JSON: `{"digest", <key>: value, "reviews"}`.
    pub fn to_json(&self, key: &str) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("digest".into(), Value::String(self.digest.clone()));
        map.insert(key.into(), self.value.clone());
        map.insert("reviews".into(), serde_json::to_value(&self.reviews).unwrap_or(Value::Array(Vec::new())));
        Value::Object(map)
    }
}

/// One registered server.
#[derive(Debug, Clone)]
pub struct Server {
    pub id: String,
    pub dir: PathBuf,
    pub inventory: Inventory,
    /// `server.json`: the pinned header, once one was approved.
    pub header: Option<Pin>,
    /// Pinned tools, prompts, resources and templates by key (the key inside the pin is
    /// the truth, not the file name).
    pub items: BTreeMap<ItemRef, Pin>,
    /// Whether the header pin covers the declared capabilities (registry format 2).
    pub pins_capabilities: bool,
}

impl Server {
    /// The header value this server's pin is compared with: `header` as the registry's
    /// format pins it.
    pub fn header_value(&self, header: &crate::catalog::Header) -> Value {
        canon::header_value(&header.scoped(self.pins_capabilities))
    }

    /// Every pinned item but the header, kind by kind, each by key.
    pub fn items(&self) -> impl Iterator<Item = (&ItemRef, &Pin)> {
        self.items.iter()
    }

    /// The pin of `item`, or of the header for `None`.
    pub fn pin(&self, item: Option<&ItemRef>) -> Option<&Pin> {
        match item {
            None => self.header.as_ref(),
            Some(item) => self.items.get(item),
        }
    }

    /// The digest a served item is compared with pins, reviews and the blocklist by:
    /// the pin's own digest when the item equals the pinned one but for what the
    /// server's `[digest]` policy leaves out (a computed default), else its exact
    /// digest. The one place a registry decides that two contents are the same.
    pub fn served_digest(&self, item: &ItemRef, value: &Value) -> Result<String, canon::CanonError> {
        let exact = canon::digest(value)?.to_string();
        let policy = &self.inventory.digest;
        let Some(pin) = self.items.get(item).filter(|p| !policy.is_empty() && p.digest != exact) else {
            return Ok(exact);
        };
        let same = policy.digest(item.kind, &item.name, &pin.value)?
            == policy.digest(item.kind, &item.name, value)?;
        Ok(if same { pin.digest.clone() } else { exact })
    }

    /// The pinned items of one kind.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = (&ItemRef, &Pin)> {
        self.items.iter().filter(move |(item, _)| item.kind == kind)
    }
}

/// `blocked.json`: digests known to be bad, never approvable again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blocked {
    pub blocked: Vec<BlockEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockEntry {
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub by: String,
    pub at: String,
    pub reason: String,
}

impl Blocked {
    pub fn find(&self, digest: &str) -> Option<&BlockEntry> {
        self.blocked.iter().find(|b| b.digest == digest)
    }
}

/// Something wrong inside a registry file that `toolreg check` reports and other
/// commands refuse to work past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub rule: &'static Rule,
    pub path: PathBuf,
    pub message: String,
}

pub static NON_CANONICAL: Rule = Rule {
    id: "REG001",
    name: "non-canonical-file",
    title: "A registry file is not in canonical form",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "Registry JSON files are written with sorted keys, two-space indent and every non-ASCII \
           character escaped, so that a hidden character shows in a diff. Run `toolreg fmt`.",
};
pub static DIGEST_MISMATCH: Rule = Rule {
    id: "REG002",
    name: "pin-digest-mismatch",
    title: "A pin's digest does not match its content (hand edit)",
    severity: Severity::Critical,
    class: RuleClass::Control,
    help: "Pins change only through `toolreg review`, which recomputes the digest. A pin whose \
           content no longer hashes to its digest was edited by hand: restore it from git, or \
           review the new content.",
};
pub static MISPLACED_PIN: Rule = Rule {
    id: "REG003",
    name: "misplaced-pin",
    title: "A pin file's name does not match the tool inside",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "A tool's pin lives at tools/<name>.json (an encoded name when the name is outside \
           [A-Za-z0-9_.-]). A pin under another name was renamed or copied by hand.",
};
pub static MISSING_INVENTORY: Rule = Rule {
    id: "REG004",
    name: "missing-inventory-field",
    title: "A server's inventory lacks a required field",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "toolreg.toml's [registry] required-fields names the inventory every server.toml must \
           fill (owner by default). Fill it in servers/<id>/server.toml.",
};

pub static BLOCKED_SERVED: Rule = Rule {
    id: "REG005",
    name: "blocked-digest-served",
    title: "A server serves content whose digest is blocked",
    severity: Severity::Critical,
    class: RuleClass::Control,
    help: "The digest was rejected in review or blocked with `toolreg block`: this exact content \
           is known to be bad. Stop using the server, or find out why it serves it again.",
};
pub static UNAPPROVED_SERVED: Rule = Rule {
    id: "REG006",
    name: "unapproved-pin-served",
    title: "A server serves a pin whose approval was revoked (or never recorded)",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "The pin matches, but its latest review of that digest is a revocation (`toolreg \
           revoke`), or no review approves it. Review it again, or stop using it.",
};

pub static INACTIVE_SERVED: Rule = Rule {
    id: "REG007",
    name: "inactive-server-served",
    title: "A server the registry disabled or retired is still served",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "server.toml marks this server `disabled` or `retired`, but a catalog of it was captured for \
           the gate: take it out of use (and out of the captured catalogs), or set its status back \
           to `active` through review.",
};

/// The registry rules, for `toolreg rules list`.
pub static RULES: [&Rule; 7] = [
    &INACTIVE_SERVED,
    &NON_CANONICAL,
    &DIGEST_MISMATCH,
    &MISPLACED_PIN,
    &MISSING_INVENTORY,
    &BLOCKED_SERVED,
    &UNAPPROVED_SERVED,
];

/// A loaded registry.
#[derive(Debug, Clone)]
pub struct Registry {
    pub root: PathBuf,
    pub config: Config,
    pub servers: BTreeMap<String, Server>,
    pub blocked: Blocked,
    /// Integrity problems found while loading.
    pub problems: Vec<Problem>,
}

impl Registry {
    /// Loads the registry at `root` (a directory holding `toolreg.toml`), with `config`
    /// already read from it (or given with `--config`).
    pub fn load(root: &Path, config: Config) -> Result<Registry, RegistryError> {
        let mut problems = Vec::new();
        for name in [CONFIG_FILE, "blocked.json", "servers", crate::lock::FILE_NAME] {
            refuse_link(&root.join(name))?;
        }
        let blocked_path = root.join("blocked.json");
        let blocked = if blocked_path.exists() {
            let value = read_json(&blocked_path, &mut problems)?;
            serde_json::from_value(value).map_err(|e| RegistryError::new(&blocked_path, e.to_string()))?
        } else {
            Blocked::default()
        };
        let mut servers = BTreeMap::new();
        let servers_dir = root.join("servers");
        if servers_dir.is_dir() {
            let mut dirs = Vec::new();
            for dir in sorted_entries(&servers_dir)? {
                refuse_link(&dir)?;
                if !dir.is_dir() {
                    continue;
                }
                let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                inventory::check_server_id(&id).map_err(|m| RegistryError::new(&dir, m))?;
                dirs.push((id, dir));
            }
            // Servers load in parallel (every pin is read, parsed and hashed); the
            // first error in directory order wins, as if they had loaded one by one.
            let loaded = crate::parallel::map(
                &dirs,
                1,
                || (),
                |(), (id, dir)| {
                    let mut found = Vec::new();
                    load_server(id, dir, &config, &mut found).map(|server| (server, found))
                },
            );
            for ((id, _), result) in dirs.into_iter().zip(loaded) {
                let (server, found) = result?;
                problems.extend(found);
                servers.insert(id, server);
            }
        }
        Ok(Registry { root: root.to_path_buf(), config, servers, blocked, problems })
    }

    /// The server `id`, or a clear error listing what is registered.
    pub fn server(&self, id: &str) -> Result<&Server, RegistryError> {
        self.servers.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.servers.keys().map(String::as_str).collect();
            RegistryError::new(
                &self.root,
                format!(
                    "no server {:?} is registered (known: {}); `toolreg add` registers one",
                    crate::visible::escape(id),
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            )
        })
    }

    /// Fails when a file is hand-edited or misplaced: only `check` and `fmt` work on a
    /// registry in that state (they report it, or repair formatting).
    pub fn ensure_sound(&self) -> Result<(), RegistryError> {
        let serious: Vec<&Problem> = self.problems.iter().filter(|p| p.rule.id != NON_CANONICAL.id).collect();
        if serious.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> =
            serious.iter().map(|p| format!("  {} {}: {}", p.rule.id, p.path.display(), p.message)).collect();
        Err(RegistryError::new(&self.root, format!("the registry is broken:\n{}", lines.join("\n"))))
    }

    /// Where `item` of `server` is pinned (the header for `None`): `tools/`, `prompts/`,
    /// `resources/` or `templates/`, under the file name [`tool_file_name`] gives its key.
    pub fn item_path(&self, server: &str, item: Option<&ItemRef>) -> PathBuf {
        let dir = self.root.join("servers").join(server);
        match item {
            None => dir.join("server.json"),
            Some(item) => dir.join(item.kind.pin_dir()).join(tool_file_name(&item.name)),
        }
    }

    pub fn header_path(&self, server: &str) -> PathBuf {
        self.item_path(server, None)
    }

    pub fn blocked_path(&self) -> PathBuf {
        self.root.join("blocked.json")
    }
}

/// The pin file name for an item's key: the key itself when it is in the MCP spec's
/// tool-name charset (`[A-Za-z0-9_.-]{1,128}`, not starting with a dot), else `@` and
/// the hex of its UTF-8 bytes — `@` is outside the charset, so an encoded key never
/// meets a real one (URIs are always encoded: `:` and `/` are outside it).
pub fn tool_file_name(name: &str) -> String {
    let plain = (1..=128).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if plain {
        format!("{name}.json")
    } else {
        let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
        format!("@{hex}.json")
    }
}

fn load_server(
    id: &str,
    dir: &Path,
    config: &Config,
    problems: &mut Vec<Problem>,
) -> Result<Server, RegistryError> {
    for name in ["server.toml", "server.json"].into_iter().chain(Kind::PINNED.map(Kind::pin_dir)) {
        refuse_link(&dir.join(name))?;
    }
    let toml_path = dir.join("server.toml");
    let text = std::fs::read_to_string(&toml_path)
        .map_err(|e| RegistryError::new(&toml_path, format!("cannot read the inventory: {e}")))?;
    let inventory = Inventory::parse(&text).map_err(|m| RegistryError::new(&toml_path, m))?;
    let missing = inventory.missing(&config.registry.required_fields);
    if !missing.is_empty() {
        problems.push(Problem {
            rule: &MISSING_INVENTORY,
            path: toml_path.clone(),
            message: format!("required field(s) missing: {}", missing.join(", ")),
        });
    }
    let header_path = dir.join("server.json");
    let header = if header_path.exists() { Some(read_pin(&header_path, "header", problems)?) } else { None };
    let mut items = BTreeMap::new();
    for kind in Kind::PINNED {
        load_pins(dir, kind, &mut items, problems)?;
    }
    let pins_capabilities = config.registry.pins_capabilities();
    Ok(Server { id: id.to_owned(), dir: dir.to_path_buf(), inventory, header, items, pins_capabilities })
}

/// The pins of one kind under `dir` (`tools/`, `prompts/`, …) into `items`.
fn load_pins(
    dir: &Path,
    kind: Kind,
    items: &mut BTreeMap<ItemRef, Pin>,
    problems: &mut Vec<Problem>,
) -> Result<(), RegistryError> {
    let pins_dir = dir.join(kind.pin_dir());
    if !pins_dir.is_dir() {
        return Ok(());
    }
    let key = kind.name_key();
    for path in sorted_entries(&pins_dir)? {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        refuse_link(&path)?;
        let pin = read_pin(&path, kind.pin_key(), problems)?;
        let Some(name) = pin.value.get(key).and_then(Value::as_str).map(str::to_owned) else {
            return Err(RegistryError::new(&path, format!("the pinned {kind} has no string `{key}`")));
        };
        if path.file_name().map(|n| n.to_string_lossy().into_owned()) != Some(tool_file_name(&name)) {
            problems.push(Problem {
                rule: &MISPLACED_PIN,
                path: path.clone(),
                message: format!(
                    "holds the {kind} {:?}, whose pin file is {}",
                    crate::visible::escape(&name),
                    tool_file_name(&name)
                ),
            });
        }
        let item = ItemRef::new(kind, name);
        if items.contains_key(&item) {
            return Err(RegistryError::new(&path, format!("a second pin for the {}", item.label())));
        }
        items.insert(item, pin);
    }
    Ok(())
}

/// Reads one pin file; a digest that does not match its content is a problem.
fn read_pin(path: &Path, key: &str, problems: &mut Vec<Problem>) -> Result<Pin, RegistryError> {
    let bytes = std::fs::read(path).map_err(|e| RegistryError::new(path, format!("cannot read: {e}")))?;
    parse_pin(path, &bytes, key, problems)
}

/// One pin file's bytes (`key`: `tool` or `server`); read from `path`.
pub fn parse_pin(
    path: &Path,
    bytes: &[u8],
    key: &str,
    problems: &mut Vec<Problem>,
) -> Result<Pin, RegistryError> {
    let value = parse_json(path, bytes, problems)?;
    let Value::Object(mut map) = value else {
        return Err(RegistryError::new(path, "a pin file holds one JSON object"));
    };
    let digest = match map.remove("digest") {
        Some(Value::String(d)) => d,
        _ => return Err(RegistryError::new(path, "missing string \"digest\"")),
    };
    let value = map.remove(key).ok_or_else(|| RegistryError::new(path, format!("missing \"{key}\"")))?;
    let reviews: Vec<Review> = match map.remove("reviews") {
        Some(v) => {
            serde_json::from_value(v).map_err(|e| RegistryError::new(path, format!("\"reviews\": {e}")))?
        }
        None => Vec::new(),
    };
    if let Some(extra) = map.keys().next() {
        return Err(RegistryError::new(path, format!("unknown key {:?}", crate::visible::escape(extra))));
    }
    let actual = canon::digest(&value).map_err(|e| RegistryError::new(path, e.to_string()))?;
    if actual.as_str() != digest {
        problems.push(Problem {
            rule: &DIGEST_MISMATCH,
            path: path.to_path_buf(),
            message: format!("recorded {}, content hashes to {actual}", crate::visible::escape(&digest)),
        });
    }
    Ok(Pin { path: path.to_path_buf(), digest, value, reviews })
}

/// Reads a registry JSON file; one not in canonical text form is a problem.
fn read_json(path: &Path, problems: &mut Vec<Problem>) -> Result<Value, RegistryError> {
    let bytes = std::fs::read(path).map_err(|e| RegistryError::new(path, format!("cannot read: {e}")))?;
    parse_json(path, &bytes, problems)
}

fn parse_json(path: &Path, bytes: &[u8], problems: &mut Vec<Problem>) -> Result<Value, RegistryError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| RegistryError::new(path, format!("not UTF-8 (byte {})", e.valid_up_to())))?;
    let parsed =
        crate::json::parse(text).map_err(|e| RegistryError::new(path, format!("invalid JSON: {e}")))?;
    if let Some(duplicate) = parsed.duplicate_keys.first() {
        let at = crate::visible::escape(&duplicate.pointer);
        return Err(RegistryError::new(
            path,
            format!("the key {at} is given twice: readers disagree on its value"),
        ));
    }
    let value = parsed.value;
    if !canonical_text::is_canonical(text, &value) {
        problems.push(Problem {
            rule: &NON_CANONICAL,
            path: path.to_path_buf(),
            message: "not in canonical form (run `toolreg fmt`)".into(),
        });
    }
    Ok(value)
}

/// toolreg never follows a symbolic link inside the registry: a linked `servers/`,
/// server folder, `tools/` folder or registry file is an error naming it.
pub fn refuse_link(path: &Path) -> Result<(), RegistryError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(RegistryError::new(
            path,
            "is a symbolic link: toolreg never follows links inside the registry; replace it with the real \
             file or folder",
        )),
        _ => Ok(()),
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, RegistryError> {
    let entries = std::fs::read_dir(dir).map_err(|e| RegistryError::new(dir, format!("cannot list: {e}")))?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| RegistryError::new(dir, format!("cannot list: {e}")))?.path());
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(tool_file_name("read_file"), "read_file.json");
        assert_eq!(tool_file_name("a.b-c"), "a.b-c.json");
        assert_eq!(tool_file_name("../x"), "@2e2e2f78.json");
        assert_eq!(tool_file_name(".hidden"), "@2e68696464656e.json");
        assert_eq!(tool_file_name("caf\u{e9}"), "@636166c3a9.json");
        assert_eq!(tool_file_name(""), "@.json");
    }
}
