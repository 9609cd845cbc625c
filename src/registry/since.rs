//! Pull-request mode (`check --base REV`): the base decides. Who may approve (server
//! approvers, `[registry] reviewers`), who owns the registry (`[registry] owners`),
//! whose keys count (`[registry] allowed-signers`) and the policy a change is judged by
//! (thresholds, rules, suppressions, blocked digests) are read from the base revision,
//! never from the change being checked. Then:
//! - every pin added or changed since must be backed by an approving review of its new
//!   digest by an approver of its server (PR001), not only by its proposer when four
//!   eyes are asked for (PR002);
//! - with allowed-signers, a review record counts only when the commit that added it is
//!   signed by a key listed for the reviewer's e-mail (PR006 unsigned, PR007 someone
//!   else's signature);
//! - review records are append-only (PR005), and every change to a policy file
//!   (toolreg.toml, a server.toml, blocked.json, the allowed-signers file, a rule file)
//!   needs every commit that touched it signed by an owner (PR003; a block removed: PR004).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::inventory::Inventory;
use super::{Blocked, Pin, Registry, Review, Server, Verdict};
use crate::config::Config;
use crate::finding::{Finding, Locate, Rule, RuleClass, Severity};
use crate::git::{Change, GitError, Repo};
use crate::signers::{Signed, Signers};
use crate::visible;

