//! The fetch algorithm (mcp-protocol.md §14), the same over every transport: probe the
//! era with `server/discover`, fall back to `initialize`, follow `tools/list` pages, and
//! list again when the server says the list changed while we read it.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{
    client_info, modern_meta, rpc_error, FetchError, Fetched, Limits, LEGACY_VERSION, MODERN_VERSION,
};

/// One way of exchanging JSON-RPC messages with a server.
pub trait Transport {
    /// What a catalog records as `fetchedWith.transport`.
    fn name(&self) -> &'static str;
    /// Sends a request and waits for its result; a JSON-RPC error is `FetchError::Rpc`.
    fn request(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value, FetchError>;
    fn notify(&mut self, method: &str) -> Result<(), FetchError>;
    /// Waits up to `settle` for late notifications; whether `tools/list_changed` arrived
    /// since the last call.
    fn take_list_changed(&mut self, settle: Duration) -> Result<bool, FetchError>;
    /// The legacy handshake settled on this version (HTTP repeats it in a header).
    fn negotiated(&mut self, _version: &str) {}
    /// Lines of non-JSON the server wrote where messages belong (skipped).
    fn noise(&self) -> usize {
        0
    }
}

/// The whole fetch: the modern era when the server offers it, the legacy one otherwise.
pub fn fetch(transport: &mut impl Transport, limits: &Limits) -> Result<Fetched, FetchError> {
    match discover(transport, limits)? {
        Some(fetched) => Ok(fetched),
        None => legacy(transport, limits),
    }
}

/// The era probe (mcp-protocol.md §6): a DiscoverResult means modern and the catalog
/// is fetched; any other answer, or none in time, means `None`: use the legacy handshake.
pub fn discover(transport: &mut impl Transport, limits: &Limits) -> Result<Option<Fetched>, FetchError> {
    let capabilities = json!({});
    let probe_timeout = limits.probe_timeout.min(limits.start_timeout);
    let probe =
        transport.request("server/discover", json!({"_meta": modern_meta(&capabilities)}), probe_timeout);
    let result = match probe {
        Ok(result) if result.get("supportedVersions").is_some() => result,
        Ok(_) | Err(FetchError::Rpc { .. } | FetchError::Timeout { .. } | FetchError::HttpStatus { .. }) => {
            return Ok(None)
        }
        Err(other) => return Err(other),
    };
    let supported = result["supportedVersions"].as_array().cloned().unwrap_or_default();
    if !supported.iter().any(|v| v == MODERN_VERSION) {
        return Err(FetchError::Protocol(format!(
            "server/discover offers {} but toolreg speaks {MODERN_VERSION}",
            crate::visible::escape(&Value::Array(supported).to_string())
        )));
    }
    let tools = list_tools(transport, limits, Some(&capabilities))?;
    Ok(Some(Fetched {
        server_info: result
            .pointer("/_meta/io.modelcontextprotocol~1serverInfo")
            .cloned()
            .unwrap_or(Value::Null),
        protocol_version: MODERN_VERSION.into(),
        instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
        capabilities: result.get("capabilities").cloned().unwrap_or(json!({})),
        client_capabilities: capabilities,
        era: "modern",
        transport: transport.name(),
        tools,
        noise: transport.noise(),
    }))
}

/// The legacy era: `initialize`, `notifications/initialized`, then the listing.
pub fn legacy(transport: &mut impl Transport, limits: &Limits) -> Result<Fetched, FetchError> {
    let capabilities = json!({});
    let params =
        json!({"protocolVersion": LEGACY_VERSION, "capabilities": capabilities, "clientInfo": client_info()});
    let result = transport.request("initialize", params, limits.start_timeout)?;
    let Some(version) = result.get("protocolVersion").and_then(Value::as_str).map(str::to_owned) else {
        return Err(FetchError::Protocol("the answer to initialize names no protocolVersion".into()));
    };
    transport.negotiated(&version);
    transport.notify("notifications/initialized")?;
    let tools = list_tools(transport, limits, None)?;
    Ok(Fetched {
        server_info: result.get("serverInfo").cloned().unwrap_or(Value::Null),
        protocol_version: version,
        instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
        capabilities: result.get("capabilities").cloned().unwrap_or(json!({})),
        client_capabilities: capabilities,
        era: "legacy",
        transport: transport.name(),
        tools,
        noise: transport.noise(),
    })
}

/// Every page of `tools/list`; listed again when the server says the list changed
/// during the fetch (at most three times). `modern` carries the capability profile
/// every modern request repeats in `_meta`.
fn list_tools(
    transport: &mut impl Transport,
    limits: &Limits,
    modern: Option<&Value>,
) -> Result<Vec<Value>, FetchError> {
    let mut relists = 0;
    loop {
        transport.take_list_changed(Duration::ZERO)?;
        let tools = list_pages(transport, limits, modern)?;
        if !transport.take_list_changed(limits.settle)? || relists == 3 {
            check_tools(&tools)?;
            return Ok(tools);
        }
        relists += 1;
    }
}

/// What a catalog file must hold, checked before one is written: every tool an object
/// with a string name, no name twice (a client would have to pick one of the two).
fn check_tools(tools: &[Value]) -> Result<(), FetchError> {
    let mut seen = std::collections::HashSet::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let Some(name) = tool.get("name").and_then(Value::as_str) else {
            return Err(FetchError::Protocol(format!(
                "tools/list entry {i} is not a tool with a string name"
            )));
        };
        if !seen.insert(name) {
            return Err(FetchError::Protocol(format!(
                "tools/list names the tool {} twice",
                crate::visible::escape(name)
            )));
        }
    }
    Ok(())
}

