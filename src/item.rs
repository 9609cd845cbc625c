//! One key for every item a server serves: its [`Kind`] and its raw name (a tool's or
//! prompt's `name`, a resource's `uri`, a template's `uriTemplate`; the server header
//! has none). Catalogs, pins, drift, the lock, guard and findings all key on
//! [`ItemRef`]; everything a kind means on the wire and on disk is answered here.
//!
//! Adding a seventh kind: a variant here (with its answers below), its field kinds in
//! `fields.rs` (`item_fields`), and its tests; catalog loading, fetching, pinning,
//! drift, the lock and guard follow from the tables in this file.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of thing a server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The server header: `serverInfo`, `protocolVersion`, `instructions`, `capabilities`.
    Server,
    Tool,
    Prompt,
    Resource,
    ResourceTemplate,
    /// What a remote server asks clients to be allowed to do: its OAuth challenge and
    /// metadata (`crate::oauth`). Fetched over HTTP, never listed over MCP.
    Auth,
}

impl Kind {
    /// The kinds a server lists over MCP, in the order catalogs, pins and reports give them.
    pub const LISTED: [Kind; 4] = [Kind::Tool, Kind::Prompt, Kind::Resource, Kind::ResourceTemplate];

    /// Every kind pinned item by item: the listed ones, then the auth item.
    pub const PINNED: [Kind; 5] =
        [Kind::Tool, Kind::Prompt, Kind::Resource, Kind::ResourceTemplate, Kind::Auth];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Tool => "tool",
            Kind::Prompt => "prompt",
            Kind::Resource => "resource",
            Kind::ResourceTemplate => "resource-template",
            Kind::Auth => "auth",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        std::iter::once(Kind::Server).chain(Kind::PINNED).find(|k| k.as_str() == text)
    }

    /// The array that holds items of this kind in a listing result and in a catalog.
    pub fn list_key(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Tool => "tools",
            Kind::Prompt => "prompts",
            Kind::Resource => "resources",
            Kind::ResourceTemplate => "resourceTemplates",
            Kind::Auth => "auth",
        }
    }

    /// The member that names an item of this kind (its key).
    pub fn name_key(self) -> &'static str {
        match self {
            Kind::Server => "name",
            Kind::Tool | Kind::Prompt | Kind::Auth => "name",
            Kind::Resource => "uri",
            Kind::ResourceTemplate => "uriTemplate",
        }
    }

    /// The method that lists items of this kind (none for the auth item).
    pub fn list_method(self) -> &'static str {
        match self {
            Kind::Server => "initialize",
            Kind::Auth => "",
            Kind::Tool => "tools/list",
            Kind::Prompt => "prompts/list",
            Kind::Resource => "resources/list",
            Kind::ResourceTemplate => "resources/templates/list",
        }
    }

    /// The server capability that announces the kind (templates come with resources).
    pub fn capability(self) -> &'static str {
        match self {
            Kind::Server | Kind::Auth => "",
            Kind::Tool => "tools",
            Kind::Prompt => "prompts",
            Kind::Resource | Kind::ResourceTemplate => "resources",
        }
    }

    /// The notification that says a listing of this kind changed.
    pub fn list_changed(self) -> &'static str {
        match self {
            Kind::Server | Kind::Auth => "",
            Kind::Tool => "notifications/tools/list_changed",
            Kind::Prompt => "notifications/prompts/list_changed",
            Kind::Resource | Kind::ResourceTemplate => "notifications/resources/list_changed",
        }
    }

    /// The registry folder that holds a server's pins of this kind.
    pub fn pin_dir(self) -> &'static str {
        match self {
            Kind::Server => "",
            Kind::Tool => "tools",
            Kind::Prompt => "prompts",
            Kind::Resource => "resources",
            Kind::ResourceTemplate => "templates",
            Kind::Auth => "auth",
        }
    }

    /// The member of a pin file that holds the pinned value.
    pub fn pin_key(self) -> &'static str {
        match self {
            Kind::Server => "header",
            Kind::Tool => "tool",
            Kind::Prompt => "prompt",
            Kind::Resource => "resource",
            Kind::ResourceTemplate => "resourceTemplate",
            Kind::Auth => "auth",
        }
    }

    /// The kind a catalog key (`tools`, `prompts`, …, `auth`) holds.
    pub fn from_list_key(key: &str) -> Option<Kind> {
        Kind::PINNED.into_iter().find(|k| k.list_key() == key)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One served item: its kind and raw name (never an escaped one; escape to show it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemRef {
    pub kind: Kind,
    pub name: String,
}

impl ItemRef {
    pub fn new(kind: Kind, name: impl Into<String>) -> ItemRef {
        ItemRef { kind, name: name.into() }
    }

    pub fn tool(name: impl Into<String>) -> ItemRef {
        ItemRef::new(Kind::Tool, name)
    }

    /// `KIND:NAME` (`prompt:greet`, `resource:file:///a`): how a command line names an
    /// item. A bare name is a tool.
    pub fn parse(text: &str) -> ItemRef {
        match text.split_once(':') {
            Some((kind, name)) if Kind::parse(kind).is_some_and(|k| k != Kind::Server) => {
                ItemRef::new(Kind::parse(kind).unwrap_or(Kind::Tool), name)
            }
            _ => ItemRef::tool(text),
        }
    }

    /// The raw `KIND:NAME` form [`ItemRef::parse`] reads (a tool by its bare name).
    pub fn spec(&self) -> String {
        match self.kind {
            Kind::Tool | Kind::Server => self.name.clone(),
            kind => format!("{kind}:{}", self.name),
        }
    }

    /// How reports label it, escaped ([`crate::visible::label`]): a tool by its name, others as `KIND:NAME`, the
    /// header as `(server header)`.
    pub fn label(&self) -> String {
        match self.kind {
            Kind::Server => "(server header)".to_owned(),
            Kind::Tool => crate::visible::label(&self.name),
            kind => format!("{kind}:{}", crate::visible::label(&self.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_and_label() {
        assert_eq!(ItemRef::parse("echo"), ItemRef::tool("echo"));
        assert_eq!(ItemRef::parse("prompt:greet"), ItemRef::new(Kind::Prompt, "greet"));
        assert_eq!(ItemRef::parse("resource:file:///a b"), ItemRef::new(Kind::Resource, "file:///a b"));
        assert_eq!(ItemRef::parse("weird:name"), ItemRef::tool("weird:name"));
        assert_eq!(ItemRef::parse("server:x"), ItemRef::tool("server:x"));
        assert_eq!(ItemRef::new(Kind::ResourceTemplate, "a/{x}").label(), "resource-template:a/{x}");
        assert_eq!(ItemRef::tool("a\u{1b}").label(), "a\u{27E8}U+001B\u{27E9}");
        assert_eq!(ItemRef::parse("auth:oauth"), ItemRef::new(Kind::Auth, "oauth"));
        for kind in Kind::PINNED {
            assert_eq!(Kind::from_list_key(kind.list_key()), Some(kind));
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
