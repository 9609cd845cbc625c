//! Guard's judgement of one message, with no I/O: what is forwarded, what guard answers
//! itself, and what goes to the audit log. Kept pure so a fuzzer can drive it with any
//! bytes and check the one property that matters: no call the lock does not approve is
//! ever forwarded.
//!
//! Fail closed. A message is forwarded only when it parses as strict JSON (UTF-8, no
//! byte-order mark, no duplicate key, no number out of range, nesting within the limit)
//! and guard could judge every part of it; what is forwarded is guard's own
//! re-serialisation of what it judged, so the server cannot read anything else into
//! the bytes (a raw `\r` that splits a line for one reader and not another, say).

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::catalog::Header;
use crate::lock::LockedServer;

/// How guard treats what the lock does not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Hide and refuse.
    Enforce,
    /// Log (`warn`) and let through.
    Monitor,
}

/// The methods that read an item's content: each is judged, whatever its id.
const ITEM_READS: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];

/// What to do with one line.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// The bytes to pass on (one line, newline included), if any.
    pub forward: Option<Vec<u8>>,
    /// Guard's own answer to the sender (one line, newline included), if any.
    pub reply: Option<Vec<u8>>,
    /// Decisions for the audit log, in order.
    pub records: Vec<Record>,
}

/// One decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The JSON-RPC id it concerns (`null` when there is none).
    pub id: Value,
    /// The item it concerns: a tool name, `prompt:NAME`, `resource:URI`; `None` for the
    /// server header or a whole message.
    pub item: Option<String>,
    pub digest: Option<String>,
    pub decision: &'static str,
    pub reason: String,
}

/// The judge of one guarded session.
pub struct Judge {
    locked: LockedServer,
    mode: Mode,
    /// Client requests forwarded and not yet answered: id (as JSON text) → method, and
    /// whether it asked for a later page.
    pending: HashMap<String, (String, bool)>,
    /// Tools this session's listings verified against the lock: name → digest.
    verified: HashMap<String, String>,
}

impl Judge {
    pub fn new(locked: LockedServer, mode: Mode) -> Judge {
        Judge { locked, mode, pending: HashMap::new(), verified: HashMap::new() }
    }

    /// A line from the client (newline stripped or not).
    pub fn on_client(&mut self, line: &[u8]) -> Outcome {
        let mut out = Outcome::default();
        let messages = match parse_line(line) {
            Ok(messages) => messages,
            Err(reason) => {
                let id = id_hint(line);
                out.records.push(self.record(id.clone().unwrap_or(Value::Null), None, None, false, reason));
                if self.mode == Mode::Monitor {
                    out.forward = Some(with_newline(trim_line(line)));
                } else if let Some(id) = id {
                    out.reply =
                        Some(line_of(&error(id, -32700, "toolreg guard: the message is not strict JSON")));
                }
                return out;
            }
        };
        let (batch, messages) = messages;
        let mut kept = Vec::with_capacity(messages.len());
        let mut replies = Vec::new();
        for message in messages {
            match self.judge_request(&message, &mut out.records) {
                Verdict::Pass => kept.push(message),
                Verdict::Refuse(reply) => replies.extend(reply),
            }
        }
        out.forward = pack(batch, kept);
        out.reply = pack(batch, replies);
        out
    }

    /// A line from the server (newline stripped or not).
    pub fn on_server(&mut self, line: &[u8]) -> Outcome {
        let mut out = Outcome::default();
        let (batch, messages) = match parse_line(line) {
            Ok(messages) => messages,
            Err(reason) => {
                let id = id_hint(line).filter(|id| self.pending.contains_key(&id.to_string()));
                let reason = format!("the server wrote {reason}");
                out.records.push(self.record(id.clone().unwrap_or(Value::Null), None, None, false, reason));
                if self.mode == Mode::Monitor {
                    out.forward = Some(with_newline(trim_line(line)));
                } else if let Some(id) = id {
                    // The client waits for this answer: it gets an error instead.
                    self.pending.remove(&id.to_string());
                    let text = "toolreg guard: the server's answer is not strict JSON";
                    out.forward = Some(line_of(&error(id, -32603, text)));
                }
                return out;
            }
        };
        let mut kept = Vec::with_capacity(messages.len());
        for mut message in messages {
            if self.judge_answer(&mut message, &mut out.records) {
                kept.push(message);
            }
        }
        out.forward = pack(batch, kept);
        out
    }