pub const UNREVIEWED_CHANGE: Rule = Rule {
    id: "PR001",
    name: "unreviewed-pin-change",
    title: "A pin changed since the base revision without an approving review of its new digest",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "In pull-request mode every pin added or changed since --base must carry a review \
           record approving its new digest, by an approver of the server (servers/<id>/server.toml \
           approvers, else toolreg.toml's [registry] reviewers, both as the base has them). A pin edited by hand, even with a \
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

pub const UNAPPROVED_POLICY_CHANGE: Rule = Rule {
    id: "PR003",
    name: "unapproved-policy-change",
    title: "A registry policy file changed since the base revision without a registry owner's approval",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "toolreg.toml, every server.toml, blocked.json, the allowed-signers file and rule \
           files decide what the gate checks and who may approve. In pull-request mode a change \
           to one counts only when every commit since --base that touched it is signed by a key \
           the base's allowed-signers lists for one of the base's [registry] owners. Ask an \
           owner to make (or re-sign) the commit.",
};

pub const BLOCK_REMOVED: Rule = Rule {
    id: "PR004",
    name: "block-removed",
    title: "An entry of blocked.json was removed without a registry owner's approval",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "A blocked digest was judged bad; removing its entry lets it be approved again. In \
           pull-request mode that is a policy change: every commit touching blocked.json must be \
           signed by a registry owner.",
};

pub const RECORD_REWRITTEN: Rule = Rule {
    id: "PR005",
    name: "review-record-rewritten",
    title: "A review record present at the base revision was edited or removed",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "Review records are append-only: a revocation or a new verdict is a new record. A \
           record changed or removed since --base counts only when the commit that did it is \
           signed by a registry owner.",
};

pub const UNSIGNED_REVIEW: Rule = Rule {
    id: "PR006",
    name: "unsigned-review",
    title: "A review record was added in a commit without an SSH signature",
    severity: Severity::High,
    class: RuleClass::Control,
    help: "With [registry] allowed-signers, a review counts only when the commit that added it \
           is signed by the reviewer's key. Review with git configured to sign (gpg.format = ssh, \
           user.signingkey, commit.gpgsign = true): `toolreg review` then signs as git would.",
};

pub const FORGED_REVIEW: Rule = Rule {
    id: "PR007",
    name: "review-not-signed-by-reviewer",
    title: "A review record was added in a commit not signed by a key listed for its reviewer",
    severity: Severity::Critical,
    class: RuleClass::Control,
    help: "The commit that added this record is signed, but not by a key the base's \
           allowed-signers lists for the e-mail the record names: someone recorded a review in \
           another person's name (or the signature does not verify). The reviewer named must \
           review with their own key.",
};

pub static RULES: [&Rule; 7] = [
    &UNREVIEWED_CHANGE,
    &SELF_APPROVED,
    &UNAPPROVED_POLICY_CHANGE,
    &BLOCK_REMOVED,
    &RECORD_REWRITTEN,
    &UNSIGNED_REVIEW,
    &FORGED_REVIEW,
];

/// What the base revision says: who decides, and the policy a change is judged by.
pub struct Base {
    repo: Repo,
    rev: String,
    /// The registry's folder, relative to the repository.
    root: PathBuf,
    /// The base's toolreg.toml (defaults when it had none).
    pub config: Config,
    /// Each server's approvers at the base (servers new since have none).
    approvers: HashMap<String, Vec<String>>,
    blocked: Blocked,
    /// The base's allowed signers, when it names a file.
    signers: Option<Signers>,
}

impl Base {
    /// Reads the base's authority for `registry`. A base whose policy files cannot be
    /// read or parsed is "could not check".
    pub fn load(registry: &Registry, rev: &str) -> Result<Base, GitError> {
        let repo = Repo::discover(&registry.root)?;
        let root = repo.relative(&registry.root).unwrap_or_default();
        let snapshot = repo.snapshot(rev, &root)?;
        let at = |what: &str, e: String| GitError::new(format!("{what} at {}: {e}", visible::escape(rev)));
        let config = match snapshot.file(&root.join(super::CONFIG_FILE))? {
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| at("toolreg.toml", e.to_string()))?;
                Config::parse(&registry.root.join(super::CONFIG_FILE), &text)
                    .map_err(|e| at("toolreg.toml", e.message))?
            }
            None => Config::default(),
        };
        let mut approvers = HashMap::new();
        let servers = root.join("servers");
        for path in snapshot.paths().filter(|p| p.starts_with(&servers) && p.ends_with("server.toml")) {
            let Some(id) = path.parent().and_then(Path::file_name) else { continue };
            let bytes = snapshot.file(path)?.unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            let inventory = Inventory::parse(&text).map_err(|e| at(&path.display().to_string(), e))?;
            approvers.insert(id.to_string_lossy().into_owned(), inventory.approvers);
        }
        let blocked = match snapshot.file(&root.join("blocked.json"))? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| at("blocked.json", e.to_string()))?,
            None => Blocked::default(),
        };
        let signers = match &config.registry.allowed_signers {
            Some(file) => {
                let path = root.join(file);
                let text = snapshot.file(&path)?.ok_or_else(|| {
                    at(
                        "[registry] allowed-signers",
                        format!("{} does not exist there", visible::escape(file)),
                    )
                })?;
                Some(Signers::new(&text)?)
            }
            None => None,
        };
        Ok(Base { repo, rev: rev.to_owned(), root, config, approvers, blocked, signers })
    }

    /// Whether the base verifies who reviewed (it names an allowed-signers file).
    pub fn verifies_reviewers(&self) -> bool {
        self.signers.is_some()
    }

    /// Puts the base in charge of `registry`: its policy (thresholds, rules,
    /// suppressions, reviewers, owners, signers, required inventory fields), its
    /// approvers, and every digest it
    /// blocked (a block added since stays: being stricter needs nobody's approval).
    /// The registry's format stays the head's: it says how the pins are written.
    pub fn govern(&self, registry: &mut Registry) {
        let mut config = self.config.clone();
        config.path = registry.config.path.clone();
        config.registry.format = registry.config.registry.format;
        registry.config = config;
        for entry in &self.blocked.blocked {
            if registry.blocked.find(&entry.digest).is_none() {
                registry.blocked.blocked.push(entry.clone());
            }
        }
        for server in registry.servers.values_mut() {
            server.inventory.approvers = self.approvers.get(&server.id).cloned().unwrap_or_default();
        }
        // The inventory fields required are the base's too.
        registry.problems.retain(|p| p.rule.id != super::MISSING_INVENTORY.id);
        for server in registry.servers.values() {
            let missing = server.inventory.missing(&registry.config.registry.required_fields);
            if !missing.is_empty() {
                registry.problems.push(super::Problem {
                    rule: &super::MISSING_INVENTORY,
                    path: server.dir.join("server.toml"),
                    message: format!("required field(s) missing: {}", missing.join(", ")),
                });
            }
        }
    }
}

