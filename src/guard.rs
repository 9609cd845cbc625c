//! `toolreg guard`: an enforcing stdio proxy between an MCP client (guard's own stdin
//! and stdout) and the server it spawns. Every message passes untouched except: tools
//! the lock does not approve, at their digest, are removed from every `tools/list`
//! page; a `tools/call` to any tool not verified in this session is answered by guard
//! and never reaches the server; a server header that differs from the lock loses its
//! `instructions`. Every decision goes to the audit log.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

use crate::audit::{AuditLog, Entry};
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

/// Why guard could not run.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("cannot start {command}: {message}")]
    Spawn { command: String, message: String },
    #[error("the audit log: {0}")]
    Audit(std::io::Error),
    #[error("a message of more than {0} bytes: guard stopped the server")]
    TooLarge(usize),
}

/// Runs `command` behind the guard until the server exits; its exit status.
pub fn run(
    server: String,
    locked: LockedServer,
    command: &[String],
    mode: Mode,
    audit: Option<AuditLog>,
    message_bytes: usize,
) -> Result<i32, GuardError> {
    let [program, args @ ..] = command else {
        return Err(GuardError::Spawn { command: String::new(), message: "no command given".into() });
    };
    // The host's environment passes through: guard is transparent to what the host
    // configured for the server. Its stderr goes straight to the host.
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| GuardError::Spawn {
            command: crate::visible::escape(program),
            message: e.to_string(),
        })?;
    let (Some(to_server), Some(from_server)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(GuardError::Spawn {
            command: crate::visible::escape(program),
            message: "no pipes".into(),
        });
    };
    let guard = Arc::new(Guard {
        server,
        locked,
        mode,
        session: session_id(),
        state: Mutex::new(State::default()),
        client: Mutex::new(Box::new(std::io::stdout())),
        audit: Mutex::new(audit),
        failure: Mutex::new(None),
    });
    // The two directions are pumped independently: neither waits on the other. The
    // client's side is left running when the server exits (it may be blocked reading
    // a client that waits for guard to exit).
    let client_side = Arc::clone(&guard);
    std::thread::spawn(move || {
        let mut to_server = to_server;
        pump(std::io::stdin().lock(), message_bytes, &client_side, |line, guard| {
            guard.on_client_line(line, &mut to_server)
        });
        // The client is gone (or guard failed): dropping the server's stdin ends it.
    });
    pump(BufReader::new(from_server), message_bytes, &guard, |line, guard| guard.on_server_line(line));
    let failure = guard.failure.lock().ok().and_then(|mut f| f.take());
    if let Some(failure) = failure {
        let _ = child.kill();
        let _ = child.wait();
        return Err(failure);
    }
    let status =
        child.wait().map_err(|e| GuardError::Spawn { command: program.clone(), message: e.to_string() })?;
    Ok(status.code().unwrap_or(1))
}

/// Reads newline-delimited messages from `input` and hands each to `handle` until the
/// stream ends, `handle` says stop, or a line exceeds the limit.
fn pump<R: BufRead>(
    mut input: R,
    limit: usize,
    guard: &Guard,
    mut handle: impl FnMut(&[u8], &Guard) -> bool,
) {
    let mut line = Vec::new();
    loop {
        line.clear();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        match (&mut input).take(cap).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.len() > limit && line.last() != Some(&b'\n') => {
                guard.fail(GuardError::TooLarge(limit));
                return;
            }
            Ok(_) => {
                if !handle(&line, guard) || guard.failed() {
                    return;
                }
            }
        }
    }
}

struct Guard {
    server: String,
    locked: LockedServer,
    mode: Mode,
    session: String,
    state: Mutex<State>,
    client: Mutex<Box<dyn Write + Send>>,
    audit: Mutex<Option<AuditLog>>,
    failure: Mutex<Option<GuardError>>,
}

#[derive(Default)]
struct State {
    /// Client requests awaiting the server's answer: id (as JSON text) → method, and
    /// whether it asked for a later page.
    pending: HashMap<String, (String, bool)>,
    /// Tools this session's latest listing verified against the lock: name → digest.
    verified: HashMap<String, String>,
}

