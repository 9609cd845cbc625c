//! A small MCP client on `serde_json::Value` (design §7): no typed SDK, so unknown
//! fields (`execution`, `$schema`, vendor keys) survive untouched from the wire to the
//! pin. Both protocol eras: `server/discover` (2026-07-28) first, `initialize` after.
//! Every kind a server lists is fetched: tools always, prompts, resources and resource
//! templates when it advertises them.

pub mod http;
pub mod oauth;
pub mod session;
pub mod sse;
pub mod stdio;

use std::time::Duration;

use serde_json::{json, Value};

use crate::item::Kind;

/// The modern protocol revision toolreg speaks.
pub const MODERN_VERSION: &str = "2026-07-28";
/// The handshake revision toolreg asks for on the legacy path.
pub const LEGACY_VERSION: &str = "2025-11-25";

/// Bounds against a hostile or broken server; every one is configurable.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest single message (one line on stdio).
    pub message_bytes: usize,
    /// Most pages followed in one listing (`tools/list`, `prompts/list`, …).
    pub pages: usize,
    /// Most items of one kind accepted in one catalog (tools, prompts, …).
    pub items: usize,
    /// From spawn to the handshake's answer.
    pub start_timeout: Duration,
    /// For every later request.
    pub request_timeout: Duration,
    /// How long the era probe (`server/discover`) may take before falling back.
    pub probe_timeout: Duration,
    /// After the listing, how long to wait for a late `list_changed`.
    pub settle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: 16 * 1024 * 1024,
            pages: 1000,
            items: 10_000,
            start_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(5),
            settle: Duration::from_millis(300),
        }
    }
}

/// A fetch that failed: the catalog could not be read, so nothing could be checked.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot start {command}: {message}")]
    Spawn { command: String, message: String },
    #[error("the server did not answer {what} within {seconds:.1} s{stderr}")]
    Timeout { what: String, seconds: f64, stderr: String },
    #[error("a message from the server is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the server sent more than {limit} pages of {method} (endless pagination?)")]
    TooManyPages { method: &'static str, limit: usize },
    /// `what` is the list: `tools`, `prompts`, `resources`, `resourceTemplates`.
    #[error("the server listed more than {limit} {what}")]
    TooManyItems { what: &'static str, limit: usize },
    #[error(
        "the server advertises the {capability:?} capability but answers {method} with \"method not \
         found\" ({code} {message}): its catalog cannot be read whole, so it is refused"
    )]
    NotServed { method: &'static str, capability: &'static str, code: i64, message: String },
    #[error("the server closed its output before answering {what}{stderr}")]
    Closed { what: String, stderr: String },
    #[error("the server sent invalid UTF-8 (byte {offset} of a message)")]
    InvalidUtf8 { offset: usize },
    #[error("{method}: the server answered HTTP {status}{detail}")]
    HttpStatus { method: String, status: u16, detail: String },
    #[error(
        "the server refused access (HTTP {status}){challenge}; give a bearer token with \
         --token-env NAME or [launch] token_env in server.toml"
    )]
    Unauthorized { status: u16, challenge: String },
    #[error("the server's event stream did not bring the answer within the timeout")]
    Stalled,
    #[error("{0}")]
    Http(String),
    /// OAuth metadata that could not be read (the catalog's auth item is incomplete).
    #[error("OAuth discovery: {0}")]
    OAuth(String),
    #[error("{0}")]
    Url(String),
    #[error("{method} failed: {code} {message}")]
    Rpc { method: String, code: i64, message: String },
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// What a fetch learned about a server: the catalog, and how it was obtained.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub server_info: Value,
    pub protocol_version: String,
    pub instructions: Option<String>,
    pub capabilities: Value,
    /// The capability profile toolreg declared (catalogs depend on it).
    pub client_capabilities: Value,
    /// `modern` (server/discover) or `legacy` (initialize).
    pub era: &'static str,
    /// `stdio`, `streamable-http` or `http+sse`.
    pub transport: &'static str,
    /// What each listed kind served, in [`Kind::LISTED`] order: tools always, the
    /// others only when the server advertises their capability.
    pub lists: Vec<Listing>,
    /// Non-JSON lines the server wrote on stdout (skipped, reported).
    pub noise: usize,
    /// The auth item (`crate::oauth`), when the server asks clients for OAuth.
    pub auth: Option<Value>,
}

/// Every item of one kind a server listed, raw, in served order.
#[derive(Debug, Clone)]
pub struct Listing {
    pub kind: Kind,
    pub items: Vec<Value>,
}

impl Fetched {
    /// The items of `kind`; empty when that kind was not listed.
    pub fn items(&self, kind: Kind) -> &[Value] {
        self.lists.iter().find(|l| l.kind == kind).map_or(&[], |l| l.items.as_slice())
    }

    /// The catalog file (design §2) this fetch produced.
    pub fn to_catalog(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("server".into(), self.server_info.clone());
        map.insert("protocolVersion".into(), Value::String(self.protocol_version.clone()));
        if let Some(text) = &self.instructions {
            map.insert("instructions".into(), Value::String(text.clone()));
        }
        map.insert("capabilities".into(), self.capabilities.clone());
        map.insert(
            "fetchedWith".into(),
            json!({"tool": "toolreg", "version": env!("CARGO_PKG_VERSION"), "era": self.era, "transport": self.transport,
                   "clientCapabilities": self.client_capabilities}),
        );
        // A kind the server does not advertise gets no array: a tools-only server's
        // catalog is what it always was.
        for listing in &self.lists {
            map.insert(listing.kind.list_key().into(), Value::Array(listing.items.clone()));
        }
        if let Some(auth) = &self.auth {
            map.insert(Kind::Auth.list_key().into(), Value::Array(vec![auth.clone()]));
        }
        Value::Object(map)
    }
}

/// Whether `capabilities` (a server's) advertises `name` (`prompts`, `resources`): the
/// member is there and is not `null` or `false`. Clients test it for truth, so any
/// other value counts: toolreg asks whenever a client would.
pub fn advertises(capabilities: &Value, name: &str) -> bool {
    !matches!(capabilities.get(name), None | Some(Value::Null | Value::Bool(false)))
}

/// `params._meta` of a modern request.
pub fn modern_meta(client_capabilities: &Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
        "io.modelcontextprotocol/clientCapabilities": client_capabilities,
        "io.modelcontextprotocol/clientInfo": client_info(),
    })
}

pub fn client_info() -> Value {
    json!({"name": "toolreg", "version": env!("CARGO_PKG_VERSION")})
}

/// A JSON-RPC error object as (code, message).
pub fn rpc_error(error: &Value) -> (i64, String) {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
    (code, crate::visible::escape(&message))
}
