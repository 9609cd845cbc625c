//! The OAU rules in code: what a server's auth item (`crate::oauth`) says about the
//! grant a client would ask its user for. Three sorts: what the metadata says now
//! (no S256, plain-http endpoints, implicit or password grants, a resource or issuer
//! that is not who it claims), what changed since the approved pin (a scope added,
//! an authorization server or issuer changed, an endpoint moved to another host), and
//! what `server.toml` does not declare. Scope names are rules as data
//! (`detectors/oau.toml`, field kind `scope`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::finding::{Finding, Locate, Rule, RuleClass, Severity};
use crate::item::{ItemRef, Kind};
use crate::oauth::{UrlParts, View, ENDPOINTS, ITEM_NAME};
use crate::visible::escape;

pub const SCOPE_ADDED: Rule = Rule {
    id: "OAU001",
    name: "oauth-scope-added",
    title: "The server asks for a scope the approved metadata did not list",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "A scope added to the challenge or to the protected resource's scopes_supported widens \
           the next consent screen: when the challenge names no scope, clients request every scope \
           the server lists. Find out why the server needs it, then review the auth item (and add \
           the scope to oauth-scopes in server.toml if it is to stay).",
};
pub const SERVER_CHANGED: Rule = Rule {
    id: "OAU004",
    name: "authorization-server-changed",
    title: "The authorization server or its issuer changed",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "Users will log in and grant access somewhere else than where the approved metadata \
           sent them. A server that moves its users to another identity provider without notice is \
           how consent phishing looks. Confirm the change with the server's owner before review.",
};
pub const ENDPOINT_MOVED: Rule = Rule {
    id: "OAU005",
    name: "endpoint-host-changed",
    title: "An authorization, token or registration endpoint moved to another host",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "The authorization endpoint receives the user, the token endpoint the authorization code \
           and client credentials, the registration endpoint the client's metadata: a new host there \
           receives them all. Confirm it belongs to the authorization server's operator.",
};
pub const NO_S256: Rule = Rule {
    id: "OAU006",
    name: "pkce-s256-missing",
    title: "An authorization server does not offer PKCE with S256",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "The MCP authorization spec requires PKCE, and clients must refuse an authorization \
           server whose metadata does not list S256 in code_challenge_methods_supported: without \
           it an intercepted authorization code can be redeemed by whoever intercepted it.",
};
pub const PLAIN_PKCE: Rule = Rule {
    id: "OAU007",
    name: "pkce-plain-offered",
    title: "An authorization server offers the plain PKCE method",
    severity: Severity::Medium,
    class: RuleClass::Detection,
    help: "With `plain`, the code challenge is the verifier itself: anyone who sees the \
           authorization request can redeem the code. A client that picks the first method \
           offered may use it. OAuth 2.1 allows S256 only where possible.",
};
pub const RESOURCE_MISMATCH: Rule = Rule {
    id: "OAU008",
    name: "resource-mismatch",
    title: "The protected-resource metadata names another resource than the server",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "RFC 9728 §3.3: the `resource` in the metadata must be the resource the client talks to. \
           Metadata that names another origin gets tokens minted for that other resource (an \
           audience a client then sends elsewhere), or is metadata copied from someone else.",
};
pub const PLAIN_HTTP: Rule = Rule {
    id: "OAU009",
    name: "oauth-plain-http",
    title: "An OAuth endpoint, issuer or metadata URL over plain http",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "Authorization codes, tokens and client credentials sent over plain http can be read and \
           changed by anyone on the path. Every OAuth URL must be https (loopback aside).",
};
pub const LEGACY_GRANT: Rule = Rule {
    id: "OAU010",
    name: "implicit-or-password-grant",
    title: "An authorization server offers the implicit or the password grant",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "The implicit grant returns tokens in the browser's URL; the password grant has the \
           client collect the user's password. OAuth 2.1 removes both, and an MCP client has no \
           reason to use either: a server offering them invites a client to.",
};
pub const ISSUER_MISMATCH: Rule = Rule {
    id: "OAU011",
    name: "issuer-mismatch",
    title: "An authorization server's metadata names another issuer",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "RFC 8414 §3.3: the `issuer` in the metadata must be the authorization server it was \
           fetched for. A mismatch is the mix-up attack's signature: the client would send the \
           user's code to an issuer other than the one it asked.",
};
pub const UNDECLARED_SCOPE: Rule = Rule {
    id: "OAU012",
    name: "undeclared-oauth-scope",
    title: "The server asks for a scope server.toml does not declare",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "`oauth-scopes` in servers/<id>/server.toml is the registry's least-privilege statement: \
           every scope the server asks clients for must be declared there, through review. Declare \
           it (if the server needs it), or get the server to stop asking for it.",
};

