//! A configured server against the registry: `registered` (the same launch as a
//! registered server), `differs` (the same name or package launched another way),
//! `disabled` (the registry retired or disabled it) or `shadow` (unknown), each but
//! the first a change-control finding.

use serde::Serialize;

use super::{Entry, Launch};
use crate::finding::{Rule, RuleClass, Severity};
use crate::registry::{Registry, Server};

pub const SHADOW: Rule = Rule {
    id: "INV001",
    name: "shadow-server",
    title: "A client configuration launches an MCP server the registry does not know",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "A server configured in a client but not registered has had no review: its tools reach the \
           model unchecked. Register it (`toolreg add ID --from-config FILE#NAME` or `toolreg add`), \
           review its catalog, or remove it from the configuration.",
};

pub const DIFFERS: Rule = Rule {
    id: "INV002",
    name: "launch-differs",
    title: "A configured server is launched differently from its registration",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "The configuration starts a registered server with another command, version, argument, URL \
           or environment than server.toml records: what runs is not what was reviewed. Make the \
           configuration match the registration, or update the registration through review.",
};

pub const DISABLED: Rule = Rule {
    id: "INV003",
    name: "disabled-server-configured",
    title: "A client configuration launches a server the registry disabled or retired",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "server.toml marks this server `disabled` or `retired`: remove it from the client configuration.",
};

pub static RULES: [&Rule; 3] = [&SHADOW, &DIFFERS, &DISABLED];

/// Where a configured server stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "standing", rename_all = "lowercase")]
pub enum Standing {
    Registered { server: String },
    Differs { server: String, why: String },
    Disabled { server: String, status: String },
    Shadow,
}

impl Standing {
    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Standing::Registered { .. } => "registered",
            Standing::Differs { .. } => "differs",
            Standing::Disabled { .. } => "disabled",
            Standing::Shadow => "shadow",
        }
    }
}

/// Where `entry` stands in `registry`.
pub fn standing(entry: &Entry, registry: &Registry) -> Standing {
    let slug = slug(&entry.name);
    let identity = package(&entry.launch);
    let candidates: Vec<&Server> = registry
        .servers
        .values()
        .filter(|s| {
            s.id == slug
                || (identity.is_some() && identity == package(&registered_launch(&s.inventory.launch)))
        })
        .collect();
    if candidates.is_empty() {
        return Standing::Shadow;
    }
    for server in &candidates {
        let status = server.inventory.status.as_str();
        if matches!(status, "disabled" | "retired") {
            return Standing::Disabled { server: server.id.clone(), status: status.to_owned() };
        }
    }
    for server in &candidates {
        if differences(&entry.launch, &registered_launch(&server.inventory.launch)).is_empty() {
            return Standing::Registered { server: server.id.clone() };
        }
    }
    let server = candidates[0];
    let why = differences(&entry.launch, &registered_launch(&server.inventory.launch)).join(", ");
    Standing::Differs { server: server.id.clone(), why }
}

/// A registration's launch in the shape of a configured one.
fn registered_launch(launch: &crate::registry::inventory::Launch) -> Launch {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let mut env = launch.env.clone();
    env.sort();
    Launch {
        transport: if launch.command.is_empty() { super::Transport::Http } else { super::Transport::Stdio },
        command: some(&launch.command),
        args: launch.args.clone(),
        url: some(&launch.url),
        env,
        headers: if launch.token_env.is_empty() { Vec::new() } else { vec!["Authorization".into()] },
        extras: Vec::new(),
    }
}

/// What differs between a configured launch and a registered one (empty: the same
/// launch identity). Header names are compared only when the registration records
/// one (its token).
fn differences(found: &Launch, registered: &Launch) -> Vec<String> {
    let mut out = Vec::new();
    if found.command != registered.command {
        out.push("another command".to_owned());
    } else if found.args != registered.args {
        let version = package(found) != package(registered) || versions(found) != versions(registered);
        out.push(if version { "another package or version" } else { "other arguments" }.to_owned());
    }
    if found.url != registered.url {
        out.push("another URL".to_owned());
    }
    if found.env != registered.env {
        out.push("other environment variables".to_owned());
    }
    if !registered.headers.is_empty() && found.headers != registered.headers {
        out.push("other headers".to_owned());
    }
    if !found.extras.is_empty() {
        out.push(format!("settings a registration cannot record ({})", found.extras.join(", ")));
    }
    out
}