fn list_pages(
    transport: &mut impl Transport,
    limits: &Limits,
    modern: Option<&Value>,
) -> Result<Vec<Value>, FetchError> {
    let mut tools = Vec::new();
    let mut cursor: Option<Value> = None;
    for _ in 0..limits.pages {
        let mut params = serde_json::Map::new();
        if let Some(capabilities) = modern {
            params.insert("_meta".into(), modern_meta(capabilities));
        }
        if let Some(cursor) = cursor.take() {
            params.insert("cursor".into(), cursor);
        }
        let result = transport.request("tools/list", Value::Object(params), limits.request_timeout)?;
        let Some(Value::Array(page)) = result.get("tools") else {
            return Err(FetchError::Protocol("tools/list returned no \"tools\" array".into()));
        };
        tools.extend(page.iter().cloned());
        if tools.len() > limits.tools {
            return Err(FetchError::TooManyTools { limit: limits.tools });
        }
        match result.get("nextCursor") {
            None | Some(Value::Null) => return Ok(tools),
            Some(next) => cursor = Some(next.clone()),
        }
    }
    Err(FetchError::TooManyPages { limit: limits.pages })
}

/// What a reader thread hands over from a stream of messages (stdio, or the event
/// stream of the legacy HTTP+SSE transport).
pub enum Incoming {
    Message(Value),
    /// Something that is not JSON (a banner on the wrong stream, say): skipped.
    Noise,
    Failed(FetchError),
    Eof,
}

impl Incoming {
    /// One message as a server wrote it. A line that is no JSON at all is noise; one
    /// that is a JSON object toolreg refuses (nested past the limit, a number out of
    /// range, a key given twice) fails the fetch at once, with its reason, rather than
    /// being skipped until a timeout.
    pub fn parse(text: &str) -> Incoming {
        let text = text.trim();
        match crate::json::parse(text) {
            Ok(parsed) => match parsed.duplicate_keys.first() {
                None => Incoming::Message(parsed.value),
                Some(duplicate) => Incoming::Failed(FetchError::Protocol(format!(
                    "the server sent a message with the key {} given twice: clients disagree on which \
                     value they read, so it is refused",
                    crate::visible::escape(&duplicate.pointer)
                ))),
            },
            Err(e @ crate::json::ParseError::TooDeep { .. }) => Incoming::Failed(FetchError::Protocol(
                format!("the server sent a message toolreg refuses: {e}"),
            )),
            Err(e) if text.starts_with('{') => Incoming::Failed(FetchError::Protocol(format!(
                "the server sent a message toolreg refuses: {e}"
            ))),
            Err(_) => Incoming::Noise,
        }
    }
}

