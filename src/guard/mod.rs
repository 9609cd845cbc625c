//! `toolreg guard`: an enforcing stdio proxy between an MCP client (guard's own stdin
//! and stdout) and the server it spawns. This module owns the processes, the pipes and
//! the clock; [`judge`] decides about every message: tools, prompts, resources and
//! resource templates the lock does not approve, at their digest, are removed from
//! every listing, whatever its id; a `tools/call`, `prompts/get`, `resources/read` or
//! `resources/subscribe` of any item not verified in this session's listing is
//! answered by guard and never reaches the server; a verified call then meets the
//! runtime policy (`deny`, `ask` a person through the client, `allow`), the approved
//! input schema and the egress and path [`limits`]; after a `list_changed` guard lists
//! again by itself and refuses until that listing verifies; a server header that
//! differs from the lock loses its `instructions`; a message guard cannot parse
//! strictly is never passed on. Every decision, and every call's outcome, goes to the
//! audit log.

pub mod judge;
pub mod limits;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::audit::{AuditLog, Entry, Named};
use crate::lock::LockedServer;

pub use judge::Mode;
use judge::{Client, Judge, Record, Settings};

/// Who and what a guard session runs for, as every audit line names it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub tenant: Option<String>,
    /// The registry commit the lock was made from.
    pub registry_commit: Option<String>,
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
    locked: LockedServer,
    settings: Settings,
    session: Session,
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
    let tick = (settings.ask_timeout / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let guard = Arc::new(Guard {
        server: settings.server.clone(),
        session_id: session_id(),
        session,
        judge: Mutex::new(Judge::new(locked, mode, settings)),
        client: Mutex::new(Box::new(std::io::stdout())),
        server_in: Mutex::new(Some(to_server)),
        audit: Mutex::new(audit),
        failure: Mutex::new(None),
    });
    // The two directions are pumped independently: neither waits on the other. The
    // client's side is left running when the server exits (it may be blocked reading
    // a client that waits for guard to exit).
    let client_side = Arc::clone(&guard);
    std::thread::spawn(move || {
        pump(std::io::stdin().lock(), message_bytes, &client_side, |line, guard| guard.on_client_line(line));
        // The client is gone (or guard failed): closing the server's stdin ends it.
        if let Ok(mut server_in) = client_side.server_in.lock() {
            server_in.take();
        }
    });
    // The clock: a question nobody answers in time refuses its call.
    let clock = Arc::clone(&guard);
    std::thread::spawn(move || loop {
        std::thread::sleep(tick);
        clock.on_tick();
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
    session_id: String,
    session: Session,
    judge: Mutex<Judge>,
    client: Mutex<Box<dyn Write + Send>>,
    /// The server's stdin (`None` once the client is gone).
    server_in: Mutex<Option<ChildStdin>>,
    audit: Mutex<Option<AuditLog>>,
    failure: Mutex<Option<GuardError>>,
}

impl Guard {
    /// A line from the client: what the judge passes goes to the server, its answers
    /// (and questions) to the client. False when the server can no longer be written to.
    fn on_client_line(&self, line: &[u8]) -> bool {
        let started = Instant::now();
        let Ok((outcome, client)) =
            self.judge.lock().map(|mut judge| (judge.on_client(line), judge.client().clone()))
        else {
            return false;
        };
        self.log(&outcome.records, &client, started);
        if let Some(reply) = &outcome.reply {
            self.to_client(reply);
        }
        match &outcome.forward {
            Some(bytes) => self.to_server(bytes),
            None => true,
        }
    }

    /// A line from the server: what the judge passes goes to the client; guard's own
    /// requests (listing again after a `list_changed`) to the server.
    fn on_server_line(&self, line: &[u8]) -> bool {
        let started = Instant::now();
        let Ok((outcome, client)) =
            self.judge.lock().map(|mut judge| (judge.on_server(line), judge.client().clone()))
        else {
            return false;
        };
        self.log(&outcome.records, &client, started);
        if let Some(own) = &outcome.reply {
            self.to_server(own);
        }
        match &outcome.forward {
            Some(bytes) => self.to_client(bytes),
            None => true,
        }
    }

    /// The clock: questions past their time refuse their calls.
    fn on_tick(&self) {
        let started = Instant::now();
        let Ok((outcome, client)) =
            self.judge.lock().map(|mut judge| (judge.expire(started), judge.client().clone()))
        else {
            return;
        };
        self.log(&outcome.records, &client, started);
        if let Some(reply) = &outcome.reply {
            self.to_client(reply);
        }
    }

    fn to_server(&self, bytes: &[u8]) -> bool {
        let Ok(mut server_in) = self.server_in.lock() else { return false };
        match server_in.as_mut() {
            Some(pipe) => pipe.write_all(bytes).and_then(|()| pipe.flush()).is_ok(),
            None => false,
        }
    }

    fn to_client(&self, bytes: &[u8]) -> bool {
        let Ok(mut client) = self.client.lock() else { return false };
        client.write_all(bytes).and_then(|()| client.flush()).is_ok()
    }

    fn log(&self, records: &[Record], client: &Client, started: Instant) {
        if records.is_empty() {
            return;
        }
        let Ok(mut audit) = self.audit.lock() else { return };
        let Some(log) = audit.as_mut() else { return };
        let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        for record in records {
            let entry = Entry {
                time: crate::clock::now_rfc3339(),
                correlation: format!("{}:{}", self.session_id, record.id),
                session: &self.session_id,
                event: record.event,
                user: &self.session.user,
                tenant: self.session.tenant.as_deref(),
                client: Named { name: client.name.as_deref(), version: client.version.as_deref() },
                server: &self.server,
                kind: record.kind.map(crate::item::Kind::as_str),
                tool: record.item.as_deref(),
                digest: record.digest.as_deref(),
                registry_commit: self.session.registry_commit.as_deref(),
                rule: record.rule,
                decision: record.decision,
                approval: record.approval,
                outcome: record.outcome.as_deref(),
                reason: &record.reason,
                latency_ms,
                call_ms: record.call_ms,
                arguments: record.arguments.as_ref(),
                result: record.result.as_ref(),
            };
            if let Err(e) = log.append(&entry) {
                // An audit log that cannot be written is a guard that cannot be trusted.
                self.fail(GuardError::Audit(e));
                return;
            }
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
