//! MCP over HTTP: Streamable HTTP (answers as JSON or as an event stream, sessions,
//! both eras), and the legacy HTTP+SSE transport of 2024-11-05 for endpoints that do
//! not speak it. A bearer token is sent when given, and never printed or written.

use std::io::{BufReader, Read};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use serde_json::Value;
use ureq::http::{Response, Uri};
use ureq::{Agent, Body};

use super::session::{self, Changed, Channel, Incoming, Outlet, Transport, Unsolicited};
use super::sse::Events;
use super::{FetchError, Fetched, Limits};

/// Where the server listens, and the credential to present.
pub struct Endpoint<'a> {
    pub url: &'a str,
    /// A bearer token (read from the environment variable the user named).
    pub token: Option<&'a str>,
}

/// Fetches the catalog at `endpoint`: Streamable HTTP first (modern, then legacy
/// handshake), the HTTP+SSE transport when the endpoint refuses a POSTed `initialize`
/// with 400, 404 or 405 (the fallback rule of the 2025-11-25 transports page). With a
/// token, an unauthenticated request first: when the server answers it 401, what it
/// publishes about its authorization becomes the catalog's auth item (`mcp::oauth`).
pub fn fetch(endpoint: &Endpoint<'_>, limits: &Limits) -> Result<Fetched, FetchError> {
    let target = Target::parse(endpoint.url)?;
    if endpoint.token.is_some() && target.scheme == "http" && !target.loopback {
        return Err(FetchError::Url(format!(
            "refusing to send a bearer token over plain http to {}: use https",
            crate::visible::escape(&target.authority)
        )));
    }
    // Without a token there is nothing to discover for: a server that wants one
    // refuses the fetch below, and says so.
    let auth = match endpoint.token {
        Some(_) => match super::oauth::probe(&target, limits)? {
            Some(challenge) => Some(super::oauth::discover(&target, &challenge, limits)?.to_item()),
            None => None,
        },
        None => None,
    };
    let agent = agent(&target, limits);
    let mut streamable = Streamable {
        agent: agent.clone(),
        url: target.url.clone(),
        token: endpoint.token,
        limits: *limits,
        session_id: None,
        version: None,
        next_id: 1,
        list_changed: Changed::new(),
        noise: 0,
    };
    let result = match session::discover(&mut streamable, limits) {
        Ok(Some(fetched)) => Ok(fetched),
        Ok(None) => match session::legacy(&mut streamable, limits) {
            Err(FetchError::HttpStatus { status: 400 | 404 | 405, ref method, .. })
                if method == "initialize" =>
            {
                legacy_sse(&agent, &target, endpoint.token, limits)
            }
            other => other,
        },
        Err(e) => Err(e),
    };
    streamable.end_session();
    result.map(|fetched| Fetched { auth, ..fetched })
}

/// A parsed endpoint URL.
pub(super) struct Target {
    pub(super) url: String,
    pub(super) scheme: String,
    pub(super) authority: String,
    pub(super) path: String,
    pub(super) loopback: bool,
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target, FetchError> {
        let bad = |why: &str| FetchError::Url(format!("{}: {why}", crate::visible::escape(url)));
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad("only http:// and https:// URLs are supported"));
        }
        let authority = uri.authority().map(|a| a.as_str().to_owned()).ok_or_else(|| bad("no host"))?;
        if authority.contains('@') {
            // Credentials in a URL end up in logs and error messages (so not in this one).
            return Err(FetchError::Url(
                "credentials in the URL are refused: pass a token with --token-env".into(),
            ));
        }
        let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let path = uri.path().to_owned();
        Ok(Target { url: url.to_owned(), scheme, authority, path, loopback })
    }

    /// The URL the legacy transport's `endpoint` event names, resolved against this
    /// one; only the same origin is accepted (POSTs carry the token).
    fn resolve(&self, reference: &str) -> Result<String, FetchError> {
        let refuse = |why: &str| {
            FetchError::Protocol(format!(
                "the endpoint event names {}: {why}",
                crate::visible::escape(reference)
            ))
        };
        if reference.is_empty() || reference.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refuse("not a URL path"));
        }
        let origin = format!("{}://{}", self.scheme, self.authority);
        if reference.starts_with("//") {
            return Err(refuse("another origin"));
        }
        if reference.starts_with('/') {
            return Ok(format!("{origin}{reference}"));
        }
        if reference.contains("://") {
            let target = Target::parse(reference)?;
            if target.scheme != self.scheme || !target.authority.eq_ignore_ascii_case(&self.authority) {
                return Err(refuse("another origin"));
            }
            return Ok(reference.to_owned());
        }
        let directory = self.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        Ok(format!("{origin}{directory}/{reference}"))
    }
}

