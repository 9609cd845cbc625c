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

    /// The registry directory (holding toolreg.toml) [default: the first directory
    /// walking up that holds toolreg.toml or registry/toolreg.toml].
    #[arg(long, value_name = "DIR", env = "TOOLREG_REGISTRY", global = true)]
    pub registry: Option<PathBuf>,

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
    /// Create a registry: a fully commented toolreg.toml and an empty blocked.json,
    /// committed (a git repository is created when DIR is not inside one).
    Init(InitArgs),
    /// Register a server: its inventory in servers/<id>/server.toml, committed.
    Add(AddArgs),
    /// Show how a catalog differs from a server's pins, tool by tool and field by field.
    ///
    /// Exit 0 when it matches, 1 when it drifted.
    Diff(DiffArgs),
    /// Review a catalog against the pins: approve or reject each new or changed tool.
    ///
    /// Interactive on a terminal; scripted with --approve or --reject. Approved content
    /// is pinned, rejected digests are blocked for good; the files are committed with
    /// the reviewer as author.
    Review(ReviewArgs),
    /// Who approved, rejected or revoked what, when, and which digest, with the note.
    Log(LogArgs),
    /// Withdraw an approval: the pin stays but may no longer be served.
    Revoke(RevokeArgs),
    /// Block a digest: it can never be approved, and serving it fails the gate.
    Block(BlockArgs),
    /// The CI gate: catalogs against the registry. Exit 1 on drift, blocked or revoked
    /// content served, findings at or above fail-on, broken or non-canonical registry
    /// files, unused suppressions, a stale toolreg.lock, and (--base) pins changed
    /// without an approving review.
    Check(CheckArgs),
    /// Rewrite registry JSON files in canonical form (--check: only report, exit 1).
    Fmt(FmtArgs),
    /// Fetch a live catalog over MCP (stdio or HTTP) and write it as a catalog file.
    ///
    /// From a registered server (its server.toml launch), --url, or a command after `--`.
    /// Both protocol eras: server/discover first, initialize as the fallback.
    Fetch(FetchArgs),
    /// Write toolreg.lock from the approved, non-revoked pins (--check: exit 1 if stale).
    Lock(LockArgs),
    /// Compare a server's catalog with toolreg.lock, digests only: for agent start-up.
    Verify(VerifyArgs),
    /// Run a stdio MCP server behind an enforcing proxy: unapproved tools hidden and
    /// refused, every decision in a tamper-evident audit log.
    Guard(GuardArgs),
    /// Find the MCP servers configured in clients on this machine and in this project:
    /// each matched against the registry (registered, differs, disabled, shadow) and
    /// its launch judged (unpinned runners, shells, sudo, plaintext secrets, …).
    ///
    /// Reads Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Codex, Gemini CLI,
    /// Zed, Cline, Continue, Goose, Kiro, Amazon Q, opencode, LM Studio, Copilot CLI,
    /// Junie and Amp. Values of variables and headers are never printed.
    Discover(DiscoverArgs),
    /// The registry's inventory, one row per server: owner, approvers, repository,
    /// support, transport, runtime, hosting, sandbox, items pinned, data classes, OAuth
    /// scopes, telemetry, status, last review and reviewer.
    Inventory(InventoryArgs),
    /// Write the approved servers as a client's own configuration (its managed
    /// allowlist), so the client itself starts nothing the registry has not approved.
    Export(ExportArgs),
    /// Finish (or roll back) a registry write that a killed toolreg left behind.
    ///
    /// Every command that writes the registry does this first; read-only commands and
    /// `check` refuse (exit 2) until it is done.
    Recover,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The home folder whose client configurations are read [default: $HOME].
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Do not read a home folder (only the project, and --root when given).
    #[arg(long, conflicts_with = "home")]
    pub no_home: bool,

    /// The project folder whose committed client configurations are read (.mcp.json,
    /// .vscode/mcp.json, …) [default: the git repository here, else the current folder].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Read system-wide (managed) configurations under this root, e.g. `/` or a
    /// mounted image [default: none].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Launch risks at or above this severity fail the run [default: toolreg.toml's
    /// fail-on, else high].
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<crate::finding::Severity>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The client: claude-code (managed-mcp.json), vscode (mcp.json), codex
    /// (config.toml, with `enabled_tools` listing only approved tools), allowlist
    /// (managed settings' `allowedMcpServers`, for GitHub Copilot and Claude Code).
    #[arg(long, value_enum)]
    pub client: ExportClient,

    /// Write it here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportClient {
    ClaudeCode,
    Vscode,
    Codex,
    Allowlist,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = InventoryFormat::Human)]
    pub format: InventoryFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    Human,
    Markdown,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Where to write it [default: toolreg.lock beside toolreg.toml].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write nothing; exit 1 when the lock is stale against the registry.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The lock file.
    #[arg(long, value_name = "FILE")]
    pub lock: PathBuf,

    /// The server, as the lock names it.
    #[arg(value_name = "SERVER-ID")]
    pub server: String,

    /// A captured catalog file (`-` for stdin).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["live", "command"])]
    pub catalog: Option<String>,

    /// Start the server as the lock's launch says and fetch its catalog.
    #[arg(long, conflicts_with = "command")]
    pub live: bool,

    /// The server's command after `--` (spawned directly, no shell).
    #[arg(last = true, value_name = "CMD ARGS")]
    pub command: Vec<String>,

    /// Output format. `json` is the JSON report v1 (a LOCK002 finding per difference)
    /// with `server`, `ok` and `mismatches` beside it.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuardMode {
    /// Hide unapproved tools and refuse their calls.
    Enforce,
    /// Log what enforce would do, and let everything through.
    Monitor,
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    /// The lock file.
    #[arg(long, value_name = "FILE")]
    pub lock: PathBuf,

    /// The server, as the lock names it.
    #[arg(long, value_name = "SERVER-ID")]
    pub server: String,

    /// Append every decision here (JSON lines, hash-chained; see `log --verify-audit`).
    /// Guards may share one file: each append holds an exclusive lock on it.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,

    /// Key the audit log's chain: each line's hash is an HMAC-SHA256 under this file's
    /// bytes (one trailing newline trimmed). Keep it readable by guard and not by
    /// whoever could edit the log.
    #[arg(long, value_name = "FILE", env = "TOOLREG_AUDIT_KEY_FILE")]
    pub audit_key_file: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t = GuardMode::Enforce)]
    pub mode: GuardMode,

    /// Largest message passed, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// How long the person at the client has to approve a call the runtime policy
    /// says to `ask` about; unanswered, the call is refused.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    pub ask_timeout: f64,

    /// Who the audit log names as the session's user [default: the OS user: $USER].
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// The server's command after `--`.
    #[arg(last = true, required = true, value_name = "CMD ARGS")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// A registered server to fetch (its launch from servers/<id>/server.toml).
    #[arg(value_name = "SERVER-ID", conflicts_with_all = ["url", "command"])]
    pub server: Option<String>,

    /// An HTTP endpoint: Streamable HTTP, or the legacy HTTP+SSE transport.
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    pub url: Option<String>,

    /// The environment variable holding a bearer token for --url (never printed).
    #[arg(long, value_name = "NAME", requires = "url")]
    pub token_env: Option<String>,

    /// The server's command after `--` (spawned directly, no shell).
    #[arg(last = true, value_name = "CMD ARGS")]
    pub command: Vec<String>,

    /// Write the catalog here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE", conflicts_with = "repeat")]
    pub output: Option<std::path::PathBuf>,

    /// Fetch N times (a fresh start each time) and report the pointers whose values
    /// differ between fetches, with the `[digest]` exclusions that would pin them.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=100))]
    pub repeat: Option<u32>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Bounds on what a live server may do.
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    /// Seconds to wait for the handshake and for each request.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Largest message accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Most pages followed in one listing (tools/list, prompts/list, resources/list,
    /// resources/templates/list).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_pages: usize,
    /// Most tools accepted (and most prompts, resources, resource templates, each).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_tools: usize,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create the registry.
    #[arg(value_name = "DIR", default_value = "registry")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub reviewer: ReviewerArg,
}

