//! Commands: each orchestrates domain modules and writes one report. No logic of
//! their own beyond wiring.

pub mod check;
pub mod diff;
pub mod digest;
pub mod discover;
pub mod fetch;
pub mod fmt;
pub mod init;
pub mod inventory;
pub mod levers;
pub mod lock;
pub mod log;
pub mod places;
pub mod recover;
pub mod review;
pub mod rules;
pub mod scan;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::catalog::{self, Catalog};
use crate::cli::{ColorChoice, InputArgs, OutputArgs, ReportFormat};
use crate::config::Config;
use crate::detect::Detectors;
use crate::error::Error;
use crate::policy::Outcome;
use crate::registry::{self, store, Registry};
use crate::report::Report;
use crate::visible;

/// What every command shares, decided once.
#[derive(Clone, Debug)]
pub struct Context {
    /// Colour in human output.
    pub color: bool,
    /// `toolreg.toml`, discovered or given with `--config` (defaults when none).
    pub config: Config,
    /// `--registry` / `TOOLREG_REGISTRY`, when given.
    pub registry: Option<PathBuf>,
    /// `--config`, when given.
    pub explicit_config: bool,
}

impl Context {
    pub fn new(
        choice: ColorChoice,
        config_path: Option<&Path>,
        registry: Option<&Path>,
    ) -> Result<Context, Error> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
        // With --registry, its toolreg.toml is the configuration (unless --config).
        let config = match (config_path, registry) {
            (None, Some(dir)) if dir.join(registry::CONFIG_FILE).is_file() => {
                Config::load(&dir.join(registry::CONFIG_FILE))?
            }
            _ => Config::discover(config_path, &cwd)?,
        };
        Ok(Context {
            color,
            config,
            registry: registry.map(Path::to_path_buf),
            explicit_config: config_path.is_some(),
        })
    }

    /// Where the registry of this run is.
    pub fn registry_root(&self) -> Result<PathBuf, Error> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
        Ok(registry::locate(self.registry.as_deref(), &cwd)?)
    }

    /// The registry this run works on, loaded and with every pin's digest recomputed.
    /// Refused while an interrupted write is pending (`toolreg recover` finishes it).
    pub fn registry(&self) -> Result<Registry, Error> {
        let root = self.registry_root()?;
        store::refuse_interrupted(&root)?;
        self.load_registry(&root)
    }

    /// For `check`: the registry, refused unless its files are exactly HEAD's (or, with
    /// `staged_ok`, exactly the index's).
    pub fn committed_registry(&self, staged_ok: bool) -> Result<Registry, Error> {
        let root = self.registry_root()?;
        store::ensure_committed(&root, staged_ok)?;
        self.load_registry(&root)
    }

    /// What every writing command does first: finish (or roll back) a write a killed
    /// toolreg left behind. Says so on stderr when it did something.
    pub fn recover(&self) -> Result<Option<String>, Error> {
        let root = self.registry_root()?;
        let done = store::recover(&root)?;
        if let Some(message) = &done {
            eprintln!("toolreg: {message}");
        }
        Ok(done)
    }

    fn load_registry(&self, root: &Path) -> Result<Registry, Error> {
        let own = root.join(registry::CONFIG_FILE);
        let config = if self.explicit_config || self.config.path.as_deref() == Some(own.as_path()) {
            self.config.clone()
        } else {
            Config::load(&own)?
        };
        Ok(Registry::load(root, config)?)
    }

    /// The detectors of a registry's configuration.
    pub fn registry_detectors(&self, registry: &Registry) -> Result<Detectors, Error> {
        detectors(&registry.config, &[], true)
    }

    /// The detectors of this run's configuration, plus the rule files `extra`.
    pub fn detectors(&self, extra: &[PathBuf]) -> Result<Detectors, Error> {
        detectors(&self.config, extra, true)
    }

    /// As [`Context::detectors`], loading rules whose examples fail (for `rules test`).
    pub fn detectors_unproven(&self, extra: &[PathBuf]) -> Result<Detectors, Error> {
        detectors(&self.config, extra, false)
    }
}

/// Built-in rules, `config`'s rule files and `extra`, minus the rules `config` disables;
/// `proven`: only rule files whose rules pass their own examples.
fn detectors(config: &Config, extra: &[PathBuf], proven: bool) -> Result<Detectors, Error> {
    let mut files = config.extra_rules.clone();
    files.extend(extra.iter().cloned());
    let load = if proven { Detectors::load_proven } else { Detectors::load };
    Ok(load(&files, &config.disabled_rules)?)
}

