//! The auth item: what a remote server tells every client, before anyone logs in, it
//! will ask to be allowed to do — the `WWW-Authenticate` challenge of its 401, its
//! RFC 9728 protected-resource metadata and its authorization servers' RFC 8414 (or
//! OpenID discovery) metadata — reduced to the fields a reviewer approves, and read
//! back for the rules and the inventory. Fetching it is `mcp::oauth`'s job.
//!
//! The pinned value (catalog key `auth`, one item named `oauth`):
//!
//! ```json
//! {"name": "oauth", "server_url": "https://mcp.example.com/mcp",
//!  "challenge": {"scheme": "Bearer", "scope": ["files:read"], "resource_metadata": "https://…"},
//!  "protected_resource": {"metadata_url": "https://…", "resource": "…", "authorization_servers": ["…"],
//!                         "scopes_supported": ["…"], "bearer_methods_supported": ["header"]},
//!  "authorization_servers": [{"authorization_server": "https://auth…", "metadata_url": "https://…",
//!                             "issuer": "…", "authorization_endpoint": "…", "token_endpoint": "…", …}]}
//! ```
//!
//! Members keep the RFCs' names and the values as served, except that lists which are
//! sets (`*_supported`, `authorization_servers`, the challenge's scopes) are sorted and
//! deduplicated, so that a server reordering them is not a change. A member the
//! server leaves out is left out; `protected_resource` is `null` when the server
//! publishes no such metadata.

use serde_json::{Map, Value};

/// The auth item's name (its key in pins, the lock and reports: `auth:oauth`).
pub const ITEM_NAME: &str = "oauth";

/// The protected-resource metadata members pinned (RFC 9728 §2).
pub const RESOURCE_FIELDS: [&str; 4] =
    ["resource", "authorization_servers", "scopes_supported", "bearer_methods_supported"];

/// The authorization-server metadata members pinned (RFC 8414 §2, and the client ID
/// metadata document flag of the MCP authorization spec).
pub const SERVER_FIELDS: [&str; 10] = [
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "scopes_supported",
    "response_types_supported",
    "grant_types_supported",
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
    "client_id_metadata_document_supported",
];

/// The endpoints a client sends the user or its credentials to.
pub const ENDPOINTS: [&str; 3] = ["authorization_endpoint", "token_endpoint", "registration_endpoint"];

/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1): its scheme and
/// parameters, names lowercased, values unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The challenge as the auth item pins it: the scheme, the scopes it asks for
    /// (a set), and where its resource metadata is.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("scheme".into(), Value::String(self.scheme.clone()));
        if let Some(scope) = self.param("scope") {
            let scopes = scope.split(' ').filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned()));
            map.insert("scope".into(), as_set(scopes.collect()));
        }
        if let Some(url) = self.param("resource_metadata") {
            map.insert("resource_metadata".into(), Value::String(url.to_owned()));
        }
        Value::Object(map)
    }
}

/// The Bearer challenge of a `WWW-Authenticate` value, else its first challenge;
/// `None` when it holds none.
pub fn bearer_challenge(header: &str) -> Option<Challenge> {
    let challenges = parse_challenges(header);
    let bearer = challenges.iter().position(|c| c.scheme.eq_ignore_ascii_case("bearer"));
    challenges.into_iter().nth(bearer.unwrap_or(0))
}

/// Every challenge of a `WWW-Authenticate` value: `Scheme name=value, name="quoted",
/// Other …`. Lenient, never failing: what cannot be read is skipped.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let chars: Vec<char> = header.chars().collect();
    let mut out: Vec<Challenge> = Vec::new();
    let mut i = 0;
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c);
    while i < chars.len() {
        if chars[i] == ',' || chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_token(chars[i]) {
            i += 1;
        }
        if i == start {
            i += 1; // a character no grammar allows here: skip it
            continue;
        }
        let token: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' && !out.is_empty() {
            // A parameter of the current challenge (a token68 ends in '=' too, but
            // never follows the scheme on its own here).
            i = j + 1;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            let mut value = String::new();
            if i < chars.len() && chars[i] == '"' {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    value.push(chars[i]);
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && chars[i] != ',' && !chars[i].is_whitespace() {
                    value.push(chars[i]);
                    i += 1;
                }
            }
            if let Some(current) = out.last_mut() {
                current.params.push((token.to_ascii_lowercase(), value));
            }
        } else {
            out.push(Challenge { scheme: token, params: Vec::new() });
        }
    }
    out
}

