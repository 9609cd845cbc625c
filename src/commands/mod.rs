//! Commands: each orchestrates domain modules and writes one report. No logic of
//! their own beyond wiring.

pub mod digest;
pub mod scan;

use std::io::{IsTerminal, Write};

use crate::catalog::{self, Catalog};
use crate::cli::{ColorChoice, InputArgs};
use crate::error::Error;

/// What every command shares, decided once.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Colour in human output.
    pub color: bool,
}

impl Context {
    pub fn new(choice: ColorChoice) -> Context {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        Context { color }
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
    let mut catalogs = Vec::new();
    for path in &files {
        let bytes = catalog::read_input(path)?;
        let fallback = catalog::fallback_server_name(path, input.server.as_deref());
        catalogs.extend(catalog::parse(&catalog::origin_label(path), &bytes, &fallback)?);
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