pub(super) fn agent(target: &Target, limits: &Limits) -> Agent {
    let mut config = Agent::config_builder()
        .http_status_as_error(false)
        // An MCP endpoint has no business redirecting a client (and its token) elsewhere.
        .max_redirects(0)
        .user_agent(format!("toolreg/{}", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(limits.start_timeout));
    if target.loopback {
        // A proxy from the environment must not see (or break) loopback traffic.
        config = config.proxy(None);
    }
    config.build().into()
}

/// Streamable HTTP: one POST per message; the answer as JSON or in an event stream.
struct Streamable<'a> {
    agent: Agent,
    url: String,
    token: Option<&'a str>,
    limits: Limits,
    session_id: Option<String>,
    /// The version the legacy handshake settled on, repeated on every later request.
    version: Option<String>,
    next_id: i64,
    list_changed: Changed,
    noise: usize,
}

impl Streamable<'_> {
    /// POSTs one message; for a request, returns the response message with its id.
    fn post(
        &mut self,
        message: &Value,
        method: &str,
        timeout: Duration,
    ) -> Result<Option<Value>, FetchError> {
        let mut request = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("Accept-Encoding", "identity");
        let modern_version =
            message.pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion").and_then(Value::as_str);
        if let Some(version) = modern_version {
            request = request.header("MCP-Protocol-Version", version).header("Mcp-Method", method);
        } else if let Some(version) = &self.version {
            request = request.header("MCP-Protocol-Version", version.as_str());
        }
        if let Some(id) = &self.session_id {
            request = request.header("Mcp-Session-Id", id.as_str());
        }
        let response = authorized(request, self.token)
            .send(message.to_string())
            .map_err(|e| transport_error(&e, method, timeout))?;
        if self.session_id.is_none() {
            self.session_id = session_id(&response)?;
        }
        let response = accept_status(response, method)?;
        let (Some(id), Some(_)) = (message.get("id"), message.get("method")) else {
            return Ok(None); // a notification or a reply: 202, nothing to read
        };
        if response.status().as_u16() == 202 {
            return Err(FetchError::Protocol(format!("{method} was accepted (202) but never answered")));
        }
        let content_type = header(&response, "content-type").unwrap_or_default().to_ascii_lowercase();
        let limit = self.limits.message_bytes;
        if content_type.starts_with("text/event-stream") {
            let mut events = Events::new(BufReader::new(response.into_body().into_reader()), limit);
            while let Some(event) = events.next_event()? {
                let incoming = match Incoming::parse(&event.data) {
                    Incoming::Message(message) => message,
                    Incoming::Failed(e) => return Err(e),
                    _ => {
                        self.noise += 1;
                        continue;
                    }
                };
                if incoming.get("method").is_some() {
                    self.unsolicited(&incoming)?;
                } else if incoming.get("id") == Some(id) {
                    return Ok(Some(incoming));
                }
            }
            Err(FetchError::Closed { what: method.to_owned(), stderr: String::new() })
        } else if content_type.starts_with("application/json") {
            let body = read_limited(response.into_body(), limit, method, timeout)?;
            let body = std::str::from_utf8(&body)
                .map_err(|e| FetchError::InvalidUtf8 { offset: e.valid_up_to() })?;
            let incoming = match Incoming::parse(body) {
                Incoming::Message(message) => message,
                Incoming::Failed(e) => return Err(e),
                _ => return Err(FetchError::Protocol(format!("the answer to {method} is not JSON"))),
            };
            let found = match incoming {
                Value::Array(batch) => batch.into_iter().find(|m| m.get("id") == Some(id)),
                single => Some(single).filter(|m| m.get("id") == Some(id)),
            };
            found
                .map(Some)
                .ok_or_else(|| FetchError::Protocol(format!("the answer to {method} has another id")))
        } else {
            Err(FetchError::Protocol(format!(
                "{method} was answered with Content-Type {}",
                crate::visible::escape(&content_type)
            )))
        }
    }

    fn unsolicited(&mut self, message: &Value) -> Result<(), FetchError> {
        match session::unsolicited(message) {
            Unsolicited::Reply(reply) => {
                let timeout = self.limits.request_timeout;
                self.post(&reply, "a reply to the server's request", timeout).map(drop)
            }
            Unsolicited::ListChanged(kinds) => {
                self.list_changed.extend(kinds);
                Ok(())
            }
            Unsolicited::Ignored => Ok(()),
        }
    }

    /// Ends the session, as the transport asks clients to (a 405 is allowed).
    fn end_session(&mut self) {
        let Some(id) = self.session_id.take() else { return };
        let mut request = self
            .agent
            .delete(&self.url)
            .config()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .header("Mcp-Session-Id", id.as_str());
        if let Some(version) = &self.version {
            request = request.header("MCP-Protocol-Version", version.as_str());
        }
        let _ = authorized(request, self.token).call();
    }
}

