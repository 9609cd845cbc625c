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
    let (imported, imported_repository) = imported_launch(args, ctx)?;
    let launch =
        match (imported, &args.url, args.command.as_slice()) {
            (Some(launch), _, _) => launch,
            (None, Some(url), []) => Launch {
                url: url.clone(),
                token_env: args.token_env.clone().unwrap_or_default(),
                ..Launch::default()
            },
            (None, None, [command, rest @ ..]) => Launch {
                command: command.clone(),
                args: rest.to_vec(),
                env: args.env.clone(),
                ..Launch::default()
            },
            _ => return Err(Error::Usage(
                "give the server's --url URL, its command after `--`, --from-config or --from-server-json"
                    .into(),
            )),
        };
    for name in args.env.iter().chain(&args.token_env).chain(&launch.env) {
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
        repository: args.repository.clone().or(imported_repository).unwrap_or_default(),
        support: args.support.clone().unwrap_or_default(),
        transport: if launch.url.is_empty() { "stdio".into() } else { "http".into() },
        hosting: args.hosting.clone().unwrap_or_default(),
        sandbox: args.sandbox.clone().unwrap_or_default(),
        data_classes: args.data_classes.clone(),
        oauth_scopes: args.scopes.clone(),
        status: args.status.clone(),
        launch,
        runtime: Default::default(),
        digest: Default::default(),
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

/// The launch `--from-config` or `--from-server-json` gives, and the repository a
/// `server.json` names. An argument holding a credential written in plain text is
/// refused: server.toml is committed and read by everyone.
fn imported_launch(args: &AddArgs, ctx: &Context) -> Result<(Option<Launch>, Option<String>), Error> {
    use crate::clients::exchange;
    let shown = |p: &str| visible::escape(p);
    let (launch, repository) = if let Some(spec) = &args.from_config {
        let (file, name) = match spec.rsplit_once('#') {
            Some((file, name)) if !std::path::Path::new(spec).is_file() => (file, Some(name)),
            _ => (spec.as_str(), None),
        };
        let entry = exchange::entry_from_config(std::path::Path::new(file), name)
            .map_err(|why| Error::Usage(format!("--from-config {}: {why}", shown(spec))))?;
        (exchange::launch_of(&entry), None)
    } else if let Some(path) = &args.from_server_json {
        let bytes = crate::catalog::read_input(&path.display().to_string())?;
        let document: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Usage(format!("--from-server-json {}: {e}", shown(&path.display().to_string())))
        })?;
        let imported = exchange::from_server_json(&document).map_err(|why| {
            Error::Usage(format!("--from-server-json {}: {why}", shown(&path.display().to_string())))
        })?;
        (imported.launch, imported.repository)
    } else {
        return Ok((None, None));
    };
    let detectors = ctx.detectors(&[])?;
    for arg in &launch.args {
        let found = detectors.scan_text(
            &args.id,
            "/launch/args",
            crate::fields::FieldKind::LaunchValue,
            arg,
            &crate::finding::Nowhere,
        );
        if found.iter().any(|f| f.evidence.contains("redacted\u{27E9}")) {
            return Err(Error::Usage(format!(
                "an argument of that launch holds a credential written in plain text ({}): \
                 pass it through a variable, then import it",
                found.first().map(|f| f.evidence.as_str()).unwrap_or_default()
            )));
        }
    }
    Ok((Some(launch), repository))
}