pub const RULES: [&Rule; 10] = [
    &SCOPE_ADDED,
    &SERVER_CHANGED,
    &ENDPOINT_MOVED,
    &NO_S256,
    &PLAIN_PKCE,
    &RESOURCE_MISMATCH,
    &PLAIN_HTTP,
    &LEGACY_GRANT,
    &ISSUER_MISMATCH,
    &UNDECLARED_SCOPE,
];

/// One finding about the auth item of `server`.
fn finding(
    rule: &'static Rule,
    server: &str,
    key: &ItemRef,
    pointer: &str,
    message: String,
    evidence: &str,
    places: &dyn Locate,
) -> Finding {
    Finding::of(rule)
        .about(server, Some(key))
        .pointer(pointer)
        .message(message)
        .evidence(evidence)
        .field_in(places)
        .build()
}

/// What the auth item `value` of `server` says now.
pub fn check(server: &str, value: &Value, places: &dyn Locate) -> Vec<Finding> {
    let view = View(value);
    let key = ItemRef::new(Kind::Auth, ITEM_NAME);
    let mut out = Vec::new();
    let mut add = |rule, pointer: &str, message: String, evidence: &str| {
        out.push(finding(rule, server, &key, pointer, message, evidence, places));
    };

    if let (Some(resource), Some(server_url)) = (view.resource(), view.server_url()) {
        let named = resource.get("resource").and_then(Value::as_str).unwrap_or("");
        if !same_resource(named, server_url) {
            let message = if named.is_empty() {
                "the protected-resource metadata names no resource (RFC 9728 requires one)".to_owned()
            } else {
                format!(
                    "the protected-resource metadata names the resource {}, not this server ({})",
                    escape(named),
                    escape(server_url)
                )
            };
            add(&RESOURCE_MISMATCH, "/protected_resource/resource", message, named);
        }
    }
    for (pointer, url) in view.urls() {
        if UrlParts::parse(url).is_some_and(|u| u.scheme == "http" && !u.is_loopback()) {
            let field = pointer.rsplit('/').find(|t| t.parse::<usize>().is_err()).unwrap_or("");
            add(&PLAIN_HTTP, &pointer, format!("{field} is plain http: {}", escape(url)), url);
        }
    }
    for (i, entry) in view.servers() {
        let at = format!("/authorization_servers/{i}");
        let id = entry.get("authorization_server").and_then(Value::as_str).unwrap_or("");
        let published = !entry.get("metadata_url").is_none_or(Value::is_null);
        if !published {
            let message = format!(
                "the authorization server {} publishes no metadata: PKCE support cannot be confirmed",
                escape(id)
            );
            add(&NO_S256, &at, message, id);
            continue;
        }
        let issuer = entry.get("issuer").and_then(Value::as_str).unwrap_or("");
        if issuer.trim_end_matches('/') != id.trim_end_matches('/') {
            let message = format!("the metadata of {} names the issuer {}", escape(id), escape(issuer));
            add(&ISSUER_MISMATCH, &format!("{at}/issuer"), message, issuer);
        }
        let methods = strings(entry, "code_challenge_methods_supported");
        let pkce_at = format!("{at}/code_challenge_methods_supported");
        if !methods.contains(&"S256") {
            let offered = if methods.is_empty() { "none".to_owned() } else { escape(&methods.join(", ")) };
            add(
                &NO_S256,
                &pkce_at,
                format!("{} does not offer PKCE with S256 (offers: {offered})", escape(id)),
                id,
            );
        }
        if methods.contains(&"plain") {
            add(&PLAIN_PKCE, &pkce_at, format!("{} offers the plain PKCE method", escape(id)), "plain");
        }
        for grant in strings(entry, "grant_types_supported") {
            if grant == "implicit" || grant == "password" {
                let message = format!("{} offers the {grant} grant", escape(id));
                add(&LEGACY_GRANT, &format!("{at}/grant_types_supported"), message, grant);
            }
        }
        for response in strings(entry, "response_types_supported") {
            if response.split(' ').any(|t| t == "token") {
                let message = format!(
                    "{} offers the response type {} (implicit: tokens in the URL)",
                    escape(id),
                    escape(response)
                );
                add(&LEGACY_GRANT, &format!("{at}/response_types_supported"), message, response);
            }
        }
    }
    out
}

