//! `toolreg recover`: finish (or roll back) a registry write that a killed toolreg left
//! behind (the journal in `.git/toolreg-transaction`). Every writing command does the
//! same before it starts; this does only that.

use std::io::Write;

use super::{emit, Context};
use crate::error::Error;
use crate::policy::Outcome;

pub fn run(ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let root = ctx.registry_root()?;
    match crate::registry::store::recover(&root)? {
        Some(done) => emit(out, &format!("{done}.\n"))?,
        None => emit(out, "No interrupted write: nothing to recover.\n")?,
    }
    Ok(Outcome::Pass)
}
