//! OAuth discovery without credentials, in the order the MCP authorization spec gives:
//! the 401 challenge of an unauthenticated request; the protected-resource metadata
//! its `resource_metadata` names, else the path-suffixed then the root well-known
//! location (RFC 9728 §3.1); for each authorization server it names, the RFC 8414 and
//! OpenID discovery documents (path-inserted first). Under the HTTP transport's rules:
//! no `Authorization` header ever, bounded size and time, no redirect to another
//! origin, https unless the server and the metadata are both on loopback, nothing of
//! a response shown raw.

use std::io::Read;

use serde_json::{json, Map, Value};
use ureq::http::Response;
use ureq::Body;

use super::http::{agent, header, read_limited, transport_error, truncate, Target};
use super::{FetchError, Limits, MODERN_VERSION};
use crate::oauth::{bearer_challenge, Discovered};
use crate::visible::escape;

/// The largest metadata document read (the real ones are a few KiB).
pub const METADATA_BYTES: usize = 1024 * 1024;

/// The most authorization servers one resource may name that are fetched.
const MAX_SERVERS: usize = 8;

/// The most same-origin redirects followed for one document.
const MAX_REDIRECTS: usize = 3;

/// Sends one unauthenticated request to the MCP endpoint (a modern `server/discover`,
/// which opens no session) and returns its `WWW-Authenticate` value when the server
/// answers 401 (an empty string when it sends none); `None` when it lets the request in.
pub(super) fn probe(target: &Target, limits: &Limits) -> Result<Option<String>, FetchError> {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover",
                      "params": {"_meta": super::modern_meta(&json!({}))}});
    let request = agent(target, limits)
        .post(&target.url)
        .config()
        .timeout_global(Some(limits.request_timeout))
        .build()
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", MODERN_VERSION)
        .header("Mcp-Method", "server/discover");
    let what = "an unauthenticated request (OAuth discovery)";
    let response =
        request.send(body.to_string()).map_err(|e| transport_error(&e, what, limits.request_timeout))?;
    let status = response.status().as_u16();
    let challenge = (status == 401).then(|| header(&response, "www-authenticate").unwrap_or_default());
    // What the body says does not matter; reading a little of it lets the connection go.
    let _ = response.into_body().into_reader().take(64 * 1024).read_to_end(&mut Vec::new());
    Ok(challenge)
}

/// Everything the server and its authorization servers publish, from `challenge` (the
/// 401's `WWW-Authenticate` value) on.
pub(super) fn discover(target: &Target, challenge: &str, limits: &Limits) -> Result<Discovered, FetchError> {
    if challenge.chars().any(char::is_control) {
        return Err(oauth_error(format!(
            "the server's WWW-Authenticate challenge holds control characters ({}): refused",
            escape(&truncate(challenge, 200))
        )));
    }
    let challenge = bearer_challenge(challenge);
    let named = challenge.as_ref().and_then(|c| c.param("resource_metadata")).map(str::to_owned);
    let resource = match named {
        // The server named its metadata: it must be there.
        Some(url) => Some((url.clone(), fetch_document(target, &url, limits)?)),
        None => {
            let mut found = None;
            for url in resource_locations(target) {
                if let Some(document) = fetch_optional(target, &url, limits)? {
                    found = Some((url, document));
                    break;
                }
            }
            found
        }
    };
    let ids: Vec<String> = resource
        .as_ref()
        .and_then(|(_, document)| document.get("authorization_servers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if ids.len() > MAX_SERVERS {
        return Err(oauth_error(format!(
            "the protected-resource metadata names {} authorization servers (at most {MAX_SERVERS} are read)",
            ids.len()
        )));
    }
    let mut servers = Vec::new();
    for id in ids {
        let mut found = None;
        for url in server_locations(&id)? {
            if let Some(document) = fetch_optional(target, &url, limits)? {
                found = Some((url, document));
                break;
            }
        }
        servers.push((id, found));
    }
    Ok(Discovered { server_url: target.url.clone(), challenge, resource, servers })
}

/// Where protected-resource metadata may be when the challenge names none: the
/// well-known URI with the endpoint's path appended, then at the root.
fn resource_locations(target: &Target) -> Vec<String> {
    let origin = format!("{}://{}", target.scheme, target.authority);
    let path = target.path.trim_end_matches('/');
    let root = format!("{origin}/.well-known/oauth-protected-resource");
    if path.is_empty() {
        vec![root]
    } else {
        vec![format!("{root}{path}"), root]
    }
}

/// Where an authorization server's metadata may be, in the spec's order: for an
/// issuer with a path, RFC 8414's path-inserted URI, OpenID's path-inserted, then
/// OpenID's path-appended; without one, RFC 8414's then OpenID's.
fn server_locations(id: &str) -> Result<Vec<String>, FetchError> {
    let target = Target::parse(id).map_err(|_| {
        oauth_error(format!("the authorization server {} is not an http(s) URL", escape(&truncate(id, 200))))
    })?;
    let origin = format!("{}://{}", target.scheme, target.authority);
    let path = target.path.trim_end_matches('/');
    Ok(if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    })
}

/// A document that must exist.
fn fetch_document(server: &Target, url: &str, limits: &Limits) -> Result<Map<String, Value>, FetchError> {
    fetch_optional(server, url, limits)?.ok_or_else(|| {
        oauth_error(format!("{} answers 404: the metadata the server names is not there", escape(url)))
    })
}

