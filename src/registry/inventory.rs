//! `servers/<id>/server.toml`: the inventory people write about a server — who owns it,
//! who may approve it, how it is launched — and the server-id rule.

use serde::{Deserialize, Serialize};

/// One server's inventory. Environment variables are recorded by NAME only: a value
/// never enters the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Inventory {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
    /// Identities (`Name <email>`) who may approve this server's pins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub support: String,
    /// `stdio` or `http`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub transport: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hosting: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sandbox: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_classes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth_scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Launch::is_empty")]
    pub launch: Launch,
    /// What guard does at a call: per-item actions, egress and path limits.
    #[serde(default, skip_serializing_if = "crate::runtime::ServerRuntime::is_empty")]
    pub runtime: crate::runtime::ServerRuntime,
    /// What the server computes at start and its digests leave out (`[digest]`).
    #[serde(default, skip_serializing_if = "crate::volatile::DigestPolicy::is_empty")]
    pub digest: crate::volatile::DigestPolicy,
}

/// How the server is reached: a command (stdio) or a URL (HTTP).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launch {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Names of the environment variables the server needs (never their values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Name of the environment variable holding a bearer token for `url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_env: String,
}

impl Launch {
    fn is_empty(&self) -> bool {
        *self == Launch::default()
    }
}

/// The values `status` may take.
pub const STATUSES: [&str; 3] = ["active", "disabled", "retired"];

/// The inventory fields `[registry] required-fields` may name.
pub const FIELDS: [&str; 11] = [
    "owner",
    "approvers",
    "repository",
    "support",
    "transport",
    "hosting",
    "sandbox",
    "data-classes",
    "oauth-scopes",
    "status",
    "launch",
];

impl Inventory {
    /// Parses a `server.toml`. `status` is `active` (or left out), `disabled` or
    /// `retired`; anything else is an error, not a server quietly taken for active.
    pub fn parse(text: &str) -> Result<Inventory, String> {
        let inventory: Inventory = toml::from_str(text).map_err(|e| e.to_string())?;
        if !STATUSES.contains(&inventory.status.as_str()) && !inventory.status.is_empty() {
            return Err(format!(
                "status = {:?}: expected one of active, disabled, retired",
                crate::visible::escape(&inventory.status)
            ));
        }
        Ok(inventory)
    }

    /// Whether the server is in service (`status` active or not given).
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "" | "active")
    }

    /// The file's text: a heading comment, then the fields.
    pub fn to_toml(&self, id: &str) -> Result<String, String> {
        let body = toml::to_string(self).map_err(|e| e.to_string())?;
        Ok(format!(
            "# Inventory of the MCP server `{id}`, written by people and reviewed like code.\n\
             # Environment variables are listed by name only; never put a value here.\n\n{body}"
        ))
    }

    /// Whether `field` (one of [`FIELDS`]) is filled in.
    pub fn has(&self, field: &str) -> bool {
        match field {
            "owner" => !self.owner.trim().is_empty(),
            "approvers" => !self.approvers.is_empty(),
            "repository" => !self.repository.trim().is_empty(),
            "support" => !self.support.trim().is_empty(),
            "transport" => !self.transport.trim().is_empty(),
            "hosting" => !self.hosting.trim().is_empty(),
            "sandbox" => !self.sandbox.trim().is_empty(),
            "data-classes" => !self.data_classes.is_empty(),
            "oauth-scopes" => !self.oauth_scopes.is_empty(),
            "status" => !self.status.trim().is_empty(),
            "launch" => !self.launch.command.is_empty() || !self.launch.url.is_empty(),
            _ => false,
        }
    }

    /// The required fields this inventory leaves empty.
    pub fn missing<'a>(&self, required: &'a [String]) -> Vec<&'a str> {
        required.iter().map(String::as_str).filter(|f| !self.has(f)).collect()
    }
}

/// A server id is a slug: lowercase ASCII letters, digits, `-`, `_` and `.`, starting
/// with a letter or digit, at most 64 characters. It names a directory, so nothing else
/// (no `/`, no `..`, no spaces, no case tricks) is allowed.
pub fn check_server_id(id: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "server id {:?} is not a slug: use 1-64 lowercase letters, digits, `-`, `_` or `.`, \
             starting with a letter or digit",
            crate::visible::escape(id)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["github", "server-everything", "mcp_server.time", "a1"] {
            assert!(check_server_id(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a/b", "Upper", ".hidden", "-x", "a b", "caf\u{e9}", &"x".repeat(65)] {
            assert!(check_server_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trip_and_missing() {
        let inventory = Inventory {
            owner: "Platform team".into(),
            launch: Launch {
                command: "npx".into(),
                args: vec!["-y".into()],
                env: vec!["TOKEN".into()],
                ..Launch::default()
            },
            ..Inventory::default()
        };
        let text = inventory.to_toml("x").unwrap();
        assert_eq!(Inventory::parse(&text).unwrap(), inventory);
        assert_eq!(inventory.missing(&["owner".into(), "support".into()]), vec!["support"]);
        assert!(Inventory::parse("owner = 1").is_err());
        assert!(Inventory::parse("ownr = \"x\"").is_err());
    }
}
