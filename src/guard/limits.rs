//! Egress and path limits on a call's arguments: every URL-valued string must name a
//! host in `allowed-hosts` (when the server has the setting), every path-valued string
//! must resolve inside `allowed-roots` (when set) and outside the deny list (always).
//! A refusal names the argument (its JSON pointer) and the rule.
//!
//! URL-valued: a string whose schema says `format: uri` (or `uri-reference`, `iri`,
//! `url`), or that parses as an absolute URL with a host. Hosts are compared after the
//! URL standard's normalisation (lowercase, IDNA to punycode, IP literals, default ports).
//! Path-valued: a `file:` URL, a string that starts like a path (`/`, `~/`, `./`, `../`),
//! or a string under a property named for a path (`path`, `file`, `dir`, `root`, …).
//! Paths are made absolute (`~` is the home of the user guard runs as; a relative path
//! is taken against the first allowed root, else guard's working directory), `..` is
//! resolved, and then every symbolic link of the longest existing prefix.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::runtime::{Locked, DEFAULT_DENIED};

/// Property-name words that make a string a path.
const PATH_WORDS: [&str; 14] = [
    "path",
    "paths",
    "file",
    "files",
    "filename",
    "dir",
    "directory",
    "folder",
    "root",
    "cwd",
    "dest",
    "destination",
    "source",
    "location",
];

/// The limits of one server, resolved once per guard session.
#[derive(Debug, Clone)]
pub struct Limits {
    hosts: Vec<HostRule>,
    /// `allowed-hosts` is set (even when no entry of it could be read: then nothing passes).
    hosts_limited: bool,
    roots: Vec<PathBuf>,
    denied: Vec<PathBuf>,
    home: Option<PathBuf>,
    cwd: PathBuf,
}

/// One `allowed-hosts` entry: a host (or `*.` and a domain), and optionally the scheme
/// and port it must come with.
#[derive(Debug, Clone)]
struct HostRule {
    scheme: Option<String>,
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostRule {
    fn parse(entry: &str) -> Option<HostRule> {
        let entry = entry.trim();
        if entry.contains("://") {
            let url = url::Url::parse(entry).ok()?;
            let host = url.host_str()?.to_owned();
            let (wildcard, host) = match host.strip_prefix("*.") {
                Some(domain) => (true, domain.to_owned()),
                None => (false, host),
            };
            return Some(HostRule {
                scheme: Some(url.scheme().to_owned()),
                host,
                wildcard,
                port: url.port_or_known_default(),
            });
        }
        let (wildcard, bare) = match entry.strip_prefix("*.") {
            Some(domain) => (true, domain),
            None => (false, entry),
        };
        // Normalised as a URL's host would be (IDNA, case, IP literals).
        let url = url::Url::parse(&format!("https://{bare}/")).ok()?;
        Some(HostRule { scheme: None, host: url.host_str()?.to_owned(), wildcard, port: None })
    }

    fn allows(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        let host_ok =
            if self.wildcard { host.ends_with(&format!(".{}", self.host)) } else { host == self.host };
        host_ok
            && self.scheme.as_deref().is_none_or(|s| s == url.scheme())
            && self.port.is_none_or(|p| Some(p) == url.port_or_known_default())
    }
}

impl Limits {
    /// The limits `locked` sets, with `~` as `home` and relative paths against `cwd`.
    pub fn new(locked: &Locked, home: Option<PathBuf>, cwd: PathBuf) -> Limits {
        let expand = |p: &str| -> PathBuf {
            let path = match (p.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ if p == "~" => home.clone().unwrap_or_default(),
                _ => PathBuf::from(p),
            };
            resolve(&absolute(&path, &cwd))
        };
        let roots: Vec<PathBuf> = locked.allowed_roots.iter().map(|r| expand(r)).collect();
        let denied = DEFAULT_DENIED.iter().copied().chain(locked.denied_paths.iter().map(String::as_str));
        // Unreadable entries (no home for `~`) are skipped.
        let denied = denied.filter(|p| !p.starts_with('~') || home.is_some()).map(expand).collect();
        let hosts = locked.allowed_hosts.iter().filter_map(|h| HostRule::parse(h)).collect();
        Limits { hosts, hosts_limited: !locked.allowed_hosts.is_empty(), roots, denied, home, cwd }
    }