/// A metadata document, or `None` when the URL answers 404 or 410 (not published
/// there). Anything else that is not a JSON object is "could not check".
fn fetch_optional(
    server: &Target,
    url: &str,
    limits: &Limits,
) -> Result<Option<Map<String, Value>>, FetchError> {
    let mut url = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let target = allowed(server, &url)?;
        let what = format!("GET {}", escape(&truncate(&url, 200)));
        // Built here, so no credential can ride along: metadata is public.
        let response = agent(&target, limits)
            .get(&target.url)
            .config()
            .timeout_global(Some(limits.request_timeout))
            .build()
            .header("Accept", "application/json")
            .call()
            .map_err(|e| transport_error(&e, &what, limits.request_timeout))?;
        let status = response.status().as_u16();
        match status {
            200 => return read_document(response, &url, limits).map(Some),
            404 | 410 => return Ok(None),
            301 | 302 | 303 | 307 | 308 => url = same_origin_redirect(&target, &response)?,
            _ => {
                return Err(oauth_error(format!(
                    "{} answers HTTP {status}: the OAuth metadata could not be read",
                    escape(&truncate(&url, 200))
                )))
            }
        }
    }
    Err(oauth_error(format!("{} redirects more than {MAX_REDIRECTS} times", escape(&truncate(&url, 200)))))
}

/// The URL a redirect names, when it stays on the origin it came from.
fn same_origin_redirect(from: &Target, response: &Response<Body>) -> Result<String, FetchError> {
    let location = header(response, "location").unwrap_or_default();
    let origin = format!("{}://{}", from.scheme, from.authority);
    let next = if location.starts_with('/') && !location.starts_with("//") {
        format!("{origin}{location}")
    } else {
        location.clone()
    };
    match Target::parse(&next) {
        Ok(to) if to.scheme == from.scheme && to.authority.eq_ignore_ascii_case(&from.authority) => Ok(next),
        _ => Err(oauth_error(format!(
            "{} redirects to {}: toolreg follows no redirect to another origin",
            escape(&truncate(&from.url, 200)),
            escape(&truncate(&location, 200))
        ))),
    }
}

/// May metadata be read from `url`? An http(s) URL without credentials; plain http
/// only when it and the MCP server are both on loopback (a test server), so a remote
/// server cannot point toolreg at the machine it runs on, nor at anything over http.
fn allowed(server: &Target, url: &str) -> Result<Target, FetchError> {
    let target = Target::parse(url).map_err(|_| {
        oauth_error(format!("{} is not an http(s) URL without credentials", escape(&truncate(url, 200))))
    })?;
    let plain = target.scheme == "http";
    if (plain || target.loopback) && !(server.loopback && target.loopback) {
        return Err(oauth_error(format!(
            "refusing to read OAuth metadata from {}: {}",
            escape(&truncate(url, 200)),
            if plain {
                "plain http (https is required)"
            } else {
                "a loopback address named by a remote server"
            }
        )));
    }
    Ok(target)
}

fn read_document(
    response: Response<Body>,
    url: &str,
    limits: &Limits,
) -> Result<Map<String, Value>, FetchError> {
    let shown = escape(&truncate(url, 200));
    let encoding = header(&response, "content-encoding").unwrap_or_default();
    if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
        return Err(oauth_error(format!(
            "{shown} is compressed (Content-Encoding): toolreg reads identity only"
        )));
    }
    let limit = METADATA_BYTES.min(limits.message_bytes);
    let bytes = read_limited(response.into_body(), limit, &format!("GET {shown}"), limits.request_timeout)
        .map_err(|e| match e {
            FetchError::TooLarge { limit } => {
                oauth_error(format!("{shown} is larger than the limit of {limit} bytes for OAuth metadata"))
            }
            other => other,
        })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| oauth_error(format!("{shown} is not UTF-8 (byte {})", e.valid_up_to())))?;
    let parsed = crate::json::parse(text).map_err(|e| oauth_error(format!("{shown} is not JSON: {e}")))?;
    if let Some(duplicate) = parsed.duplicate_keys.first() {
        return Err(oauth_error(format!(
            "{shown} gives the key {} twice: readers disagree on its value",
            escape(&duplicate.pointer)
        )));
    }
    match parsed.value {
        Value::Object(map) => Ok(map),
        _ => Err(oauth_error(format!("{shown} is not a JSON object"))),
    }
}

fn oauth_error(message: String) -> FetchError {
    FetchError::OAuth(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn well_known_locations_follow_the_spec_order() {
        assert_eq!(
            resource_locations(&target("https://m.example/public/mcp")),
            [
                "https://m.example/.well-known/oauth-protected-resource/public/mcp",
                "https://m.example/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            resource_locations(&target("https://m.example/")),
            ["https://m.example/.well-known/oauth-protected-resource"]
        );
        assert_eq!(
            server_locations("https://auth.example/tenant1").unwrap_or_default(),
            [
                "https://auth.example/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example/.well-known/openid-configuration/tenant1",
                "https://auth.example/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            server_locations("https://auth.example").unwrap_or_default(),
            [
                "https://auth.example/.well-known/oauth-authorization-server",
                "https://auth.example/.well-known/openid-configuration"
            ]
        );
        assert!(server_locations("javascript:alert(1)").is_err());
    }

    #[test]
    fn metadata_comes_over_https_or_between_loopback_hosts_only() {
        let remote = target("https://m.example/mcp");
        let local = target("http://127.0.0.1:8000/mcp");
        assert!(allowed(&remote, "https://auth.example/x").is_ok());
        assert!(allowed(&remote, "http://auth.example/x").is_err());
        assert!(allowed(&remote, "https://127.0.0.1/x").is_err(), "a remote server names the local machine");
        assert!(allowed(&remote, "http://localhost:9/x").is_err());
        assert!(allowed(&local, "http://127.0.0.1:9000/x").is_ok());
        assert!(allowed(&local, "http://auth.example/x").is_err());
        assert!(allowed(&local, "https://user:pw@auth.example/x").is_err());
    }
}
