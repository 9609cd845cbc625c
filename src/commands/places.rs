//! Where findings are in the repository ([`Locate`]), asked when each finding is made:
//! for a registry, pin files with the line of the offending field, the captured
//! catalogs, toolreg.toml for suppressions; for `scan`, the catalog files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::catalog::Catalog;
use crate::finding::{Locate, Location};
use crate::item::ItemRef;
use crate::registry::canonical_text::line_of;
use crate::registry::{Pin, Registry};

/// A registry's places: pin files (with the line of the field), the captured catalogs
/// of the servers (for what is not pinned), toolreg.toml for suppressions.
pub struct Places<'a> {
    registry: &'a Registry,
    catalogs: HashMap<String, PathBuf>,
    config_text: Option<(PathBuf, String)>,
}

impl<'a> Places<'a> {
    /// `catalogs`: the captured catalog file of each server checked, when it has one.
    pub fn new(registry: &'a Registry, catalogs: impl IntoIterator<Item = (String, PathBuf)>) -> Self {
        let config_text = registry
            .config
            .path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok().map(|text| (p.clone(), text)));
        Places { registry, catalogs: catalogs.into_iter().collect(), config_text }
    }

    fn pinned(&self, server: &str, item: Option<&ItemRef>) -> Option<&'a Pin> {
        self.registry.servers.get(server)?.pin(item)
    }

    fn catalog(&self, server: &str) -> Option<Location> {
        let path = self.catalogs.get(server)?;
        Some(Location { path: super::display_path(path), line: None })
    }
}

/// The line of `pointer` in the pin's file (the item under its key), else the item's
/// own line.
fn in_pin(pin: &Pin, item: Option<&ItemRef>, pointer: &str) -> Location {
    let key = item.map_or("header", |i| i.kind.pin_key());
    let document = pin.to_json(key);
    let line = line_of(&document, pointer).or_else(|| line_of(&document, &format!("/{key}")));
    Location { path: super::display_path(&pin.path), line }
}

impl Locate for Places<'_> {
    fn field(&self, server: &str, item: Option<&ItemRef>, pointer: &str) -> Option<Location> {
        let key = item.map_or("header", |i| i.kind.pin_key());
        match self.pinned(server, item) {
            Some(pin) => Some(in_pin(pin, item, &format!("/{key}{pointer}"))),
            None => self.catalog(server),
        }
    }

    fn pin(&self, server: &str, item: Option<&ItemRef>) -> Option<Location> {
        match self.pinned(server, item) {
            Some(pin) => Some(in_pin(pin, item, "/digest")),
            None => self.catalog(server),
        }
    }

    fn config(&self, text: &str) -> Option<Location> {
        let (path, config) = self.config_text.as_ref()?;
        let line = config.lines().position(|l| l.contains(text)).map(|i| i + 1);
        Some(Location { path: super::display_path(path), line })
    }

    fn file(&self, path: &Path, line: Option<usize>) -> Option<Location> {
        Some(Location { path: super::display_path(path), line })
    }
}

/// `scan`'s places: each server's catalog file (the first that names it), and the
/// configuration file for suppressions.
pub struct CatalogFiles {
    files: HashMap<String, Location>,
    config: Option<PathBuf>,
}

impl CatalogFiles {
    pub fn new(catalogs: &[Catalog], config: Option<&Path>) -> CatalogFiles {
        let mut files = HashMap::new();
        for catalog in catalogs {
            // `origin` is `FILE` or `FILE#/pointer`; `<stdin>` and the like have no file.
            let file = catalog.origin.split("#/").next().filter(|o| !o.starts_with('<'));
            if let Some(file) = file {
                let location = Location { path: super::display_path(Path::new(file)), line: None };
                files.entry(catalog.server.clone()).or_insert(location);
            }
        }
        CatalogFiles { files, config: config.map(Path::to_path_buf) }
    }
}

impl Locate for CatalogFiles {
    fn field(&self, server: &str, _: Option<&ItemRef>, _: &str) -> Option<Location> {
        self.files.get(server).cloned()
    }

    fn pin(&self, server: &str, _: Option<&ItemRef>) -> Option<Location> {
        self.files.get(server).cloned()
    }

    fn config(&self, text: &str) -> Option<Location> {
        let path = self.config.as_ref()?;
        let config = std::fs::read_to_string(path).ok()?;
        let line = config.lines().position(|l| l.contains(text)).map(|i| i + 1);
        Some(Location { path: super::display_path(path), line })
    }
}