    /// The first refusal for `arguments` (the pointer and why), checked against the
    /// approved `schema` for `format` and property names.
    pub fn check(&self, arguments: &Value, schema: Option<&Value>) -> Result<(), String> {
        let mut refusal = None;
        walk(arguments, schema, "", None, &mut |found| {
            if refusal.is_none() {
                refusal = self.check_string(found.pointer, found.text, found.format, found.property).err();
            }
        });
        refusal.map_or(Ok(()), Err)
    }

    fn check_string(
        &self,
        pointer: &str,
        text: &str,
        format: Option<&str>,
        property: Option<&str>,
    ) -> Result<(), String> {
        let hosts_limited = self.hosts_limited;
        let url = url::Url::parse(text).ok();
        if let Some(url) = url.as_ref().filter(|u| u.scheme() == "file") {
            if let Ok(path) = url.to_file_path() {
                return self.check_path(pointer, &path.display().to_string());
            }
        }
        let uri_format = matches!(format, Some("uri" | "uri-reference" | "iri" | "iri-reference" | "url"));
        if let Some(url) = url.as_ref().filter(|u| u.host_str().is_some()) {
            if hosts_limited && !self.hosts.iter().any(|rule| rule.allows(url)) {
                return Err(format!("argument {pointer} names a host that allowed-hosts does not list"));
            }
            return Ok(());
        }
        if uri_format && hosts_limited {
            return Err(format!("argument {pointer} is a URI guard cannot read a host from (allowed-hosts)"));
        }
        let path_like =
            ["/", "~/", "./", "../"].iter().any(|p| text.starts_with(p)) || text == "~" || text == "..";
        let path_named = property
            .is_some_and(|name| crate::fields::ident_words(name).split(' ').any(|w| PATH_WORDS.contains(&w)));
        if path_like || (path_named && !text.is_empty()) {
            return self.check_path(pointer, text);
        }
        Ok(())
    }

    /// The refusals name the argument and the rule, never the value: they go to the
    /// audit log, which holds no argument.
    fn check_path(&self, pointer: &str, text: &str) -> Result<(), String> {
        let expanded = match (text.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ if text == "~" => self.home.clone().unwrap_or_default(),
            _ => PathBuf::from(text),
        };
        let base = self.roots.first().unwrap_or(&self.cwd);
        let path = resolve(&absolute(&expanded, base));
        let env_file =
            path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == ".env" || n.starts_with(".env."));
        if let Some(denied) = self.denied.iter().find(|d| path.starts_with(d)) {
            return Err(format!(
                "argument {pointer} resolves inside the denied path {} (denied-paths)",
                crate::visible::escape(&denied.display().to_string())
            ));
        }
        if env_file {
            return Err(format!("argument {pointer} is a .env file (denied-paths)"));
        }
        if !self.roots.is_empty() && !self.roots.iter().any(|root| path.starts_with(root)) {
            return Err(format!("argument {pointer} resolves outside allowed-roots"));
        }
        Ok(())
    }
}

/// One string of a call's arguments, with what the schema says of it.
struct Found<'a> {
    pointer: &'a str,
    text: &'a str,
    format: Option<&'a str>,
    /// The name of the property that holds it.
    property: Option<&'a str>,
}

