//! The guard's audit log: one JSON line per decision, each carrying its sequence
//! number, its own hash and the hash of the line before it, so an edited, removed or
//! reordered line breaks the chain where it happened (`toolreg log --verify-audit`).
//! With a key the hash is an HMAC-SHA256 under it, so whoever can write the file but
//! not read the key cannot recompute the chain after an edit. Every append holds an
//! exclusive lock on the file and continues the chain from its last line, so several
//! guards can share one log. Removing lines from the end leaves a shorter valid chain:
//! anchor the last hash elsewhere (the verify report prints it) and give it back as
//! `--expect-last` to detect that too.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Sha256;

/// The `prev` of a log's first line, keyed or not.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The prefix of a keyed line's `hash`; an unkeyed one is `sha256:`.
const KEYED: &str = "hmac-sha256:";
const PLAIN: &str = "sha256:";

/// One decision of guard, or the outcome of a call it passed. Arguments and results
/// are never written: only their SHA-256 and size ([`Hashed`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entry<'a> {
    pub time: String,
    /// `session:json-rpc-id`, tying the line to one request of one guard session.
    pub correlation: String,
    /// The guard session (one per guard process).
    pub session: &'a str,
    /// `decision` or `outcome`.
    pub event: &'a str,
    /// Who the session runs for: `--user`, else the OS user.
    pub user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<&'a str>,
    /// The client, as its `initialize` (or a modern request's `_meta`) named itself.
    pub client: Named<'a>,
    pub server: &'a str,
    /// The item's kind (`tool`, `prompt`, `resource`, `resource-template`, `server`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'a str>,
    /// The item: a tool by its name, any other kind as `KIND:KEY`.
    pub tool: Option<&'a str>,
    pub digest: Option<&'a str>,
    /// The registry commit the lock was made from: what to roll back to.
    #[serde(rename = "registryCommit")]
    pub registry_commit: Option<&'a str>,
    /// The policy rule that decided (`lock`, `schema`, `allowed-hosts`, `allowed-roots`,
    /// `denied-paths`, `server.toml`, `class:…`, `default`, `protocol`).
    pub rule: &'a str,
    /// `allow`, `deny`, `ask`, or `warn` (denied, let through in monitor mode).
    pub decision: &'a str,
    /// `approved`, `declined`, `cancelled`, `timed out`, or `not asked`.
    pub approval: &'a str,
    /// For an `outcome`: `ok`, `tool error`, `input required`, `jsonrpc error: CLASS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'a str>,
    pub reason: &'a str,
    /// Guard's own time on the message.
    #[serde(rename = "latencyMs")]
    pub latency_ms: f64,
    /// For an `outcome`: from forwarding the call to its answer.
    #[serde(rename = "callMs", skip_serializing_if = "Option::is_none")]
    pub call_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<&'a Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'a Hashed>,
}

/// A client's name and version, as it gave them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Named<'a> {
    pub name: Option<&'a str>,
    pub version: Option<&'a str>,
}

/// A value's SHA-256 and size as it went over the wire (guard's serialisation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hashed {
    pub sha256: String,
    pub bytes: usize,
}

impl Hashed {
    pub fn of(value: &Value) -> Hashed {
        let text = serde_json::to_vec(value).unwrap_or_default();
        let digest = crate::canon::Digest::of_bytes(&text);
        Hashed { sha256: digest.as_str().trim_start_matches("sha256:").to_owned(), bytes: text.len() }
    }
}

