//! `toolreg discover`: the MCP servers configured in clients on this machine and in
//! this project, each matched against the registry and its launch judged.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{emit, Context};
use crate::cli::DiscoverArgs;
use crate::clients::standing::{self, Standing};
use crate::clients::{self, Entry};
use crate::detect::Detectors;
use crate::error::Error;
use crate::fields::FieldKind;
use crate::finding::{Finding, Locate, Location, Severity};
use crate::item::ItemRef;
use crate::policy::{Outcome, Policy};
use crate::registry::Registry;
use crate::report::{Command, Report};
use crate::visible;

pub fn run(args: &DiscoverArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let template = super::read_template(&args.output)?;
    for (flag, dir) in [("--home", &args.home), ("--project", &args.project), ("--root", &args.root)] {
        if let Some(dir) = dir.as_deref().filter(|d| !d.is_dir()) {
            return Err(Error::Usage(format!(
                "{flag} {}: not a directory",
                visible::escape(&dir.display().to_string())
            )));
        }
    }
    let home = if args.no_home { None } else { args.home.clone().or_else(home_dir) };
    let project = args.project.clone().or_else(default_project);
    let places = clients::Places { home, project, root: args.root.clone() };
    let found = clients::discover(&places);
    refuse_unreadable(&found.unreadable)?;
    // The registry, when there is one: without it nothing can be classified.
    let registry = match ctx.registry_root() {
        Ok(_) => Some(ctx.registry()?),
        Err(_) => None,
    };
    let detectors = match &registry {
        Some(registry) => ctx.registry_detectors(registry)?,
        None => ctx.detectors(&[])?,
    };
    let judged = judge(&found.entries, registry.as_ref(), &detectors);
    let config = registry.as_ref().map_or(&ctx.config, |r| &r.config);
    let policy = Policy {
        min_severity: config.min_severity.unwrap_or(Severity::Low),
        fail_on: args.fail_on.or(config.fail_on).unwrap_or(Severity::High),
    };
    let mut extra = serde_json::Map::new();
    extra.insert("servers".into(), Value::Array(judged.servers));
    let report = Report {
        command: Command::Discover,
        verdict: policy.judge(judged.findings, 0),
        drift: &[],
        servers: found.entries.len(),
        tools: 0,
        rules: detectors.all_rules(),
        extra,
    };
    emit(out, &super::render(args.output.format, &report, ctx.color, template.as_deref())?)?;
    Ok(super::outcome(report.passed(), &args.output))
}

/// A folder that cannot be read, or a configuration that does not parse, is "could not
/// check": every one is named.
pub fn refuse_unreadable(unreadable: &[(PathBuf, String)]) -> Result<(), Error> {
    if unreadable.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = unreadable
        .iter()
        .map(|(path, why)| format!("{}: {}", super::display_path(path), visible::escape(why)))
        .collect();
    Err(Error::Usage(format!("could not read client configuration(s): {}", named.join("; "))))
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from)
}

/// The git repository around the working directory, else the working directory.
fn default_project() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    Some(crate::git::Repo::discover(&cwd).map(|r| r.workdir().to_path_buf()).unwrap_or(cwd))
}

/// What judging configured servers gives: findings, and each server as reports list it.
pub struct Judged {
    pub findings: Vec<Finding>,
    pub servers: Vec<Value>,
}

/// Each entry's standing in `registry` (when there is one) and its launch judged by
/// the launch and secret rules. Findings are placed at the entry's file and line.
pub fn judge(entries: &[Entry], registry: Option<&Registry>, detectors: &Detectors) -> Judged {
    let mut texts: HashMap<PathBuf, String> = HashMap::new();
    let mut judged = Judged { findings: Vec::new(), servers: Vec::new() };
    for entry in entries {
        let text = texts
            .entry(entry.file.clone())
            .or_insert_with(|| std::fs::read_to_string(&entry.file).unwrap_or_default());
        let at = At(Location { path: super::display_path(&entry.file), line: line_of(text, &entry.name) });
        let standing = registry.map(|r| standing::standing(entry, r));
        if let Some(finding) = standing.as_ref().and_then(|s| standing_finding(entry, s, &at)) {
            judged.findings.push(finding);
        }
        let line = entry.launch.line();
        judged.findings.extend(detectors.scan_text(
            &entry.name,
            &entry.pointer,
            FieldKind::Launch,
            &line,
            &at,
        ));
        for (pointer, value) in &entry.values {
            judged.findings.extend(detectors.scan_text(
                &entry.name,
                pointer,
                FieldKind::LaunchValue,
                value,
                &at,
            ));
        }
        judged.servers.push(listing(entry, standing.as_ref(), &at, detectors));
    }
    judged
}

