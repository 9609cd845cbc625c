//! `toolreg review`: the certify step. Each new or changed item is shown with its diff
//! and findings, then approved (pinned), rejected (blocked) or skipped; the decisions
//! are written and committed together at the end, or not at all.

use std::io::{BufRead, IsTerminal, Write};

use super::diff::Compared;
use super::{emit, reviewer, Context};
use crate::cli::ReviewArgs;
use crate::drift::{Change, Drift, Item};
use crate::error::Error;
use crate::finding::{Finding, Severity};
use crate::git::Repo;
use crate::item::ItemRef;
use crate::policy::Outcome;
use crate::registry::store::Changes;
use crate::registry::{canonical_text, Accepted, BlockEntry, Pin, Registry, Review, Server, Verdict};
use crate::report::diff::{short_digest, write_item};
use crate::report::human::Style;
use crate::visible;

/// What the reviewer decided about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Approve { note: String },
    Reject { note: String },
    Skip,
}

pub fn run(args: &ReviewArgs, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    if !args.accept.is_empty() && args.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(Error::Usage("--accept needs --reason \"why these findings are acceptable\"".into()));
    }
    ctx.recover()?;
    let Compared { registry, server, drift, findings, .. } = Compared::load(ctx, &args.server, &args.source)?;
    let server = registry.server(&server)?;
    let fail_on = registry.config.fail_on.unwrap_or(Severity::High);

    let items = selected_items(&drift, &args.tools)?;
    if items.is_empty() {
        emit(out, &format!("Nothing to review: {} matches its pins.\n", visible::escape(&server.id)))?;
        return Ok(Outcome::Pass);
    }
    let repo = Repo::discover(&registry.root)?;
    let by = reviewer(args.reviewer.reviewer.as_deref(), &repo)?;
    may_review(&registry, server, &by)?;

    let style = Style { color: ctx.color };
    let decisions: Vec<Decision> = if args.approve || args.reject {
        let note = args.note.clone();
        let decision = if args.approve { Decision::Approve { note } } else { Decision::Reject { note } };
        items.iter().map(|_| decision.clone()).collect()
    } else if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        interactive(&items, &findings, fail_on, style, out)?
    } else {
        return Err(Error::Usage(
            "not on a terminal: give --approve or --reject (with --note, and --tool to choose tools)".into(),
        ));
    };

    let plan = Plan::build(&registry, server, &items, &decisions, &findings, fail_on, args, &by)?;
    if plan.changes.is_empty() {
        emit(out, "Nothing decided; nothing written.\n")?;
        return Ok(Outcome::Pass);
    }
    let message = plan.message(&server.id, &args.note);
    let commit = plan.changes.commit(&repo, &by, &message)?;
    let mut text = String::new();
    for line in &plan.summary {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(
        "Committed {} as {}.\n",
        commit.get(..12).unwrap_or(&commit),
        visible::escape(&by)
    ));
    emit(out, &text)?;
    Ok(Outcome::Pass)
}

/// The drifted items under review: all (header first), or those `--tool` / `--item`
/// names (`NAME` for a tool, `KIND:NAME` for any kind).
fn selected_items<'a>(drift: &'a Drift, specs: &[String]) -> Result<Vec<&'a Item>, Error> {
    if specs.is_empty() {
        return Ok(drift.header.iter().chain(&drift.items).collect());
    }
    let mut items = Vec::new();
    for spec in specs {
        let wanted = ItemRef::parse(spec);
        let item = drift.items.iter().find(|i| i.item.as_ref() == Some(&wanted)).ok_or_else(|| {
            Error::Usage(format!("--item {}: no change to review for this item", visible::escape(spec)))
        })?;
        items.push(item);
    }
    Ok(items)
}

/// Only listed reviewers (toolreg.toml) and the server's approvers (server.toml) may
/// decide, when those lists are given.
fn may_review(registry: &Registry, server: &Server, by: &str) -> Result<(), Error> {
    let reviewers = &registry.config.registry.reviewers;
    if !reviewers.is_empty() && !reviewers.iter().any(|r| r == by) {
        return Err(Error::Refused(format!(
            "{} is not among toolreg.toml's [registry] reviewers",
            visible::escape(by)
        )));
    }
    let approvers = &server.inventory.approvers;
    if !approvers.is_empty() && !approvers.iter().any(|a| a == by) {
        return Err(Error::Refused(format!(
            "{} is not an approver of {} (servers/{}/server.toml lists: {})",
            visible::escape(by),
            server.id,
            server.id,
            visible::escape(&approvers.join(", "))
        )));
    }
    Ok(())
}