/// Whether the metadata's `resource` is the server: the same origin, and the server's
/// URL or a path above it (a resource identifier may name the whole origin).
fn same_resource(named: &str, server_url: &str) -> bool {
    let (Some(named), Some(server)) = (UrlParts::parse(named), UrlParts::parse(server_url)) else {
        return false;
    };
    named.origin() == server.origin()
        && (named.path == server.path || server.path.starts_with(&format!("{}/", named.path)))
}

/// The strings of a list member (what is not a string is skipped).
fn strings<'a>(entry: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    entry.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

/// What changed from the approved auth item `old` to `new`: scopes added, the
/// authorization servers or their issuers changed, endpoints on a new host.
pub fn changes(server: &str, old: &Value, new: &Value, places: &dyn Locate) -> Vec<Finding> {
    let (old, new) = (View(old), View(new));
    let key = ItemRef::new(Kind::Auth, ITEM_NAME);
    let mut out = Vec::new();
    let mut add = |rule, pointer: &str, message: String, evidence: &str| {
        out.push(finding(rule, server, &key, pointer, message, evidence, places));
    };

    // Widened: what clients request now (the challenge's scopes, else every listed
    // one), and what the resource lists (requested whenever a challenge names none).
    let mut reported = BTreeSet::new();
    for (now, then, what) in [
        (new.requested_scopes(), old.requested_scopes(), "clients now request"),
        (new.listed_scopes(), old.listed_scopes(), "the server now lists"),
    ] {
        let before: BTreeSet<&str> = then.into_iter().map(|(_, s)| s).collect();
        for (pointer, scope) in now {
            if !before.contains(scope) && reported.insert(scope) {
                let message = format!(
                    "{what} the scope {}, which the approved metadata did not (at {})",
                    escape(scope),
                    escape(&pointer)
                );
                add(&SCOPE_ADDED, &pointer, message, scope);
            }
        }
    }

    let (was, is) = (old.authorization_server_ids(), new.authorization_server_ids());
    for (i, id) in is.iter().enumerate() {
        if !was.contains(id) {
            let previously = if was.is_empty() { "none".to_owned() } else { escape(&was.join(", ")) };
            let message = format!(
                "users are now sent to the authorization server {} (approved: {previously})",
                escape(id)
            );
            add(&SERVER_CHANGED, &format!("/protected_resource/authorization_servers/{i}"), message, id);
        }
    }
    for (i, entry) in new.servers() {
        let id = entry.get("authorization_server").and_then(Value::as_str).unwrap_or("");
        let issuer = entry.get("issuer").and_then(Value::as_str);
        let approved = old
            .servers()
            .find(|(_, e)| e.get("authorization_server").and_then(Value::as_str) == Some(id))
            .and_then(|(_, e)| e.get("issuer").and_then(Value::as_str));
        if let (Some(issuer), Some(approved)) = (issuer, approved) {
            if issuer != approved {
                let message = format!(
                    "the issuer of {} is now {} (approved: {})",
                    escape(id),
                    escape(issuer),
                    escape(approved)
                );
                add(&SERVER_CHANGED, &format!("/authorization_servers/{i}/issuer"), message, issuer);
            }
        }
    }

    for endpoint in ENDPOINTS {
        let hosts = |view: View<'_>| -> BTreeSet<String> {
            view.servers()
                .filter_map(|(_, e)| e.get(endpoint).and_then(Value::as_str).and_then(UrlParts::parse))
                .map(|u| u.origin())
                .collect()
        };
        let approved = hosts(old);
        if approved.is_empty() {
            continue;
        }
        for (i, entry) in new.servers() {
            let Some(url) = entry.get(endpoint).and_then(Value::as_str) else { continue };
            let origin = UrlParts::parse(url).map_or_else(|| url.to_owned(), |u| u.origin());
            if !approved.contains(&origin) {
                let was: Vec<&str> = approved.iter().map(String::as_str).collect();
                let message = format!(
                    "{endpoint} moved to {} (approved: {})",
                    escape(&origin),
                    escape(&was.join(", "))
                );
                add(&ENDPOINT_MOVED, &format!("/authorization_servers/{i}/{endpoint}"), message, url);
            }
        }
    }
    out
}

