//! toolreg: review and change control for the tool metadata MCP servers hand to AI
//! agents — load catalogs, digest them canonically, find hidden and poisoned content.
//!
//! Data in, findings out, rendering last: `catalog` loads, `canon` digests, `fields`
//! walks, `detect` finds, `policy` decides, `report` renders, `commands` wire them.

pub mod audit;
pub mod canon;
pub mod catalog;
pub mod charclass;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod commands;
pub mod config;
pub mod decode;
pub mod detect;
pub mod drift;
pub mod error;
pub mod fields;
pub mod finding;
pub mod git;
pub mod guard;
pub mod item;
pub mod json;
pub mod lock;
pub mod mcp;
pub mod oauth;
pub mod parallel;
pub mod policy;
pub mod registry;
pub mod report;
pub mod runtime;
pub mod signers;
pub mod visible;
pub mod volatile;

use std::io::Write;

pub use error::Error;
pub use policy::Outcome;

/// Runs one parsed command line, writing its report to `out`.
pub fn run(cli: &cli::Cli, out: &mut dyn Write) -> Result<Outcome, Error> {
    let ctx = commands::Context::new(cli.color, cli.config.as_deref(), cli.registry.as_deref())?;
    match &cli.command {
        cli::Command::Scan(args) => commands::scan::run(args, &ctx, out),
        cli::Command::Digest(args) => commands::digest::run(args, &ctx, out),
        cli::Command::Rules(args) => commands::rules::run(args, &ctx, out),
        cli::Command::Init(args) => commands::init::init(args, &ctx, out),
        cli::Command::Add(args) => commands::init::add(args, &ctx, out),
        cli::Command::Diff(args) => commands::diff::run(args, &ctx, out),
        cli::Command::Review(args) => commands::review::run(args, &ctx, out),
        cli::Command::Log(args) => commands::log::run(args, &ctx, out),
        cli::Command::Revoke(args) => commands::levers::revoke(args, &ctx, out),
        cli::Command::Block(args) => commands::levers::block(args, &ctx, out),
        cli::Command::Check(args) => commands::check::run(args, &ctx, out),
        cli::Command::Fmt(args) => commands::fmt::run(args, &ctx, out),
        cli::Command::Fetch(args) => commands::fetch::run(args, &ctx, out),
        cli::Command::Lock(args) => commands::lock::lock(args, &ctx, out),
        cli::Command::Verify(args) => commands::lock::verify(args, &ctx, out),
        cli::Command::Guard(args) => commands::lock::guard(args, &ctx, out),
        cli::Command::Discover(args) => commands::discover::run(args, &ctx, out),
        cli::Command::Inventory(args) => commands::inventory::run(args, &ctx, out),
        cli::Command::Export(args) => commands::inventory::export(args, &ctx, out),
        cli::Command::Recover => commands::recover::run(&ctx, out),
    }
}
