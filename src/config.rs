//! `toolreg.toml`: found by walking up from the working directory (or given with
//! `--config`), it adds rule files, disables rules, sets the failure threshold, and
//! records suppressions — each bound to one finding's fingerprint, with a reason.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::Severity;

/// The file names discovery looks for, in each directory walking up (design §4).
pub const FILE_NAMES: [&str; 2] = ["toolreg.toml", "registry/toolreg.toml"];

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// The validated configuration, with rule file paths resolved against its directory.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// Where it was read from; `None` when no file was found (all defaults).
    pub path: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub min_severity: Option<Severity>,
    pub extra_rules: Vec<PathBuf>,
    pub disabled_rules: Vec<String>,
    pub suppressions: Vec<Suppression>,
    /// The `[registry]` section: what the registry commands require.
    pub registry: RegistrySettings,
    /// The `[runtime]` section: guard's actions by class, and the audit's tenant.
    pub runtime: crate::runtime::Defaults,
}

/// `[registry]`: inventory requirements and who may review.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistrySettings {
    /// Inventory fields every `server.toml` must fill (default: owner).
    #[serde(default = "default_required")]
    pub required_fields: Vec<String>,
    /// When not empty, only these identities (`Name <email>`) may approve or reject.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// In `check --base`: the approver must not be the author of the pin's change.
    #[serde(default)]
    pub reviewer_not_author: bool,
    /// Who may approve changes to the registry's own policy files in `check --base`
    /// (toolreg.toml, server.toml, blocked.json, allowed-signers, rule files):
    /// `Name <email>`, each signing with a key listed in `allowed-signers`.
    #[serde(default)]
    pub owners: Vec<String>,
    /// git's allowed-signers file (relative to the registry): when set, a review counts
    /// in `check --base` only when the commit that added it is signed by a key listed
    /// for the reviewer's e-mail.
    #[serde(default)]
    pub allowed_signers: Option<String>,
    /// The registry's format: 1 (no key: written before 2) pins the header as
    /// `serverInfo`, `protocolVersion`, `instructions`; 2 adds the server's declared
    /// `capabilities`. `toolreg fmt --migrate` moves a registry to the newest.
    #[serde(default = "default_format")]
    pub format: u32,
}

/// The newest registry format this toolreg writes.
pub const REGISTRY_FORMAT: u32 = 2;

fn default_format() -> u32 {
    1
}

impl RegistrySettings {
    /// Whether the header pins cover the server's declared capabilities.
    pub fn pins_capabilities(&self) -> bool {
        self.format >= 2
    }
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            required_fields: default_required(),
            reviewers: Vec::new(),
            reviewer_not_author: false,
            owners: Vec::new(),
            allowed_signers: None,
            format: default_format(),
        }
    }
}

fn default_required() -> Vec<String> {
    vec!["owner".to_owned()]
}

/// One accepted finding. The fingerprint is what binds it: when the offending text
/// changes, so does the fingerprint, and the suppression stops matching.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub rule: String,
    pub server: String,
    #[serde(default)]
    pub tool: Option<String>,
    #[serde(default)]
    pub pointer: Option<String>,
    pub fingerprint: String,
    pub reason: String,
    /// `YYYY-MM-DD`: after this day the suppression no longer applies.
    #[serde(default)]
    pub expires: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    rules: RawRules,
    #[serde(default)]
    suppress: Vec<Suppression>,
    #[serde(default)]
    registry: RegistrySettings,
    #[serde(default)]
    runtime: crate::runtime::Defaults,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    fail_on: Option<String>,
    min_severity: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRules {
    #[serde(default)]
    extra: Vec<String>,
    #[serde(default)]
    disable: Vec<String>,
}

impl Config {
    /// The configuration for this run: `explicit` if given (it must exist), else the
    /// first file found walking up from `start`, else defaults.
    pub fn discover(explicit: Option<&Path>, start: &Path) -> Result<Config, ConfigError> {
        if let Some(path) = explicit {
            return Config::load(path);
        }
        for dir in start.ancestors() {
            for name in FILE_NAMES {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Config::load(&candidate);
                }
            }
        }
        Ok(Config::default())
    }

    /// Reads and validates one file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let fail = |message: String| ConfigError { path: shown.clone(), message };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        Config::parse(path, &text)
    }

    /// Validates the text of a toolreg.toml read from `path` (rule files are relative to it).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let fail = |message: String| ConfigError { path: shown.clone(), message };
        let raw: RawConfig = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
        let severity = |value: Option<String>, key: &str| -> Result<Option<Severity>, ConfigError> {
            value.map(|v| v.parse().map_err(|e: String| fail(format!("[policy] {key}: {e}")))).transpose()
        };
        let base = path.parent().unwrap_or(Path::new("."));
        for (i, s) in raw.suppress.iter().enumerate() {
            if s.reason.trim().is_empty() {
                return Err(fail(format!(
                    "[[suppress]] #{} ({}): a suppression needs a reason",
                    i + 1,
                    s.rule
                )));
            }
            if let Some(date) = &s.expires {
                if parse_date(date).is_none() {
                    return Err(fail(format!(
                        "[[suppress]] #{} ({}): expires {date:?} is not YYYY-MM-DD",
                        i + 1,
                        s.rule
                    )));
                }
            }
        }
        Ok(Config {
            path: Some(path.to_path_buf()),
            fail_on: severity(raw.policy.fail_on, "fail-on")?,
            min_severity: severity(raw.policy.min_severity, "min-severity")?,
            extra_rules: raw.rules.extra.iter().map(|p| base.join(p)).collect(),
            disabled_rules: raw.rules.disable,
            suppressions: raw.suppress,
            registry: raw.registry,
            runtime: raw.runtime,
        })
    }
}

impl Suppression {
    /// Whether the suppression has passed its expiry date (`today` as days since 1970).
    pub fn expired(&self, today: i64) -> bool {
        self.expires.as_deref().and_then(parse_date).is_some_and(|day| today > day)
    }
}

/// `YYYY-MM-DD` → days since 1970-01-01 (proleptic Gregorian).
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Today, as days since 1970-01-01 (UTC).
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_date("2026-11-24"), Some(20_781));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("26-1-1"), None);
    }

    #[test]
    fn discovery_walks_up_and_validates() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap_or_else(|e| panic!("{e}"));
        assert!(Config::discover(None, &nested).map(|c| c.path.is_none()).unwrap_or(false));
        std::fs::write(
            dir.path().join("toolreg.toml"),
            "[policy]\nfail-on = \"critical\"\n[rules]\nextra = [\"more.toml\"]\ndisable = [\"TR013\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let config = Config::discover(None, &nested).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.fail_on, Some(Severity::Critical));
        assert_eq!(config.extra_rules, vec![dir.path().join("more.toml")]);
        assert_eq!(config.disabled_rules, vec!["TR013"]);

        std::fs::write(dir.path().join("toolreg.toml"), "[policy]\nfail-on = \"severe\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = Config::discover(None, &nested).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("fail-on") && err.contains("severe"), "{err}");
        std::fs::write(
            dir.path().join("toolreg.toml"),
            "[[suppress]]\nrule = \"X\"\nserver = \"s\"\nfingerprint = \"f\"\nreason = \"\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = Config::discover(None, &nested).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("needs a reason"), "{err}");
    }
}