    /// A client message: requests are noted; reads of an item are judged.
    fn judge_request(&mut self, message: &Value, records: &mut Vec<Record>) -> Verdict {
        let id = message.get("id").cloned();
        let Some(method) = message.get("method") else {
            // An answer to a server → client request, or a bare result/error.
            return Verdict::Pass;
        };
        let Some(method) = method.as_str() else {
            records.push(self.record(
                id.clone().unwrap_or(Value::Null),
                None,
                None,
                false,
                "the client sent a method that is not a string".into(),
            ));
            return self.refuse(id, || error_reply(-32600, "toolreg guard: invalid request"));
        };
        if !ITEM_READS.contains(&method) {
            if let Some(id) = &id {
                let later_page = message.pointer("/params/cursor").is_some();
                self.pending.insert(id.to_string(), (method.to_owned(), later_page));
            }
            return Verdict::Pass;
        }
        let shown_id = id.clone().unwrap_or(Value::Null);
        let (item, approved, digest, reason) = self.judge_read(method, message.get("params"));
        let decision = self.decision(approved);
        records.push(Record { id: shown_id, item: Some(item), digest, decision, reason: reason.clone() });
        if decision != "deny" {
            if let Some(id) = &id {
                self.pending.insert(id.to_string(), (method.to_owned(), false));
            }
            return Verdict::Pass;
        }
        let text = format!("toolreg guard blocked this call: {reason}. Ask the user to review it.");
        if method == "tools/call" {
            self.refuse(id, || json!({"content": [{"type": "text", "text": text}], "isError": true}))
        } else {
            self.refuse(id, || error_reply(-32001, &text))
        }
    }

    /// Whether a read of an item may pass: (item, approved, digest, reason).
    fn judge_read(&self, method: &str, params: Option<&Value>) -> (String, bool, Option<String>, String) {
        let name = params.and_then(|p| p.get("name")).and_then(Value::as_str);
        match (method, name) {
            ("tools/call", Some(name)) => {
                let verified = self.verified.get(name).cloned();
                let (approved, reason) = match (&verified, self.locked.tools.get(name)) {
                    (Some(_), _) => (true, "verified against the lock in this session's listing".to_owned()),
                    (None, None) => (false, format!("{name} is not approved in toolreg.lock")),
                    (None, Some(_)) => (
                        false,
                        format!("{name} was not served at its approved digest in this session's tools/list"),
                    ),
                };
                (name.to_owned(), approved, verified, reason)
            }
            ("tools/call", None) => {
                ("(no name)".into(), false, None, "a tools/call without a string name".into())
            }
            (_, _) => {
                // The lock pins tools and the header; prompts and resources are not
                // pinned yet, so nothing of theirs is approved.
                let (kind, key) =
                    if method == "prompts/get" { ("prompt", "name") } else { ("resource", "uri") };
                let which = params.and_then(|p| p.get(key)).and_then(Value::as_str).unwrap_or("(none)");
                let item = format!("{kind}:{which}");
                (item, false, None, format!("toolreg.lock pins no {kind}s, so no {kind} is approved"))
            }
        }
    }

    /// Refuses a request: an answer when it has an id, else nothing (a notification).
    fn refuse(&self, id: Option<Value>, result: impl FnOnce() -> Value) -> Verdict {
        if self.mode == Mode::Monitor {
            return Verdict::Pass;
        }
        let reply = id.map(|id| {
            let body = result();
            if body.get("code").is_some() {
                json!({"jsonrpc": "2.0", "id": id, "error": body})
            } else {
                json!({"jsonrpc": "2.0", "id": id, "result": body})
            }
        });
        Verdict::Refuse(reply)
    }

