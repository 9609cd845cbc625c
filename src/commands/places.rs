//! Where findings are in the repository, for reports that point at files (SARIF,
//! GitHub annotations, the human report): pin files with the line of the offending
//! field, the captured catalogs, toolreg.toml for suppressions.

use std::path::PathBuf;

use crate::finding::{Finding, Location};
use crate::registry::canonical_text::line_of;
use crate::registry::Registry;
use crate::visible;

/// Where findings are in the repository: pin files (with the line of the field), the
/// captured catalogs, toolreg.toml for suppressions.
pub struct Places<'a> {
    registry: &'a Registry,
    catalogs: &'a [(String, Option<PathBuf>)],
    config_text: Option<(PathBuf, String)>,
}

impl<'a> Places<'a> {
    pub fn new(registry: &'a Registry, catalogs: &'a [(String, Option<PathBuf>)]) -> Self {
        let config_text = registry
            .config
            .path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok().map(|text| (p.clone(), text)));
        Places { registry, catalogs, config_text }
    }

    /// The finding's place: the one it has, else its pin file and line, else its
    /// server's captured catalog.
    pub fn locate(&self, finding: &Finding) -> Option<Location> {
        if finding.location.is_some() {
            return finding.location.clone();
        }
        if finding.rule.starts_with("SUP") {
            let (path, text) = self.config_text.as_ref()?;
            let line = text.lines().position(|l| l.contains(&finding.evidence)).map(|i| i + 1);
            return Some(Location { path: super::display_path(path), line });
        }
        let server = self.registry.servers.get(&finding.server)?;
        let (key, pin) = match &finding.item {
            None => ("header", server.header.as_ref()),
            Some(label) => (
                finding.kind.pin_key(),
                server
                    .of_kind(finding.kind)
                    .find(|(item, _)| item.name == *label || visible::label(&item.name) == *label)
                    .map(|(_, p)| p),
            ),
        };
        match pin {
            Some(pin) => {
                let document = pin.to_json(key);
                let pointer = match finding.rule {
                    r if r.starts_with("PR") || r.starts_with("REG") => "/digest".to_owned(),
                    _ => format!("/{key}{}", finding.pointer),
                };
                let line = line_of(&document, &pointer).or_else(|| line_of(&document, &format!("/{key}")));
                Some(Location { path: super::display_path(&pin.path), line })
            }
            None => {
                let (_, path) = self.catalogs.iter().find(|(id, _)| *id == server.id)?;
                path.as_deref().map(|p| Location { path: super::display_path(p), line: None })
            }
        }
    }
}