#[derive(Debug, Args)]
pub struct ReviewerArg {
    /// Who is acting, as `Name <email>` [default: git config user.name and user.email].
    #[arg(long, value_name = "NAME <EMAIL>")]
    pub reviewer: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The server id: a slug (lowercase letters, digits, `-`, `_`, `.`).
    #[arg(value_name = "SERVER-ID")]
    pub id: String,

    /// The server's URL (Streamable HTTP), instead of a command.
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    pub url: Option<String>,

    /// The command that starts the server (stdio), after `--`: `-- npx -y pkg@1.2.3`.
    #[arg(last = true, value_name = "CMD ARGS")]
    pub command: Vec<String>,

    /// Take the launch from a client configuration's entry: `FILE#NAME` (or `FILE`
    /// when it configures one server). Variables are kept as written; env values are
    /// never copied (names only).
    #[arg(long, value_name = "FILE[#NAME]", conflicts_with_all = ["url", "command", "from_server_json"])]
    pub from_config: Option<String>,

    /// Take the launch (and the repository) from an official MCP Registry
    /// `server.json`: its first package at its exact version, else its first remote.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "command"])]
    pub from_server_json: Option<PathBuf>,

    /// Who owns the server (a team or a person).
    #[arg(long)]
    pub owner: Option<String>,
    /// Who may approve its pins, as `Name <email>` (repeatable).
    #[arg(long = "approver", value_name = "NAME <EMAIL>")]
    pub approvers: Vec<String>,
    /// Where its source lives.
    #[arg(long)]
    pub repository: Option<String>,
    /// Where to ask about it.
    #[arg(long)]
    pub support: Option<String>,
    /// Where it runs (local, vendor-hosted, …).
    #[arg(long)]
    pub hosting: Option<String>,
    /// How it is contained (none, container, VM, …).
    #[arg(long)]
    pub sandbox: Option<String>,
    /// Data classes it touches (repeatable).
    #[arg(long = "data-class", value_name = "CLASS")]
    pub data_classes: Vec<String>,
    /// OAuth scopes it may ask for (repeatable): `check` fails on any scope its metadata
    /// advertises that is not declared here.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Names of environment variables it needs (repeatable; never values).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,
    /// Environment variable holding the bearer token for --url.
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,
    /// Status: active, disabled (kept, not to be used) or retired. A server that is not
    /// active is left out of toolreg.lock (guard refuses it) and fails `check` where it
    /// is still served or configured.
    #[arg(long, default_value = "active", value_parser = ["active", "disabled", "retired"])]
    pub status: String,

