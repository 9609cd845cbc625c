//! MCP client configurations: where each client keeps its server list (per scope and
//! per OS layout), how it writes an entry, and each entry read as a launch. Knowledge
//! of the clients is the table [`FILES`]; research notes: `research/clients.md` and
//! `research/mcp-protocol.md` §11. Formats a client does not document are read in the
//! shape a secondary source gives, and say so in the table.
//!
//! Values are read only to judge them (is an env value a secret written in plain
//! text?) and never kept in what is reported: a launch names its variables and headers.

pub mod exchange;
pub mod formats;
pub mod standing;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use formats::Format;

/// Whose configuration a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    User,
    Project,
    Managed,
}

/// What a file's path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under {
    Home,
    Project,
    /// The filesystem root (`/`, or `--root` to read a mounted image).
    Root,
}

/// How a file lists its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A map of name → entry under this top-level key.
    Map(&'static str),
    /// A list of entries carrying their `name`, under this key (Continue).
    List(&'static str),
    /// VS Code's settings.json: `mcp.servers`, nested or as the dotted key.
    VsCodeSettings,
    /// `~/.claude.json`: `mcpServers`, and `projects.<path>.mcpServers` per project.
    ClaudeJson,
    /// A plugin's `.mcp.json`: `mcpServers`, or the name → entry map itself.
    MapOrFlat,
}

/// One configuration file a client reads.
#[derive(Debug, Clone, Copy)]
pub struct ClientFile {
    pub client: &'static str,
    pub scope: Scope,
    pub under: Under,
    /// `/`-separated; a segment `*` is any one name, `*.ext` any name ending so, `**`
    /// any depth of folders.
    pub path: &'static str,
    pub format: Format,
    pub shape: Shape,
}

const fn file(
    client: &'static str,
    scope: Scope,
    under: Under,
    path: &'static str,
    format: Format,
    shape: Shape,
) -> ClientFile {
    ClientFile { client, scope, under, path, format, shape }
}

use Format::{Json, Toml, Yaml};
use Scope::{Managed, Project, User};
use Shape::{ClaudeJson, List, Map, MapOrFlat, VsCodeSettings};

const MCP: Shape = Map("mcpServers");

/// Every file read, per client. User files in the three OS layouts (`Library/Application
/// Support` macOS, `.config` Linux, `AppData/Roaming` Windows) where the client uses
/// them.
pub const FILES: &[ClientFile] = &[
    // Claude Desktop (modelcontextprotocol docs): macOS and Windows; Linux builds are unofficial.
    file("claude-desktop", User, Under::Home, "Library/Application Support/Claude/claude_desktop_config.json", Json, MCP),
    file("claude-desktop", User, Under::Home, "AppData/Roaming/Claude/claude_desktop_config.json", Json, MCP),
    file("claude-desktop", User, Under::Home, ".config/Claude/claude_desktop_config.json", Json, MCP),
    // Claude Code (code.claude.com/docs/en/mcp, managed-mcp): user/local scope, project, managed, plugins.
    file("claude-code", User, Under::Home, ".claude.json", Json, ClaudeJson),
    file("claude-code", Project, Under::Project, ".mcp.json", Json, MCP),
    file("claude-code", Managed, Under::Root, "etc/claude-code/managed-mcp.json", Json, MCP),
    file("claude-code", Managed, Under::Root, "Library/Application Support/ClaudeCode/managed-mcp.json", Json, MCP),
    file("claude-code", Managed, Under::Root, "Program Files/ClaudeCode/managed-mcp.json", Json, MCP),
    file("claude-code", User, Under::Home, ".claude/plugins/**/.mcp.json", Json, MapOrFlat),
    file("claude-code", User, Under::Home, ".claude/plugins/**/plugin.json", Json, MCP),
    // Cursor (cursor.com/docs/mcp).
    file("cursor", User, Under::Home, ".cursor/mcp.json", Json, MCP),
    file("cursor", Project, Under::Project, ".cursor/mcp.json", Json, MCP),
    // VS Code (vscode-docs mcp-configuration.md): `servers`; settings.json `mcp.servers`.
    file("vscode", User, Under::Home, "Library/Application Support/Code/User/mcp.json", Json, Map("servers")),
    file("vscode", User, Under::Home, ".config/Code/User/mcp.json", Json, Map("servers")),
    file("vscode", User, Under::Home, "AppData/Roaming/Code/User/mcp.json", Json, Map("servers")),
    file("vscode", User, Under::Home, "Library/Application Support/Code/User/profiles/*/mcp.json", Json, Map("servers")),
    file("vscode", User, Under::Home, ".config/Code/User/profiles/*/mcp.json", Json, Map("servers")),
    file("vscode", User, Under::Home, "AppData/Roaming/Code/User/profiles/*/mcp.json", Json, Map("servers")),
    file("vscode", User, Under::Home, "Library/Application Support/Code/User/settings.json", Json, VsCodeSettings),
    file("vscode", User, Under::Home, ".config/Code/User/settings.json", Json, VsCodeSettings),
    file("vscode", User, Under::Home, "AppData/Roaming/Code/User/settings.json", Json, VsCodeSettings),
    file("vscode", Project, Under::Project, ".vscode/mcp.json", Json, Map("servers")),
    file("vscode", Project, Under::Project, ".vscode/settings.json", Json, VsCodeSettings),
    // Windsurf (docs.windsurf.com); the JetBrains plugin's path per its docs.
    file("windsurf", User, Under::Home, ".codeium/windsurf/mcp_config.json", Json, MCP),
    file("windsurf", User, Under::Home, ".codeium/mcp_config.json", Json, MCP),
    // Codex (openai/codex config types): TOML `[mcp_servers.<name>]`.
    file("codex", User, Under::Home, ".codex/config.toml", Toml, Map("mcp_servers")),
    file("codex", Project, Under::Project, ".codex/config.toml", Toml, Map("mcp_servers")),
    file("codex", Managed, Under::Root, "etc/codex/config.toml", Toml, Map("mcp_servers")),
    // Gemini CLI (geminicli.com docs).
    file("gemini", User, Under::Home, ".gemini/settings.json", Json, MCP),
    file("gemini", Project, Under::Project, ".gemini/settings.json", Json, MCP),
    file("gemini", Managed, Under::Root, "etc/gemini-cli/settings.json", Json, MCP),
    // Zed: `context_servers` (settings are JSONC).
    file("zed", User, Under::Home, ".config/zed/settings.json", Json, Map("context_servers")),
    file("zed", User, Under::Home, "Library/Application Support/Zed/settings.json", Json, Map("context_servers")),
    file("zed", User, Under::Home, "AppData/Roaming/Zed/settings.json", Json, Map("context_servers")),
    file("zed", Project, Under::Project, ".zed/settings.json", Json, Map("context_servers")),
    // Cline (unverified: path from ToolHive's client table).
    file("cline", User, Under::Home, "Library/Application Support/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", Json, MCP),
    file("cline", User, Under::Home, ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", Json, MCP),
    file("cline", User, Under::Home, "AppData/Roaming/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", Json, MCP),
    // Continue (docs.continue.dev): YAML, `mcpServers` is a list.
    file("continue", User, Under::Home, ".continue/config.yaml", Yaml, List("mcpServers")),
    file("continue", Project, Under::Project, ".continue/mcpServers/*.yaml", Yaml, List("mcpServers")),
    file("continue", Project, Under::Project, ".continue/mcpServers/*.yml", Yaml, List("mcpServers")),
    file("continue", Project, Under::Project, ".continue/mcpServers/*.json", Json, MCP),
    // Goose (block.github.io/goose): YAML `extensions`.
    file("goose", User, Under::Home, ".config/goose/config.yaml", Yaml, Map("extensions")),
    file("goose", User, Under::Home, "AppData/Roaming/Block/goose/config/config.yaml", Yaml, Map("extensions")),
    // Kiro (kiro.dev docs).
    file("kiro", User, Under::Home, ".kiro/settings/mcp.json", Json, MCP),
    file("kiro", Project, Under::Project, ".kiro/settings/mcp.json", Json, MCP),
    // Amazon Q (unverified shape: `mcpServers`).
    file("amazon-q", User, Under::Home, ".aws/amazonq/mcp.json", Json, MCP),
    file("amazon-q", Project, Under::Project, ".amazonq/mcp.json", Json, MCP),
    // opencode (opencode.ai docs): `mcp`, `type: local | remote`.
    file("opencode", User, Under::Home, ".config/opencode/opencode.json", Json, Map("mcp")),
    file("opencode", User, Under::Home, ".config/opencode/opencode.jsonc", Json, Map("mcp")),
    file("opencode", Project, Under::Project, "opencode.json", Json, Map("mcp")),
    file("opencode", Project, Under::Project, "opencode.jsonc", Json, Map("mcp")),
    // LM Studio, Copilot CLI, JetBrains Junie, Amp (unverified shapes: `mcpServers`).
    file("lm-studio", User, Under::Home, ".lmstudio/mcp.json", Json, MCP),
    file("copilot-cli", User, Under::Home, ".copilot/mcp-config.json", Json, MCP),
    file("junie", User, Under::Home, ".junie/mcp/mcp.json", Json, MCP),
    file("junie", Project, Under::Project, ".junie/mcp/mcp.json", Json, MCP),
    file("amp", User, Under::Home, ".config/amp/settings.json", Json, Map("amp.mcpServers")),
];

/// The project files a repository commits (what `check` reads in CI).
pub fn project_files() -> impl Iterator<Item = &'static ClientFile> {
    FILES.iter().filter(|f| f.under == Under::Project)
}

/// How a client reaches a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Stdio,
    Http,
    Sse,
}

