//! The `toolreg` binary: parse, run, map the outcome to an exit code. Nothing else.

use std::process::ExitCode;

use clap::Parser;
use toolreg::{cli::Cli, visible, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Not locked for the whole run: `guard` writes to stdout from two threads.
    match toolreg::run(&cli, &mut std::io::stdout()) {
        Ok(Outcome::Pass) => ExitCode::SUCCESS,
        Ok(Outcome::Fail) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(error) => {
            // Errors may quote input (a path, a name): never let it reach the terminal raw.
            eprintln!("error: {}", visible::escape_multiline(&error.to_string()));
            ExitCode::from(error.exit_code())
        }
    }
}

/// A scan makes hundreds of thousands of small strings on two threads; mimalloc makes
/// the whole corpus scan ~35% faster than the system allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