impl Guard {
    /// A line from the client: forwarded to the server unless it calls a tool that is
    /// not approved. Returns false when the server can no longer be written to.
    fn on_client_line(&self, line: &[u8], to_server: &mut impl Write) -> bool {
        let started = Instant::now();
        let Ok(message) = serde_json::from_slice::<Value>(line) else {
            return to_server.write_all(line).and_then(|()| to_server.flush()).is_ok();
        };
        let (kept, refused) = match message {
            Value::Array(batch) => {
                let total = batch.len();
                let kept: Vec<Value> = batch.into_iter().filter(|m| !self.refuse_call(m, started)).collect();
                let refused = kept.len() < total;
                (Value::Array(kept), refused)
            }
            single => {
                let refused = self.refuse_call(&single, started);
                (single, refused)
            }
        };
        if !refused {
            return to_server.write_all(line).and_then(|()| to_server.flush()).is_ok();
        }
        match &kept {
            Value::Array(rest) if rest.is_empty() => true,
            Value::Array(_) => {
                to_server.write_all(format!("{kept}\n").as_bytes()).and_then(|()| to_server.flush()).is_ok()
            }
            _ => true,
        }
    }

    /// Notes a client request; for a `tools/call` of a tool not verified in this
    /// session, answers it locally and returns true (in enforce mode).
    fn refuse_call(&self, message: &Value, started: Instant) -> bool {
        let (Some(id), Some(method)) = (message.get("id"), message.get("method").and_then(Value::as_str))
        else {
            return false;
        };
        if method != "tools/call" {
            if let Ok(mut state) = self.state.lock() {
                let later_page = message.pointer("/params/cursor").is_some();
                state.pending.insert(id.to_string(), (method.to_owned(), later_page));
            }
            return false;
        }
        let name = message.pointer("/params/name").and_then(Value::as_str).unwrap_or_default();
        let verified = self.state.lock().ok().and_then(|s| s.verified.get(name).cloned());
        let (approved, reason) = match (&verified, self.locked.tools.get(name)) {
            (Some(_), _) => (true, "verified against the lock in this session's listing".to_owned()),
            (None, None) => (false, format!("{name} is not approved in toolreg.lock")),
            (None, Some(_)) => {
                (false, format!("{name} was not served at its approved digest in this session's tools/list"))
            }
        };
        let decision = self.decision(approved);
        let refuse = decision == "deny";
        if refuse {
            let text = format!("toolreg guard blocked this call: {reason}. Ask the user to review the tool.");
            let reply = json!({"jsonrpc": "2.0", "id": id,
                "result": {"content": [{"type": "text", "text": text}], "isError": true}});
            self.to_client(format!("{reply}\n").as_bytes());
        }
        self.record(id, Some(name), verified.as_deref(), decision, &reason, started);
        refuse
    }

    /// A line from the server: listings filtered, headers checked, the rest untouched.
    fn on_server_line(&self, line: &[u8]) -> bool {
        let started = Instant::now();
        let Ok(mut message) = serde_json::from_slice::<Value>(line) else {
            // Not a message: nothing a client could use, and nothing guard could check.
            self.record(
                &Value::Null,
                None,
                None,
                self.decision(false),
                "the server wrote a line that is not JSON",
                started,
            );
            return self.mode == Mode::Enforce || self.to_client(line);
        };
        let changed = match &mut message {
            Value::Array(batch) => {
                // Every answer is checked: no short-circuit.
                let mut changed = false;
                for answer in batch.iter_mut() {
                    changed |= self.check_answer(answer, started);
                }
                changed
            }
            single => self.check_answer(single, started),
        };
        if changed {
            self.to_client(format!("{message}\n").as_bytes())
        } else {
            self.to_client(line)
        }
    }