/// Every string of `value`, with its pointer, the `format` and the property name the
/// approved schema gives it (followed through `properties` and `items` only).
fn walk(
    value: &Value,
    schema: Option<&Value>,
    pointer: &str,
    property: Option<&str>,
    visit: &mut dyn FnMut(Found<'_>),
) {
    match value {
        Value::String(text) => {
            let format = schema.and_then(|s| s.get("format")).and_then(Value::as_str);
            visit(Found { pointer, text, format, property });
        }
        Value::Array(list) => {
            let items = schema.and_then(|s| s.get("items"));
            for (i, item) in list.iter().enumerate() {
                walk(item, items, &format!("{pointer}/{i}"), property, visit);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let sub = schema.and_then(|s| s.get("properties")).and_then(|p| p.get(key));
                let at = format!("{pointer}/{}", crate::fields::escape_token(key));
                walk(item, sub, &at, Some(key), visit);
            }
        }
        _ => {}
    }
}

/// `path` made absolute against `base`, with `.` and `..` resolved by name.
fn absolute(path: &Path, base: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `path` with every symbolic link resolved: the longest prefix that exists is
/// canonicalised, the rest appended (a file about to be created still lands where its
/// folder's links point).
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits(dir: &Path, hosts: &[&str], roots: &[&str]) -> Limits {
        let locked = Locked {
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            allowed_roots: roots.iter().map(|s| s.to_string()).collect(),
            ..Locked::default()
        };
        Limits::new(&locked, Some(dir.join("home")), dir.to_path_buf())
    }

    #[test]
    fn hosts_compare_after_normalisation() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let allowed =
            ["api.example.com", "*.corp.example", "https://files.example:8443", "bücher.example", "10.0.0.5"];
        let l = limits(dir.path(), &allowed, &[]);
        let schema = json!({"properties": {"url": {"type": "string", "format": "uri"}}});
        let ok = |url: &str| l.check(&json!({"url": url}), Some(&schema));
        for url in [
            "https://API.Example.com/v1",
            "http://api.example.com:80/x",
            "https://a.corp.example/",
            "https://files.example:8443/f",
            "https://xn--bcher-kva.example/",
            "https://BÜCHER.example/",
            "http://10.0.0.5/",
            "http://0x0a.0.0.5/",
        ] {
            assert!(ok(url).is_ok(), "{url}: {:?}", ok(url));
        }
        for url in [
            "https://evil.example/",
            "https://api.example.com.evil.example/",
            "https://corp.example/",
            "https://files.example/f",
            "http://files.example:8443/f",
            "https://[::1]/",
        ] {
            let refused = ok(url).err().unwrap_or_default();
            assert_eq!(refused, "argument /url names a host that allowed-hosts does not list", "{url}");
        }
        assert!(ok("not a uri").is_err(), "a uri-format string with no host, when hosts are limited");
        let open = limits(dir.path(), &[], &[]);
        assert!(
            open.check(&json!({"u": "https://anything.example/"}), None).is_ok(),
            "no allowed-hosts: no limit"
        );
        let unreadable = limits(dir.path(), &["https://"], &[]);
        assert!(unreadable.check(&json!({"u": "https://anything.example/"}), None).is_err(), "fails closed");
    }

    #[test]
    fn paths_resolve_dot_dot_links_and_home() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().canonicalize().unwrap_or_default();
        for folder in ["data/sub", "home/.ssh", "outside"] {
            std::fs::create_dir_all(root.join(folder)).unwrap_or_else(|e| panic!("{e}"));
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("outside"), root.join("data/link"))
            .unwrap_or_else(|e| panic!("{e}"));
        let data = root.join("data").display().to_string();
        let l = limits(&root, &[], &[&data]);
        let check = |path: &str| l.check(&json!({"path": path}), None);
        assert!(check(&format!("{data}/sub/notes.txt")).is_ok());
        assert!(check("sub/new.txt").is_ok(), "relative to the first root");
        let escape = check(&format!("{data}/sub/../../outside/x")).err().unwrap_or_default();
        assert_eq!(escape, "argument /path resolves outside allowed-roots");
        #[cfg(unix)]
        assert!(check(&format!("{data}/link/x")).is_err(), "a link out of the root");
        let ssh = check("~/.ssh/id_rsa").err().unwrap_or_default();
        assert!(
            ssh.starts_with("argument /path resolves inside the denied path")
                && ssh.ends_with(".ssh (denied-paths)"),
            "{ssh}"
        );
        assert!(!ssh.contains("id_rsa"), "a refusal never holds the value: {ssh}");
        assert!(check(&format!("{data}/.env")).err().unwrap_or_default().contains(".env file"));
        assert!(check(&format!("{data}/.env.production")).is_err());
        assert!(check(&format!("{data}/env.txt")).is_ok());
        // Without allowed-roots, only the deny list applies; a file: URL is a path.
        let open = limits(&root, &[], &[]);
        assert!(open.check(&json!({"target": "/tmp/x"}), None).is_ok());
        let url = format!("file://{}/home/.ssh/config", root.display());
        assert!(open.check(&json!({"u": url}), None).is_err());
        assert!(open.check(&json!({"text": "hello world"}), None).is_ok(), "prose is not a path");
        assert!(open.check(&json!({"list": [{"path": "~/.ssh"}]}), None).is_err(), "nested");
    }
}