    #[command(flatten)]
    pub reviewer: ReviewerArg,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The registered server.
    #[arg(value_name = "SERVER-ID")]
    pub server: String,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where a server's catalog comes from: a file, or the live server.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SourceArgs {
    /// A captured catalog file (or `-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<String>,

    /// Fetch the catalog from the live server (its launch in server.toml).
    #[arg(long)]
    pub live: bool,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The registered server.
    #[arg(value_name = "SERVER-ID")]
    pub server: String,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Approve every new or changed item (or those named by --tool).
    #[arg(long, conflicts_with = "reject")]
    pub approve: bool,

    /// Reject every new or changed item (or those named by --tool): their digests are
    /// blocked for good.
    #[arg(long)]
    pub reject: bool,

    /// Only these items (repeatable): `NAME` for a tool, `KIND:NAME` for any kind
    /// (`prompt:greet`, `resource:file:///a`, `resource-template:file:///{path}`).
    /// Without it, every item, the server header included.
    #[arg(long = "item", visible_alias = "tool", value_name = "ITEM")]
    pub tools: Vec<String>,

    /// Why: recorded in the review and the commit message.
    #[arg(long, default_value = "")]
    pub note: String,

    /// Approve only content with exactly these digests (repeatable): what you reviewed
    /// is what gets pinned.
    #[arg(long = "expect", value_name = "DIGEST")]
    pub expect: Vec<String>,

    /// Accept findings of this rule at or above fail-on (repeatable); needs --reason.
    #[arg(long = "accept", value_name = "RULE")]
    pub accept: Vec<String>,

    /// Why the accepted findings are acceptable.
    #[arg(long, requires = "accept")]
    pub reason: Option<String>,