/// A server as a client starts it: argv or URL, the names of its variables and
/// headers. Values are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Launch {
    pub transport: Transport,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub url: Option<String>,
    pub env: Vec<String>,
    pub headers: Vec<String>,
    /// Launch settings a registration cannot record (`envFile`, `cwd`): a launch that
    /// has one is never the registered launch (an env file can set `NODE_OPTIONS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
}

impl Launch {
    /// The command line (argv joined by spaces) or the URL: what launch rules read.
    pub fn line(&self) -> String {
        match (&self.command, &self.url) {
            (Some(command), _) => std::iter::once(command.as_str())
                .chain(self.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            (None, Some(url)) => url.clone(),
            (None, None) => String::new(),
        }
    }
}

/// One server found in a client configuration.
#[derive(Debug, Clone)]
pub struct Entry {
    pub client: &'static str,
    pub scope: Scope,
    pub file: PathBuf,
    /// RFC 6901 pointer of the entry in the file (read as JSON).
    pub pointer: String,
    pub name: String,
    pub launch: Launch,
    /// Turned off in the client (`disabled: true`, `enabled: false`).
    pub disabled: bool,
    /// What the launch passes in env variables (`NAME=value`) and headers (`Name:
    /// value`), with their pointers: read for plain-text secrets, never reported.
    /// (Arguments are in `launch`.)
    pub values: Vec<(String, String)>,
}

/// The servers a file lists.
pub fn entries(spec: &ClientFile, file: &Path, document: &Value) -> Vec<Entry> {
    let mut found = Vec::new();
    let mut add = |pointer: String, name: &str, value: &Value| {
        if let Some(entry) = entry(spec, file, pointer, name, value) {
            found.push(entry);
        }
    };
    let map_at = |key: &str| document.get(key).and_then(Value::as_object);
    match spec.shape {
        Shape::Map(key) => {
            for (name, value) in map_at(key).into_iter().flatten() {
                add(format!("/{}/{}", escape(key), escape(name)), name, value);
            }
        }
        Shape::List(key) => {
            for (i, value) in document.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
                let name = value.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
                add(format!("/{}/{i}", escape(key)), name, value);
            }
        }
        Shape::VsCodeSettings => {
            if let Some(servers) = document.pointer("/mcp/servers").and_then(Value::as_object) {
                for (name, value) in servers {
                    add(format!("/mcp/servers/{}", escape(name)), name, value);
                }
            }
            for (name, value) in map_at("mcp.servers").into_iter().flatten() {
                add(format!("/mcp.servers/{}", escape(name)), name, value);
            }
        }
        Shape::ClaudeJson => {
            for (name, value) in map_at("mcpServers").into_iter().flatten() {
                add(format!("/mcpServers/{}", escape(name)), name, value);
            }
            for (path, project) in map_at("projects").into_iter().flatten() {
                for (name, value) in
                    project.get("mcpServers").and_then(Value::as_object).into_iter().flatten()
                {
                    add(format!("/projects/{}/mcpServers/{}", escape(path), escape(name)), name, value);
                }
            }
        }
        Shape::MapOrFlat => match map_at("mcpServers") {
            Some(servers) => {
                for (name, value) in servers {
                    add(format!("/mcpServers/{}", escape(name)), name, value);
                }
            }
            None => {
                for (name, value) in document.as_object().into_iter().flatten() {
                    add(format!("/{}", escape(name)), name, value);
                }
            }
        },
    }
    found
}