/// The key of a keyed log, ready to MAC with. Never printed.
#[derive(Clone)]
pub struct Key(Hmac<Sha256>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    /// The key in the file at `path`: its bytes, one trailing newline trimmed (as an
    /// editor or `echo` leaves it). The reason it is refused, without the key.
    pub fn from_file(path: &Path) -> Result<Key, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
        let bytes = match bytes.strip_suffix(b"\n") {
            Some(rest) => rest.strip_suffix(b"\r").unwrap_or(rest),
            None => &bytes,
        };
        Key::from_bytes(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Key, String> {
        if bytes.is_empty() {
            return Err("it is empty: an empty key protects nothing".into());
        }
        Hmac::<Sha256>::new_from_slice(bytes).map(Key).map_err(|e| format!("not a usable key: {e}"))
    }
}

/// The `hash` of a line's JSON text without `hash`: its sha256, or its HMAC under `key`.
fn seal(text: &str, key: Option<&Key>) -> String {
    match key {
        None => crate::canon::Digest::of_bytes(text.as_bytes()).to_string(),
        Some(Key(mac)) => {
            let mut mac = mac.clone();
            mac.update(text.as_bytes());
            let mut out = String::with_capacity(KEYED.len() + 64);
            out.push_str(KEYED);
            for byte in mac.finalize().into_bytes() {
                out.push_str(&format!("{byte:02x}"));
            }
            out
        }
    }
}

/// Whether a line's `hash` is keyed; `None` for a scheme this log never writes.
fn keyed(hash: &str) -> Option<bool> {
    if hash.starts_with(KEYED) {
        Some(true)
    } else if hash.starts_with(PLAIN) {
        Some(false)
    } else {
        None
    }
}

/// A line split into its `hash` and the object that hash covers.
fn split(line: &str) -> Option<(String, Map<String, Value>)> {
    let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(line) else { return None };
    let hash = map.remove("hash")?.as_str()?.to_owned();
    Some((hash, map))
}

/// An append-only log file, chained, shared by every guard that opens it.
pub struct AuditLog {
    file: File,
    key: Option<Key>,
}

impl AuditLog {
    /// Opens (or creates) `path` for appending, with `key` for a keyed log. Checks now
    /// that its last line continues (see [`AuditLog::append`]), so a guard that could
    /// never write fails before it starts its server.
    pub fn open(path: &Path, key: Option<Key>) -> std::io::Result<AuditLog> {
        let file = OpenOptions::new().create(true).read(true).append(true).open(path)?;
        let mut log = AuditLog { file, key };
        log.locked(|log| log.tail().map(drop))?;
        Ok(log)
    }

    /// Appends one decision, written to the file before it returns (a crash of guard
    /// loses nothing already decided; there is no fsync, so a crash of the machine may).
    /// Under an exclusive lock on the file it reads the last line, which another guard
    /// may have written, and continues the chain from it. The last line must be intact
    /// and sealed as this log seals (with this key, or unkeyed without one): a log never
    /// switches between keyed and unkeyed, and never continues a line it cannot check.
    pub fn append(&mut self, entry: &Entry<'_>) -> std::io::Result<()> {
        let value = serde_json::to_value(entry)?;
        let Value::Object(mut map) = value else {
            return Err(std::io::Error::other("an audit entry is not a JSON object"));
        };
        self.locked(|log| {
            let (seq, prev) = match log.tail()? {
                Some((seq, hash)) => (seq + 1, hash),
                None => (1, GENESIS.to_owned()),
            };
            map.insert("seq".into(), Value::from(seq));
            map.insert("prev".into(), Value::String(prev));
            let own = seal(&Value::Object(map.clone()).to_string(), log.key.as_ref());
            map.insert("hash".into(), Value::String(own));
            // One write of the whole line, under the lock: no other guard's line can
            // land inside it.
            log.file.write_all(format!("{}\n", Value::Object(map)).as_bytes())?;
            log.file.flush()
        })
    }

    /// Runs `work` holding the file's exclusive lock, released whatever happens.
    fn locked<T>(&mut self, work: impl FnOnce(&mut Self) -> std::io::Result<T>) -> std::io::Result<T> {
        self.file.lock()?;
        let result = work(self);
        let unlocked = self.file.unlock();
        let value = result?;
        unlocked.map(|()| value)
    }

    /// The last line's `seq` and `hash`, checked against this log's key; `None` for an
    /// empty log.
    fn tail(&mut self) -> std::io::Result<Option<(u64, String)>> {
        let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
        let Some(line) = last_line(&mut self.file)? else { return Ok(None) };
        let line = String::from_utf8(line).map_err(|_| invalid("its last line is not UTF-8".into()))?;
        let value = serde_json::from_str::<Value>(&line)
            .map_err(|e| invalid(format!("its last line is not JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(invalid("its last line is not a JSON object".into()));
        };
        let Some(Value::String(hash)) = map.remove("hash") else {
            return Err(invalid("its last line has no hash".into()));
        };
        let Some(seq) = map.get("seq").and_then(Value::as_u64) else {
            return Err(invalid("its last line has no sequence number".into()));
        };
        match (keyed(&hash), &self.key) {
            (None, _) => {
                return Err(invalid("its last line's hash is neither sha256 nor hmac-sha256".into()))
            }
            (Some(true), None) => {
                return Err(invalid(
                    "it is keyed (hmac-sha256): give --audit-key-file (without the key guard would \
                     switch it to unkeyed lines)"
                        .into(),
                ))
            }
            (Some(false), Some(_)) => {
                return Err(invalid(
                    "it is not keyed (sha256): a key would switch it to keyed lines mid-chain; give \
                     the keyed chain a new file"
                        .into(),
                ))
            }
            _ => {}
        }
        if seal(&Value::Object(map).to_string(), self.key.as_ref()) != hash {
            return Err(invalid(
                match self.key {
                    Some(_) => {
                        "its last line does not verify with this key (another key, or the line was edited)"
                    }
                    None => "its last line does not match its hash (the line was edited)",
                }
                .into(),
            ));
        }
        Ok(Some((seq, hash)))
    }
}

/// The last non-empty line of `file`, read from its end: only as much as that line
/// needs, whatever the file's size.
fn last_line(file: &mut File) -> std::io::Result<Option<Vec<u8>>> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut window: u64 = 4096;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let end = tail.iter().rposition(|&b| b != b'\n').map_or(0, |i| i + 1);
        let trimmed = &tail[..end];
        if let Some(i) = trimmed.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(trimmed[i + 1..].to_vec()));
        }
        if start == 0 {
            return Ok(Some(trimmed.to_vec()).filter(|l| !l.is_empty()));
        }
        window = window.saturating_mul(8);
    }
}

