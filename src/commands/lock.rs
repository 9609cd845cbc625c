//! The runtime commands: `lock` writes toolreg.lock from the registry, `verify` checks a
//! catalog against it (digests only), `guard` enforces it in front of a server.

use crate::item::Kind;
use std::io::Write;
use std::path::Path;

use super::{emit, Context};
use crate::cli::{GuardArgs, GuardMode, LockArgs, ReportFormat, VerifyArgs};
use crate::error::Error;
use crate::finding::Finding;
use crate::git::Repo;
use crate::guard::{self, Mode};
use crate::lock::{Lock, LockedServer, Mismatch, FILE_NAME};
use crate::mcp::stdio::{self, Launch};
use crate::policy::Outcome;
use crate::registry::{store, Registry};
use crate::report::{Report, Shown};
use crate::visible;

pub fn lock(args: &LockArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    if !args.check {
        ctx.recover()?;
    }
    let registry = ctx.registry()?;
    registry.ensure_sound()?;
    let path = args.output.clone().unwrap_or_else(|| registry.root.join(FILE_NAME));
    let shown = super::display_path(&path);
    let current = current_lock(&registry);
    if args.check {
        let existing = Lock::load(&path).map_err(Error::Usage)?;
        let stale = existing.stale_against(&current);
        if stale.is_empty() {
            emit(out, &format!("{shown} is up to date ({} server(s)).\n", current.servers.len()))?;
            return Ok(Outcome::Pass);
        }
        emit(out, &format!("{shown} is stale: run `toolreg lock`.\n  {}\n", stale.join("\n  ")))?;
        return Ok(Outcome::Fail);
    }
    // Never through a link: the file reported is the file written.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::Usage(format!(
            "{} is a symbolic link: toolreg lock never writes through one; remove it (or give --output \
             the real file) and run it again",
            visible::escape(&path.display().to_string())
        )));
    }
    store::atomic_write(&path, current.to_text()?.as_bytes())
        .map_err(|e| Error::Usage(format!("{shown}: {e}")))?;
    let count = |kind| current.servers.values().map(|s| s.approved(kind).len()).sum::<usize>();
    let others: usize = [Kind::Prompt, Kind::Resource, Kind::ResourceTemplate].into_iter().map(count).sum();
    emit(
        out,
        &format!(
            "Wrote {shown}: {} server(s), {} approved tool(s), {others} approved prompt(s), resource(s) and template(s).\n",
            current.servers.len(),
            count(Kind::Tool)
        ),
    )?;
    Ok(Outcome::Pass)
}

/// The lock the registry implies now, with the commit it sits on.
pub fn current_lock(registry: &Registry) -> Lock {
    let commit = Repo::discover(&registry.root).ok().and_then(|repo| repo.head_id());
    Lock::of(registry, commit)
}

pub fn verify(args: &VerifyArgs, _ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let lock = Lock::load(&args.lock).map_err(Error::Usage)?;
    let locked = locked_server(&lock, &args.server, &args.lock)?;
    let catalog = match (&args.catalog, args.live, args.command.as_slice()) {
        (Some(path), false, []) => super::load_server_catalog(path, &args.server)?,
        (None, true, []) => {
            let source = format!("the lock's entry for {}", visible::escape(&args.server));
            let fetched = super::fetch::fetch_launch(&locked.launch, None, &source, &limits(args)?)?;
            super::fetch::catalog_of(&fetched, &args.server)?
        }
        (None, false, [command, rest @ ..]) => {
            let launch = Launch { command, args: rest, env_names: &[], cwd: None };
            super::fetch::catalog_of(&stdio::fetch(&launch, &limits(args)?)?, &args.server)?
        }
        _ => {
            return Err(Error::Usage(
                "give --catalog FILE, --live, or the server's command after `--`".into(),
            ))
        }
    };
    let mismatches = crate::lock::verify(locked, &catalog)?;
    let tools = catalog.tools().count();
    let findings: Vec<Finding> = mismatches.iter().map(|m| m.finding(&args.server)).collect();
    let shown: Vec<&Finding> = findings.iter().collect();
    let passed = mismatches.is_empty();
    let text = match args.format {
        ReportFormat::Human => human(&args.server, tools, &mismatches),
        ReportFormat::Json => {
            // Names are served text: escaped, as in every JSON report (`jq -r` prints
            // nothing raw).
            let own = visible::value(&serde_json::json!({
                "server": args.server, "ok": passed, "mismatches": mismatches,
            }));
            let extra = match own {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            crate::report::json::document_with(&shown, &[], 1, tools, extra)?
        }
        format => {
            // Every difference fails verify: the lock is what the host enforces.
            let report = Report {
                command: "verify",
                findings: shown.iter().map(|finding| Shown { finding, fails: true }).collect(),
                drift: &[],
                servers: 1,
                tools,
                rules: crate::lock::RULES.to_vec(),
                passed,
            };
            super::render_report(format, &report, None)?
        }
    };
    emit(out, &text)?;
    Ok(if passed { Outcome::Pass } else { Outcome::Fail })
}

fn limits(args: &VerifyArgs) -> Result<crate::mcp::Limits, Error> {
    super::fetch::limits(&args.limits)
}

fn human(server: &str, tools: usize, mismatches: &[Mismatch]) -> String {
    let server = visible::escape(server);
    if mismatches.is_empty() {
        return format!("{server}: {tools} tool(s) match toolreg.lock.\n");
    }
    let mut out = format!("{server}: {} difference(s) from toolreg.lock\n", mismatches.len());
    for m in mismatches {
        let what = match &m.item {
            Some(name) => crate::item::ItemRef::new(m.kind, name.clone()).label(),
            None => "(server header)".to_owned(),
        };
        let digests = match (&m.locked, &m.served) {
            (Some(locked), Some(served)) => format!("locked {locked}, served {served}"),
            (None, Some(served)) => format!("served {served}, not in the lock"),
            (Some(locked), None) => format!("locked {locked}, not served"),
            (None, None) => String::new(),
        };
        out.push_str(&format!("  {:<8} {what}  {digests}\n", m.change));
    }
    out
}

pub fn guard(args: &GuardArgs, _ctx: &Context, _out: &mut dyn Write) -> Result<Outcome, Error> {
    let lock = Lock::load(&args.lock).map_err(Error::Usage)?;
    let locked = locked_server(&lock, &args.server, &args.lock)?.clone();
    let audit = match &args.audit_log {
        Some(path) => Some(crate::audit::AuditLog::open(path).map_err(|e| {
            Error::Usage(format!("--audit-log {}: {e}", visible::escape(&path.display().to_string())))
        })?),
        None => None,
    };
    let mode = match args.mode {
        GuardMode::Enforce => Mode::Enforce,
        GuardMode::Monitor => Mode::Monitor,
    };
    let code = guard::run(args.server.clone(), locked, &args.command, mode, audit, args.max_message_bytes)?;
    Ok(Outcome::Exit(u8::try_from(code).unwrap_or(1)))
}

fn locked_server<'a>(lock: &'a Lock, id: &str, path: &Path) -> Result<&'a LockedServer, Error> {
    lock.servers.get(id).ok_or_else(|| {
        let known: Vec<String> = lock.servers.keys().map(|k| visible::escape(k)).collect();
        Error::Usage(format!(
            "{} has no server {} (it has: {})",
            visible::escape(&path.display().to_string()),
            visible::escape(id),
            known.join(", ")
        ))
    })
}