/// RFC 6901 escaping of one pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// One entry as a launch; `None` for what is not a server launch (a Goose builtin, a
/// value that is not an object, an entry with neither a command nor a URL).
fn entry(spec: &ClientFile, file: &Path, pointer: String, name: &str, value: &Value) -> Option<Entry> {
    let object = value.as_object()?;
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    if kind == "builtin" || kind == "ws" || kind == "websocket" {
        return None;
    }
    let mut values = Vec::new();
    // The command: a string (split on whitespace when it holds the whole command line
    // and no args are given), or opencode's argv array.
    let mut args: Vec<String> = object
        .get("args")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|a| text(Some(a))).collect())
        .unwrap_or_default();
    let command = match object.get("command").or_else(|| object.get("cmd")) {
        Some(Value::Array(argv)) => {
            let mut argv: Vec<String> = argv.iter().filter_map(|a| text(Some(a))).collect();
            if argv.is_empty() {
                None
            } else {
                let first = argv.remove(0);
                args.splice(0..0, argv);
                Some(first)
            }
        }
        Some(Value::String(command)) if args.is_empty() && command.trim().contains(char::is_whitespace) => {
            let mut parts = command.split_whitespace().map(str::to_owned);
            let first = parts.next();
            args = parts.collect();
            first
        }
        other => text(other).filter(|c| !c.is_empty()),
    };
    let url_key = ["url", "serverUrl", "httpUrl", "uri"].into_iter().find(|k| object.contains_key(*k));
    let url = url_key.and_then(|k| text(object.get(k)));
    let transport = if command.is_some() {
        Transport::Stdio
    } else if kind == "sse" || (spec.client == "gemini" && url_key == Some("url")) {
        Transport::Sse
    } else {
        Transport::Http
    };
    if command.is_none() && url.is_none() {
        return None;
    }
    let mut env = Vec::new();
    for key in ["env", "envs", "environment"] {
        for (var, value) in object.get(key).and_then(Value::as_object).into_iter().flatten() {
            env.push(var.clone());
            if let Some(value) = text(Some(value)) {
                values.push((format!("{pointer}/{key}/{}", escape(var)), format!("{var}={value}")));
            }
        }
    }
    for key in ["env_vars", "env_keys"] {
        let names = object.get(key).and_then(Value::as_array).into_iter().flatten();
        env.extend(names.filter_map(|n| n.as_str().map(str::to_owned)));
    }
    let mut headers = Vec::new();
    let header_maps = [
        ("headers", object.get("headers")),
        ("http_headers", object.get("http_headers")),
        ("env_http_headers", object.get("env_http_headers")),
        ("requestOptions/headers", object.get("requestOptions").and_then(|r| r.get("headers"))),
    ];
    for (key, map) in header_maps {
        for (header, value) in map.and_then(Value::as_object).into_iter().flatten() {
            headers.push(header.clone());
            if let Some(value) = text(Some(value)) {
                values.push((format!("{pointer}/{key}/{}", escape(header)), format!("{header}: {value}")));
            }
        }
    }
    if object.get("bearer_token_env_var").is_some_and(Value::is_string) {
        headers.push("Authorization".to_owned());
    }
    env.sort();
    env.dedup();
    headers.sort();
    headers.dedup();
    let extras: Vec<String> = ["envFile", "env_file", "cwd"]
        .into_iter()
        .filter(|k| object.get(*k).is_some_and(|v| !v.is_null()))
        .map(str::to_owned)
        .collect();
    let disabled = object.get("disabled").and_then(Value::as_bool) == Some(true)
        || object.get("enabled").and_then(Value::as_bool) == Some(false);
    Some(Entry {
        client: spec.client,
        scope: spec.scope,
        file: file.to_path_buf(),
        pointer,
        name: name.to_owned(),
        launch: Launch { transport, command, args, url, env, headers, extras },
        disabled,
        values,
    })
}

