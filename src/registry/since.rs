//! Pull-request mode (`check --base REV`): every pin added or changed since a base
//! revision must be backed by an approving review of its new digest, recorded by an
//! approver of its server — so a pin rewritten by hand, content and digest consistent,
//! still fails the gate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Pin, Registry, Server, Verdict};
use crate::finding::{Finding, Locate, Rule, RuleClass, Severity};
use crate::git::{GitError, Repo};
use crate::visible;

pub const UNREVIEWED_CHANGE: Rule = Rule {
    id: "PR001",
    name: "unreviewed-pin-change",
    title: "A pin changed since the base revision without an approving review of its new digest",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "In pull-request mode every pin added or changed since --base must carry a review \
           record approving its new digest, by an approver of the server (servers/<id>/server.toml \
           approvers, else toolreg.toml's [registry] reviewers). A pin edited by hand, even with a \
           consistent digest, has none: review it with `toolreg review`.",
};

pub const SELF_APPROVED: Rule = Rule {
    id: "PR002",
    name: "self-approved-pin-change",
    title: "The only approvals of a changed pin come from the author who proposed the change",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "With [registry] reviewer-not-author = true, a pin changed since --base needs an \
           approval from someone other than the author of the oldest commit since --base that \
           changed the server's pins or captured catalog (the proposer). Ask another approver \
           to review it.",
};

pub static RULES: [&Rule; 2] = [&UNREVIEWED_CHANGE, &SELF_APPROVED];

/// The findings of pull-request mode against `base`. `catalogs` is the directory of
/// captured catalogs `check` read, if any: a commit changing a server's catalog
/// proposes a change to that server too.
pub fn check(
    registry: &Registry,
    base: &str,
    catalogs: Option<&Path>,
    places: &dyn Locate,
) -> Result<Vec<Finding>, GitError> {
    let repo = Repo::discover(&registry.root)?;
    let proposers = if registry.config.registry.reviewer_not_author {
        let mut all = repo.first_authors_since(base, Path::new(""))?;
        all.retain(|_, (author, _)| !author.is_empty());
        Some(all)
    } else {
        None
    };
    let root = repo.relative(&registry.root).unwrap_or_default();
    let snapshot = repo.snapshot(base, &root)?;
    let mut findings = Vec::new();
    for server in registry.servers.values() {
        let pins = server.header.iter().map(|p| (None, p));
        let pins = pins.chain(server.items().map(|(item, p)| (Some(item), p)));
        for (item, pin) in pins {
            let Some(relative) = repo.relative(&pin.path) else { continue };
            if snapshot.same_as(&relative, &pin.path) {
                continue;
            }
            let before = snapshot.file(&relative)?;
            let base_digest = before
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .and_then(|v| v.get("digest").and_then(Value::as_str).map(str::to_owned));
            if base_digest.as_deref() == Some(pin.digest.as_str()) {
                continue;
            }
            let approvals = approvals(registry, server, pin);
            let shown = relative.display().to_string();
            // A finding about this pin, bound to its file and new digest.
            let about = |rule: &'static Rule, message: String| {
                Finding::of(rule)
                    .about(&server.id, item)
                    .message(message)
                    .evidence(&shown)
                    .key(&pin.digest)
                    .pin_in(places)
                    .build()
            };
            if approvals.is_empty() {
                let message = format!(
                    "{} since {}: no approving review of its digest {} by an approver of {}",
                    if base_digest.is_some() { "changed" } else { "added" },
                    visible::escape(base),
                    crate::report::diff::short_digest(&pin.digest),
                    server.id
                );
                findings.push(about(&UNREVIEWED_CHANGE, message));
                continue;
            }
            let Some(proposers) = &proposers else { continue };
            let catalog = catalogs.map(|dir| dir.join(format!("{}.json", server.id)));
            let candidates = [Some(relative.clone()), catalog.and_then(|c| repo.relative(&c))];
            let proposer = proposer(proposers, candidates.iter().flatten());
            if let Some(proposer) = proposer {
                if approvals.iter().all(|by| same_person(by, proposer)) {
                    let message = format!(
                        "approved only by {}, who proposed the change since {}",
                        visible::escape(proposer),
                        visible::escape(base)
                    );
                    findings.push(about(&SELF_APPROVED, message));
                }
            }
        }
    }
    Ok(findings)
}

/// Who approved `pin`'s current digest, among those allowed to approve for `server`.
fn approvals<'a>(registry: &Registry, server: &Server, pin: &'a Pin) -> Vec<&'a str> {
    let approvers = &server.inventory.approvers;
    let reviewers = &registry.config.registry.reviewers;
    pin.reviews
        .iter()
        .filter(|r| r.digest == pin.digest && r.verdict == Verdict::Approved)
        .map(|r| r.by.as_str())
        .filter(|by| {
            if !approvers.is_empty() {
                approvers.iter().any(|a| a == by)
            } else {
                reviewers.is_empty() || reviewers.iter().any(|r| r == by)
            }
        })
        .collect()
}

/// The author of the oldest commit since the base among those that changed `paths`.
fn proposer<'a, 'p>(
    proposers: &'a HashMap<PathBuf, (String, i64)>,
    paths: impl Iterator<Item = &'p PathBuf>,
) -> Option<&'a str> {
    paths.filter_map(|p| proposers.get(p)).min_by_key(|(_, time)| *time).map(|(author, _)| author.as_str())
}

/// Identities are `Name <email>`; the email decides (names are spelled many ways).
fn same_person(a: &str, b: &str) -> bool {
    let email = |s: &str| {
        crate::git::split_identity(s)
            .map_or_else(|| s.trim().to_ascii_lowercase(), |(_, e)| e.to_ascii_lowercase())
    };
    email(a) == email(b)
}
