//! Launches in and out of the registry: a client configuration's entry or an official
//! MCP Registry `server.json` as a registration's launch (`toolreg add --from-config`,
//! `--from-server-json`), and the approved servers as a client's own configuration
//! (`toolreg export --client`), so the client itself starts nothing else.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::{read, Entry, FILES};
use crate::registry::inventory::Launch;
use crate::registry::{PinState, Registry};

/// The entry `name` (or the only one) of the client configuration `file`, read in the
/// shape its file name tells (any client's, when the name is not one of theirs).
pub fn entry_from_config(file: &Path, name: Option<&str>) -> Result<Entry, String> {
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let fits = |pattern: &str| {
        let last = pattern.rsplit('/').next().unwrap_or(pattern);
        match last.strip_prefix('*') {
            Some(suffix) => file_name.ends_with(suffix),
            None => last == file_name,
        }
    };
    let mut specs: Vec<_> = FILES.iter().filter(|s| fits(s.path)).collect();
    if specs.is_empty() {
        specs = FILES.iter().collect();
    }
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    for spec in specs {
        match read(spec, file) {
            Ok(found) if !found.is_empty() => {
                entries = found;
                break;
            }
            Ok(_) => {}
            Err(why) => errors.push(why),
        }
    }
    if entries.is_empty() {
        return Err(match errors.first() {
            Some(why) => why.clone(),
            None => "it configures no MCP server".to_owned(),
        });
    }
    let names: Vec<String> = entries.iter().map(|e| crate::visible::escape(&e.name)).collect();
    match name {
        Some(name) => entries.into_iter().find(|e| e.name == name).ok_or_else(|| {
            format!("no server {} in it (it has: {})", crate::visible::escape(name), names.join(", "))
        }),
        None if entries.len() == 1 => Ok(entries.remove(0)),
        None => Err(format!(
            "it configures {} servers: name one as FILE#NAME ({})",
            entries.len(),
            names.join(", ")
        )),
    }
}

/// A client entry as a registration's launch: argv or URL, env names (never values).
pub fn launch_of(entry: &Entry) -> Launch {
    Launch {
        command: entry.launch.command.clone().unwrap_or_default(),
        args: entry.launch.args.clone(),
        env: entry.launch.env.clone(),
        url: entry.launch.url.clone().unwrap_or_default(),
        token_env: String::new(),
    }
}

/// What a `server.json` gives a registration.
#[derive(Debug)]
pub struct Imported {
    pub launch: Launch,
    pub repository: Option<String>,
}

/// An official MCP Registry `server.json` (schema 2025-12-11) as a launch: its first
/// package (npm → `npx`, pypi → `uvx`, oci → `docker run`, nuget → `dnx`) at its exact
/// version, else its first remote. Arguments and `{variables}` are kept as written.
pub fn from_server_json(document: &Value) -> Result<Imported, String> {
    let repository = document.pointer("/repository/url").and_then(Value::as_str).map(str::to_owned);
    let packages = document.get("packages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if let Some(package) = packages.first() {
        return Ok(Imported { launch: package_launch(package)?, repository });
    }
    let remote = document
        .get("remotes")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .ok_or("it has neither packages nor remotes")?;
    let url = remote.get("url").and_then(Value::as_str).ok_or("its remote has no url")?;
    Ok(Imported { launch: Launch { url: url.to_owned(), ..Launch::default() }, repository })
}