    /// Checks the server's answer to a listing or handshake; true when it was changed.
    fn check_answer(&self, message: &mut Value, started: Instant) -> bool {
        let Some(id) = message.get("id").cloned() else { return false };
        if message.get("method").is_some() {
            return false; // a server → client request
        }
        let pending = self.state.lock().ok().and_then(|mut s| s.pending.remove(&id.to_string()));
        let Some((method, later_page)) = pending else { return false };
        let Some(result) = message.get_mut("result") else { return false };
        match method.as_str() {
            "tools/list" => self.filter_listing(&id, result, later_page, started),
            "initialize" => self.check_header(&id, result, false, started),
            "server/discover" => self.check_header(&id, result, true, started),
            _ => false,
        }
    }

    fn filter_listing(&self, id: &Value, result: &mut Value, later_page: bool, started: Instant) -> bool {
        let Some(Value::Array(tools)) = result.get_mut("tools") else { return false };
        let mut verified = Vec::new();
        let mut removed = false;
        let mut kept = Vec::with_capacity(tools.len());
        for tool in tools.drain(..) {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let digest = crate::canon::digest(&tool).map(|d| d.to_string()).unwrap_or_default();
            let (approved, reason) = match self.locked.tools.get(&name) {
                Some(locked) if *locked == digest => (true, "matches the lock".to_owned()),
                Some(locked) => (false, format!("differs from the approved digest {locked}")),
                None => (false, "not approved in toolreg.lock".to_owned()),
            };
            let decision = self.decision(approved);
            let hide = decision == "deny";
            self.record(id, Some(&name), Some(&digest), decision, &reason, started);
            if decision == "allow" {
                verified.push((name, digest));
            }
            if hide {
                removed = true;
            } else {
                kept.push(tool);
            }
        }
        *tools = kept;
        if let Ok(mut state) = self.state.lock() {
            if !later_page {
                state.verified.clear();
            }
            state.verified.extend(verified);
        }
        removed
    }

    /// The header the server presents, against the lock's. Clients negotiate their
    /// own protocol version, so the lock's version stands in for the served one.
    fn check_header(&self, id: &Value, result: &mut Value, modern: bool, started: Instant) -> bool {
        let server_info = if modern {
            result.pointer("/_meta/io.modelcontextprotocol~1serverInfo").cloned()
        } else {
            result.get("serverInfo").cloned()
        };
        let header = Header {
            server_info,
            protocol_version: self.locked.protocol_version.clone().map(Value::String),
            instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
        };
        let digest = crate::canon::digest(&crate::canon::header_value(&header))
            .map(|d| d.to_string())
            .unwrap_or_default();
        let matches = self.locked.header.as_deref() == Some(digest.as_str());
        let decision = self.decision(matches);
        let strip = decision == "deny" && header.instructions.is_some();
        let reason = if matches {
            "the server header matches the lock"
        } else if strip {
            "the server header differs from the lock: its instructions were removed"
        } else {
            "the server header differs from the lock"
        };
        self.record(id, None, Some(&digest), decision, reason, started);
        if strip {
            if let Some(map) = result.as_object_mut() {
                map.remove("instructions");
            }
        }
        strip
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

    fn to_client(&self, bytes: &[u8]) -> bool {
        let Ok(mut client) = self.client.lock() else { return false };
        client.write_all(bytes).and_then(|()| client.flush()).is_ok()
    }

    fn record(
        &self,
        id: &Value,
        tool: Option<&str>,
        digest: Option<&str>,
        decision: &'static str,
        reason: &str,
        started: Instant,
    ) {
        let Ok(mut audit) = self.audit.lock() else { return };
        let Some(log) = audit.as_mut() else { return };
        let entry = Entry {
            time: crate::clock::now_rfc3339(),
            correlation: format!("{}:{}", self.session, id),
            server: &self.server,
            tool,
            digest,
            decision,
            reason,
            latency_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        };
        if let Err(e) = log.append(&entry) {
            // An audit log that cannot be written is a guard that cannot be trusted.
            self.fail(GuardError::Audit(e));
        }
    }

    fn failed(&self) -> bool {
        self.failure.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    fn fail(&self, error: GuardError) {
        if let Ok(mut failure) = self.failure.lock() {
            failure.get_or_insert(error);
        }
    }
}

/// A session id: the start time and process id, unique enough to correlate lines.
fn session_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}-{:x}", nanos, std::process::id())
}
