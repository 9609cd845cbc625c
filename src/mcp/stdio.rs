//! MCP over stdio: spawn the exact argv (no shell) with a minimal environment, speak
//! newline-delimited JSON-RPC, and always reap the child — whatever the server does.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::session::{self, Channel, Incoming, Outlet};
use super::{FetchError, Fetched, Limits};

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
    let result = session::fetch(&mut session.channel, limits);
    session.shutdown();
    result
}

/// One running server: its process group, and the channel to it.
struct Session {
    child: Child,
    channel: Channel<Stdin>,
    reaped: bool,
}

/// The server's stdin, and the tail of its stderr for error messages.
struct Stdin {
    pipe: Option<ChildStdin>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Outlet for Stdin {
    const NAME: &'static str = "stdio";

    fn send(&mut self, message: &Value, what: &str) -> Result<(), FetchError> {
        let mut line = message.to_string();
        line.push('\n');
        let closed = || FetchError::Closed { what: what.to_owned(), stderr: String::new() };
        let pipe = self.pipe.as_mut().ok_or_else(closed)?;
        pipe.write_all(line.as_bytes())
            .and_then(|()| pipe.flush())
            .map_err(|_| FetchError::Closed { what: what.to_owned(), stderr: self.context() })
    }

    /// The last lines the server wrote on stderr.
    fn context(&self) -> String {
        let lines = self.stderr.lock().map(|l| l.iter().cloned().collect::<Vec<_>>()).unwrap_or_default();
        if lines.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends with:\n  {}", lines.join("\n  "))
        }
    }
}

impl Session {
    fn spawn(launch: &Launch<'_>, limits: &Limits) -> Result<Session, FetchError> {
        let mut command = Command::new(launch.command);
        command
            .args(launch.args)
            .env_clear()
            // Its own process group, so that a wrapper's children (npx → node, uvx →
            // python) are killed with it.
            .process_group(0)
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
            kill_group(&child);
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
        let outlet = Stdin { pipe: Some(stdin), stderr: tail };
        Ok(Session { child, channel: Channel::new(outlet, incoming), reaped: false })
    }

    /// Close stdin, give the server a moment to exit, then kill its whole process
    /// group; always reap.
    fn shutdown(&mut self) {
        self.channel.outlet.pipe = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        // Even when the leader exited, what it started may still run.
        kill_group(&self.child);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.reaped {
            kill_group(&self.child);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// SIGKILL to the child's process group (its id, since it leads the group). The group
/// id cannot be reused while any member lives, so this never reaches a stranger.
fn kill_group(child: &Child) {
    let pid = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
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
            // A last line cut off by the end of the stream is no message: the server
            // closed its output before finishing it.
            Ok(_) if line.last() != Some(&b'\n') => Incoming::Eof,
            Ok(_) => match std::str::from_utf8(&line) {
                Err(e) => Incoming::Failed(FetchError::InvalidUtf8 { offset: e.valid_up_to() }),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => Incoming::parse(text),
            },
        };
        let stop = matches!(incoming, Incoming::Failed(_) | Incoming::Eof);
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