fn package_launch(package: &Value) -> Result<Launch, String> {
    let field = |key: &str| package.get(key).and_then(Value::as_str);
    let kind = field("registryType").ok_or("a package without registryType")?;
    let identifier = field("identifier").ok_or("a package without identifier")?;
    let version = field("version").filter(|v| !v.is_empty() && *v != "latest").ok_or(
        "a package without an exact version (the registry requires one; \"latest\" is not a version)",
    )?;
    let runtime_args = arguments(package.get("runtimeArguments"));
    let package_args = arguments(package.get("packageArguments"));
    let (command, mut args) = match kind {
        "npm" => (field("runtimeHint").unwrap_or("npx"), vec!["-y".to_owned()]),
        "pypi" => (field("runtimeHint").unwrap_or("uvx"), Vec::new()),
        "oci" => ("docker", vec!["run".to_owned(), "-i".to_owned(), "--rm".to_owned()]),
        "nuget" => (field("runtimeHint").unwrap_or("dnx"), Vec::new()),
        other => {
            return Err(format!(
                "packages of registryType {:?} are not supported",
                crate::visible::escape(other)
            ))
        }
    };
    for arg in runtime_args {
        if !args.contains(&arg) {
            args.push(arg);
        }
    }
    args.push(match kind {
        "pypi" => format!("{identifier}=={version}"),
        "oci"
            if identifier.rsplit('/').next().is_some_and(|last| last.contains(':') || last.contains('@')) =>
        {
            identifier.to_owned()
        }
        "oci" => format!("{identifier}:{version}"),
        _ => format!("{identifier}@{version}"),
    });
    if kind == "nuget" {
        args.push("--yes".to_owned());
    }
    args.extend(package_args);
    let env = package
        .get("environmentVariables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    Ok(Launch { command: command.to_owned(), args, env, ..Launch::default() })
}

/// `runtimeArguments` / `packageArguments` as argv: a positional one's value (or its
/// hint), a named one's name then value.
fn arguments(list: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    for argument in list.and_then(Value::as_array).into_iter().flatten() {
        let text = |key: &str| argument.get(key).and_then(Value::as_str).map(str::to_owned);
        match argument.get("type").and_then(Value::as_str) {
            Some("named") => {
                out.extend(text("name"));
                out.extend(text("value"));
            }
            _ => out.extend(text("value").or_else(|| text("valueHint"))),
        }
    }
    out
}

/// The clients `export` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// `managed-mcp.json` (the shape of `.mcp.json`): `mcpServers`, `${VAR}`.
    ClaudeCode,
    /// `mcp.json`: `servers` with `type`, `${env:VAR}`.
    VsCode,
    /// `config.toml`: `[mcp_servers.<id>]`, `env_vars`, `enabled_tools`.
    Codex,
    /// A managed-settings allowlist (`allowedMcpServers`, read by GitHub Copilot's and
    /// Claude Code's managed settings): each server by its exact command or URL.
    Allowlist,
}