/// Scopes the auth item `value` asks for that `declared` (server.toml's
/// `oauth-scopes`) does not list.
pub fn undeclared(server: &str, declared: &[String], value: &Value, places: &dyn Locate) -> Vec<Finding> {
    let key = ItemRef::new(Kind::Auth, ITEM_NAME);
    View(value)
        .advertised_scopes()
        .into_iter()
        .filter(|(_, scope)| !declared.iter().any(|d| d == scope))
        .map(|(pointer, scope)| {
            let message = if declared.is_empty() {
                format!("the server asks for the scope {}, and servers/{}/server.toml declares no oauth-scopes", escape(scope), escape(server))
            } else {
                format!("the server asks for the scope {}, which oauth-scopes in servers/{}/server.toml does not declare", escape(scope), escape(server))
            };
            finding(&UNDECLARED_SCOPE, server, &key, &pointer, message, scope, places)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Nowhere;
    use serde_json::json;

    /// The baseline: what a well-behaved server publishes.
    fn baseline() -> Value {
        json!({"name": "oauth", "server_url": "https://m.example/mcp",
               "challenge": {"scheme": "Bearer", "scope": ["files:read"]},
               "protected_resource": {"metadata_url": "https://m.example/.well-known/oauth-protected-resource/mcp",
                   "resource": "https://m.example/mcp", "authorization_servers": ["https://auth.example"],
                   "scopes_supported": ["files:read", "files:write"], "bearer_methods_supported": ["header"]},
               "authorization_servers": [{"authorization_server": "https://auth.example",
                   "metadata_url": "https://auth.example/.well-known/oauth-authorization-server",
                   "issuer": "https://auth.example", "authorization_endpoint": "https://auth.example/authorize",
                   "token_endpoint": "https://auth.example/token", "registration_endpoint": "https://auth.example/register",
                   "response_types_supported": ["code"], "grant_types_supported": ["authorization_code", "refresh_token"],
                   "code_challenge_methods_supported": ["S256"]}]})
    }

    fn with(pointer: &str, value: Value) -> Value {
        let mut item = baseline();
        if let Some(slot) = item.pointer_mut(pointer) {
            *slot = value;
        }
        item
    }

    fn rules_of(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_well_behaved_server_raises_nothing() {
        assert_eq!(rules_of(&check("s", &baseline(), &Nowhere)), Vec::<&str>::new());
        assert_eq!(rules_of(&changes("s", &baseline(), &baseline(), &Nowhere)), Vec::<&str>::new());
        // The resource may be the origin; a trailing slash and case do not matter.
        for resource in ["https://m.example", "HTTPS://M.example/mcp/", "https://m.example:443/mcp"] {
            let item = with("/protected_resource/resource", json!(resource));
            assert_eq!(rules_of(&check("s", &item, &Nowhere)), Vec::<&str>::new(), "{resource}");
        }
        // Loopback over http is a test server, not a finding.
        let local = with("/authorization_servers/0/token_endpoint", json!("http://127.0.0.1:9/token"));
        assert_eq!(rules_of(&check("s", &local, &Nowhere)), Vec::<&str>::new());
    }

    #[test]
    fn state_rules_match() {
        let cases = [
            (
                "/authorization_servers/0/code_challenge_methods_supported",
                json!(["plain"]),
                vec!["OAU006", "OAU007"],
            ),
            (
                "/authorization_servers/0/code_challenge_methods_supported",
                json!(["S256", "plain"]),
                vec!["OAU007"],
            ),
            ("/authorization_servers/0/metadata_url", json!(null), vec!["OAU006"]),
            ("/protected_resource/resource", json!("https://other.example/mcp"), vec!["OAU008"]),
            ("/protected_resource/resource", json!("https://m.example/mcp-admin"), vec!["OAU008"]),
            (
                "/authorization_servers/0/authorization_endpoint",
                json!("http://auth.example/authorize"),
                vec!["OAU009"],
            ),
            (
                "/authorization_servers/0/grant_types_supported",
                json!(["authorization_code", "password", "implicit"]),
                vec!["OAU010", "OAU010"],
            ),
            (
                "/authorization_servers/0/response_types_supported",
                json!(["code", "code token"]),
                vec!["OAU010"],
            ),
            ("/authorization_servers/0/issuer", json!("https://evil.example"), vec!["OAU011"]),
        ];
        for (pointer, value, expected) in cases {
            let found = check("s", &with(pointer, value.clone()), &Nowhere);
            assert_eq!(rules_of(&found), expected, "{pointer} = {value}");
        }
    }

    #[test]
    fn change_rules_match() {
        let widened = with(
            "/protected_resource/scopes_supported",
            json!(["files:read", "files:write", "offline_access"]),
        );
        let found = changes("s", &baseline(), &widened, &Nowhere);
        assert_eq!(rules_of(&found), ["OAU001"]);
        assert_eq!(found[0].evidence, "offline_access");
        assert_eq!(found[0].pointer, "/protected_resource/scopes_supported/2");
        // Listed before, but requested only now: the consent screen grows.
        let challenge = with("/challenge/scope", json!(["files:read", "files:write"]));
        let found = changes("s", &baseline(), &challenge, &Nowhere);
        assert_eq!(rules_of(&found), ["OAU001"]);
        assert_eq!(
            (found[0].evidence.as_str(), found[0].pointer.as_str()),
            ("files:write", "/challenge/scope/1")
        );
        // A challenge that starts naming one of the listed scopes narrows the request.
        let mut open = baseline();
        if let Some(challenge) = open.pointer_mut("/challenge").and_then(Value::as_object_mut) {
            challenge.remove("scope");
        }
        assert_eq!(rules_of(&changes("s", &open, &baseline(), &Nowhere)), Vec::<&str>::new());
        assert_eq!(
            rules_of(&changes("s", &baseline(), &open, &Nowhere)),
            ["OAU001"],
            "now every listed scope"
        );
        let admin = with("/challenge/scope", json!(["admin"]));
        assert_eq!(rules_of(&changes("s", &baseline(), &admin, &Nowhere)), ["OAU001"]);
        // A narrower grant is no finding of these rules.
        let narrowed = with("/protected_resource/scopes_supported", json!(["files:read"]));
        assert_eq!(rules_of(&changes("s", &baseline(), &narrowed, &Nowhere)), Vec::<&str>::new());

        let moved = with("/protected_resource/authorization_servers", json!(["https://login.other.example"]));
        assert_eq!(rules_of(&changes("s", &baseline(), &moved, &Nowhere)), ["OAU004"]);
        let issuer = with("/authorization_servers/0/issuer", json!("https://auth.example/v2"));
        assert_eq!(rules_of(&changes("s", &baseline(), &issuer, &Nowhere)), ["OAU004"]);
        let token = with("/authorization_servers/0/token_endpoint", json!("https://tokens.example/token"));
        let found = changes("s", &baseline(), &token, &Nowhere);
        assert_eq!(rules_of(&found), ["OAU005"]);
        assert!(
            found[0].message.contains("token_endpoint moved to https://tokens.example"),
            "{}",
            found[0].message
        );
        let same_host =
            with("/authorization_servers/0/token_endpoint", json!("https://auth.example/v2/token"));
        assert_eq!(rules_of(&changes("s", &baseline(), &same_host, &Nowhere)), Vec::<&str>::new());
    }

    #[test]
    fn undeclared_scopes_are_named() {
        let declared = vec!["files:read".to_owned()];
        let found = undeclared("s", &declared, &baseline(), &Nowhere);
        assert_eq!(rules_of(&found), ["OAU012"]);
        assert_eq!(found[0].evidence, "files:write");
        let all = vec!["files:read".to_owned(), "files:write".to_owned()];
        assert!(undeclared("s", &all, &baseline(), &Nowhere).is_empty());
        assert_eq!(undeclared("s", &[], &baseline(), &Nowhere).len(), 2);
    }

    #[test]
    fn hostile_text_is_escaped_in_messages() {
        let item = with("/protected_resource/resource", json!("https://evil.example/\u{1b}[31m"));
        let found = check("s", &item, &Nowhere);
        assert!(found.iter().all(|f| !f.message.contains('\u{1b}') && !f.evidence.contains('\u{1b}')));
        // Odd shapes are skipped, never a panic.
        for odd in [
            json!(null),
            json!([]),
            json!({"authorization_servers": [1, {"issuer": 3}]}),
            json!({"protected_resource": "x"}),
        ] {
            let _ = check("s", &odd, &Nowhere);
            let _ = changes("s", &odd, &baseline(), &Nowhere);
            let _ = changes("s", &baseline(), &odd, &Nowhere);
        }
    }
}