    /// A server message; false when it must not reach the client.
    fn judge_answer(&mut self, message: &mut Value, records: &mut Vec<Record>) -> bool {
        if message.get("method").is_some() {
            return true; // a server → client request or notification
        }
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let pending = self.pending.remove(&id.to_string());
        if pending.is_none() {
            // An answer to nothing guard forwarded: an id in another type (`"2"`, `2.0`),
            // `null`, unknown, repeated or unsolicited. A client may still match it to
            // a request of its own, so it is not passed on.
            records.push(self.record(
                id.clone(),
                None,
                None,
                false,
                "an answer to no pending request".into(),
            ));
            if self.mode == Mode::Enforce {
                return false;
            }
        }
        let (method, later_page) = pending.unwrap_or_default();
        let Some(result) = message.get_mut("result") else { return true };
        // Whatever the request, every list of items in an answer is judged.
        self.filter_tools(&id, result, later_page, records);
        for (key, kind) in
            [("prompts", "prompt"), ("resources", "resource"), ("resourceTemplates", "resource-template")]
        {
            self.filter_unpinned(&id, result, key, kind, records);
        }
        let header_shaped = ["instructions", "serverInfo", "protocolVersion", "supportedVersions"]
            .iter()
            .any(|k| result.get(k).is_some());
        if matches!(method.as_str(), "initialize" | "server/discover") || header_shaped {
            self.check_header(
                &id,
                result,
                method == "server/discover" || result.get("supportedVersions").is_some(),
                records,
            );
        }
        true
    }

    fn filter_tools(&mut self, id: &Value, result: &mut Value, later_page: bool, records: &mut Vec<Record>) {
        let Some(Value::Array(tools)) = result.get_mut("tools") else { return };
        let mut kept = Vec::with_capacity(tools.len());
        if !later_page {
            self.verified.clear();
        }
        for tool in tools.drain(..) {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let digest = crate::canon::digest(&tool).map(|d| d.to_string()).unwrap_or_default();
            let (approved, reason) = match self.locked.tools.get(&name) {
                Some(locked) if *locked == digest => (true, "matches the lock".to_owned()),
                Some(locked) => (false, format!("differs from the approved digest {locked}")),
                None => (false, "not approved in toolreg.lock".to_owned()),
            };
            let decision = self.decision(approved);
            records.push(Record {
                id: id.clone(),
                item: Some(name.clone()),
                digest: Some(digest.clone()),
                decision,
                reason,
            });
            if approved {
                self.verified.insert(name, digest);
            } else {
                self.verified.remove(&name);
            }
            if decision != "deny" {
                kept.push(tool);
            }
        }
        *tools = kept;
    }

    /// Prompts, resources and templates: the lock pins none yet, so none is served.
    fn filter_unpinned(
        &self,
        id: &Value,
        result: &mut Value,
        key: &str,
        kind: &str,
        records: &mut Vec<Record>,
    ) {
        let Some(Value::Array(items)) = result.get_mut(key) else { return };
        let name_key = match kind {
            "prompt" => "name",
            "resource" => "uri",
            _ => "uriTemplate",
        };
        for item in items.iter() {
            let name = item.get(name_key).and_then(Value::as_str).unwrap_or("(none)");
            let digest = crate::canon::digest(item).map(|d| d.to_string()).ok();
            let reason = format!("toolreg.lock pins no {kind}s, so no {kind} is approved");
            records.push(self.record(id.clone(), Some(format!("{kind}:{name}")), digest, false, reason));
        }
        if self.mode == Mode::Enforce {
            items.clear();
        }
    }