/// A metadata document and the URL it was read from.
pub type Document = (String, Map<String, Value>);

/// Metadata fetched for one server, as `mcp::oauth` found it.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// The MCP endpoint the challenge came from.
    pub server_url: String,
    pub challenge: Option<Challenge>,
    /// The protected-resource metadata and the URL it was read from.
    pub resource: Option<Document>,
    /// Per authorization server named: its identifier, and its metadata with the URL
    /// it was read from (`None` when it publishes none at any well-known place).
    pub servers: Vec<(String, Option<Document>)>,
}

impl Discovered {
    /// The auth item's value.
    pub fn to_item(&self) -> Value {
        let mut item = Map::new();
        item.insert("name".into(), Value::String(ITEM_NAME.into()));
        item.insert("server_url".into(), Value::String(self.server_url.clone()));
        if let Some(challenge) = &self.challenge {
            item.insert("challenge".into(), challenge.to_value());
        }
        let resource = self
            .resource
            .as_ref()
            .map_or(Value::Null, |(url, document)| Value::Object(project(url, document, &RESOURCE_FIELDS)));
        item.insert("protected_resource".into(), resource);
        let servers = self
            .servers
            .iter()
            .map(|(id, found)| {
                let mut map = match found {
                    Some((url, document)) => project(url, document, &SERVER_FIELDS),
                    None => {
                        let mut map = Map::new();
                        map.insert("metadata_url".into(), Value::Null);
                        map
                    }
                };
                map.insert("authorization_server".into(), Value::String(id.clone()));
                Value::Object(map)
            })
            .collect();
        item.insert("authorization_servers".into(), Value::Array(servers));
        Value::Object(item)
    }
}

/// The pinned members of a metadata document, sets sorted, with where it was read.
fn project(url: &str, document: &Map<String, Value>, fields: &[&str]) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("metadata_url".into(), Value::String(url.to_owned()));
    for &field in fields {
        if let Some(value) = document.get(field) {
            let is_set = field.ends_with("_supported") || field == "authorization_servers";
            let value = match value {
                Value::Array(list) if is_set => as_set(list.clone()),
                other => other.clone(),
            };
            map.insert(field.into(), value);
        }
    }
    map
}

/// A list as a set: sorted by its canonical text, each member once.
fn as_set(mut list: Vec<Value>) -> Value {
    list.sort_by_cached_key(Value::to_string);
    list.dedup();
    Value::Array(list)
}

/// Read access to a pinned auth item (any JSON: a hand-made catalog may hold anything,
/// so every accessor skips what is not of the expected type).
#[derive(Clone, Copy)]
pub struct View<'a>(pub &'a Value);