/// The launch and secret rules over every registered server's `server.toml` launch,
/// placed at that file.
pub fn registered_launches(registry: &Registry, detectors: &Detectors) -> Vec<Finding> {
    let mut findings = Vec::new();
    for server in registry.servers.values().filter(|s| s.inventory.is_active()) {
        let launch = &server.inventory.launch;
        let line = if launch.command.is_empty() {
            launch.url.clone()
        } else {
            std::iter::once(launch.command.as_str())
                .chain(launch.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if line.is_empty() {
            continue;
        }
        let path = server.dir.join("server.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let line_number = text.lines().position(|l| l.trim_start().starts_with("[launch]")).map(|i| i + 1);
        let at = At(Location { path: super::display_path(&path), line: line_number });
        findings.extend(detectors.scan_text(&server.id, "/launch", FieldKind::Launch, &line, &at));
    }
    findings
}

/// The finding for a standing other than `registered`.
fn standing_finding(entry: &Entry, standing: &Standing, at: &At) -> Option<Finding> {
    let whose = format!("{} ({} configuration)", entry.client, scope_name(entry));
    let (rule, message) = match standing {
        Standing::Registered { .. } => return None,
        Standing::Shadow => {
            (&standing::SHADOW, format!("{whose} launches a server the registry does not know"))
        }
        Standing::Differs { server, why } => (
            &standing::DIFFERS,
            format!("{whose} launches the registered server {} with {}", visible::escape(server), why),
        ),
        Standing::Disabled { server, status } => (
            &standing::DISABLED,
            format!("{whose} launches {}, which the registry marks {status}", visible::escape(server)),
        ),
    };
    let evidence = format!("{}#{}", at.0.path, entry.pointer);
    Some(
        Finding::of(rule)
            .about(&entry.name, None)
            .pointer(&entry.pointer)
            .message(message)
            .evidence(&evidence)
            .at(Some(at.0.clone()))
            .build(),
    )
}

fn scope_name(entry: &Entry) -> &'static str {
    match entry.scope {
        clients::Scope::User => "user",
        clients::Scope::Project => "project",
        clients::Scope::Managed => "managed",
    }
}

/// One server as reports list it: where, how it starts (arguments holding a secret
/// masked), its standing. Every string made visible.
fn listing(entry: &Entry, standing: Option<&Standing>, at: &At, detectors: &Detectors) -> Value {
    let masked = |text: &str| -> String {
        let secret = detectors
            .scan_text(&entry.name, "", FieldKind::LaunchValue, text, &crate::finding::Nowhere)
            .iter()
            .any(|f| f.evidence.contains("redacted\u{27E9}"));
        if secret {
            let kept: String = text.chars().take(4).collect();
            format!("{kept}\u{27E8}{} characters redacted\u{27E9}", text.chars().count().saturating_sub(4))
        } else {
            text.to_owned()
        }
    };
    let launch = &entry.launch;
    let mut value = json!({
        "client": entry.client,
        "scope": entry.scope,
        "file": at.0.path,
        "line": at.0.line,
        "pointer": entry.pointer,
        "name": entry.name,
        "transport": launch.transport,
        "command": launch.command.as_deref().map(masked),
        "args": launch.args.iter().map(|a| masked(a)).collect::<Vec<_>>(),
        "url": launch.url.as_deref().map(masked),
        "env": launch.env,
        "headers": launch.headers,
        "disabled": entry.disabled,
        "standing": standing.map(Standing::name),
    });
    if let Some(
        Standing::Registered { server }
        | Standing::Differs { server, .. }
        | Standing::Disabled { server, .. },
    ) = standing
    {
        value["registered"] = json!(server);
    }
    visible::value(&value)
}

/// The 1-based line where the entry named `name` starts, as near as the text tells.
fn line_of(text: &str, name: &str) -> Option<usize> {
    let quoted = format!("\"{name}\"");
    let yaml_key = format!("{name}:");
    let yaml_item = format!("name: {name}");
    let toml_table = format!(".{name}]");
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            l.contains(&quoted)
                || t.starts_with(&yaml_key)
                || t.starts_with(&yaml_item)
                || l.contains(&toml_table)
        })
        .map(|i| i + 1)
}

/// Every finding on one entry is at the entry.
struct At(Location);

impl Locate for At {
    fn field(&self, _: &str, _: Option<&ItemRef>, _: &str) -> Option<Location> {
        Some(self.0.clone())
    }
    fn pin(&self, _: &str, _: Option<&ItemRef>) -> Option<Location> {
        Some(self.0.clone())
    }
    fn config(&self, _: &str) -> Option<Location> {
        Some(self.0.clone())
    }
    fn file(&self, _: &Path, _: Option<usize>) -> Option<Location> {
        Some(self.0.clone())
    }
}