/// The findings of pull-request mode against `base`, for a registry `base` governs.
/// `catalogs` is the directory of captured catalogs `check` read, if any: a commit
/// changing a server's catalog proposes a change to that server too.
pub fn check(
    registry: &Registry,
    base: &Base,
    catalogs: Option<&Path>,
    places: &dyn Locate,
) -> Result<Vec<Finding>, GitError> {
    let repo = &base.repo;
    let changes = repo.commits_since(&base.rev, Path::new(""))?;
    let history = History::new(repo, &changes);
    let snapshot = repo.snapshot(&base.rev, &base.root)?;
    let mut findings = policy_files(registry, base, &history, places)?;
    for server in registry.servers.values() {
        let pins = server.header.iter().map(|p| (None, p));
        let pins = pins.chain(server.items().map(|(item, p)| (Some(item), p)));
        for (item, pin) in pins {
            let Some(relative) = repo.relative(&pin.path) else { continue };
            if snapshot.same_as(&relative, &pin.path) {
                continue;
            }
            let before: Option<Value> =
                snapshot.file(&relative)?.and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let base_digest = before.as_ref().and_then(|v| v.get("digest")).and_then(Value::as_str);
            let base_reviews = before.as_ref().map(reviews_of).unwrap_or_default();
            let shown = relative.display().to_string();
            // A finding about this pin, bound to its file and new digest (and `extra`:
            // the record it is about, for findings on one record).
            let about = |rule: &'static Rule, message: String, extra: &str| {
                let key = format!("{}{extra}", pin.digest);
                Finding::of(rule)
                    .about(&server.id, item)
                    .message(message)
                    .evidence(&shown)
                    .key(&key)
                    .pin_in(places)
                    .build()
            };
            // Append-only: every record the base had is still there, unchanged.
            for record in base_reviews.iter().filter(|r| !pin.reviews.contains(r)) {
                let culprit = history.first_without(&relative, record);
                if culprit.is_some_and(|c| base.owner_signed(c)) {
                    continue;
                }
                let by = culprit.map_or_else(String::new, |c| {
                    format!(" in commit {} ({})", short(c), visible::escape(&c.author))
                });
                let message = format!(
                    "the {} record by {} of {} was edited or removed since {}{by}; records are append-only",
                    record.verdict.as_str(),
                    visible::escape(&record.by),
                    visible::escape(&record.at),
                    visible::escape(&base.rev),
                );
                findings.push(about(&RECORD_REWRITTEN, message, &record.at));
            }
            // Records added since the base: with allowed-signers, each must come in a
            // commit signed by its reviewer.
            let mut verified: Vec<&Review> = Vec::new();
            for record in pin.reviews.iter().filter(|r| !base_reviews.contains(r)) {
                match base.signature_of(&history, &relative, record)? {
                    None => verified.push(record),
                    Some((rule, why)) => findings.push(about(rule, why, &record.at)),
                }
            }
            if base_digest == Some(pin.digest.as_str()) {
                continue;
            }
            let counted: Vec<&Review> =
                base_reviews.iter().filter(|r| pin.reviews.contains(r)).chain(verified).collect();
            let approvals = approvals(registry, server, pin, &counted);
            if approvals.is_empty() {
                let rejected_signatures = pin.reviews.iter().any(|r| {
                    r.digest == pin.digest && r.verdict == Verdict::Approved && !counted.contains(&r)
                });
                if rejected_signatures {
                    // The unsigned or forged approvals are reported one by one above.
                    continue;
                }
                let message = format!(
                    "{} since {}: no approving review of its digest {} by an approver of {}",
                    if base_digest.is_some() { "changed" } else { "added" },
                    visible::escape(&base.rev),
                    crate::report::diff::short_digest(&pin.digest),
                    server.id
                );
                findings.push(about(&UNREVIEWED_CHANGE, message, ""));
                continue;
            }
            if !registry.config.registry.reviewer_not_author {
                continue;
            }
            let catalog = catalogs.map(|dir| dir.join(format!("{}.json", server.id)));
            let candidates = [Some(relative.clone()), catalog.and_then(|c| repo.relative(&c))];
            let proposer = history.proposer(candidates.iter().flatten());
            if let Some(proposer) = proposer {
                if approvals.iter().all(|by| same_person(by, proposer)) {
                    let message = format!(
                        "approved only by {}, who proposed the change since {}",
                        visible::escape(proposer),
                        visible::escape(&base.rev)
                    );
                    findings.push(about(&SELF_APPROVED, message, ""));
                }
            }
        }
    }
    Ok(findings)
}

impl Base {
    /// Why a record added since the base does not count (`None`: it counts): the rule
    /// and the message. Without allowed-signers every record counts.
    fn signature_of(
        &self,
        history: &History<'_>,
        relative: &Path,
        record: &Review,
    ) -> Result<Option<(&'static Rule, String)>, GitError> {
        let Some(signers) = &self.signers else { return Ok(None) };
        let what = format!(
            "the {} record by {} of {}",
            record.verdict.as_str(),
            visible::escape(&record.by),
            visible::escape(&record.at)
        );
        let Some(commit) = history.first_with(relative, record) else {
            return Ok(Some((
                &UNSIGNED_REVIEW,
                format!("{what} is in no commit since {}", visible::escape(&self.rev)),
            )));
        };
        let email = email_of(&record.by);
        let commit_name = format!("commit {} ({})", short(commit), visible::escape(&commit.author));
        Ok(match signers.check(&self.repo, commit.id, commit.time, &email)? {
            Signed::ByThem => None,
            Signed::Unsigned => Some((&UNSIGNED_REVIEW, format!("{what} was added in {commit_name}, which is not signed"))),
            Signed::NotSsh => Some((
                &UNSIGNED_REVIEW,
                format!("{what} was added in {commit_name}, signed but not with an SSH key"),
            )),
            Signed::NotByThem => Some((
                &FORGED_REVIEW,
                format!(
                    "{what} was added in {commit_name}, which is not signed by a key allowed-signers lists for {}",
                    visible::escape(&email)
                ),
            )),
        })
    }