impl Transport for Streamable<'_> {
    fn name(&self) -> &'static str {
        "streamable-http"
    }

    fn request(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value, FetchError> {
        let id = self.next_id;
        self.next_id += 1;
        let message = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        match self.post(&message, method, timeout)? {
            Some(answer) => session::answer(method, &answer),
            None => Err(FetchError::Closed { what: method.to_owned(), stderr: String::new() }),
        }
    }

    fn notify(&mut self, method: &str) -> Result<(), FetchError> {
        let timeout = self.limits.request_timeout;
        self.post(&serde_json::json!({"jsonrpc": "2.0", "method": method}), method, timeout).map(drop)
    }

    /// Notifications only arrive inside answers here (toolreg opens no GET stream).
    fn take_list_changed(&mut self, _settle: Duration) -> Result<Changed, FetchError> {
        Ok(std::mem::take(&mut self.list_changed))
    }

    fn negotiated(&mut self, version: &str) {
        self.version = Some(version.to_owned());
    }

    fn noise(&self) -> usize {
        self.noise
    }
}

/// The legacy transport: a GET opens the event stream, whose first event names the
/// endpoint to POST to; every answer arrives on the stream.
fn legacy_sse(
    agent: &Agent,
    target: &Target,
    token: Option<&str>,
    limits: &Limits,
) -> Result<Fetched, FetchError> {
    let request = agent
        .get(&target.url)
        .config()
        // The stream stays open for the whole fetch; a stall between two reads ends it.
        .timeout_per_read(Some(limits.request_timeout))
        .build()
        .header("Accept", "text/event-stream")
        .header("Accept-Encoding", "identity");
    let response = authorized(request, token)
        .call()
        .map_err(|e| transport_error(&e, "the event stream", limits.start_timeout))?;
    let response = accept_status(response, "the event stream")?;
    let content_type = header(&response, "content-type").unwrap_or_default().to_ascii_lowercase();
    if !content_type.starts_with("text/event-stream") {
        return Err(FetchError::Protocol(
            "the endpoint speaks neither Streamable HTTP nor HTTP+SSE (its GET is no event stream)".into(),
        ));
    }
    let (endpoint_tx, endpoint_rx) = mpsc::channel();
    let (tx, incoming) = mpsc::channel();
    let events = Events::new(BufReader::new(response.into_body().into_reader()), limits.message_bytes);
    std::thread::spawn(move || read_stream(events, &endpoint_tx, &tx));
    let endpoint = match endpoint_rx.recv_timeout(limits.start_timeout) {
        Ok(Ok(reference)) => target.resolve(&reference)?,
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(FetchError::Timeout {
                what: "the endpoint event".into(),
                seconds: limits.start_timeout.as_secs_f64(),
                stderr: String::new(),
            })
        }
    };
    let outlet = Poster {
        agent: agent.clone(),
        endpoint,
        token: token.map(str::to_owned),
        timeout: limits.request_timeout,
        limit: limits.message_bytes,
    };
    session::legacy(&mut Channel::new(outlet, incoming), limits)
}