/// Where a [`Channel`] writes: a child's stdin, or POSTs to an endpoint.
pub trait Outlet {
    /// The transport's name (see [`Transport::name`]).
    const NAME: &'static str;
    fn send(&mut self, message: &Value, what: &str) -> Result<(), FetchError>;
    /// Context for error messages (the tail of a child's stderr, say).
    fn context(&self) -> String {
        String::new()
    }
}

/// A transport whose answers arrive on a stream read by another thread, matched to
/// requests by id.
pub struct Channel<O: Outlet> {
    pub outlet: O,
    incoming: Receiver<Incoming>,
    next_id: i64,
    list_changed: bool,
    noise: usize,
}

impl<O: Outlet> Channel<O> {
    pub fn new(outlet: O, incoming: Receiver<Incoming>) -> Self {
        Channel { outlet, incoming, next_id: 1, list_changed: false, noise: 0 }
    }

    /// A notification, or a server→client request: note `list_changed`; refuse requests
    /// (roots, sampling, elicitation) politely so the server does not wait on us.
    fn handle_unsolicited(&mut self, message: &Value) -> Result<(), FetchError> {
        match unsolicited(message) {
            Unsolicited::Reply(reply) => self.outlet.send(&reply, "a reply to the server's request"),
            Unsolicited::ListChanged => {
                self.list_changed = true;
                Ok(())
            }
            Unsolicited::Ignored => Ok(()),
        }
    }
}

impl<O: Outlet> Transport for Channel<O> {
    fn name(&self) -> &'static str {
        O::NAME
    }

    fn request(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value, FetchError> {
        let id = self.next_id;
        self.next_id += 1;
        self.outlet.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}), method)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(Incoming::Message(message)) => {
                    if message.get("method").is_some() {
                        self.handle_unsolicited(&message)?;
                        continue;
                    }
                    if message.get("id").and_then(Value::as_i64) != Some(id) {
                        continue; // a late answer to an earlier request
                    }
                    return answer(method, &message);
                }
                Ok(Incoming::Noise) => self.noise += 1,
                Ok(Incoming::Failed(e)) => return Err(e),
                Ok(Incoming::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(FetchError::Closed { what: method.to_owned(), stderr: self.outlet.context() })
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(FetchError::Timeout {
                        what: method.to_owned(),
                        seconds: timeout.as_secs_f64(),
                        stderr: self.outlet.context(),
                    })
                }
            }
        }
    }

    fn notify(&mut self, method: &str) -> Result<(), FetchError> {
        self.outlet.send(&json!({"jsonrpc": "2.0", "method": method}), method)
    }

    fn take_list_changed(&mut self, settle: Duration) -> Result<bool, FetchError> {
        let deadline = Instant::now() + settle;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(Incoming::Message(message)) => self.handle_unsolicited(&message)?,
                Ok(Incoming::Noise) => self.noise += 1,
                Ok(Incoming::Failed(e)) => return Err(e),
                Ok(Incoming::Eof) | Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Ok(std::mem::take(&mut self.list_changed))
                }
            }
        }
    }

    fn noise(&self) -> usize {
        self.noise
    }
}

/// The result of the response `message` to `method`, or its error.
pub fn answer(method: &str, message: &Value) -> Result<Value, FetchError> {
    if let Some(error) = message.get("error") {
        let (code, message) = rpc_error(error);
        return Err(FetchError::Rpc { method: method.to_owned(), code, message });
    }
    match message.get("result") {
        Some(result @ Value::Object(_)) => Ok(result.clone()),
        Some(_) => {
            Err(FetchError::Protocol(format!("the answer to {method} has a result that is not an object")))
        }
        None => {
            Err(FetchError::Protocol(format!("the answer to {method} has neither a result nor an error")))
        }
    }
}

/// What to do with a message the server sent on its own.
pub enum Unsolicited {
    /// A server→client request: answer it with this (a refusal).
    Reply(Value),
    ListChanged,
    Ignored,
}

pub fn unsolicited(message: &Value) -> Unsolicited {
    let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
    match message.get("id") {
        Some(id) => Unsolicited::Reply(json!({"jsonrpc": "2.0", "id": id,
            "error": {"code": -32601, "message": "toolreg fetches catalogs only"}})),
        None if method == "notifications/tools/list_changed" => Unsolicited::ListChanged,
        None => Unsolicited::Ignored,
    }
}