/// The size of the input files on disk (standard input and unreadable files count
/// nothing: this only decides whether parsing is worth a thread of its own).
pub fn input_bytes(input: &InputArgs) -> u64 {
    input.files.iter().filter(|f| *f != "-").filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum()
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
        1,
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

/// Who is acting: `--reviewer`, else git config's `user.name <user.email>`.
pub fn reviewer(flag: Option<&str>, repo: &crate::git::Repo) -> Result<String, Error> {
    let identity = match flag {
        Some(given) => given.to_owned(),
        None => repo.identity().ok_or_else(|| {
            Error::Usage(
                "who is reviewing? set git config user.name and user.email, or pass --reviewer \"Name <email>\""
                    .into(),
            )
        })?,
    };
    // The identity goes into review records and commits as it is: it may hold no
    // control, invisible or look-alike-making characters at all.
    if crate::visible::escape(&identity) != identity {
        return Err(Error::Usage(format!(
            "reviewer {} holds control or invisible characters",
            crate::visible::escape(&identity)
        )));
    }
    if crate::git::split_identity(&identity).is_none() {
        return Err(Error::Usage(format!(
            "reviewer {:?} is not of the form `Name <email>`",
            crate::visible::escape(&identity)
        )));
    }
    Ok(identity)
}

/// Loads the one catalog of `server` from `path` (a file or `-`). The catalog's own
/// server name is replaced by the registry id: the registry decides what it is called.
pub fn load_server_catalog(path: &str, server: &str) -> Result<Catalog, Error> {
    let bytes = catalog::read_input(path)?;
    let mut catalogs = catalog::parse(&catalog::origin_label(path), &bytes, server)?;
    if catalogs.len() != 1 {
        return Err(Error::Usage(format!(
            "{}: holds {} catalogs; give the catalog of {} alone",
            crate::visible::escape(path),
            catalogs.len(),
            crate::visible::escape(server)
        )));
    }
    let mut catalog = catalogs.remove(0);
    catalog.server = server.to_owned();
    Ok(catalog)
}

/// Detector findings on one server's catalog after the registry's suppressions — the
/// findings a reviewer must see. Suppression bookkeeping (SUP…) is for `check`.
pub fn catalog_findings(
    detectors: &Detectors,
    config: &Config,
    catalog: &Catalog,
    places: &dyn crate::finding::Locate,
) -> Vec<crate::finding::Finding> {
    let found = detectors.scan(std::slice::from_ref(catalog), places);
    crate::policy::apply_suppressions(found, &config.suppressions, None, crate::config::today(), places)
        .findings
}

/// The `--template` file for `--format markdown`, read before anything is checked (a
/// bad path is a usage error, not a half-written report).
pub fn read_template(output: &OutputArgs) -> Result<Option<String>, Error> {
    let Some(path) = &output.template else { return Ok(None) };
    if output.format != ReportFormat::Markdown {
        return Err(Error::Usage("--template applies to --format markdown only".into()));
    }
    std::fs::read_to_string(path).map(Some).map_err(|e| {
        Error::Usage(format!("--template {}: {e}", visible::escape(&path.display().to_string())))
    })
}

/// `report` in `format`: each command's own human layout, or one of the shared
/// formats (JSON v1, SARIF, GitHub, markdown, JUnit).
pub fn render(
    format: ReportFormat,
    report: &Report<'_>,
    color: bool,
    template: Option<&str>,
) -> Result<String, Error> {
    use crate::report::{check, diff, github, human, json, junit, markdown, sarif, verify, Command};
    let style = human::Style { color };
    Ok(match format {
        ReportFormat::Human => match report.command {
            Command::Scan => human::render(report, style),
            Command::Diff => diff::human(report, style),
            Command::Check => check::human(report, style),
            Command::Verify => verify::human(report, style),
            Command::Discover => crate::report::discover::human(report, style),
        },
        ReportFormat::Json => json::render(report)?,
        ReportFormat::Sarif => sarif::render(report)?,
        ReportFormat::Github => github::render(report),
        ReportFormat::Markdown => markdown::render(report, template).map_err(Error::Usage)?,
        ReportFormat::Junit => junit::render(report),
    })
}

/// The run's outcome: a failure unless `--exit-zero` asked for report-only.
pub fn outcome(passed: bool, output: &OutputArgs) -> Outcome {
    if passed || output.exit_zero {
        Outcome::Pass
    } else {
        Outcome::Fail
    }
}

/// `path` as reports show it: relative to the working directory when under it (what
/// CI annotations and SARIF expect), else as it is.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok().and_then(|c| c.canonicalize().ok());
    let absolute = crate::git::absolute(path);
    let shown = match cwd.as_deref().and_then(|c| absolute.strip_prefix(c).ok()) {
        Some(relative) => relative.display().to_string(),
        None => path.display().to_string(),
    };
    visible::escape(&shown.replace('\\', "/"))
}

/// The audit key in the file at `path` (`--audit-key-file` or `TOOLREG_AUDIT_KEY_FILE`):
/// an unreadable or empty one could not key anything, so it stops the command (exit 2).
pub fn audit_key(path: &Path) -> Result<crate::audit::Key, Error> {
    crate::audit::Key::from_file(path).map_err(|why| {
        Error::Usage(format!(
            "the audit key file {} (--audit-key-file or TOOLREG_AUDIT_KEY_FILE): {why}",
            visible::escape(&path.display().to_string())
        ))
    })
}