/// The registry's servers in service that have an approved pin, as `client`'s
/// configuration text. Variables are referenced in the client's syntax, never valued.
pub fn export(registry: &Registry, client: Client) -> Result<String, String> {
    let mut servers = Map::new();
    for server in registry.servers.values().filter(|s| s.inventory.is_active()) {
        let approved = |pin: &crate::registry::Pin| pin.state() == PinState::Approved;
        let tools: Vec<String> = server
            .of_kind(crate::item::Kind::Tool)
            .filter(|(_, pin)| approved(pin))
            .map(|(item, _)| item.name.clone())
            .collect();
        if server.header.as_ref().is_none_or(|p| !approved(p)) && tools.is_empty() {
            continue;
        }
        let launch = &server.inventory.launch;
        let variable = |name: &str| match client {
            Client::VsCode => format!("${{env:{name}}}"),
            _ => format!("${{{name}}}"),
        };
        let env: Map<String, Value> = launch.env.iter().map(|n| (n.clone(), json!(variable(n)))).collect();
        let entry = match client {
            Client::Codex => {
                let mut entry = Map::new();
                if launch.command.is_empty() {
                    entry.insert("url".into(), json!(launch.url));
                    if !launch.token_env.is_empty() {
                        entry.insert("bearer_token_env_var".into(), json!(launch.token_env));
                    }
                } else {
                    entry.insert("command".into(), json!(launch.command));
                    entry.insert("args".into(), json!(launch.args));
                    if !launch.env.is_empty() {
                        entry.insert("env_vars".into(), json!(launch.env));
                    }
                }
                entry.insert("enabled_tools".into(), json!(tools));
                Value::Object(entry)
            }
            _ if launch.command.is_empty() => {
                let mut entry = json!({"type": "http", "url": launch.url});
                if !launch.token_env.is_empty() {
                    entry["headers"] =
                        json!({"Authorization": format!("Bearer {}", variable(&launch.token_env))});
                }
                entry
            }
            _ => {
                let mut entry = json!({"type": "stdio", "command": launch.command, "args": launch.args});
                if !env.is_empty() {
                    entry["env"] = Value::Object(env);
                }
                entry
            }
        };
        servers.insert(server.id.clone(), entry);
    }
    if client == Client::Allowlist {
        let allowed: Vec<Value> = servers
            .keys()
            .filter_map(|id| registry.servers.get(id))
            .map(|server| {
                let launch = &server.inventory.launch;
                if launch.command.is_empty() {
                    json!({"serverUrl": launch.url})
                } else {
                    let argv: Vec<&str> = std::iter::once(launch.command.as_str())
                        .chain(launch.args.iter().map(String::as_str))
                        .collect();
                    json!({"serverCommand": argv})
                }
            })
            .collect();
        return pretty(&json!({"allowedMcpServers": allowed}));
    }
    match client {
        Client::ClaudeCode => pretty(&json!({"mcpServers": servers})),
        Client::VsCode => pretty(&json!({"servers": servers})),
        Client::Allowlist => pretty(&json!({"allowedMcpServers": []})),
        Client::Codex => {
            let value = json!({"mcp_servers": servers});
            let body = toml::to_string(&value).map_err(|e| e.to_string())?;
            Ok(format!("# Written by `toolreg export --client codex`: the registry's approved servers,\n# each limited to its approved tools.\n{body}"))
        }
    }
}

fn pretty(value: &Value) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_json_packages_become_exact_launches() {
        let doc = json!({
            "name": "io.github.acme/notes", "version": "1.2.3",
            "repository": {"url": "https://github.com/acme/notes", "source": "github"},
            "packages": [{"registryType": "npm", "identifier": "@acme/notes-mcp", "version": "1.2.3",
                          "runtimeHint": "npx", "runtimeArguments": [{"type": "positional", "value": "-y"}],
                          "packageArguments": [{"type": "named", "name": "--root", "value": "{root}"}],
                          "environmentVariables": [{"name": "NOTES_TOKEN", "isSecret": true}],
                          "transport": {"type": "stdio"}}]
        });
        let imported = from_server_json(&doc).unwrap();
        assert_eq!(imported.launch.command, "npx");
        assert_eq!(imported.launch.args, ["-y", "@acme/notes-mcp@1.2.3", "--root", "{root}"]);
        assert_eq!(imported.launch.env, ["NOTES_TOKEN"]);
        assert_eq!(imported.repository.as_deref(), Some("https://github.com/acme/notes"));
        let pypi = json!({"packages": [{"registryType": "pypi", "identifier": "mcp-server-time", "version": "2025.9.25"}]});
        assert_eq!(from_server_json(&pypi).unwrap().launch.args, ["mcp-server-time==2025.9.25"]);
        let oci = json!({"packages": [{"registryType": "oci", "identifier": "ghcr.io/acme/notes", "version": "1.0.0"}]});
        assert_eq!(
            from_server_json(&oci).unwrap().launch.args,
            ["run", "-i", "--rm", "ghcr.io/acme/notes:1.0.0"]
        );
        let latest = json!({"packages": [{"registryType": "npm", "identifier": "x", "version": "latest"}]});
        assert!(from_server_json(&latest).unwrap_err().contains("exact version"));
        let remote = json!({"remotes": [{"type": "streamable-http", "url": "https://mcp.acme.example/mcp"}]});
        assert_eq!(from_server_json(&remote).unwrap().launch.url, "https://mcp.acme.example/mcp");
    }
}