    /// Whether `commit` is signed by a key listed for one of the base's owners.
    fn owner_signed(&self, commit: &Change) -> bool {
        let Some(signers) = &self.signers else { return false };
        self.config.registry.owners.iter().any(|owner| {
            matches!(signers.check(&self.repo, commit.id, commit.time, &email_of(owner)), Ok(Signed::ByThem))
        })
    }

    /// Why a change to a policy file is not an owner's (`None`: every commit that
    /// touched it is signed by an owner).
    fn owner_refusal(&self, commits: &[&Change]) -> Option<String> {
        if self.config.registry.owners.is_empty() {
            return Some(format!(
                "the base ({}) lists no [registry] owners who could approve it",
                visible::escape(&self.rev)
            ));
        }
        if self.signers.is_none() {
            return Some(format!(
                "the base ({}) names no [registry] allowed-signers, so no owner's approval can be verified",
                visible::escape(&self.rev)
            ));
        }
        match commits.iter().find(|c| !self.owner_signed(c)) {
            Some(c) => Some(format!(
                "commit {} ({}) is not signed by an owner",
                short(c),
                visible::escape(&c.author)
            )),
            None if commits.is_empty() => {
                Some("no commit since the base changed it (it differs all the same)".into())
            }
            None => None,
        }
    }
}

/// PR003 and PR004: policy files changed since the base without an owner's approval.
fn policy_files(
    registry: &Registry,
    base: &Base,
    history: &History<'_>,
    places: &dyn Locate,
) -> Result<Vec<Finding>, GitError> {
    let repo = &base.repo;
    let root = &base.root;
    let base_tree = repo.snapshot(&base.rev, Path::new(""))?;
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    files.insert(root.join(super::CONFIG_FILE));
    files.insert(root.join("blocked.json"));
    for id in registry.servers.keys().chain(base.approvers.keys()) {
        files.insert(root.join("servers").join(id).join("server.toml"));
    }
    for config in [&base.config, &registry.config] {
        if let Some(file) = &config.registry.allowed_signers {
            files.insert(root.join(file));
        }
    }
    let head_config = Config::load(&registry.root.join(super::CONFIG_FILE)).ok();
    for path in base.config.extra_rules.iter().chain(head_config.iter().flat_map(|c| c.extra_rules.iter())) {
        if let Some(relative) = repo.relative(path) {
            files.insert(relative);
        }
    }
    let head = repo.head_commit()?;
    let mut findings = Vec::new();
    for relative in files {
        let before = base_tree.file(&relative)?;
        let after = match head {
            Some(id) => repo.file_at(id, &relative)?,
            None => None,
        };
        if before == after {
            continue;
        }
        let commits = history.touching(&relative);
        let Some(why) = base.owner_refusal(&commits) else { continue };
        let shown = relative.display().to_string();
        let server = relative
            .strip_prefix(root.join("servers"))
            .ok()
            .and_then(|r| r.iter().next())
            .map_or_else(|| "(registry)".to_owned(), |id| id.to_string_lossy().into_owned());
        let how = match (&before, &after) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        };
        let line =
            first_difference(before.as_deref().unwrap_or_default(), after.as_deref().unwrap_or_default());
        let location = places.file(&repo.workdir().join(&relative), Some(line));
        findings.push(
            Finding::of(&UNAPPROVED_POLICY_CHANGE)
                .about(&server, None)
                .message(format!(
                    "{} {how} since {}: {why}",
                    visible::escape(&shown),
                    visible::escape(&base.rev)
                ))
                .evidence(&shown)
                .key(
                    &after
                        .as_deref()
                        .map(|b| crate::canon::Digest::of_bytes(b).to_string())
                        .unwrap_or_default(),
                )
                .at(location.clone())
                .build(),
        );
        if relative == root.join("blocked.json") {
            let now: Blocked =
                after.as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
            for entry in base.blocked.blocked.iter().filter(|e| now.find(&e.digest).is_none()) {
                let message = format!(
                    "the block of {} ({}) was removed since {}: {why}; it stays blocked for this check",
                    crate::report::diff::short_digest(&entry.digest),
                    visible::escape(&entry.reason),
                    visible::escape(&base.rev)
                );
                findings.push(
                    Finding::of(&BLOCK_REMOVED)
                        .about(entry.server.as_deref().unwrap_or("(registry)"), None)
                        .message(message)
                        .evidence(&entry.digest)
                        .at(location.clone())
                        .build(),
                );
            }
        }
    }
    Ok(findings)
}

