//! The command line, as clap derive types. Parsing only: no behaviour here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::finding::Severity;

/// Pin, diff, review and enforce the tool metadata MCP servers hand to AI agents.
///
/// Exit codes, everywhere: 0 pass, 1 policy failure (findings at or above --fail-on,
/// drift, unapproved), 2 could not check (bad input, unreachable server, broken registry).
#[derive(Debug, Parser)]
#[command(name = "toolreg", version, max_term_width = 100)]
pub struct Cli {
    /// When to colour human output: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Use this toolreg.toml instead of the one found by walking up from the working
    /// directory (toolreg.toml or registry/toolreg.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the detectors over catalog files (no registry needed).
    ///
    /// Accepts a catalog, a bundle {"catalogs": [...]}, a tools/list result, a JSON-RPC
    /// response wrapping one, or a bare array of tools; `-` (or no FILE with a pipe on
    /// stdin) reads stdin.
    Scan(ScanArgs),
    /// Print the canonical digest (RFC 8785 + SHA-256) of every tool.
    Digest(DigestArgs),
    /// The detector set: list it, explain a rule, or test every rule's examples.
    Rules(RulesArgs),
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: RulesAction,

    /// Extra rule files (besides the built-in ones and those toolreg.toml names).
    #[arg(long = "rules", value_name = "FILE", global = true)]
    pub rules: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// List every rule: id, severity, name and title.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
    },
    /// Explain one rule: what it finds, why it matters, an example and the remedy.
    Explain {
        /// A rule id, such as TR002 (case-insensitive).
        id: String,
    },
    /// Run every `match` and `no_match` example of every text rule (or of one file's).
    Test {
        /// Test only the rules of this file (loaded together with the built-in ones).
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Catalog files to read; `-` for stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Server name for inputs that carry none (default: the file stem).
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,

    /// Hide findings below this severity: info, low, medium, high, critical
    /// [default: toolreg.toml's min-severity, else low].
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<Severity>,

    /// Exit 1 when any finding is at or above this severity
    /// [default: toolreg.toml's fail-on, else high].
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// Extra rule files (besides the built-in ones and those toolreg.toml names).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format: `server/tool sha256:…` lines, or JSON with per-field and header digests.
    #[arg(long, value_enum, default_value_t = DigestFormat::Human)]
    pub format: DigestFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DigestFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