    /// The header the server presents, against the lock's. Clients negotiate their
    /// own protocol version, so the lock's version stands in for the served one.
    fn check_header(&self, id: &Value, result: &mut Value, modern: bool, records: &mut Vec<Record>) {
        let server_info = if modern {
            result.pointer("/_meta/io.modelcontextprotocol~1serverInfo").cloned()
        } else {
            result.get("serverInfo").cloned()
        };
        let instructions = match result.get("instructions") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            // Not text: nothing a reviewer approved, so it cannot match.
            Some(other) => Some(other.to_string()),
        };
        let capabilities =
            result.get("capabilities").filter(|_| self.locked.header_pins_capabilities).cloned();
        let header = Header {
            server_info,
            protocol_version: self.locked.protocol_version.clone().map(Value::String),
            instructions,
            capabilities,
        };
        let digest = crate::canon::digest(&crate::canon::header_value(&header))
            .map(|d| d.to_string())
            .unwrap_or_default();
        let matches = self.locked.header.as_deref() == Some(digest.as_str())
            && result.get("instructions").is_none_or(|i| i.is_string() || i.is_null());
        let decision = self.decision(matches);
        let strip = decision == "deny" && result.get("instructions").is_some();
        let reason = if matches {
            "the server header matches the lock"
        } else if strip {
            "the server header differs from the lock: its instructions were removed"
        } else {
            "the server header differs from the lock"
        };
        records.push(Record {
            id: id.clone(),
            item: None,
            digest: Some(digest),
            decision,
            reason: reason.into(),
        });
        if strip {
            if let Some(map) = result.as_object_mut() {
                map.remove("instructions");
            }
        }
    }

    /// The decision on what the lock does (not) approve, in this mode: `allow`, `deny`
    /// (enforced), or `warn` (monitor: let through, logged).
    fn decision(&self, approved: bool) -> &'static str {
        match (approved, self.mode) {
            (true, _) => "allow",
            (false, Mode::Enforce) => "deny",
            (false, Mode::Monitor) => "warn",
        }
    }

    fn record(
        &self,
        id: Value,
        item: Option<String>,
        digest: Option<String>,
        approved: bool,
        reason: String,
    ) -> Record {
        Record { id, item, digest, decision: self.decision(approved), reason }
    }
}

enum Verdict {
    Pass,
    /// Not forwarded; guard's answer, if the request had an id.
    Refuse(Option<Value>),
}

/// A line as strict JSON-RPC: one message object or a non-empty batch of them (true).
fn parse_line(line: &[u8]) -> Result<(bool, Vec<Value>), String> {
    let line = trim_line(line);
    let text = std::str::from_utf8(line).map_err(|_| "a message that is not UTF-8".to_owned())?;
    let parsed = crate::json::parse(text).map_err(|e| format!("a message that is not strict JSON ({e})"))?;
    if let Some(first) = parsed.duplicate_keys.first() {
        return Err(format!("a message with a duplicate key at {}", crate::visible::escape(&first.pointer)));
    }
    match parsed.value {
        Value::Object(_) => Ok((false, vec![parsed.value])),
        Value::Array(batch) if !batch.is_empty() && batch.iter().all(Value::is_object) => Ok((true, batch)),
        _ => Err("a message that is neither a JSON-RPC object nor a batch of them".to_owned()),
    }
}

/// The line without its newline (`\n` or `\r\n`).
fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn with_newline(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.push(b'\n');
    out
}