/// The commits since the base, by the files they touched, and each file's review
/// records as those commits left them.
struct History<'r> {
    repo: &'r Repo,
    by_path: HashMap<&'r Path, Vec<&'r Change>>,
}

impl<'r> History<'r> {
    fn new(repo: &'r Repo, changes: &'r [Change]) -> History<'r> {
        let mut by_path: HashMap<&Path, Vec<&Change>> = HashMap::new();
        for change in changes {
            for path in &change.paths {
                by_path.entry(path.as_path()).or_default().push(change);
            }
        }
        History { repo, by_path }
    }

    /// The commits (oldest first) that touched `relative`.
    fn touching(&self, relative: &Path) -> Vec<&'r Change> {
        self.by_path.get(relative).cloned().unwrap_or_default()
    }

    /// Who proposed a change to `paths`: the author of the oldest commit since the
    /// base that touched one of them.
    fn proposer<'p>(&self, paths: impl Iterator<Item = &'p PathBuf>) -> Option<&'r str> {
        paths
            .filter_map(|p| self.touching(p).first().copied())
            .min_by_key(|c| c.time)
            .map(|c| c.author.as_str())
    }

    /// The review records of `relative` as `commit` left it (none when unreadable).
    fn reviews_at(&self, commit: &Change, relative: &Path) -> Vec<Review> {
        self.repo
            .file_at(commit.id, relative)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map(|v| reviews_of(&v))
            .unwrap_or_default()
    }

    /// The first commit since the base after which `relative` holds `record`.
    fn first_with(&self, relative: &Path, record: &Review) -> Option<&'r Change> {
        self.touching(relative).into_iter().find(|c| self.reviews_at(c, relative).contains(record))
    }

    /// The first commit since the base after which `relative` no longer holds `record`.
    fn first_without(&self, relative: &Path, record: &Review) -> Option<&'r Change> {
        self.touching(relative).into_iter().find(|c| !self.reviews_at(c, relative).contains(record))
    }
}

/// The review records of a pin file's JSON (records that do not parse are skipped:
/// the registry's own checks report the file).
fn reviews_of(pin: &Value) -> Vec<Review> {
    pin.get("reviews")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|r| serde_json::from_value(r.clone()).ok()).collect())
        .unwrap_or_default()
}

/// The 1-based line where `b` first differs from `a`.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    a.lines().zip(b.lines()).take_while(|(x, y)| x == y).count() + 1
}

fn short(change: &Change) -> String {
    change.id.to_string().chars().take(12).collect()
}

/// The e-mail of `Name <email>` (what git's allowed-signers names), lowercased.
fn email_of(identity: &str) -> String {
    crate::git::split_identity(identity)
        .map_or_else(|| identity.trim().to_owned(), |(_, e)| e.to_owned())
        .to_ascii_lowercase()
}

/// Who approved `pin`'s current digest among `counted` records, among those allowed to
/// approve for `server` (its approvers, else the reviewers, else anyone).
fn approvals<'a>(registry: &Registry, server: &Server, pin: &Pin, counted: &[&'a Review]) -> Vec<&'a str> {
    let approvers = &server.inventory.approvers;
    let reviewers = &registry.config.registry.reviewers;
    counted
        .iter()
        .filter(|r| r.digest == pin.digest && r.verdict == Verdict::Approved)
        .map(|r| r.by.as_str())
        .filter(|by| {
            if !approvers.is_empty() {
                approvers.iter().any(|a| same_person(a, by))
            } else {
                reviewers.is_empty() || reviewers.iter().any(|r| same_person(r, by))
            }
        })
        .collect()
}

/// Identities are `Name <email>`; the email decides (names are spelled many ways).
fn same_person(a: &str, b: &str) -> bool {
    let email = |s: &str| {
        crate::git::split_identity(s)
            .map_or_else(|| s.trim().to_ascii_lowercase(), |(_, e)| e.to_ascii_lowercase())
    };
    email(a) == email(b)
}