/// The files the decisions write, and what to tell the reviewer.
struct Plan {
    changes: Changes,
    summary: Vec<String>,
    /// (verb, item label, digest) per decided item, for the commit message.
    decided: Vec<(&'static str, String, String)>,
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    fn build(
        registry: &Registry,
        server: &Server,
        items: &[&Item],
        decisions: &[Decision],
        findings: &[Finding],
        fail_on: Severity,
        args: &ReviewArgs,
        by: &str,
    ) -> Result<Plan, Error> {
        let at = crate::clock::now_rfc3339();
        let mut plan = Plan { changes: Changes::default(), summary: Vec::new(), decided: Vec::new() };
        let mut blocked = registry.blocked.clone();
        let mut expected_used = vec![false; args.expect.len()];
        for (item, decision) in items.iter().zip(decisions) {
            let label = item.item.as_ref().map_or_else(|| "(server header)".to_owned(), ItemRef::label);
            let digest = item.new_digest.clone().or_else(|| item.old_digest.clone()).unwrap_or_default();
            match decision {
                Decision::Skip => plan.summary.push(format!("skipped   {label}")),
                Decision::Approve { note } => {
                    if let Some(entry) = item.new_digest.as_deref().and_then(|d| blocked.find(d)) {
                        return Err(Error::Refused(format!(
                            "{label} {digest} is blocked ({}, by {}): it can never be approved",
                            visible::escape(&entry.reason),
                            visible::escape(&entry.by)
                        )));
                    }
                    if !args.expect.is_empty() && item.change != Change::Removed {
                        match args.expect.iter().position(|e| *e == digest) {
                            Some(i) => expected_used[i] = true,
                            None => {
                                return Err(Error::Refused(format!(
                                    "{label} is now {digest}, which no --expect names: the content changed since you reviewed it"
                                )))
                            }
                        }
                    }
                    let accepted = accepted_findings(item, findings, fail_on, args, &label)?;
                    let review = Review {
                        digest: digest.clone(),
                        by: by.to_owned(),
                        at: at.clone(),
                        verdict: Verdict::Approved,
                        note: note.clone(),
                        accepted,
                    };
                    plan.approve(registry, server, item, review);
                    plan.summary.push(format!("approved  {label}  {}", short_digest(&digest)));
                    plan.decided.push(("approve", label, digest));
                }
                Decision::Reject { note } => {
                    if item.change == Change::Removed {
                        plan.summary.push(format!("skipped   {label} (a removal has no content to reject)"));
                        continue;
                    }
                    if blocked.find(&digest).is_none() {
                        blocked.blocked.push(BlockEntry {
                            digest: digest.clone(),
                            server: Some(server.id.clone()),
                            tool: item.item.as_ref().map(ItemRef::spec),
                            by: by.to_owned(),
                            at: at.clone(),
                            reason: note.clone(),
                        });
                    }
                    plan.summary.push(format!("rejected  {label}  {} (blocked)", short_digest(&digest)));
                    plan.decided.push(("reject", label, digest));
                }
            }
        }
        if let Some(i) = expected_used.iter().position(|used| !used) {
            return Err(Error::Refused(format!(
                "--expect {}: no item under review has this digest",
                visible::escape(&args.expect[i])
            )));
        }
        if blocked != registry.blocked {
            let value = serde_json::to_value(&blocked)?;
            plan.changes.write(registry.blocked_path(), canonical_text::to_text(&value));
        }
        Ok(plan)
    }

    /// Pins the new content (or drops the pin of a removed item), reviews appended.
    fn approve(&mut self, registry: &Registry, server: &Server, item: &Item, review: Review) {
        match (item.item.as_ref(), &item.new) {
            (Some(key), None) => self.changes.delete(registry.item_path(&server.id, Some(key))),
            (key, Some(value)) => {
                let path = registry.item_path(&server.id, key);
                let previous = server.pin(key);
                let pin_key = key.map_or(crate::item::Kind::Server, |k| k.kind).pin_key();
                let mut reviews = previous.map(|p| p.reviews.clone()).unwrap_or_default();
                reviews.push(review);
                let pin = Pin {
                    path: path.clone(),
                    digest: item.new_digest.clone().unwrap_or_default(),
                    value: value.clone(),
                    reviews,
                };
                // A tool renamed to a name with another file: the old pin stays until its
                // removal is approved too.
                self.changes.write(path, canonical_text::to_text(&pin.to_json(pin_key)));
            }
            // A header is never removed: a catalog always has one.
            (None, None) => {}
        }
    }

    /// `review(<server>): approve <tool> sha256:abcd1234… — <note>`, or a summary line
    /// and one body line per item when several were decided.
    fn message(&self, server: &str, note: &str) -> String {
        let note_suffix =
            if note.trim().is_empty() { String::new() } else { format!(" — {}", note.trim()) };
        if let [(verb, label, digest)] = self.decided.as_slice() {
            return format!("review({server}): {verb} {label} {}{note_suffix}\n", short_digest(digest));
        }
        let count = |v: &str| self.decided.iter().filter(|(verb, _, _)| *verb == v).count();
        let mut message = format!(
            "review({server}): approve {}, reject {}{note_suffix}\n\n",
            count("approve"),
            count("reject")
        );
        for (verb, label, digest) in &self.decided {
            message.push_str(&format!("{verb} {label} {digest}\n"));
        }
        message
    }
}

/// The findings at or above fail-on on `item`; each must be accepted with --accept.
fn accepted_findings(
    item: &Item,
    findings: &[Finding],
    fail_on: Severity,
    args: &ReviewArgs,
    label: &str,
) -> Result<Vec<Accepted>, Error> {
    let blocking = blocking_findings(item, findings, fail_on);
    let refused: Vec<String> = blocking
        .iter()
        .filter(|f| !args.accept.iter().any(|a| a.eq_ignore_ascii_case(f.rule)))
        .map(|f| format!("{} {} at {}", f.rule, f.severity, f.pointer))
        .collect();
    if !refused.is_empty() {
        return Err(Error::Refused(format!(
            "{label} has findings at or above fail-on ({fail_on}): {}; \
             approve it only with --accept RULE --reason \"…\"",
            refused.join(", ")
        )));
    }
    let reason = args.reason.clone().unwrap_or_default();
    Ok(blocking
        .iter()
        .map(|f| Accepted {
            rule: f.rule.to_owned(),
            pointer: f.pointer.clone(),
            fingerprint: f.fingerprint.clone(),
            reason: reason.clone(),
        })
        .collect())
}

/// Detector findings on `item` at or above fail-on: what approving it must accept.
/// (Change classes, PIN…, describe the drift itself and never block.)
fn blocking_findings<'a>(item: &Item, findings: &'a [Finding], fail_on: Severity) -> Vec<&'a Finding> {
    let label = item.item.as_ref().map(ItemRef::label);
    findings
        .iter()
        .filter(|f| f.item_label() == label && crate::policy::needs_acceptance(f, fail_on))
        .collect()
}

