//! The fetch algorithm (mcp-protocol.md §14), the same over every transport: probe the
//! era with `server/discover`, fall back to `initialize`, follow the pages of every
//! listing (`tools/list` always; `prompts/list`, `resources/list` and
//! `resources/templates/list` when the server advertises them), and list a kind again
//! when the server says its list changed while we read it.

use std::collections::BTreeSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{
    advertises, client_info, modern_meta, rpc_error, FetchError, Fetched, Limits, Listing, LEGACY_VERSION,
    MODERN_VERSION,
};
use crate::item::Kind;

/// JSON-RPC's "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// The kinds whose `list_changed` notification arrived.
pub type Changed = BTreeSet<Kind>;

/// One way of exchanging JSON-RPC messages with a server.
pub trait Transport {
    /// What a catalog records as `fetchedWith.transport`.
    fn name(&self) -> &'static str;
    /// Sends a request and waits for its result; a JSON-RPC error is `FetchError::Rpc`.
    fn request(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value, FetchError>;
    fn notify(&mut self, method: &str) -> Result<(), FetchError>;
    /// Waits up to `settle` for late notifications; the kinds whose `list_changed`
    /// arrived since the last call.
    fn take_list_changed(&mut self, settle: Duration) -> Result<Changed, FetchError>;
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
    let server_capabilities = result.get("capabilities").cloned().unwrap_or(json!({}));
    let lists = list_all(transport, limits, &server_capabilities, Some(&capabilities))?;
    Ok(Some(Fetched {
        server_info: result
            .pointer("/_meta/io.modelcontextprotocol~1serverInfo")
            .cloned()
            .unwrap_or(Value::Null),
        protocol_version: MODERN_VERSION.into(),
        instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
        capabilities: server_capabilities,
        client_capabilities: capabilities,
        era: "modern",
        transport: transport.name(),
        lists,
        noise: transport.noise(),
        auth: None,
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
    let server_capabilities = result.get("capabilities").cloned().unwrap_or(json!({}));
    let lists = list_all(transport, limits, &server_capabilities, None)?;
    Ok(Fetched {
        server_info: result.get("serverInfo").cloned().unwrap_or(Value::Null),
        protocol_version: version,
        instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
        capabilities: server_capabilities,
        client_capabilities: capabilities,
        era: "legacy",
        transport: transport.name(),
        lists,
        noise: transport.noise(),
        auth: None,
    })
}

/// Every kind the server lists, each with every page: tools always (as clients ask
/// for them), prompts, resources and resource templates when `server_capabilities`
/// advertises them (templates come with `resources`). A kind whose `list_changed`
/// arrives after its listing began is listed again, at most three times; one settle
/// wait per round catches late notifications. `modern` carries the capability profile
/// every modern request repeats in `_meta`.
fn list_all(
    transport: &mut impl Transport,
    limits: &Limits,
    server_capabilities: &Value,
    modern: Option<&Value>,
) -> Result<Vec<Listing>, FetchError> {
    let mut lists: Vec<Listing> = Kind::LISTED
        .into_iter()
        .filter(|&kind| kind == Kind::Tool || advertises(server_capabilities, kind.capability()))
        .map(|kind| Listing { kind, items: Vec::new() })
        .collect();
    let mut relists = vec![0_usize; lists.len()];
    let mut pending: Vec<usize> = (0..lists.len()).collect();
    let mut changed = Changed::new();
    while !pending.is_empty() {
        for &i in &pending {
            let kind = lists[i].kind;
            // What changed before this listing began, it reads already.
            changed.extend(transport.take_list_changed(Duration::ZERO)?);
            changed.remove(&kind);
            let advertised = advertises(server_capabilities, kind.capability());
            lists[i].items = list_pages(transport, limits, kind, modern, advertised)?;
        }
        changed.extend(transport.take_list_changed(limits.settle)?);
        pending = (0..lists.len()).filter(|&i| changed.contains(&lists[i].kind) && relists[i] < 3).collect();
        for &i in &pending {
            relists[i] += 1;
        }
        changed.clear();
    }
    for listing in &lists {
        check_items(listing.kind, &listing.items)?;
    }
    Ok(lists)
}

/// What a catalog file must hold, checked before one is written: every item an object
/// with a string key (`name`, `uri`, `uriTemplate`), no key twice in one kind (a client
/// would have to pick one of the two).
fn check_items(kind: Kind, items: &[Value]) -> Result<(), FetchError> {
    let (method, key) = (kind.list_method(), kind.name_key());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(name) = item.get(key).and_then(Value::as_str) else {
            return Err(FetchError::Protocol(format!(
                "{method} entry {i} is not a {kind} with a string {key}"
            )));
        };
        if !seen.insert(name) {
            return Err(FetchError::Protocol(format!(
                "{method} names the {kind} {} twice",
                crate::visible::escape(name)
            )));
        }
    }
    Ok(())
}

/// Every page of one listing. `advertised`: the server announced the kind, so "method
/// not found" is a broken promise, not an empty list.
fn list_pages(
    transport: &mut impl Transport,
    limits: &Limits,
    kind: Kind,
    modern: Option<&Value>,
    advertised: bool,
) -> Result<Vec<Value>, FetchError> {
    let (method, list_key) = (kind.list_method(), kind.list_key());
    let mut items = Vec::new();
    let mut cursor: Option<Value> = None;
    for _ in 0..limits.pages {
        let mut params = serde_json::Map::new();
        if let Some(capabilities) = modern {
            params.insert("_meta".into(), modern_meta(capabilities));
        }
        if let Some(cursor) = cursor.take() {
            params.insert("cursor".into(), cursor);
        }
        let result = match transport.request(method, Value::Object(params), limits.request_timeout) {
            Err(FetchError::Rpc { code: METHOD_NOT_FOUND, message, .. }) if advertised => {
                return Err(FetchError::NotServed {
                    method,
                    capability: kind.capability(),
                    code: METHOD_NOT_FOUND,
                    message,
                })
            }
            other => other?,
        };
        let Some(Value::Array(page)) = result.get(list_key) else {
            return Err(FetchError::Protocol(format!("{method} returned no \"{list_key}\" array")));
        };
        items.extend(page.iter().cloned());
        if items.len() > limits.items {
            return Err(FetchError::TooManyItems { what: list_key, limit: limits.items });
        }
        match result.get("nextCursor") {
            None | Some(Value::Null) => return Ok(items),
            Some(next) => cursor = Some(next.clone()),
        }
    }
    Err(FetchError::TooManyPages { method, limit: limits.pages })
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
    list_changed: Changed,
    noise: usize,
}

impl<O: Outlet> Channel<O> {
    pub fn new(outlet: O, incoming: Receiver<Incoming>) -> Self {
        Channel { outlet, incoming, next_id: 1, list_changed: Changed::new(), noise: 0 }
    }

    /// A notification, or a server→client request: note `list_changed`; refuse requests
    /// (roots, sampling, elicitation) politely so the server does not wait on us.
    fn handle_unsolicited(&mut self, message: &Value) -> Result<(), FetchError> {
        match unsolicited(message) {
            Unsolicited::Reply(reply) => self.outlet.send(&reply, "a reply to the server's request"),
            Unsolicited::ListChanged(kinds) => {
                self.list_changed.extend(kinds);
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

    fn take_list_changed(&mut self, settle: Duration) -> Result<Changed, FetchError> {
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
    /// A `list_changed` notification: these kinds are to be listed again (resources
    /// and their templates share one).
    ListChanged(Vec<Kind>),
    Ignored,
}

pub fn unsolicited(message: &Value) -> Unsolicited {
    let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
    match message.get("id") {
        Some(id) => Unsolicited::Reply(json!({"jsonrpc": "2.0", "id": id,
            "error": {"code": -32601, "message": "toolreg fetches catalogs only"}})),
        None => {
            let kinds: Vec<Kind> = Kind::LISTED.into_iter().filter(|k| k.list_changed() == method).collect();
            if kinds.is_empty() {
                Unsolicited::Ignored
            } else {
                Unsolicited::ListChanged(kinds)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted server: answers every listing with one item per kind, and reports
    /// `changing` as changed after every listing round.
    struct Scripted {
        asked: Vec<String>,
        changing: Changed,
    }

    impl Transport for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }

        fn request(&mut self, method: &str, params: Value, _: Duration) -> Result<Value, FetchError> {
            self.asked.push(method.to_owned());
            let kind = Kind::LISTED.into_iter().find(|k| k.list_method() == method);
            match kind {
                Some(Kind::Prompt) if params.get("_meta").is_none() => Err(FetchError::Rpc {
                    method: method.into(),
                    code: METHOD_NOT_FOUND,
                    message: "no".into(),
                }),
                Some(kind) => Ok(json!({kind.list_key(): [{kind.name_key(): "x"}]})),
                None => Err(FetchError::Protocol(format!("unexpected {method}"))),
            }
        }

        fn notify(&mut self, _: &str) -> Result<(), FetchError> {
            Ok(())
        }

        fn take_list_changed(&mut self, settle: Duration) -> Result<Changed, FetchError> {
            Ok(if settle.is_zero() { Changed::new() } else { self.changing.clone() })
        }
    }

    fn count(asked: &[String], method: &str) -> usize {
        asked.iter().filter(|m| *m == method).count()
    }

    #[test]
    fn each_kind_is_listed_again_after_its_own_list_changed_at_most_three_times() {
        let limits = Limits { settle: Duration::from_millis(1), ..Limits::default() };
        let capabilities = json!({"tools": {}, "prompts": {}, "resources": {}});
        let mut server = Scripted { asked: Vec::new(), changing: [Kind::Prompt].into() };
        let lists = list_all(&mut server, &limits, &capabilities, Some(&json!({}))).unwrap();
        let kinds: Vec<Kind> = lists.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, Kind::LISTED);
        assert_eq!(count(&server.asked, "tools/list"), 1);
        assert_eq!(count(&server.asked, "prompts/list"), 4);
        assert_eq!(count(&server.asked, "resources/list"), 1);

        // Resources and templates share one notification; a kind not advertised is
        // never asked for.
        let mut server = Scripted { asked: Vec::new(), changing: Changed::new() };
        let message = json!({"jsonrpc": "2.0", "method": "notifications/resources/list_changed"});
        let Unsolicited::ListChanged(kinds) = unsolicited(&message) else { panic!("not a list_changed") };
        server.changing.extend(kinds);
        let capabilities = json!({"tools": {}, "resources": {"subscribe": true}, "prompts": null});
        let lists = list_all(&mut server, &limits, &capabilities, None).unwrap();
        assert_eq!(lists.len(), 3);
        assert_eq!(count(&server.asked, "prompts/list"), 0);
        assert_eq!(count(&server.asked, "resources/list"), 4);
        assert_eq!(count(&server.asked, "resources/templates/list"), 4);
        assert_eq!(count(&server.asked, "tools/list"), 1);
    }

    #[test]
    fn an_advertised_kind_that_is_not_served_fails_the_fetch() {
        let limits = Limits { settle: Duration::ZERO, ..Limits::default() };
        let mut server = Scripted { asked: Vec::new(), changing: Changed::new() };
        let capabilities = json!({"tools": {}, "prompts": {}});
        let error = list_all(&mut server, &limits, &capabilities, None).unwrap_err();
        assert!(matches!(error, FetchError::NotServed { method: "prompts/list", .. }), "{error}");
    }

    #[test]
    fn items_are_checked_per_kind() {
        let dup = [json!({"uri": "a://b"}), json!({"uri": "a://b"})];
        let message = check_items(Kind::Resource, &dup).unwrap_err().to_string();
        assert_eq!(message, "protocol error: resources/list names the resource a://b twice");
        let message = check_items(Kind::ResourceTemplate, &[json!({"name": "t"})]).unwrap_err().to_string();
        assert!(
            message.contains("entry 0 is not a resource-template with a string uriTemplate"),
            "{message}"
        );
        // The same key in two kinds is no clash.
        check_items(Kind::Prompt, &[json!({"name": "x"})]).unwrap();
        assert!(advertises(&json!({"prompts": {}}), "prompts"));
        assert!(!advertises(&json!({"prompts": false, "resources": null}), "prompts"));
        assert!(!advertises(&json!({"prompts": false, "resources": null}), "resources"));
    }
}