    #[command(flatten)]
    pub reviewer: ReviewerArg,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// A server, or server/tool.
    #[arg(value_name = "SERVER[/TOOL]", conflicts_with_all = ["verify_audit", "audit"])]
    pub target: Option<String>,

    /// Export a guard audit log instead (its chain verified first): `--format human`
    /// summarises it (decisions, denials per item and client, repeated ones first),
    /// `json` gives every line and the summary, `csv` every line. Arguments and results
    /// are in it only as SHA-256 and size.
    #[arg(long, value_name = "FILE", conflicts_with = "verify_audit")]
    pub audit: Option<PathBuf>,

    /// Check a guard audit log instead: exit 1 naming the first edited, removed or
    /// reordered line.
    #[arg(long, value_name = "FILE")]
    pub verify_audit: Option<PathBuf>,

    /// With --verify-audit or --audit: the key of a keyed log, as guard was given it. A
    /// keyed log cannot be checked without it (exit 2).
    #[arg(long, value_name = "FILE", env = "TOOLREG_AUDIT_KEY_FILE")]
    pub audit_key_file: Option<PathBuf>,

    /// With --verify-audit: a hash the log's last line had when you kept it elsewhere.
    /// Exit 1 unless a line still carries it: lines were removed from the end.
    #[arg(long, value_name = "HASH", requires = "verify_audit")]
    pub expect_last: Option<String>,

    /// Output format (`csv` with --audit only).
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// A server (its header and every tool), or server/tool.
    #[arg(value_name = "SERVER[/TOOL]")]
    pub target: String,

    /// Why: recorded in the review records and the commit.
    #[arg(long)]
    pub reason: String,

    #[command(flatten)]
    pub reviewer: ReviewerArg,
}

#[derive(Debug, Args)]
pub struct BlockArgs {
    /// The digest to block (`sha256:` and 64 hex digits).
    #[arg(value_name = "DIGEST")]
    pub digest: String,

    /// Why: recorded in blocked.json and the commit.
    #[arg(long)]
    pub reason: String,

    #[command(flatten)]
    pub reviewer: ReviewerArg,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Captured catalogs: one `<server-id>.json` per registered server.
    #[arg(long, value_name = "DIR", required_unless_present = "live", conflicts_with = "live")]
    pub catalogs: Option<PathBuf>,

    /// Fetch every registered server live instead (each must be reachable: exit 2 if not).
    #[arg(long)]
    pub live: bool,

    /// Pull-request mode: every pin added or changed since this git revision must carry
    /// an approving review of its new digest by an approver of its server.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Detector findings at or above this severity fail the gate
    /// [default: toolreg.toml's fail-on, else high]. Drift and registry problems always do.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// For a pre-commit hook: the registry's files may differ from HEAD in the index
    /// (what is being committed), but not in the working tree. Without it, any
    /// uncommitted or untracked registry file is "could not check" (exit 2).
    #[arg(long)]
    pub staged: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Report non-canonical files with a diff and exit 1; write nothing.
    #[arg(long)]
    pub check: bool,

    /// Move the registry to the newest format (toolreg.toml's `[registry] format`).
    /// Nothing is re-pinned: a pin whose meaning the new format widens (the header
    /// pin of format 2 covers the server's capabilities) shows as drift, and needs a
    /// review like any other change. Commit the result.
    #[arg(long, conflicts_with = "check")]
    pub migrate: bool,
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
        #[arg(long, value_enum, default_value_t = SimpleFormat::Human)]
        format: SimpleFormat,
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

    /// Read each argument as a registered SERVER-ID and scan what it serves now (every
    /// registered server when none is given).
    #[arg(long, conflicts_with = "server")]
    pub live: bool,

    #[command(flatten)]
    pub output: OutputArgs,

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
    #[arg(long, value_enum, default_value_t = SimpleFormat::Human)]
    pub format: SimpleFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow-command annotations.
    Github,
    /// A markdown summary (pull-request comment, job summary); see --template.
    Markdown,
    /// JUnit XML.
    Junit,
}

/// How a report is written, and whether findings may fail the run.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,

    /// A minijinja template for --format markdown (sandboxed: no files, no environment).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// Report only: exit 0 even when findings fail the policy (could-not-check is
    /// still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SimpleFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