/// Hands the stream's events over: the first `endpoint` event to `endpoint`, every
/// `message` to `incoming`.
fn read_stream(
    mut events: Events<BufReader<ureq::BodyReader<'static>>>,
    endpoint: &Sender<Result<String, FetchError>>,
    incoming: &Sender<Incoming>,
) {
    let mut endpoint = Some(endpoint);
    loop {
        let next = match events.next_event() {
            Ok(Some(event)) if event.name == "endpoint" => {
                if let Some(endpoint) = endpoint.take() {
                    let _ = endpoint.send(Ok(event.data));
                }
                continue;
            }
            Ok(Some(event)) if event.name == "message" => Incoming::parse(&event.data),
            Ok(Some(_)) => continue,
            Ok(None) => Incoming::Eof,
            Err(e) => Incoming::Failed(e),
        };
        let stop = !matches!(next, Incoming::Message(_) | Incoming::Noise);
        if let (Some(endpoint), true) = (endpoint.take(), stop) {
            let failure = match next {
                Incoming::Failed(e) => e,
                _ => FetchError::Closed { what: "the endpoint event".into(), stderr: String::new() },
            };
            let _ = endpoint.send(Err(failure));
            return;
        }
        if incoming.send(next).is_err() || stop {
            return;
        }
    }
}

/// POSTs each message to the endpoint the stream named.
struct Poster {
    agent: Agent,
    endpoint: String,
    token: Option<String>,
    timeout: Duration,
    limit: usize,
}

impl Outlet for Poster {
    const NAME: &'static str = "http+sse";

    fn send(&mut self, message: &Value, what: &str) -> Result<(), FetchError> {
        let request = self
            .agent
            .post(&self.endpoint)
            .config()
            .timeout_global(Some(self.timeout))
            .build()
            .header("Content-Type", "application/json");
        let response = authorized(request, self.token.as_deref())
            .send(message.to_string())
            .map_err(|e| transport_error(&e, what, self.timeout))?;
        let response = accept_status(response, what)?;
        read_limited(response.into_body(), self.limit, what, self.timeout).map(drop)
    }
}

/// `request` with the bearer token, when there is one: the one place it is set.
fn authorized<B>(request: ureq::RequestBuilder<B>, token: Option<&str>) -> ureq::RequestBuilder<B> {
    match token {
        Some(token) => request.header("Authorization", format!("Bearer {token}")),
        None => request,
    }
}

