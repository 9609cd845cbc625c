//! MCP over stdio: spawn the exact argv (no shell) with a minimal environment, speak
//! newline-delimited JSON-RPC, and always reap the child — whatever the server does.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{
    client_info, modern_meta, rpc_error, FetchError, Fetched, Limits, LEGACY_VERSION, MODERN_VERSION,
};

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    pub command: &'a str,
    pub args: &'a [String],
    /// Names of environment variables passed through (besides PATH and HOME).
    pub env_names: &'a [String],
    pub cwd: Option<&'a Path>,
}

/// Fetches the catalog of the server `launch` starts.
pub fn fetch(launch: &Launch<'_>, limits: &Limits) -> Result<Fetched, FetchError> {
    let mut session = Session::spawn(launch, limits)?;
    let result = session.fetch();
    session.shutdown();
    result
}

/// What the stdout reader hands over.
enum Incoming {
    Message(Value),
    /// A line that is not JSON (a banner on the wrong stream, say): skipped.
    Noise,
    Failed(FetchError),
    Eof,
}

/// One running server.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Incoming>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    next_id: i64,
    limits: Limits,
    list_changed: bool,
    noise: usize,
    reaped: bool,
}

impl Session {
    fn spawn(launch: &Launch<'_>, limits: &Limits) -> Result<Session, FetchError> {
        let mut command = Command::new(launch.command);
        command
            .args(launch.args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Only what the inventory declares reaches the server, plus PATH and HOME.
        for name in ["PATH", "HOME"].iter().copied().chain(launch.env_names.iter().map(String::as_str)) {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        if let Some(dir) = launch.cwd {
            command.current_dir(dir);
        }
        let mut child = command.spawn().map_err(|e| FetchError::Spawn {
            command: crate::visible::escape(launch.command),
            message: e.to_string(),
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(FetchError::Protocol("the child's pipes are missing".into()));
        };
        let (tx, incoming) = mpsc::channel();
        let limit = limits.message_bytes;
        std::thread::spawn(move || read_messages(stdout, limit, &tx));
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let sink = Arc::clone(&tail);
        std::thread::spawn(move || drain_stderr(stderr, &sink));
        Ok(Session {
            child,
            stdin: Some(stdin),
            incoming,
            stderr: tail,
            next_id: 1,
            limits: *limits,
            list_changed: false,
            noise: 0,
            reaped: false,
        })
    }

    fn fetch(&mut self) -> Result<Fetched, FetchError> {
        let capabilities = json!({});
        // Era probe (mcp-protocol.md §6): a DiscoverResult means modern; any other
        // answer, or none in time, means the legacy handshake.
        let probe_timeout = self.limits.probe_timeout.min(self.limits.start_timeout);
        let probe =
            self.request("server/discover", json!({"_meta": modern_meta(&capabilities)}), probe_timeout);
        match probe {
            Ok(result) if result.get("supportedVersions").is_some() => {
                let supported = result["supportedVersions"].as_array().cloned().unwrap_or_default();
                if !supported.iter().any(|v| v == MODERN_VERSION) {
                    return Err(FetchError::Protocol(format!(
                        "server/discover offers {} but toolreg speaks {MODERN_VERSION}",
                        crate::visible::escape(&Value::Array(supported).to_string())
                    )));
                }
                let tools = self.list_tools(true, &capabilities)?;
                Ok(Fetched {
                    server_info: result
                        .pointer("/_meta/io.modelcontextprotocol~1serverInfo")
                        .cloned()
                        .unwrap_or(Value::Null),
                    protocol_version: MODERN_VERSION.into(),
                    instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
                    capabilities: result.get("capabilities").cloned().unwrap_or(json!({})),
                    client_capabilities: capabilities,
                    era: "modern",
                    tools,
                    noise: self.noise,
                })
            }
            Ok(_) | Err(FetchError::Rpc { .. } | FetchError::Timeout { .. }) => self.legacy(capabilities),
            Err(other) => Err(other),
        }
    }

    fn legacy(&mut self, capabilities: Value) -> Result<Fetched, FetchError> {
        let params = json!({"protocolVersion": LEGACY_VERSION, "capabilities": capabilities, "clientInfo": client_info()});
        let result = self.request("initialize", params, self.limits.start_timeout)?;
        self.notify("notifications/initialized")?;
        let tools = self.list_tools(false, &capabilities)?;
        Ok(Fetched {
            server_info: result.get("serverInfo").cloned().unwrap_or(Value::Null),
            protocol_version: result
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
            capabilities: result.get("capabilities").cloned().unwrap_or(json!({})),
            client_capabilities: capabilities,
            era: "legacy",
            tools,
            noise: self.noise,
        })
    }

    /// Every page of `tools/list`; listed again when the server says the list changed
    /// during the fetch (at most three times).
    fn list_tools(&mut self, modern: bool, capabilities: &Value) -> Result<Vec<Value>, FetchError> {
        let mut relists = 0;
        loop {
            self.list_changed = false;
            let tools = self.list_pages(modern, capabilities)?;
            self.settle()?;
            if !self.list_changed || relists == 3 {
                return Ok(tools);
            }
            relists += 1;
        }
    }

    fn list_pages(&mut self, modern: bool, capabilities: &Value) -> Result<Vec<Value>, FetchError> {
        let mut tools = Vec::new();
        let mut cursor: Option<Value> = None;
        for _ in 0..self.limits.pages {
            let mut params = serde_json::Map::new();
            if modern {
                params.insert("_meta".into(), modern_meta(capabilities));
            }
            if let Some(cursor) = cursor.take() {
                params.insert("cursor".into(), cursor);
            }
            let result = self.request("tools/list", Value::Object(params), self.limits.request_timeout)?;
            let Some(Value::Array(page)) = result.get("tools") else {
                return Err(FetchError::Protocol("tools/list returned no \"tools\" array".into()));
            };
            tools.extend(page.iter().cloned());
            if tools.len() > self.limits.tools {
                return Err(FetchError::TooManyTools { limit: self.limits.tools });
            }
            match result.get("nextCursor") {
                None | Some(Value::Null) => return Ok(tools),
                Some(next) => cursor = Some(next.clone()),
            }
        }
        Err(FetchError::TooManyPages { limit: self.limits.pages })
    }

    /// Waits briefly for late notifications (a `list_changed` right after the listing).
    fn settle(&mut self) -> Result<(), FetchError> {
        let deadline = Instant::now() + self.limits.settle;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(Incoming::Message(message)) => self.handle_unsolicited(&message)?,
                Ok(Incoming::Noise) => self.noise += 1,
                Ok(Incoming::Failed(e)) => return Err(e),
                Ok(Incoming::Eof) | Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Ok(())
                }
            }
        }
    }