impl<'a> View<'a> {
    pub fn server_url(self) -> Option<&'a str> {
        self.0.get("server_url").and_then(Value::as_str)
    }

    pub fn resource(self) -> Option<&'a Map<String, Value>> {
        self.0.get("protected_resource").and_then(Value::as_object)
    }

    /// The authorization servers' entries, with their index.
    pub fn servers(self) -> impl Iterator<Item = (usize, &'a Map<String, Value>)> {
        let list = self.0.get("authorization_servers").and_then(Value::as_array);
        list.into_iter().flatten().enumerate().filter_map(|(i, v)| v.as_object().map(|m| (i, m)))
    }

    /// Every scope the server asks clients for, with its pointer: the challenge's,
    /// then the protected resource's `scopes_supported` (what a client requests when
    /// the challenge names none). Each scope once, at its first place.
    pub fn advertised_scopes(self) -> Vec<(String, &'a str)> {
        let mut out: Vec<(String, &str)> = Vec::new();
        let lists = [
            ("/challenge/scope", self.0.pointer("/challenge/scope")),
            ("/protected_resource/scopes_supported", self.0.pointer("/protected_resource/scopes_supported")),
        ];
        for (at, list) in lists {
            for (i, scope) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
                if let Some(scope) = scope.as_str() {
                    if !out.iter().any(|(_, s)| *s == scope) {
                        out.push((format!("{at}/{i}"), scope));
                    }
                }
            }
        }
        out
    }

    /// The scopes a client requests at its next authorization: the challenge's, or,
    /// when the challenge names none, every scope the protected resource lists (the
    /// MCP authorization spec's scope selection).
    pub fn requested_scopes(self) -> Vec<(String, &'a str)> {
        let challenge = self.list("/challenge/scope");
        if challenge.is_empty() {
            self.list("/protected_resource/scopes_supported")
        } else {
            challenge
        }
    }

    /// The protected resource's `scopes_supported`.
    pub fn listed_scopes(self) -> Vec<(String, &'a str)> {
        self.list("/protected_resource/scopes_supported")
    }

    /// The strings of the list at `at`, each with its pointer.
    fn list(self, at: &str) -> Vec<(String, &'a str)> {
        let list = self.0.pointer(at).and_then(Value::as_array).into_iter().flatten();
        list.enumerate().filter_map(|(i, v)| v.as_str().map(|s| (format!("{at}/{i}"), s))).collect()
    }

    /// The authorization servers the protected resource names.
    pub fn authorization_server_ids(self) -> Vec<&'a str> {
        let list = self.0.pointer("/protected_resource/authorization_servers").and_then(Value::as_array);
        list.into_iter().flatten().filter_map(Value::as_str).collect()
    }

    /// Every URL the item holds, with its pointer: where metadata was read, the
    /// resource, the authorization servers, issuers and endpoints.
    pub fn urls(self) -> Vec<(String, &'a str)> {
        let mut out = Vec::new();
        let mut push = |at: String, value: Option<&'a Value>| {
            if let Some(url) = value.and_then(Value::as_str) {
                out.push((at, url));
            }
        };
        push("/challenge/resource_metadata".into(), self.0.pointer("/challenge/resource_metadata"));
        if let Some(resource) = self.resource() {
            for key in ["metadata_url", "resource"] {
                push(format!("/protected_resource/{key}"), resource.get(key));
            }
            let ids = resource.get("authorization_servers").and_then(Value::as_array);
            for (i, id) in ids.into_iter().flatten().enumerate() {
                push(format!("/protected_resource/authorization_servers/{i}"), Some(id));
            }
        }
        for (i, server) in self.servers() {
            for key in ["metadata_url", "issuer"].into_iter().chain(ENDPOINTS) {
                push(format!("/authorization_servers/{i}/{key}"), server.get(key));
            }
        }
        out
    }
}

/// A URL's parts as the rules compare them: scheme and host lowercased, the default
/// port dropped, the path without a trailing slash. `None` for what is not an
/// absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    pub path: String,
}