/// A 2xx response passes; 401/403 report the server's challenge; any other status
/// becomes the JSON-RPC error in its body, if there is one, or an HTTP error.
fn accept_status(response: Response<Body>, method: &str) -> Result<Response<Body>, FetchError> {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        // toolreg unpacks nothing (a small body can unpack to gigabytes): a compressed
        // answer is named as such, not misread as invalid UTF-8.
        let encoding = header(&response, "content-encoding").unwrap_or_default();
        if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
            return Err(FetchError::Protocol(format!(
                "the answer to {method} is compressed (Content-Encoding: {}); toolreg reads identity only",
                crate::visible::escape(&truncate(&encoding, 100))
            )));
        }
        return Ok(response);
    }
    if status == 401 || status == 403 {
        let challenge = header(&response, "www-authenticate")
            .map(|c| format!(" (WWW-Authenticate: {})", crate::visible::escape(&truncate(&c, 300))))
            .unwrap_or_default();
        return Err(FetchError::Unauthorized { status, challenge });
    }
    if (300..400).contains(&status) {
        let location = header(&response, "location").unwrap_or_default();
        return Err(FetchError::HttpStatus {
            method: method.to_owned(),
            status,
            detail: format!(
                " (a redirect to {}): toolreg follows no redirects; give the final URL",
                crate::visible::escape(&truncate(&location, 200))
            ),
        });
    }
    let mut body = Vec::new();
    let _ = response.into_body().into_reader().take(64 * 1024).read_to_end(&mut body);
    let rpc_error = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("error").cloned());
    if let Some(error) = rpc_error {
        let (code, message) = super::rpc_error(&error);
        // Still an HTTP refusal: the fallback rules look at the status.
        return Err(FetchError::HttpStatus {
            method: method.to_owned(),
            status,
            detail: format!(": {code} {message}"),
        });
    }
    let text = String::from_utf8_lossy(&body);
    let detail = text.trim();
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::visible::escape(&truncate(detail, 200)))
    };
    Err(FetchError::HttpStatus { method: method.to_owned(), status, detail })
}

/// The session id a server assigned, checked: visible ASCII only (the transport's rule).
fn session_id(response: &Response<Body>) -> Result<Option<String>, FetchError> {
    let Some(value) = response.headers().get("mcp-session-id") else { return Ok(None) };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 1024 || !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(FetchError::Protocol("the server sent a malformed Mcp-Session-Id".into()));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

pub(super) fn header(response: &Response<Body>, name: &str) -> Option<String> {
    response.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

pub(super) fn read_limited(
    body: Body,
    limit: usize,
    method: &str,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    body.into_with_config().limit(limit).read_to_vec().map_err(|e| transport_error(&e, method, timeout))
}

pub(super) fn transport_error(error: &ureq::Error, method: &str, timeout: Duration) -> FetchError {
    match error {
        ureq::Error::Timeout(_) => FetchError::Timeout {
            what: method.to_owned(),
            seconds: timeout.as_secs_f64(),
            stderr: String::new(),
        },
        ureq::Error::BodyExceedsLimit(limit) => {
            FetchError::TooLarge { limit: usize::try_from(*limit).unwrap_or(usize::MAX) }
        }
        other => FetchError::Http(format!("{method}: {}", crate::visible::escape(&other.to_string()))),
    }
}

pub(super) use crate::visible::truncate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_loopback_and_refuses_credentials_in_urls() {
        assert!(Target::parse("http://127.0.0.1:3001/mcp").unwrap().loopback);
        assert!(Target::parse("http://[::1]:3001/mcp").unwrap().loopback);
        assert!(Target::parse("http://localhost/mcp").unwrap().loopback);
        assert!(!Target::parse("https://example.com/mcp").unwrap().loopback);
        assert!(Target::parse("http://user:secret@example.com/mcp").is_err());
        assert!(Target::parse("file:///etc/passwd").is_err());
        assert!(Target::parse("not a url").is_err());
    }

    #[test]
    fn resolves_endpoints_on_the_same_origin_only() {
        let target = Target::parse("http://127.0.0.1:3001/sse").unwrap();
        assert_eq!(
            target.resolve("/message?sessionId=1").unwrap(),
            "http://127.0.0.1:3001/message?sessionId=1"
        );
        assert_eq!(target.resolve("message?x=1").unwrap(), "http://127.0.0.1:3001/message?x=1");
        assert_eq!(target.resolve("http://127.0.0.1:3001/m").unwrap(), "http://127.0.0.1:3001/m");
        assert!(target.resolve("http://evil.example/m").is_err());
        assert!(target.resolve("//evil.example/m").is_err());
        assert!(target.resolve("/m\nX-Injected: 1").is_err());
    }
}
