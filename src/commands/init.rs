//! `toolreg init` and `toolreg add`: a new registry, and a new server in it.

use std::io::Write;
use std::path::Path;

use super::{emit, reviewer, Context};
use crate::cli::{AddArgs, InitArgs};
use crate::error::Error;
use crate::git::{self, Repo};
use crate::policy::Outcome;
use crate::registry::inventory::{self, Inventory, Launch};
use crate::registry::store::Changes;
use crate::registry::{canonical_text, Blocked, CONFIG_FILE};
use crate::visible;

/// The commented `toolreg.toml` a new registry starts with.
pub const TEMPLATE: &str = include_str!("toolreg.toml.template");

pub fn init(args: &InitArgs, _ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let dir = git::absolute(&args.dir);
    if dir.join(CONFIG_FILE).exists() {
        return Err(Error::Usage(format!(
            "{} is already a registry",
            visible::escape(&dir.display().to_string())
        )));
    }
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(Path::new("/"));
    let repo = match Repo::discover(existing) {
        Ok(repo) => repo,
        Err(_) => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
            Repo::init(&dir)?
        }
    };
    let by = reviewer(args.reviewer.reviewer.as_deref(), &repo)?;
    let blocked = serde_json::to_value(Blocked::default())?;
    let mut changes = Changes::default();
    changes.write(dir.join(CONFIG_FILE), TEMPLATE.to_owned());
    changes.write(dir.join("blocked.json"), canonical_text::to_text(&blocked));
    let commit = changes.commit(&repo, &by, "init: toolreg registry")?;
    emit(
        out,
        &format!(
            "Created the registry {} (commit {}).\nNext: toolreg add SERVER-ID --owner TEAM -- COMMAND ARGS…\n",
            visible::escape(&dir.display().to_string()),
            commit.get(..12).unwrap_or(&commit)
        ),
    )?;
    Ok(Outcome::Pass)
}

pub fn add(args: &AddArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    ctx.recover()?;
    let registry = ctx.registry()?;
    inventory::check_server_id(&args.id).map_err(Error::Usage)?;
    if registry.servers.contains_key(&args.id) || registry.root.join("servers").join(&args.id).exists() {
        return Err(Error::Usage(format!("the server {} is already registered", args.id)));
    }
    let launch = match (&args.url, args.command.as_slice()) {
        (Some(url), []) => Launch {
            url: url.clone(),
            token_env: args.token_env.clone().unwrap_or_default(),
            ..Launch::default()
        },
        (None, [command, rest @ ..]) => Launch {
            command: command.clone(),
            args: rest.to_vec(),
            env: args.env.clone(),
            ..Launch::default()
        },
        _ => return Err(Error::Usage("give the server's --url URL, or its command after `--`".into())),
    };
    for name in args.env.iter().chain(&args.token_env) {
        let valid = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(Error::Usage(format!(
                "{:?} is not an environment variable name; list names only, never values",
                visible::escape(name)
            )));
        }
    }
    for approver in &args.approvers {
        if git::split_identity(approver).is_none() {
            return Err(Error::Usage(format!(
                "approver {:?} is not `Name <email>`",
                visible::escape(approver)
            )));
        }
    }
    let inventory = Inventory {
        owner: args.owner.clone().unwrap_or_default(),
        approvers: args.approvers.clone(),
        repository: args.repository.clone().unwrap_or_default(),
        support: args.support.clone().unwrap_or_default(),
        transport: if launch.url.is_empty() { "stdio".into() } else { "http".into() },
        hosting: args.hosting.clone().unwrap_or_default(),
        sandbox: args.sandbox.clone().unwrap_or_default(),
        data_classes: args.data_classes.clone(),
        oauth_scopes: args.scopes.clone(),
        status: args.status.clone(),
        launch,
    };
    let missing = inventory.missing(&registry.config.registry.required_fields);
    if !missing.is_empty() {
        let flags: Vec<&str> = missing
            .iter()
            .map(|f| match *f {
                "approvers" => "--approver",
                "data-classes" => "--data-class",
                "oauth-scopes" => "--scope",
                "launch" | "transport" => "--url or -- CMD",
                "owner" => "--owner",
                "repository" => "--repository",
                "support" => "--support",
                "hosting" => "--hosting",
                "sandbox" => "--sandbox",
                _ => "--status",
            })
            .collect();
        return Err(Error::Usage(format!(
            "toolreg.toml requires {} for every server: give {}",
            missing.join(", "),
            flags.join(", ")
        )));
    }
    let repo = Repo::discover(&registry.root)?;
    let by = reviewer(args.reviewer.reviewer.as_deref(), &repo)?;
    let path = registry.root.join("servers").join(&args.id).join("server.toml");
    let mut changes = Changes::default();
    changes.write(path.clone(), inventory.to_toml(&args.id).map_err(Error::Usage)?);
    let commit = changes.commit(&repo, &by, &format!("add({}): register server", args.id))?;
    emit(
        out,
        &format!(
            "Registered {} in {} (commit {}).\nNext: toolreg review {} --catalog CATALOG.json\n",
            args.id,
            visible::escape(&path.display().to_string()),
            commit.get(..12).unwrap_or(&commit),
            args.id
        ),
    )?;
    Ok(Outcome::Pass)
}
