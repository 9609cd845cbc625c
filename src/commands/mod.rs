//! Commands: each orchestrates domain modules and writes one report. No logic of
//! their own beyond wiring.

pub mod digest;
pub mod rules;
pub mod scan;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::catalog::{self, Catalog};
use crate::cli::{ColorChoice, InputArgs};
use crate::config::Config;
use crate::detect::Detectors;
use crate::error::Error;

/// What every command shares, decided once.
#[derive(Clone, Debug)]
pub struct Context {
    /// Colour in human output.
    pub color: bool,
    /// `toolreg.toml`, discovered or given with `--config` (defaults when none).
    pub config: Config,
}

impl Context {
    pub fn new(choice: ColorChoice, config_path: Option<&Path>) -> Result<Context, Error> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
        Ok(Context { color, config: Config::discover(config_path, &cwd)? })
    }

    /// The detectors: built-in rules, the config's rule files and `extra`, minus the
    /// rules the config disables.
    pub fn detectors(&self, extra: &[PathBuf]) -> Result<Detectors, Error> {
        let mut files = self.config.extra_rules.clone();
        files.extend(extra.iter().cloned());
        Ok(Detectors::load(&files, &self.config.disabled_rules)?)
    }
}

/// Loads every input; the first bad one stops the run (nothing half-checked is reported).
pub fn load_inputs(input: &InputArgs) -> Result<Vec<Catalog>, Error> {
    let mut files = input.files.clone();
    if files.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(Error::Usage("no input: give catalog files, or `-` to read stdin".into()));
        }
        files.push("-".into());
    }
    // Files parse in parallel; the first bad one in command-line order is the error.
    let parsed = crate::parallel::map(
        &files,
        || (),
        |(), path| {
            let bytes = catalog::read_input(path)?;
            let fallback = catalog::fallback_server_name(path, input.server.as_deref());
            Ok::<_, Error>(catalog::parse(&catalog::origin_label(path), &bytes, &fallback)?)
        },
    );
    let mut catalogs = Vec::new();
    for result in parsed {
        catalogs.extend(result?);
    }
    Ok(catalogs)
}

/// Writes a finished report. A reader that went away (`| head`) is not an error: the
/// outcome was decided before writing began.
pub fn emit(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