impl UrlParts {
    pub fn parse(url: &str) -> Option<UrlParts> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, Some(port.parse::<u16>().ok()?)),
            _ => (authority, None),
        };
        if host.is_empty() {
            return None;
        }
        let default = if scheme == "https" { 443 } else { 80 };
        let path = tail.split(['?', '#']).next().unwrap_or("").trim_end_matches('/').to_owned();
        Some(UrlParts { host: host.to_ascii_lowercase(), port: port.filter(|&p| p != default), scheme, path })
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// A loopback host: `localhost`, 127.0.0.0/8, `::1`.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn challenges_parse_like_rfc_9110_says() {
        let header = r#"Basic realm="x", Bearer realm="mcp", scope="files:read  files:write", resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp", error=invalid_token"#;
        let challenge = bearer_challenge(header).unwrap_or_else(|| panic!("no challenge"));
        assert_eq!(challenge.scheme, "Bearer");
        assert_eq!(challenge.param("scope"), Some("files:read  files:write"));
        assert_eq!(challenge.param("error"), Some("invalid_token"));
        assert_eq!(
            challenge.to_value(),
            json!({"scheme": "Bearer", "scope": ["files:read", "files:write"],
                   "resource_metadata": "https://a.example/.well-known/oauth-protected-resource/mcp"})
        );
        let quoted = bearer_challenge(r#"Bearer scope="a \"b\"""#).unwrap_or_else(|| panic!("none"));
        assert_eq!(quoted.param("scope"), Some(r#"a "b""#));
        assert_eq!(bearer_challenge("Bearer").map(|c| c.params.len()), Some(0));
        assert!(bearer_challenge("").is_none());
        // Garbage is skipped, never a panic.
        for odd in ["=", "Bearer scope=\"unterminated", ",,,", "Bearer =x", "\u{1b}[31m Bearer"] {
            let _ = parse_challenges(odd);
        }
    }

    #[test]
    fn the_item_keeps_the_pinned_fields_with_sets_sorted() {
        let resource = json!({"resource": "https://m.example/mcp", "scopes_supported": ["b", "a", "b"],
                              "authorization_servers": ["https://auth.example"], "resource_name": "not pinned"});
        let server = json!({"issuer": "https://auth.example", "code_challenge_methods_supported": ["S256"],
                            "jwks_uri": "not pinned"});
        let discovered = Discovered {
            server_url: "https://m.example/mcp".into(),
            challenge: bearer_challenge(r#"Bearer scope="b a""#),
            resource: resource.as_object().map(|m| ("https://m.example/.well-known/x".to_owned(), m.clone())),
            servers: vec![
                (
                    "https://auth.example".into(),
                    server.as_object().map(|m| ("https://auth.example/.well-known/y".to_owned(), m.clone())),
                ),
                ("https://gone.example".into(), None),
            ],
        };
        let item = discovered.to_item();
        assert_eq!(
            item,
            json!({"name": "oauth", "server_url": "https://m.example/mcp",
                   "challenge": {"scheme": "Bearer", "scope": ["a", "b"]},
                   "protected_resource": {"metadata_url": "https://m.example/.well-known/x",
                       "resource": "https://m.example/mcp", "scopes_supported": ["a", "b"],
                       "authorization_servers": ["https://auth.example"]},
                   "authorization_servers": [
                       {"authorization_server": "https://auth.example", "metadata_url": "https://auth.example/.well-known/y",
                        "issuer": "https://auth.example", "code_challenge_methods_supported": ["S256"]},
                       {"authorization_server": "https://gone.example", "metadata_url": null}]})
        );
        let view = View(&item);
        let scopes: Vec<&str> = view.advertised_scopes().into_iter().map(|(_, s)| s).collect();
        assert_eq!(scopes, ["a", "b"]);
        assert_eq!(view.advertised_scopes()[0].0, "/challenge/scope/0");
        assert_eq!(view.authorization_server_ids(), ["https://auth.example"]);
        assert!(view.urls().iter().any(|(at, _)| at == "/authorization_servers/0/issuer"));
    }

    #[test]
    fn urls_compare_by_their_parts() {
        let parts = UrlParts::parse("HTTPS://Auth.Example:443/tenant/").unwrap_or_else(|| panic!("none"));
        assert_eq!(parts.origin(), "https://auth.example");
        assert_eq!(parts.path, "/tenant");
        assert!(UrlParts::parse("http://127.0.0.1:8080/x").is_some_and(|p| p.is_loopback()));
        assert!(UrlParts::parse("http://[::1]:8080/x").is_some_and(|p| p.is_loopback()));
        assert!(UrlParts::parse("ftp://x").is_none());
        assert!(UrlParts::parse("https://").is_none());
        assert!(UrlParts::parse("https://h:99999/").is_none());
    }
}