/// A verified log: how many lines, whether keyed, the last line's sequence number and
/// hash (to anchor elsewhere: removing lines from the end is only detectable against
/// that), and the sequence number of the line carrying the expected last hash.
#[derive(Debug)]
pub struct Verified {
    pub lines: usize,
    pub keyed: bool,
    pub last: Option<(u64, String)>,
    pub anchor: Option<u64>,
}

/// Why a log did not verify.
#[derive(Debug, PartialEq, Eq)]
pub enum Unverified {
    /// It could not be checked (unreadable, or keyed and no key given): never a pass.
    CannotCheck(String),
    /// It was tampered with: the first break, named by its line.
    Broken(String),
}

/// Checks every line of the log at `path`, with `key` for a keyed log; with
/// `expect_last`, a hash the log's last line once had must still be in the chain.
pub fn verify(path: &Path, key: Option<&Key>, expect_last: Option<&str>) -> Result<Verified, Unverified> {
    let file = File::open(path).map_err(|e| Unverified::CannotCheck(e.to_string()))?;
    let broken = |number: usize, why: &str| Unverified::Broken(format!("line {number}: {why}"));
    let mut prev = GENESIS.to_owned();
    let mut expected_seq: Option<u64> = None;
    let mut verified = Verified { lines: 0, keyed: key.is_some(), last: None, anchor: None };
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| broken(number, &format!("unreadable ({e})")))?;
        let Some((own, map)) = split(&line) else {
            return Err(broken(number, "not a JSON object with a hash: the line was edited"));
        };
        // The first line says what the log is; every other line must say the same.
        match (keyed(&own), key, number) {
            (None, _, _) => {
                return Err(broken(number, "its hash is neither sha256 nor hmac-sha256: the line was edited"))
            }
            (Some(true), None, 1) => {
                return Err(Unverified::CannotCheck(
                    "this log is keyed (hmac-sha256): give --audit-key-file".into(),
                ))
            }
            (Some(false), Some(_), 1) => {
                return Err(broken(
                    1,
                    "not keyed (sha256) though a key was given: the log was rewritten without the \
                     key, or it is not the keyed log",
                ))
            }
            (Some(line_keyed), _, _) if line_keyed != verified.keyed => {
                let why = if line_keyed {
                    "a keyed line in an unkeyed log: keyed and unkeyed lines are mixed"
                } else {
                    "an unkeyed line in a keyed log: the log was rewritten from here without its key"
                };
                return Err(broken(number, why));
            }
            _ => {}
        }
        let seq = map.get("seq").and_then(Value::as_u64);
        let claimed = map.get("prev").and_then(Value::as_str).unwrap_or_default().to_owned();
        if seal(&Value::Object(map).to_string(), key) != own {
            return Err(broken(
                number,
                if key.is_some() {
                    "its HMAC does not verify with this key: the line was edited (or the key is not the log's)"
                } else {
                    "its content does not match its hash: the line was edited"
                },
            ));
        }
        let Some(seq) = seq else {
            return Err(broken(number, "no sequence number: the line was edited"));
        };
        if claimed != prev {
            let why = match expected_seq {
                None => {
                    "the log does not start at the beginning of its chain: lines were removed from its start"
                        .to_owned()
                }
                Some(want) if seq < want => {
                    format!("sequence {seq} after {}: lines were reordered", want - 1)
                }
                Some(want) if seq > want => {
                    format!(
                        "sequence jumps from {} to {seq}: {} line(s) removed or moved",
                        want - 1,
                        seq - want
                    )
                }
                Some(_) => format!("it does not chain to line {}: a line was replaced", number - 1),
            };
            return Err(broken(number, &why));
        }
        if expect_last == Some(own.as_str()) {
            verified.anchor = Some(seq);
        }
        prev = own.clone();
        expected_seq = Some(seq + 1);
        verified.lines += 1;
        verified.last = Some((seq, own));
    }
    if let (Some(expected), None) = (expect_last, verified.anchor) {
        return Err(Unverified::Broken(format!(
            "no line has the expected last hash {}: lines were removed from the end of the log \
             (or the log was replaced)",
            crate::visible::escape(expected)
        )));
    }
    Ok(verified)
}

