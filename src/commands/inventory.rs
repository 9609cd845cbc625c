//! `toolreg inventory`: the registry as the table a security team asks for, one row
//! per server, from `server.toml` and the pins.

use std::io::Write;

use serde::Serialize;

use super::{emit, Context};
use crate::cli::{InventoryArgs, InventoryFormat};
use crate::error::Error;
use crate::item::Kind;
use crate::policy::Outcome;
use crate::registry::{Registry, Server};
use crate::visible;

/// One server's row. Every string is made visible.
#[derive(Debug, Serialize)]
pub struct Row {
    pub server: String,
    pub owner: String,
    pub approvers: Vec<String>,
    pub repository: String,
    pub support: String,
    pub transport: String,
    /// How it runs: the runner or executable (`npx`, `uvx`, `docker`, `node`), or `remote`.
    pub runtime: String,
    pub hosting: String,
    pub sandbox: String,
    pub tools: usize,
    pub prompts: usize,
    pub resources: usize,
    #[serde(rename = "resourceTemplates")]
    pub resource_templates: usize,
    #[serde(rename = "dataClasses")]
    pub data_classes: Vec<String>,
    /// The scopes server.toml declares (`oauth-scopes`).
    #[serde(rename = "oauthScopes")]
    pub oauth_scopes: Vec<String>,
    /// The scopes the approved auth item says the server asks for; `undeclared`
    /// those server.toml does not declare (what `check` fails on).
    #[serde(rename = "advertisedScopes")]
    pub advertised_scopes: Vec<String>,
    #[serde(rename = "undeclaredScopes")]
    pub undeclared_scopes: Vec<String>,
    /// Whether its registered launch runs it behind `toolreg guard`, with an audit log.
    pub telemetry: String,
    pub status: String,
    #[serde(rename = "lastReview")]
    pub last_review: Option<String>,
    #[serde(rename = "lastReviewer")]
    pub last_reviewer: Option<String>,
}

pub fn run(args: &InventoryArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let registry = ctx.registry()?;
    let rows = rows(&registry);
    let text = match args.format {
        InventoryFormat::Json => {
            #[derive(Serialize)]
            struct Doc<'a> {
                version: u32,
                servers: &'a [Row],
            }
            let mut text = serde_json::to_string_pretty(&Doc { version: 1, servers: &rows })?;
            text.push('\n');
            text
        }
        InventoryFormat::Markdown => crate::report::inventory::markdown(&rows),
        InventoryFormat::Csv => crate::report::inventory::csv(&rows),
        InventoryFormat::Human => crate::report::inventory::human(&rows),
    };
    emit(out, &text)?;
    Ok(Outcome::Pass)
}

/// Every server's row, in id order.
pub fn rows(registry: &Registry) -> Vec<Row> {
    registry.servers.values().map(row).collect()
}

fn row(server: &Server) -> Row {
    let inventory = &server.inventory;
    let launch = &inventory.launch;
    let escape = |s: &str| visible::escape(s);
    let count = |kind: Kind| server.of_kind(kind).count();
    let auth = server.items.get(&crate::item::ItemRef::new(Kind::Auth, crate::oauth::ITEM_NAME));
    let advertised: Vec<&str> = auth
        .map(|pin| crate::oauth::View(&pin.value).advertised_scopes())
        .unwrap_or_default()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let last = server
        .header
        .iter()
        .chain(server.items.values())
        .flat_map(|pin| pin.reviews.iter())
        .max_by(|a, b| a.at.cmp(&b.at));
    Row {
        server: escape(&server.id),
        owner: escape(&inventory.owner),
        approvers: inventory.approvers.iter().map(|a| escape(a)).collect(),
        repository: escape(&inventory.repository),
        support: escape(&inventory.support),
        transport: escape(&inventory.transport),
        runtime: runtime(launch),
        hosting: escape(&inventory.hosting),
        sandbox: escape(&inventory.sandbox),
        tools: count(Kind::Tool),
        prompts: count(Kind::Prompt),
        resources: count(Kind::Resource),
        resource_templates: count(Kind::ResourceTemplate),
        data_classes: inventory.data_classes.iter().map(|c| escape(c)).collect(),
        oauth_scopes: inventory.oauth_scopes.iter().map(|c| escape(c)).collect(),
        advertised_scopes: advertised.iter().map(|s| escape(s)).collect(),
        undeclared_scopes: advertised
            .iter()
            .filter(|s| !inventory.oauth_scopes.iter().any(|d| d == *s))
            .map(|s| escape(s))
            .collect(),
        telemetry: telemetry(launch).to_owned(),
        status: if inventory.status.is_empty() { "active".to_owned() } else { escape(&inventory.status) },
        last_review: last.map(|r| escape(&r.at)),
        last_reviewer: last.map(|r| escape(&r.by)),
    }
}

fn basename(command: &str) -> &str {
    command.rsplit(['/', '\\']).next().unwrap_or(command)
}

/// What runs the server: the runner or executable, or `remote` for a URL.
fn runtime(launch: &crate::registry::inventory::Launch) -> String {
    if launch.command.is_empty() {
        return if launch.url.is_empty() { String::new() } else { "remote".to_owned() };
    }
    // Behind guard, what guard starts is the runtime.
    let words: Vec<&str> =
        std::iter::once(launch.command.as_str()).chain(launch.args.iter().map(String::as_str)).collect();
    let inner = match words.iter().position(|w| *w == "--") {
        Some(i) if basename(words[0]).starts_with("toolreg") => words.get(i + 1).copied(),
        _ => None,
    };
    visible::escape(basename(inner.unwrap_or(&launch.command)))
}

/// `guard, audit log` when the registered launch runs the server behind `toolreg
/// guard` with `--audit-log`; `guard` without one; else `none`.
fn telemetry(launch: &crate::registry::inventory::Launch) -> &'static str {
    let guarded =
        basename(&launch.command).starts_with("toolreg") && launch.args.first().is_some_and(|a| a == "guard");
    match (guarded, launch.args.iter().any(|a| a == "--audit-log" || a.starts_with("--audit-log="))) {
        (true, true) => "guard, audit log",
        (true, false) => "guard",
        _ => "none",
    }
}

/// `toolreg export --client`: the approved servers as that client's configuration.
pub fn export(args: &crate::cli::ExportArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    use crate::clients::exchange::{self, Client};
    let registry = ctx.registry()?;
    registry.ensure_sound()?;
    let client = match args.client {
        crate::cli::ExportClient::ClaudeCode => Client::ClaudeCode,
        crate::cli::ExportClient::Vscode => Client::VsCode,
        crate::cli::ExportClient::Codex => Client::Codex,
        crate::cli::ExportClient::Allowlist => Client::Allowlist,
    };
    let text = exchange::export(&registry, client).map_err(Error::Usage)?;
    match &args.output {
        Some(path) => {
            let file = tempfile::NamedTempFile::new_in(
                path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new(".")),
            )?;
            std::fs::write(file.path(), &text)?;
            file.persist(path).map_err(|e| Error::Output(e.error))?;
            emit(out, &format!("Wrote {}.\n", visible::escape(&path.display().to_string())))?;
        }
        None => emit(out, &text)?,
    }
    Ok(Outcome::Pass)
}
