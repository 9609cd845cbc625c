//! The runtime commands: `lock` writes toolreg.lock from the registry, `verify` checks a
//! catalog against it (digests only), `guard` enforces it in front of a server.

use crate::item::Kind;
use std::io::Write;
use std::path::Path;

use super::{emit, Context};
use crate::cli::{GuardArgs, GuardMode, LockArgs, VerifyArgs};
use crate::error::Error;
use crate::finding::{Finding, Location};
use crate::git::Repo;
use crate::guard::{self, Mode};
use crate::lock::{Lock, LockedServer, FILE_NAME};
use crate::mcp::stdio::{self, Launch};
use crate::policy::{Outcome, Policy};
use crate::registry::{store, Registry};
use crate::report::{Command, Report};
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

pub fn verify(args: &VerifyArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
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
    // Every difference is a LOCK002 finding placed at the lock: the lock is what the
    // host enforces, so each fails verify.
    let at = Location { path: super::display_path(&args.lock), line: None };
    let findings: Vec<Finding> =
        mismatches.iter().map(|m| m.finding(&args.server, Some(at.clone()))).collect();
    // Names are served text: escaped, as in every JSON report (`jq -r` prints nothing raw).
    let own = visible::value(&serde_json::json!({
        "server": args.server, "ok": mismatches.is_empty(), "mismatches": mismatches,
    }));
    let report = Report {
        command: Command::Verify,
        verdict: Policy::default().judge(findings, 0),
        drift: &[],
        servers: 1,
        tools: catalog.tools().count(),
        rules: crate::lock::RULES.to_vec(),
        extra: match own {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        },
    };
    emit(out, &super::render(args.format, &report, ctx.color, None)?)?;
    Ok(if report.passed() { Outcome::Pass } else { Outcome::Fail })
}

fn limits(args: &VerifyArgs) -> Result<crate::mcp::Limits, Error> {
    super::fetch::limits(&args.limits)
}

pub fn guard(args: &GuardArgs, _ctx: &Context, _out: &mut dyn Write) -> Result<Outcome, Error> {
    let lock = Lock::load(&args.lock).map_err(Error::Usage)?;
    let locked = locked_server(&lock, &args.server, &args.lock)?.clone();
    let key = args.audit_key_file.as_deref().map(super::audit_key).transpose()?;
    let audit = match (&args.audit_log, key) {
        (Some(path), key) => Some(crate::audit::AuditLog::open(path, key).map_err(|e| {
            Error::Usage(format!("--audit-log {}: {e}", visible::escape(&path.display().to_string())))
        })?),
        // A key says a keyed log is expected: running without one is not what was meant.
        (None, Some(_)) => {
            return Err(Error::Usage(
                "an audit key (--audit-key-file or TOOLREG_AUDIT_KEY_FILE) but no --audit-log to key".into(),
            ))
        }
        (None, None) => None,
    };
    let mode = match args.mode {
        GuardMode::Enforce => Mode::Enforce,
        GuardMode::Monitor => Mode::Monitor,
    };
    if !(args.ask_timeout.is_finite() && args.ask_timeout > 0.0) {
        return Err(Error::Usage("--ask-timeout must be a positive number of seconds".into()));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(std::path::PathBuf::from);
    let cwd = std::env::current_dir().map_err(|e| Error::Usage(format!("the working directory: {e}")))?;
    let settings = guard::judge::Settings {
        server: args.server.clone(),
        limits: guard::limits::Limits::new(&locked.runtime, home, cwd),
        ask_timeout: std::time::Duration::from_secs_f64(args.ask_timeout),
    };
    let user =
        args.user.clone().or_else(|| std::env::var("USER").ok()).or_else(|| std::env::var("LOGNAME").ok());
    let session = guard::Session {
        user: user.unwrap_or_else(|| "unknown".into()),
        tenant: locked.runtime.tenant.clone(),
        registry_commit: lock.registry_commit.clone(),
    };
    let code = guard::run(locked, settings, session, &args.command, mode, audit, args.max_message_bytes)?;
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