    fn request(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value, FetchError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}), method)?;
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
                    if let Some(error) = message.get("error") {
                        let (code, message) = rpc_error(error);
                        return Err(FetchError::Rpc { method: method.to_owned(), code, message });
                    }
                    return message.get("result").cloned().ok_or_else(|| {
                        FetchError::Protocol(format!("the answer to {method} has no result"))
                    });
                }
                Ok(Incoming::Noise) => self.noise += 1,
                Ok(Incoming::Failed(e)) => return Err(e),
                Ok(Incoming::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(FetchError::Closed { what: method.to_owned(), stderr: self.stderr_tail() })
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(FetchError::Timeout {
                        what: method.to_owned(),
                        seconds: timeout.as_secs_f64(),
                        stderr: self.stderr_tail(),
                    })
                }
            }
        }
    }

    /// A notification or a server→client request: note `list_changed`, refuse requests
    /// (roots, sampling, elicitation) politely so the server does not wait on us.
    fn handle_unsolicited(&mut self, message: &Value) -> Result<(), FetchError> {
        let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
        match message.get("id") {
            Some(id) => {
                let reply = json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32601, "message": "toolreg fetches catalogs only"}});
                self.send(&reply, method)
            }
            None => {
                if method == "notifications/tools/list_changed" {
                    self.list_changed = true;
                }
                Ok(())
            }
        }
    }

    fn notify(&mut self, method: &str) -> Result<(), FetchError> {
        self.send(&json!({"jsonrpc": "2.0", "method": method}), method)
    }

    fn send(&mut self, message: &Value, what: &str) -> Result<(), FetchError> {
        let mut line = message.to_string();
        line.push('\n');
        let closed = || FetchError::Closed { what: what.to_owned(), stderr: String::new() };
        let stdin = self.stdin.as_mut().ok_or_else(closed)?;
        stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|_| FetchError::Closed { what: what.to_owned(), stderr: self.stderr_tail() })
    }

    /// The last lines the server wrote on stderr, for error messages.
    fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().map(|l| l.iter().cloned().collect::<Vec<_>>()).unwrap_or_default();
        if lines.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends with:\n  {}", lines.join("\n  "))
        }
    }

    /// Close stdin, give the server a moment to exit, then kill it; always reap.
    fn shutdown(&mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => {
                    self.reaped = true;
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads newline-delimited messages, refusing any line over `limit` bytes.
fn read_messages(stdout: ChildStdout, limit: usize, tx: &Sender<Incoming>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        let read = (&mut reader).take(cap).read_until(b'\n', &mut line);
        let incoming = match read {
            Ok(0) => {
                let _ = tx.send(Incoming::Eof);
                return;
            }
            Err(e) => Incoming::Failed(FetchError::Protocol(format!("reading the server's stdout: {e}"))),
            Ok(_) if line.len() > limit && line.last() != Some(&b'\n') => {
                Incoming::Failed(FetchError::TooLarge { limit })
            }
            Ok(_) => match std::str::from_utf8(&line) {
                Err(e) => Incoming::Failed(FetchError::InvalidUtf8 { offset: e.valid_up_to() }),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => match serde_json::from_str::<Value>(text.trim()) {
                    Ok(value) => Incoming::Message(value),
                    Err(_) => Incoming::Noise,
                },
            },
        };
        let stop = matches!(incoming, Incoming::Failed(_));
        if tx.send(incoming).is_err() || stop {
            return;
        }
    }
}

/// Keeps the stderr pipe drained (a server blocked on a full pipe would hang) and
/// remembers the last few lines, each cut short.
fn drain_stderr(stderr: impl Read, tail: &Mutex<VecDeque<String>>) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(64 * 1024).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text: String = String::from_utf8_lossy(&line).trim_end().chars().take(300).collect();
                if let Ok(mut lines) = tail.lock() {
                    lines.push_back(crate::visible::escape(&text));
                    if lines.len() > 5 {
                        lines.pop_front();
                    }
                }
            }
        }
    }
}