/// The screen for one item: its diff and findings, then the prompt.
pub fn screen(item: &Item, findings: &[&Finding], position: (usize, usize), style: Style) -> String {
    let mut out = format!("── review {} of {} ──\n", position.0, position.1);
    write_item(&mut out, item, findings, style);
    out.push_str("\n[a]pprove  [r]eject  [s]kip  [f]ull text  [q]uit (keep decisions so far) > ");
    out
}

/// Asks about each item on the terminal. End of input aborts without writing.
fn interactive(
    items: &[&Item],
    findings: &[Finding],
    fail_on: Severity,
    style: Style,
    out: &mut dyn Write,
) -> Result<Vec<Decision>, Error> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut next_line = |out: &mut dyn Write, prompt: &str| -> Result<String, Error> {
        out.write_all(prompt.as_bytes())?;
        out.flush()?;
        match lines.next() {
            Some(line) => Ok(line?.trim().to_owned()),
            None => Err(Error::Usage("review aborted (end of input); nothing written".into())),
        }
    };
    let all: Vec<&Finding> = findings.iter().collect();
    let mut decisions = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let blocking = !blocking_findings(item, findings, fail_on).is_empty();
        let mut prompt = screen(item, &all, (index + 1, items.len()), style);
        let decision = loop {
            let answer = next_line(out, &prompt)?;
            prompt = "[a]pprove  [r]eject  [s]kip  [f]ull text  [q]uit > ".to_owned();
            match answer.to_ascii_lowercase().as_str() {
                "a" | "approve" if blocking => {
                    out.write_all(
                        format!(
                            "  cannot approve here: it has findings at or above fail-on ({fail_on}); \
                             use `toolreg review --approve --accept RULE --reason …` to accept them\n"
                        )
                        .as_bytes(),
                    )?;
                }
                "a" | "approve" => break Decision::Approve { note: next_line(out, "note: ")? },
                "r" | "reject" => break Decision::Reject { note: next_line(out, "reason: ")? },
                "s" | "skip" | "" => break Decision::Skip,
                "f" | "full" => {
                    let full = item
                        .new
                        .as_ref()
                        .or(item.old.as_ref())
                        .map(canonical_text::to_text)
                        .unwrap_or_default();
                    out.write_all(full.as_bytes())?;
                }
                "q" | "quit" => {
                    decisions.resize(items.len(), Decision::Skip);
                    return Ok(decisions);
                }
                _ => out.write_all(b"  answer a, r, s, f or q\n")?,
            }
        };
        out.write_all(b"\n")?;
        decisions.push(decision);
    }
    Ok(decisions)
}