/// The files `spec` names under `base` that exist (globs expanded, at most 8 folders
/// deep for `**`; links are not followed into folders).
pub fn expand(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut paths = vec![base.to_path_buf()];
    let segments: Vec<&str> = pattern.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let mut next = Vec::new();
        for dir in &paths {
            match *segment {
                "**" => next.extend(folders_below(dir, 8)),
                s if s.starts_with('*') => {
                    let suffix = &s[1..];
                    for child in children(dir) {
                        let name =
                            child.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        if name.ends_with(suffix) && (last || is_folder(&child)) {
                            next.push(child);
                        }
                    }
                }
                s => next.push(dir.join(s)),
            }
        }
        paths = next;
    }
    paths.retain(|p| p.is_file());
    paths.sort();
    paths.dedup();
    paths
}

fn children(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    out.sort();
    out
}

fn is_folder(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// `dir` and every folder below it, to `depth` levels.
fn folders_below(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if depth == 0 {
        return out;
    }
    for child in children(dir).into_iter().filter(|c| is_folder(c)) {
        out.extend(folders_below(&child, depth - 1));
    }
    out
}

/// Where discovery looks.
#[derive(Debug, Clone, Default)]
pub struct Places {
    pub home: Option<PathBuf>,
    pub project: Option<PathBuf>,
    pub root: Option<PathBuf>,
}

/// What discovery found: servers, and the files it could not read.
#[derive(Debug, Default)]
pub struct Discovery {
    pub entries: Vec<Entry>,
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Reads every client file under `places`.
pub fn discover(places: &Places) -> Discovery {
    let mut discovery = Discovery::default();
    for spec in FILES {
        let base = match spec.under {
            Under::Home => places.home.as_deref(),
            Under::Project => places.project.as_deref(),
            Under::Root => places.root.as_deref(),
        };
        let Some(base) = base else { continue };
        for path in expand(base, spec.path) {
            match read(spec, &path) {
                Ok(found) => discovery.entries.extend(found),
                Err(why) => discovery.unreadable.push((path, why)),
            }
        }
    }
    discovery
}

/// The servers one file lists.
pub fn read(spec: &ClientFile, path: &Path) -> Result<Vec<Entry>, String> {
    use std::io::Read;
    // A project is attacker-shaped: a "config" that is a device, a pipe or a link to
    // one (`/dev/zero`) would never end. Only regular files, and never past the limit.
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(formats::MAX_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    let document = formats::parse(spec.format, &bytes)?;
    Ok(entries(spec, path, &document))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(client: &'static str, shape: Shape) -> ClientFile {
        file(client, User, Under::Home, "x", Json, shape)
    }

    #[test]
    fn entries_become_launches() {
        let doc = json!({"mcp": {
            "local": {"type": "local", "command": ["npx", "-y", "pkg@1.0.0"], "environment": {"TOKEN": "{env:TOKEN}"}},
            "remote": {"type": "remote", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer x"}, "enabled": false}
        }});
        let found = entries(&spec("opencode", Map("mcp")), Path::new("f"), &doc);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].launch.line(), "npx -y pkg@1.0.0");
        assert_eq!(found[0].launch.env, ["TOKEN"]);
        assert_eq!(found[1].launch.transport, Transport::Http);
        assert_eq!(found[1].launch.headers, ["Authorization"]);
        assert!(found[1].disabled);
        assert!(found[1]
            .values
            .iter()
            .any(|(p, v)| p == "/mcp/remote/headers/Authorization" && v == "Authorization: Bearer x"));
        assert!(found[0].values.iter().all(|(p, _)| !p.contains("/args/")));

        let doc = json!({"extensions": {"dev": {"type": "builtin"}, "f": {"type": "stdio", "cmd": "uvx", "args": ["x"], "envs": {"A": "1"}}}});
        let found = entries(&spec("goose", Map("extensions")), Path::new("f"), &doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].launch.line(), "uvx x");

        let doc = json!({"mcpServers": {"s": {"command": "node server.js --port 1"}}, "projects": {"/a/b": {"mcpServers": {"p": {"url": "https://p"}}}}});
        let found = entries(&spec("claude-code", ClaudeJson), Path::new("f"), &doc);
        assert_eq!(found[0].launch.args, ["server.js", "--port", "1"]);
        assert_eq!(found[1].pointer, "/projects/~1a~1b/mcpServers/p");
        let gemini = entries(
            &spec("gemini", MCP),
            Path::new("f"),
            &json!({"mcpServers": {"s": {"url": "https://s/sse"}}}),
        );
        assert_eq!(gemini[0].launch.transport, Transport::Sse);
    }
}
