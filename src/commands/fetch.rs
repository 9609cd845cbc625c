//! `toolreg fetch`: a live catalog over MCP, written as a catalog file.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{emit, Context};
use crate::catalog::{self, Catalog};
use crate::cli::{FetchArgs, LimitArgs, SourceArgs};
use crate::error::Error;
use crate::mcp::http::{self, Endpoint};
use crate::mcp::stdio::{self, Launch};
use crate::mcp::{Fetched, Limits};
use crate::policy::Outcome;
use crate::registry::{canonical_text, inventory, Server};
use crate::visible;

pub fn run(args: &FetchArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let limits = limits(&args.limits)?;
    let registry = match &args.server {
        Some(_) => Some(ctx.registry()?),
        None => None,
    };
    let fetch_once = || -> Result<Fetched, Error> {
        match (&args.server, &args.url, args.command.as_slice()) {
            (Some(id), None, []) => match &registry {
                Some(registry) => fetch_server(registry.server(id)?, &limits),
                None => Err(Error::Usage("no registry".into())),
            },
            (None, Some(url), []) => {
                let token = bearer_token(args.token_env.as_deref(), "--token-env")?;
                Ok(http::fetch(&Endpoint { url, token: token.as_deref() }, &limits)?)
            }
            (None, None, [command, rest @ ..]) => {
                Ok(stdio::fetch(&Launch { command, args: rest, env_names: &[], cwd: None }, &limits)?)
            }
            _ => Err(Error::Usage("give a registered SERVER-ID, --url URL, or a command after `--`".into())),
        }
    };
    if let Some(times) = args.repeat {
        let mut catalogs = Vec::new();
        for _ in 0..times {
            catalogs.push(fetch_once()?.to_catalog());
        }
        let found = crate::volatile::compare(&catalogs);
        let place = args.server.as_deref().map(|id| format!("servers/{}/server.toml", visible::escape(id)));
        emit(out, &crate::report::volatile::human(&found, times, place.as_deref()))?;
        return Ok(Outcome::Pass);
    }
    let fetched = fetch_once()?;
    let text = canonical_text::to_text(&fetched.to_catalog());
    match &args.output {
        Some(path) => {
            crate::registry::store::atomic_write(path, text.as_bytes()).map_err(|e| {
                Error::Usage(format!("{}: {e}", visible::escape(&path.display().to_string())))
            })?;
            let noise = if fetched.noise > 0 {
                format!("; skipped {} non-JSON line(s) on its stdout", fetched.noise)
            } else {
                String::new()
            };
            let counts: Vec<String> =
                fetched.lists.iter().map(|l| format!("{} {}(s)", l.items.len(), l.kind)).collect();
            eprintln!(
                "fetched {} ({} era, protocol {}){noise} → {}",
                counts.join(", "),
                fetched.era,
                visible::escape(&fetched.protocol_version),
                visible::escape(&path.display().to_string())
            );
        }
        None => emit(out, &text)?,
    }
    Ok(Outcome::Pass)
}

/// Limits from the command line.
pub fn limits(args: &LimitArgs) -> Result<Limits, Error> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Error::Usage("--timeout must be a positive number of seconds".into()));
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    let defaults = Limits::default();
    Ok(Limits {
        message_bytes: args.max_message_bytes,
        pages: args.max_pages,
        items: args.max_tools,
        start_timeout: timeout,
        request_timeout: timeout,
        probe_timeout: defaults.probe_timeout.min(timeout),
        settle: defaults.settle,
    })
}

/// Fetches a registered server through the launch its inventory records.
pub fn fetch_server(server: &Server, limits: &Limits) -> Result<Fetched, Error> {
    // Relative paths in the launch are relative to the server's directory.
    let source = format!("servers/{}/server.toml", server.id);
    fetch_launch(&server.inventory.launch, Some(&server.dir), &source, limits)
}

/// Fetches what `launch` reaches: its URL over HTTP (the token from its `token_env`),
/// else its command over stdio, run in `cwd`. `source` names where the launch was
/// written (server.toml, the lock), for error messages.
pub fn fetch_launch(
    launch: &inventory::Launch,
    cwd: Option<&Path>,
    source: &str,
    limits: &Limits,
) -> Result<Fetched, Error> {
    if !launch.url.is_empty() {
        let named_by = format!("token_env in {source}");
        let token = bearer_token(Some(launch.token_env.as_str()).filter(|n| !n.is_empty()), &named_by)?;
        return Ok(http::fetch(&Endpoint { url: &launch.url, token: token.as_deref() }, limits)?);
    }
    if launch.command.is_empty() {
        return Err(Error::Usage(format!("{source} has no [launch] command")));
    }
    Ok(stdio::fetch(
        &Launch { command: &launch.command, args: &launch.args, env_names: &launch.env, cwd },
        limits,
    )?)
}

/// The catalog of a server: from `--catalog FILE`, or fetched live.
pub fn server_catalog(source: &SourceArgs, server: &Server) -> Result<Catalog, Error> {
    match (&source.catalog, source.live) {
        (Some(path), false) => super::load_server_catalog(path, &server.id),
        (None, true) => live_catalog(server),
        _ => Err(Error::Usage("give --catalog FILE or --live".into())),
    }
}

/// The catalog a registered server serves now, named by its registry id.
pub fn live_catalog(server: &Server) -> Result<Catalog, Error> {
    catalog_of(&fetch_server(server, &Limits::default())?, &server.id)
}

/// What a fetch returned, as the catalog of the server `id`.
pub fn catalog_of(fetched: &Fetched, id: &str) -> Result<Catalog, Error> {
    let text = serde_json::to_vec(&fetched.to_catalog())?;
    let mut catalogs = catalog::parse(&format!("<live {id}>"), &text, id)?;
    let mut catalog = catalogs.pop().ok_or_else(|| Error::Usage("the live catalog is empty".into()))?;
    catalog.server = id.to_owned();
    Ok(catalog)
}

/// The bearer token in the environment variable `name` names (`named_by` says where
/// the name came from). A variable that is named but unset is an error: fetching
/// without the credential would only fail later, less clearly.
fn bearer_token(name: Option<&str>, named_by: &str) -> Result<Option<String>, Error> {
    let Some(name) = name else { return Ok(None) };
    let shown = visible::escape(name);
    match std::env::var(name) {
        Ok(token) if token.is_empty() => Err(Error::Usage(format!("{shown} (from {named_by}) is empty"))),
        // Only what a header may carry; the token itself never appears in a message.
        Ok(token) if !token.bytes().all(|b| (0x21..=0x7e).contains(&b)) => Err(Error::Usage(format!(
            "{shown} (from {named_by}) holds characters a bearer token cannot have"
        ))),
        Ok(token) => Ok(Some(token)),
        Err(_) => Err(Error::Usage(format!("the environment variable {shown} (from {named_by}) is not set"))),
    }
}