fn line_of(value: &Value) -> Vec<u8> {
    // Serialising a Value cannot fail: its keys are strings.
    let mut out = serde_json::to_vec(value).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Messages as one line: one object, or a batch as an array; nothing when empty.
fn pack(batch: bool, messages: Vec<Value>) -> Option<Vec<u8>> {
    match (batch, messages.len()) {
        (_, 0) => None,
        (false, _) => messages.into_iter().next().map(|m| line_of(&m)),
        (true, _) => Some(line_of(&Value::Array(messages))),
    }
}

fn error_reply(code: i64, message: &str) -> Value {
    json!({"code": code, "message": message})
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": error_reply(code, message)})
}

/// The id of a message that does not parse, when it can be told without doubt: the
/// top-level member `"id"` with an integer or a plain string value. Only used to
/// address guard's error answer; nothing is forwarded on its strength.
pub fn id_hint(line: &[u8]) -> Option<Value> {
    let mut depth = 0usize;
    let mut i = 0;
    let mut found = None;
    while i < line.len() {
        match line[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < line.len() && line[i] != b'"' {
                    i += if line[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(line.len());
                i += 1;
                if depth == 1 && &line[start..end] == b"id" {
                    let rest = &line[i.min(line.len())..];
                    let rest = skip_space(rest);
                    if let Some(value) = rest.strip_prefix(b":").map(skip_space) {
                        if found.is_some() {
                            return None; // two ids: no telling which
                        }
                        found = Some(scalar(value)?);
                    }
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    found
}

fn skip_space(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).count();
    &bytes[n..]
}

/// An integer or a string without escapes at the start of `bytes`.
fn scalar(bytes: &[u8]) -> Option<Value> {
    if let Some(rest) = bytes.strip_prefix(b"\"") {
        let end = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[end] != b'"' {
            return None;
        }
        return std::str::from_utf8(&rest[..end]).ok().map(|s| Value::String(s.to_owned()));
    }
    let len = bytes.iter().take_while(|b| b.is_ascii_digit() || **b == b'-').count();
    let text = std::str::from_utf8(&bytes[..len]).ok()?;
    let next = bytes.get(len).copied();
    if !matches!(next, None | Some(b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n')) {
        return None;
    }
    text.parse::<i64>().ok().map(Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> Judge {
        let locked: LockedServer = serde_json::from_value(json!({
            "launch": {"command": "server"},
            "header": null,
            "clientCapabilities": {},
            "tools": {"echo": "sha256:0"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        Judge::new(locked, Mode::Enforce)
    }

    #[test]
    fn ids_are_told_only_without_doubt() {
        assert_eq!(id_hint(br#"{"jsonrpc":"2.0","id":7,"x":"\ud800"}"#), Some(json!(7)));
        assert_eq!(id_hint(br#"{"id" : "a-1", "p": NaN}"#), Some(json!("a-1")));
        assert_eq!(id_hint(br#"{"params":{"id":3}}"#), None, "not top-level");
        assert_eq!(id_hint(br#"{"id":1,"id":2}"#), None, "two ids");
        assert_eq!(id_hint(br#"{"id":1e400}"#), None);
        assert_eq!(id_hint(br#"{"id":"a\"b"}"#), None);
        assert_eq!(id_hint(b"\xff\xfe"), None);
    }

    #[test]
    fn nothing_unapproved_is_forwarded() {
        let mut judge = judge();
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
        ] {
            let outcome = judge.on_client(line.as_bytes());
            assert_eq!(outcome.forward, None, "{line}");
            assert!(outcome.records.iter().all(|r| r.decision == "deny"), "{line}");
        }
        // A listing at the approved digest verifies the tool; then its call passes.
        let digest =
            crate::canon::digest(&json!({"name": "echo"})).map(|d| d.to_string()).unwrap_or_default();
        judge.locked.tools.insert("echo".into(), digest);
        let listing = judge.on_client(br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#);
        assert!(listing.forward.is_some());
        let answer =
            judge.on_server(br#"{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"echo"},{"name":"x"}]}}"#);
        let forwarded = answer.forward.map(|f| String::from_utf8_lossy(&f).into_owned()).unwrap_or_default();
        assert_eq!(
            forwarded,
            "{\"id\":2,\"jsonrpc\":\"2.0\",\"result\":{\"tools\":[{\"name\":\"echo\"}]}}\n"
        );
        let call =
            judge.on_client(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}"#);
        assert!(call.forward.is_some() && call.reply.is_none());
        // The same answer again matches nothing pending: dropped.
        let again = judge.on_server(br#"{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}"#);
        assert_eq!(again.forward, None);
    }
}
