//! `toolreg log`: the audit trail — every review record in the pins and blocked.json,
//! each matched to the commit that made it, and toolreg commits with no record left
//! (a pin removed, a record edited away).

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use super::{emit, Context};
use crate::audit::Unverified;
use crate::cli::{LogArgs, LogFormat};
use crate::error::Error;
use crate::git::Repo;
use crate::policy::Outcome;
use crate::report::diff::short_digest;
use crate::visible;

/// One decision from a review record.
#[derive(Debug, Serialize)]
struct Entry {
    at: String,
    verdict: String,
    server: String,
    tool: Option<String>,
    digest: String,
    by: String,
    note: String,
    /// The commit that recorded it, when found in the history.
    commit: Option<String>,
    /// Where the record is, and the record as written: what identifies its commit.
    #[serde(skip)]
    source: Option<(std::path::PathBuf, Value)>,
}

/// A toolreg commit whose decision is no longer in any record.
#[derive(Debug, Serialize)]
struct HistoryOnly {
    at: String,
    commit: String,
    author: String,
    message: String,
}

pub fn run(args: &LogArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    if let Some(path) = &args.verify_audit {
        return verify_audit(path, args, out);
    }
    if let Some(path) = &args.audit {
        return export_audit(path, args, out);
    }
    if args.format == LogFormat::Csv {
        return Err(Error::Usage("--format csv exports a guard audit log: give --audit FILE".into()));
    }
    let registry = ctx.registry()?;
    let (want_server, want_tool) = match args.target.as_deref().map(|t| t.split_once('/').unwrap_or((t, "")))
    {
        Some((server, tool)) => {
            registry.server(server)?;
            (Some(server.to_owned()), (!tool.is_empty()).then(|| crate::item::ItemRef::parse(tool)))
        }
        None => (None, None),
    };
    let wanted = |server: Option<&str>, item: Option<&crate::item::ItemRef>| {
        want_server.as_deref().is_none_or(|w| Some(w) == server)
            && want_tool.as_ref().is_none_or(|w| Some(w) == item)
    };
    let mut entries = Vec::new();
    for server in registry.servers.values() {
        let pins =
            server.header.iter().map(|p| (None, p)).chain(server.items().map(|(item, p)| (Some(item), p)));
        for (item, pin) in pins {
            if !wanted(Some(&server.id), item) {
                continue;
            }
            for review in &pin.reviews {
                entries.push(Entry {
                    at: visible::escape(&review.at),
                    verdict: review.verdict.as_str().to_owned(),
                    server: server.id.clone(),
                    tool: item.map(|i| visible::escape(&i.spec())),
                    digest: visible::escape(&review.digest),
                    by: visible::escape(&review.by),
                    note: visible::escape(&review.note),
                    commit: None,
                    source: serde_json::to_value(review).ok().map(|r| (pin.path.clone(), r)),
                });
            }
        }
    }
    for block in &registry.blocked.blocked {
        let blocked_item = block.tool.as_deref().map(crate::item::ItemRef::parse);
        if !wanted(block.server.as_deref(), blocked_item.as_ref()) {
            continue;
        }
        entries.push(Entry {
            at: visible::escape(&block.at),
            verdict: if block.tool.is_some() || block.server.is_some() { "rejected" } else { "blocked" }
                .to_owned(),
            server: block.server.as_deref().map_or_else(|| "-".to_owned(), visible::escape),
            tool: block.tool.as_deref().map(visible::escape),
            digest: visible::escape(&block.digest),
            by: visible::escape(&block.by),
            note: visible::escape(&block.reason),
            commit: None,
            source: serde_json::to_value(block).ok().map(|b| (registry.root.join("blocked.json"), b)),
        });
    }
    // Match each record to its commit: the oldest commit whose version of the record's
    // file holds the record (the same author or digest in two commits cannot confuse it).
    let repo = Repo::discover(&registry.root)?;
    let prefix = repo.relative(&registry.root).unwrap_or_default();
    let history = repo.history(&prefix)?;
    let mut matched = vec![false; history.len()];
    let mut records_at: HashMap<(usize, std::path::PathBuf), Vec<Value>> = HashMap::new();
    for entry in &mut entries {
        let Some((path, record)) = &entry.source else { continue };
        let Some(relative) = repo.relative(path) else { continue };
        // `history` is newest first: walk it from the oldest.
        let found = (0..history.len()).rev().filter(|&i| history[i].paths.contains(&relative)).find(|&i| {
            records_at
                .entry((i, relative.clone()))
                .or_insert_with(|| records_in(&repo, &history[i].id, &relative))
                .contains(record)
        });
        if let Some(i) = found {
            matched[i] = true;
            entry.commit = Some(history[i].id.get(..12).unwrap_or(&history[i].id).to_owned());
        }
    }
    let mut orphans: Vec<HistoryOnly> = history
        .iter()
        .zip(&matched)
        .filter(|(c, used)| !**used && (c.message.starts_with("review(") || c.message.starts_with("revoke(")))
        .filter(|(c, _)| {
            let server = c.message.split_once('(').and_then(|(_, r)| r.split_once(')')).map(|(s, _)| s);
            want_server.as_deref().is_none_or(|w| Some(w) == server) && want_tool.is_none()
        })
        .map(|(c, _)| HistoryOnly {
            at: crate::clock::rfc3339(c.time),
            commit: c.id.get(..12).unwrap_or(&c.id).to_owned(),
            author: visible::escape(&c.author),
            message: visible::escape_multiline(c.message.trim()),
        })
        .collect();
    entries.sort_by(|a, b| (&a.at, &a.server, &a.tool).cmp(&(&b.at, &b.server, &b.tool)));
    orphans.sort_by(|a, b| a.at.cmp(&b.at));
    let text = match args.format {
        LogFormat::Json => {
            #[derive(Serialize)]
            struct Doc<'a> {
                version: u32,
                entries: &'a [Entry],
                #[serde(rename = "historyOnly")]
                history_only: &'a [HistoryOnly],
            }
            let mut text =
                serde_json::to_string_pretty(&Doc { version: 1, entries: &entries, history_only: &orphans })?;
            text.push('\n');
            text
        }
        LogFormat::Human | LogFormat::Csv => human(&entries, &orphans),
    };
    emit(out, &text)?;
    Ok(Outcome::Pass)
}

