//! The guard's audit log: one JSON line per decision, each carrying its sequence
//! number, its own hash and the hash of the line before it, so an edited, removed or
//! reordered line breaks the chain where it happened (`toolreg log --verify-audit`).
//! Removing lines from the end leaves a shorter valid chain: anchor the last hash
//! elsewhere (the verify report prints it) to detect that too.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// The `prev` of a log's first line.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// One decision.
#[derive(Debug, Clone, Serialize)]
pub struct Entry<'a> {
    pub time: String,
    /// `session:json-rpc-id`, tying the line to one request of one guard session.
    pub correlation: String,
    pub server: &'a str,
    pub tool: Option<&'a str>,
    pub digest: Option<&'a str>,
    /// `allow`, `deny`, or `warn` (denied by the lock, let through in monitor mode).
    pub decision: &'static str,
    pub reason: &'a str,
    #[serde(rename = "latencyMs")]
    pub latency_ms: f64,
}

/// An append-only log file, chained.
pub struct AuditLog {
    file: File,
    seq: u64,
    prev: String,
}

impl AuditLog {
    /// Opens (or creates) `path` for appending, continuing the chain of what is there.
    pub fn open(path: &Path) -> std::io::Result<AuditLog> {
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(path)?;
        let (seq, prev) = match last_line(&mut file)? {
            Some(line) => {
                let value: Value = serde_json::from_str(&line).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("its last line is not JSON: {e}"),
                    )
                })?;
                let hash = value.get("hash").and_then(Value::as_str).unwrap_or(GENESIS).to_owned();
                (value.get("seq").and_then(Value::as_u64).unwrap_or(0) + 1, hash)
            }
            None => (1, GENESIS.to_owned()),
        };
        Ok(AuditLog { file, seq, prev })
    }

    /// Appends one decision (flushed: a crash loses nothing already decided).
    pub fn append(&mut self, entry: &Entry<'_>) -> std::io::Result<()> {
        let mut value = serde_json::to_value(entry)?;
        let Value::Object(map) = &mut value else {
            return Err(std::io::Error::other("an audit entry is not a JSON object"));
        };
        map.insert("seq".into(), Value::from(self.seq));
        map.insert("prev".into(), Value::String(self.prev.clone()));
        let own = hash(&value.to_string());
        if let Value::Object(map) = &mut value {
            map.insert("hash".into(), Value::String(own.clone()));
        }
        self.file.write_all(format!("{value}\n").as_bytes())?;
        self.file.flush()?;
        self.seq += 1;
        self.prev = own;
        Ok(())
    }
}

fn hash(line: &str) -> String {
    crate::canon::Digest::of_bytes(line.as_bytes()).to_string()
}

/// The last non-empty line of `file`, read from its end.
fn last_line(file: &mut File) -> std::io::Result<Option<String>> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut start = len.saturating_sub(64 * 1024);
    loop {
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let text = String::from_utf8_lossy(&tail);
        let trimmed = text.trim_end_matches('\n');
        if let Some(i) = trimmed.rfind('\n') {
            return Ok(Some(trimmed[i + 1..].to_owned()));
        }
        if start == 0 {
            return Ok(Some(trimmed.to_owned()).filter(|l| !l.is_empty()));
        }
        start = start.saturating_sub(64 * 1024 * 16);
    }
}

/// A verified log: how many lines, and the last line's sequence number and hash (to
/// anchor elsewhere: removing lines from the end is only detectable against that).
pub struct Verified {
    pub lines: usize,
    pub last: Option<(u64, String)>,
}

/// Checks every line of the log at `path`: `Ok(Err(why))` names the first break.
pub fn verify(path: &Path) -> Result<Result<Verified, String>, std::io::Error> {
    let reader = BufReader::new(File::open(path)?);
    let mut prev = GENESIS.to_owned();
    let mut expected_seq: Option<u64> = None;
    let mut verified = Verified { lines: 0, last: None };
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(line) => line,
            Err(e) => return Ok(Err(format!("line {number}: unreadable ({e})"))),
        };
        let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(&line) else {
            return Ok(Err(format!("line {number}: not a JSON object: the line was edited")));
        };
        let own = map.remove("hash").and_then(|h| h.as_str().map(str::to_owned)).unwrap_or_default();
        let seq = map.get("seq").and_then(Value::as_u64);
        let claimed = map.get("prev").and_then(Value::as_str).unwrap_or_default().to_owned();
        if hash(&Value::Object(map).to_string()) != own {
            return Ok(Err(format!(
                "line {number}: its content does not match its hash: the line was edited"
            )));
        }
        let Some(seq) = seq else {
            return Ok(Err(format!("line {number}: no sequence number: the line was edited")));
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
            return Ok(Err(format!("line {number}: {why}")));
        }
        prev = own.clone();
        expected_seq = Some(seq + 1);
        verified.lines += 1;
        verified.last = Some((seq, own));
    }
    Ok(Ok(verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reason: &str) -> Entry<'_> {
        Entry {
            time: "2026-11-25T00:00:00Z".into(),
            correlation: "s:1".into(),
            server: "demo",
            tool: Some("t"),
            digest: None,
            decision: "allow",
            reason,
            latency_ms: 0.25,
        }
    }

    #[test]
    fn a_chain_verifies_and_every_kind_of_tampering_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        {
            let mut log = AuditLog::open(&path).unwrap();
            log.append(&entry("one")).unwrap();
            log.append(&entry("two")).unwrap();
        }
        // A second session continues the chain.
        AuditLog::open(&path).unwrap().append(&entry("three")).unwrap();
        AuditLog::open(&path).unwrap().append(&entry("four")).unwrap();
        assert_eq!(verify(&path).unwrap().unwrap().lines, 4);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let check = |lines: Vec<String>| {
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            verify(&path).unwrap().err().unwrap()
        };
        let own = |v: &[&str]| v.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        let mut edited = own(&lines);
        edited[1] = edited[1].replace("two", "TWO");
        assert!(check(edited).starts_with("line 2: its content does not match its hash"));
        let mut removed = own(&lines);
        removed.remove(1);
        assert!(check(removed).contains("line 2: sequence jumps from 1 to 3"));
        let mut reordered = own(&lines);
        reordered.swap(1, 2);
        assert!(check(reordered).starts_with("line 2: sequence jumps"));
        let mut reordered = own(&lines);
        reordered.swap(2, 3);
        let why = check(reordered);
        assert!(why.starts_with("line 3"), "{why}");
        let mut headless = own(&lines);
        headless.remove(0);
        assert!(check(headless).starts_with("line 1: the log does not start"));
    }
}
