//! The rollback levers: `toolreg revoke` withdraws an approval, `toolreg block` bans a
//! digest. Both append records and commit like a review.

use crate::item::{ItemRef, Kind};
use std::io::Write;

use super::{emit, reviewer, Context};
use crate::cli::{BlockArgs, RevokeArgs};
use crate::error::Error;
use crate::git::Repo;
use crate::policy::Outcome;
use crate::registry::store::Changes;
use crate::registry::{canonical_text, BlockEntry, Pin, Review, Verdict};
use crate::report::diff::short_digest;
use crate::visible;

pub fn revoke(args: &RevokeArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    require_reason(&args.reason)?;
    ctx.recover()?;
    let registry = ctx.registry()?;
    registry.ensure_sound()?;
    let (server_id, tool) = match args.target.split_once('/') {
        Some((server, tool)) => (server, Some(tool)),
        None => (args.target.as_str(), None),
    };
    let server = registry.server(server_id)?;
    let mut pins: Vec<(&Pin, &str)> = Vec::new();
    match tool {
        Some(spec) => {
            let item = ItemRef::parse(spec);
            let pin = server.items.get(&item).ok_or_else(|| {
                Error::Usage(format!("{server_id} pins no {} {}", item.kind, visible::escape(&item.name)))
            })?;
            pins.push((pin, item.kind.pin_key()));
        }
        None => {
            pins.extend(server.header.iter().map(|p| (p, Kind::Server.pin_key())));
            pins.extend(server.items().map(|(item, p)| (p, item.kind.pin_key())));
        }
    }
    if pins.is_empty() {
        return Err(Error::Usage(format!("{server_id} has no pins to revoke")));
    }
    let repo = Repo::discover(&registry.root)?;
    let by = reviewer(args.reviewer.reviewer.as_deref(), &repo)?;
    let at = crate::clock::now_rfc3339();
    let mut changes = Changes::default();
    for (pin, key) in &pins {
        let mut pin = (*pin).clone();
        pin.reviews.push(Review {
            digest: pin.digest.clone(),
            by: by.clone(),
            at: at.clone(),
            verdict: Verdict::Revoked,
            note: args.reason.clone(),
            accepted: Vec::new(),
        });
        changes.write(pin.path.clone(), canonical_text::to_text(&pin.to_json(key)));
    }
    let what = tool.map_or_else(|| "all pins".to_owned(), visible::escape);
    let commit =
        changes.commit(&repo, &by, &format!("revoke({server_id}): {what} — {}\n", args.reason.trim()))?;
    emit(
        out,
        &format!(
            "Revoked {} pin(s) of {server_id} (commit {}). Serving them now fails `toolreg check`.\n",
            pins.len(),
            commit.get(..12).unwrap_or(&commit)
        ),
    )?;
    Ok(Outcome::Pass)
}

pub fn block(args: &BlockArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    require_reason(&args.reason)?;
    let hex = args.digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::Usage(format!(
            "{:?} is not a digest: `sha256:` and 64 lowercase hex digits",
            visible::escape(&args.digest)
        )));
    }
    ctx.recover()?;
    let registry = ctx.registry()?;
    registry.ensure_sound()?;
    if registry.blocked.find(&args.digest).is_some() {
        return Err(Error::Usage(format!("{} is already blocked", args.digest)));
    }
    // Name where it is pinned, if it is: the record is more useful with a place.
    let place = registry.servers.values().find_map(|s| {
        s.items()
            .find(|(_, p)| p.digest == args.digest)
            .map(|(item, _)| (s.id.clone(), Some(item.spec())))
            .or_else(|| s.header.as_ref().filter(|p| p.digest == args.digest).map(|_| (s.id.clone(), None)))
    });
    let repo = Repo::discover(&registry.root)?;
    let by = reviewer(args.reviewer.reviewer.as_deref(), &repo)?;
    let mut blocked = registry.blocked.clone();
    blocked.blocked.push(BlockEntry {
        digest: args.digest.clone(),
        server: place.as_ref().map(|(s, _)| s.clone()),
        tool: place.and_then(|(_, t)| t),
        by: by.clone(),
        at: crate::clock::now_rfc3339(),
        reason: args.reason.clone(),
    });
    let mut changes = Changes::default();
    changes.write(registry.blocked_path(), canonical_text::to_text(&serde_json::to_value(&blocked)?));
    let commit = changes.commit(
        &repo,
        &by,
        &format!("block: {} — {}\n", short_digest(&args.digest), args.reason.trim()),
    )?;
    emit(out, &format!("Blocked {} (commit {}).\n", args.digest, commit.get(..12).unwrap_or(&commit)))?;
    Ok(Outcome::Pass)
}

fn require_reason(reason: &str) -> Result<(), Error> {
    if reason.trim().is_empty() {
        return Err(Error::Usage("--reason must say why".into()));
    }
    Ok(())
}