/// The audit log's lines, as written (chain members included), read after `verify`
/// passed. A line that is not a JSON object is an error naming it.
pub fn read(path: &Path) -> Result<Vec<Map<String, Value>>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(map)) => out.push(map),
            _ => return Err(format!("line {} is not a JSON object", number + 1)),
        }
    }
    Ok(out)
}

/// What a security team asks of an audit log first: how many decisions of each kind,
/// and which items each client was refused, how often (repeated denials first).
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub decisions: usize,
    pub outcomes: usize,
    /// Decisions per value of `decision` (`allow`, `deny`, `ask`, `warn`).
    #[serde(rename = "byDecision")]
    pub by_decision: std::collections::BTreeMap<String, usize>,
    /// Denials per (server, item, client), most first.
    pub denials: Vec<Denials>,
}

#[derive(Debug, Serialize)]
pub struct Denials {
    pub server: String,
    pub item: String,
    pub client: String,
    pub count: usize,
    /// The rules that refused, each once.
    pub rules: Vec<String>,
}

impl Summary {
    pub fn of(entries: &[Map<String, Value>]) -> Summary {
        let text = |entry: &Map<String, Value>, key: &str| {
            entry.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
        };
        let mut summary = Summary::default();
        let mut denials: std::collections::BTreeMap<(String, String, String), (usize, Vec<String>)> =
            Default::default();
        for entry in entries {
            // Lines written before outcomes existed are decisions.
            if text(entry, "event") == "outcome" {
                summary.outcomes += 1;
                continue;
            }
            summary.decisions += 1;
            let decision = text(entry, "decision");
            *summary.by_decision.entry(decision.clone()).or_default() += 1;
            if decision == "deny" {
                let client = entry
                    .get("client")
                    .and_then(|c| c.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("(unnamed)");
                let item = entry.get("tool").and_then(Value::as_str).unwrap_or("(message)");
                let key = (text(entry, "server"), item.to_owned(), client.to_owned());
                let slot = denials.entry(key).or_default();
                slot.0 += 1;
                let rule = text(entry, "rule");
                if !rule.is_empty() && !slot.1.contains(&rule) {
                    slot.1.push(rule);
                }
            }
        }
        let mut list: Vec<Denials> = denials
            .into_iter()
            .map(|((server, item, client), (count, rules))| Denials { server, item, client, count, rules })
            .collect();
        list.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.server, &a.item, &a.client).cmp(&(&b.server, &b.item, &b.client)))
        });
        summary.denials = list;
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reason: &str) -> Entry<'_> {
        Entry {
            time: "2026-11-25T00:00:00Z".into(),
            correlation: "s:1".into(),
            session: "s",
            event: "decision",
            user: "ada",
            server: "demo",
            tool: Some("t"),
            rule: "lock",
            decision: "allow",
            approval: "not asked",
            reason,
            latency_ms: 0.25,
            ..Entry::default()
        }
    }

    fn key(text: &str) -> Key {
        Key::from_bytes(text.as_bytes()).unwrap()
    }

    /// A log of four lines written by three sessions, and its lines.
    fn written(path: &Path, key: Option<&Key>) -> Vec<String> {
        {
            let mut log = AuditLog::open(path, key.cloned()).unwrap();
            log.append(&entry("one")).unwrap();
            log.append(&entry("two")).unwrap();
        }
        // Later sessions continue the chain.
        AuditLog::open(path, key.cloned()).unwrap().append(&entry("three")).unwrap();
        AuditLog::open(path, key.cloned()).unwrap().append(&entry("four")).unwrap();
        std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
    }

    /// `lines` with line `from` (1-based) onwards re-chained, each sealed as `seal_with`
    /// says: what someone who can write the file does after editing a line.
    fn rechained(lines: &[String], from: usize, seal_with: Option<&Key>) -> Vec<String> {
        let mut out: Vec<String> = lines[..from - 1].to_vec();
        for line in &lines[from - 1..] {
            let (_, mut map) = split(line).unwrap();
            let prev = out.last().map_or(GENESIS.to_owned(), |l| split(l).unwrap().0);
            map.insert("prev".into(), Value::String(prev));
            let own = seal(&Value::Object(map.clone()).to_string(), seal_with);
            map.insert("hash".into(), Value::String(own));
            out.push(Value::Object(map).to_string());
        }
        out
    }

    fn save(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    fn broken(result: Result<Verified, Unverified>) -> String {
        match result {
            Err(Unverified::Broken(why)) => why,
            other => panic!("not broken: {other:?}"),
        }
    }

    #[test]
    fn a_chain_verifies_and_every_kind_of_tampering_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let lines = written(&path, None);
        let verified = verify(&path, None, None).unwrap();
        assert_eq!((verified.lines, verified.keyed), (4, false));
        let check = |lines: Vec<String>| {
            save(&path, &lines);
            broken(verify(&path, None, None))
        };
        let mut edited = lines.clone();
        edited[1] = edited[1].replace("two", "TWO");
        assert!(check(edited).starts_with("line 2: its content does not match its hash"));
        let mut removed = lines.clone();
        removed.remove(1);
        assert!(check(removed).contains("line 2: sequence jumps from 1 to 3"));
        let mut reordered = lines.clone();
        reordered.swap(1, 2);
        assert!(check(reordered).starts_with("line 2: sequence jumps"));
        let mut reordered = lines.clone();
        reordered.swap(2, 3);
        let why = check(reordered);
        assert!(why.starts_with("line 3"), "{why}");
        let mut headless = lines.clone();
        headless.remove(0);
        assert!(check(headless).starts_with("line 1: the log does not start"));
    }

    #[test]
    fn a_keyed_chain_verifies_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let right = key("the writer of record's key");
        let lines = written(&path, Some(&right));
        assert!(lines.iter().all(|l| split(l).unwrap().0.starts_with("hmac-sha256:")), "{lines:#?}");
        let verified = verify(&path, Some(&right), None).unwrap();
        assert_eq!((verified.lines, verified.keyed), (4, true));
        assert_eq!(verified.last.as_ref().map(|(seq, _)| *seq), Some(4));
        // Without the key it cannot be checked: never a pass.
        assert_eq!(
            verify(&path, None, None).unwrap_err(),
            Unverified::CannotCheck("this log is keyed (hmac-sha256): give --audit-key-file".into())
        );
        let why = broken(verify(&path, Some(&key("another key")), None));
        assert!(why.starts_with("line 1: its HMAC does not verify with this key"), "{why}");
        // A line edited and every later hash recomputed: with plain sha256 the chain
        // turns unkeyed where the edit is; with a wrong key the edited line's MAC fails.
        let mut edited = lines.clone();
        edited[2] = edited[2].replace("three", "THREE");
        save(&path, &rechained(&edited, 3, None));
        let why = broken(verify(&path, Some(&right), None));
        assert!(why.starts_with("line 3: an unkeyed line in a keyed log"), "{why}");
        save(&path, &rechained(&edited, 3, Some(&key("a guessed key"))));
        let why = broken(verify(&path, Some(&right), None));
        assert!(why.starts_with("line 3: its HMAC does not verify"), "{why}");
        // The whole log rewritten unkeyed is a valid unkeyed chain: only the key tells.
        save(&path, &rechained(&edited, 1, None));
        assert_eq!(verify(&path, None, None).unwrap().lines, 4);
        let why = broken(verify(&path, Some(&right), None));
        assert!(why.starts_with("line 1: not keyed (sha256) though a key was given"), "{why}");
        // The untouched log still verifies; a keyed line after unkeyed ones is mixing.
        save(&path, &lines);
        assert_eq!(verify(&path, Some(&right), None).unwrap().lines, 4);
        let mut mixed = rechained(&lines, 1, None);
        mixed = rechained(&mixed, 3, Some(&right));
        save(&path, &mixed);
        let why = broken(verify(&path, None, None));
        assert!(why.starts_with("line 3: a keyed line in an unkeyed log"), "{why}");
    }

    #[test]
    fn expect_last_finds_lines_removed_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let right = key("k");
        let lines = written(&path, Some(&right));
        let hash_of = |line: &str| split(line).unwrap().0;
        let last = hash_of(&lines[3]);
        let verified = verify(&path, Some(&right), Some(&last)).unwrap();
        assert_eq!((verified.anchor, verified.last.map(|(seq, _)| seq)), (Some(4), Some(4)));
        // Lines appended after the anchor are fine.
        AuditLog::open(&path, Some(right.clone())).unwrap().append(&entry("five")).unwrap();
        let verified = verify(&path, Some(&right), Some(&last)).unwrap();
        assert_eq!((verified.anchor, verified.last.map(|(seq, _)| seq)), (Some(4), Some(5)));
        // The anchored line and what followed removed: a shorter chain, valid, but not
        // the one anchored.
        save(&path, &lines[..2]);
        assert_eq!(verify(&path, Some(&right), None).unwrap().lines, 2);
        let why = broken(verify(&path, Some(&right), Some(&last)));
        assert!(why.contains("lines were removed from the end of the log"), "{why}");
        // An empty log has no anchor either.
        std::fs::write(&path, "").unwrap();
        assert!(broken(verify(&path, Some(&right), Some(&last))).contains("removed from the end"));
        // A chain broken before is reported as such.
        let mut edited = lines.clone();
        edited[0] = edited[0].replace("one", "ONE");
        save(&path, &edited);
        assert!(broken(verify(&path, Some(&right), Some(&last))).starts_with("line 1:"));
    }

    #[test]
    fn a_log_never_switches_between_keyed_and_unkeyed() {
        let dir = tempfile::tempdir().unwrap();
        let keyed_path = dir.path().join("keyed.log");
        let plain_path = dir.path().join("plain.log");
        written(&keyed_path, Some(&key("k")));
        written(&plain_path, None);
        let refused = |path: &Path, key: Option<Key>| match AuditLog::open(path, key) {
            Ok(_) => panic!("{} opened", path.display()),
            Err(e) => e.to_string(),
        };
        assert!(refused(&keyed_path, None).starts_with("it is keyed (hmac-sha256)"));
        assert!(refused(&plain_path, Some(key("k"))).starts_with("it is not keyed (sha256)"));
        assert!(refused(&keyed_path, Some(key("other"))).contains("does not verify with this key"));
        // Refused at append too: another writer may have made the switch after open.
        let mut plain = AuditLog::open(&plain_path, None).unwrap();
        let mut keyed = AuditLog::open(&keyed_path, Some(key("k"))).unwrap();
        std::fs::copy(&keyed_path, &plain_path).unwrap();
        let why = plain.append(&entry("late")).unwrap_err().to_string();
        assert!(why.starts_with("it is keyed"), "{why}");
        let mut lines = std::fs::read_to_string(&keyed_path).unwrap();
        lines.push_str("{\"half a line");
        std::fs::write(&keyed_path, lines).unwrap();
        let why = keyed.append(&entry("after a torn line")).unwrap_err().to_string();
        assert!(why.starts_with("its last line is not JSON"), "{why}");
        assert_eq!(verify(&plain_path, Some(&key("k")), None).unwrap().lines, 4, "nothing was appended");
    }

    #[test]
    fn a_key_file_is_trimmed_of_one_newline_and_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        let log = dir.path().join("audit.log");
        std::fs::write(&file, "secret\n").unwrap();
        written(&log, Some(&Key::from_file(&file).unwrap()));
        assert!(verify(&log, Some(&key("secret")), None).is_ok());
        std::fs::write(&file, "secret\r\n").unwrap();
        assert!(verify(&log, Some(&Key::from_file(&file).unwrap()), None).is_ok());
        std::fs::write(&file, "\n").unwrap();
        assert!(Key::from_file(&file).unwrap_err().contains("empty"));
        let missing = Key::from_file(&dir.path().join("missing")).unwrap_err();
        assert!(missing.starts_with("cannot read it"), "{missing}");
        assert_eq!(format!("{:?}", key("secret")), "Key(…)");
    }
}