/// A server id from a client's name for it: lowercase, runs of other characters as `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// Runners whose first operand names a package: the package is the identity.
const RUNNERS: [&str; 8] = ["npx", "bunx", "uvx", "pipx", "docker", "podman", "pnpm", "yarn"];

/// The package (or image, or remote endpoint) a launch starts, without its version:
/// what names a server across versions.
pub fn package(launch: &Launch) -> Option<String> {
    if let Some(url) = &launch.url {
        let url = url.split(['?', '#']).next().unwrap_or(url);
        return Some(url.trim_end_matches('/').to_ascii_lowercase());
    }
    let command = launch.command.as_deref()?;
    let base = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let base = base.trim_end_matches(".cmd").trim_end_matches(".exe");
    if !RUNNERS.contains(&base) {
        // An interpreter alone (`node`, `python`) names nothing: its script does.
        let script = launch.args.iter().find(|a| !a.starts_with('-'));
        return Some(script.map_or_else(|| command.to_owned(), |s| format!("{command} {s}")));
    }
    let operand = launch
        .args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .find(|a| !matches!(a.as_str(), "run" | "dlx" | "exec"))?;
    Some(strip_version(operand).to_owned())
}

/// The versions named in a launch's arguments (to tell "another version" apart).
fn versions(launch: &Launch) -> Vec<String> {
    launch.args.iter().filter(|a| strip_version(a).len() != a.len()).cloned().collect()
}

/// `pkg@1.2.3` → `pkg`, `@scope/pkg@1` → `@scope/pkg`, `pkg==1.0` → `pkg`,
/// `image:tag` / `image@sha256:…` → `image`.
fn strip_version(operand: &str) -> &str {
    let operand = operand.split("==").next().unwrap_or(operand);
    let at = operand.char_indices().skip(1).find(|(_, c)| *c == '@').map(|(i, _)| i);
    let operand = match at {
        Some(i) => &operand[..i],
        None => operand,
    };
    // An image tag follows the last `:` after the last `/` (a registry port does not).
    match operand.rfind(':') {
        Some(i) if !operand[i..].contains('/') => &operand[..i],
        _ => operand,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Transport;

    fn stdio(command: &str, args: &[&str]) -> Launch {
        Launch {
            transport: Transport::Stdio,
            command: Some(command.into()),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            url: None,
            env: vec![],
            headers: vec![],
            extras: vec![],
        }
    }

    #[test]
    fn packages_name_servers_across_versions() {
        assert_eq!(package(&stdio("npx", &["-y", "@scope/pkg@1.2.3"])).as_deref(), Some("@scope/pkg"));
        assert_eq!(package(&stdio("uvx", &["mcp-server-time==1.0"])).as_deref(), Some("mcp-server-time"));
        assert_eq!(
            package(&stdio("docker", &["run", "-i", "ghcr.io/a/b:1.0"])).as_deref(),
            Some("ghcr.io/a/b")
        );
        assert_eq!(
            package(&stdio("docker", &["run", "-i", "localhost:5000/b"])).as_deref(),
            Some("localhost:5000/b")
        );
        assert_eq!(package(&stdio("node", &["server.js"])).as_deref(), Some("node server.js"));
        assert_eq!(package(&stdio("/usr/bin/srv", &[])).as_deref(), Some("/usr/bin/srv"));
        assert_eq!(slug("Brave Search"), "brave-search");
    }

    #[test]
    fn differences_are_named() {
        let registered = stdio("npx", &["-y", "pkg@1.0.0"]);
        assert!(differences(&registered, &registered).is_empty());
        assert_eq!(
            differences(&stdio("npx", &["-y", "pkg@2.0.0"]), &registered),
            ["another package or version"]
        );
        assert_eq!(differences(&stdio("npx", &["-y", "pkg@1.0.0", "--x"]), &registered), ["other arguments"]);
        assert_eq!(differences(&stdio("node", &[]), &registered), ["another command"]);
    }
}