/// The records (review records, or blocked.json's entries) of `relative` as commit
/// `id` left it.
fn records_in(repo: &Repo, id: &str, relative: &std::path::Path) -> Vec<Value> {
    let Ok(oid) = git2::Oid::from_str(id) else { return Vec::new() };
    let Some(document) = repo.file_at(oid, relative).ok().flatten() else { return Vec::new() };
    let Ok(value) = serde_json::from_slice::<Value>(&document) else { return Vec::new() };
    let list = value.get("reviews").or_else(|| value.get("blocked"));
    list.and_then(Value::as_array).cloned().unwrap_or_default()
}

fn human(entries: &[Entry], orphans: &[HistoryOnly]) -> String {
    let mut out = String::new();
    if entries.is_empty() && orphans.is_empty() {
        out.push_str("No reviews recorded yet.\n");
    }
    for e in entries {
        let place = match &e.tool {
            Some(tool) => format!("{}/{tool}", e.server),
            None => format!("{} (server header)", e.server),
        };
        out.push_str(&format!(
            "{}  {:<8}  {place}  {}  by {}{}\n",
            e.at,
            e.verdict,
            short_digest(&e.digest),
            e.by,
            e.commit.as_deref().map(|c| format!("  commit {c}")).unwrap_or_default()
        ));
        if !e.note.is_empty() {
            out.push_str(&format!("    {}\n", e.note));
        }
    }
    if !orphans.is_empty() {
        out.push_str("\nCommits with no review record left (a pin removed, or a record edited away):\n");
        for o in orphans {
            out.push_str(&format!(
                "{}  commit {}  by {}\n    {}\n",
                o.at,
                o.commit,
                o.author,
                o.message.replace('\n', "\n    ")
            ));
        }
    }
    out
}

/// `log --verify-audit FILE`: the guard's audit chain, line by line, keyed or not, and
/// the anchor `--expect-last` names.
/// `log --audit FILE`: the chain verified (a broken one is exit 1, nothing exported),
/// then the lines as a summary, JSON or CSV.
fn export_audit(path: &std::path::Path, args: &LogArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let shown = visible::escape(&path.display().to_string());
    let key = args.audit_key_file.as_deref().map(super::audit_key).transpose()?;
    let verified = match crate::audit::verify(path, key.as_ref(), None) {
        Ok(verified) => verified,
        Err(Unverified::Broken(why)) => {
            emit(out, &format!("{shown}: tampered: {why}; nothing exported.\n"))?;
            return Ok(Outcome::Fail);
        }
        Err(Unverified::CannotCheck(why)) => return Err(Error::Usage(format!("{shown}: {why}"))),
    };
    let entries = crate::audit::read(path).map_err(|e| Error::Usage(format!("{shown}: {e}")))?;
    let summary = crate::audit::Summary::of(&entries);
    let text = match args.format {
        LogFormat::Human => crate::report::audit::human(&shown, verified.lines, &summary),
        LogFormat::Csv => crate::report::audit::csv(&entries),
        LogFormat::Json => {
            let document = serde_json::json!({"version": 1, "entries": entries, "summary": summary});
            let mut text = serde_json::to_string_pretty(&document)?;
            text.push('\n');
            text
        }
    };
    emit(out, &text)?;
    Ok(Outcome::Pass)
}

fn verify_audit(path: &std::path::Path, args: &LogArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let shown = visible::escape(&path.display().to_string());
    let key = args.audit_key_file.as_deref().map(super::audit_key).transpose()?;
    match crate::audit::verify(path, key.as_ref(), args.expect_last.as_deref()) {
        Ok(verified) => {
            let keyed = if verified.keyed { " (keyed: hmac-sha256)" } else { "" };
            let anchor = verified
                .anchor
                .map(|seq| format!("; the expected last hash is seq {seq}"))
                .unwrap_or_default();
            let last = verified
                .last
                .map(|(seq, hash)| {
                    format!("; last line seq {seq}, hash {hash} (keep it elsewhere to detect truncation)")
                })
                .unwrap_or_default();
            emit(
                out,
                &format!("{shown}: {} line(s), the chain is intact{keyed}{anchor}{last}.\n", verified.lines),
            )?;
            Ok(Outcome::Pass)
        }
        Err(Unverified::Broken(why)) => {
            emit(out, &format!("{shown}: tampered: {why}.\n"))?;
            Ok(Outcome::Fail)
        }
        Err(Unverified::CannotCheck(why)) => Err(Error::Usage(format!("{shown}: {why}"))),
    }
}
