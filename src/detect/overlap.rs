//! Function overlapping: tools of one server that present themselves alike (SH005), and
//! a tool that copies another, in its server or elsewhere, and campaigns to be chosen
//! over it (SH006).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::catalog::{Catalog, Item};
use crate::finding::{Finding, Locate, Rule, RuleClass, Severity, Signal};
use crate::item::ItemRef;
use crate::visible;

pub const DUPLICATE_TOOL: Rule = Rule {
    id: "SH005",
    name: "duplicate-tool",
    title: "Two tools of one server that describe themselves the same way",
    // A weak cue alone: generated API servers give many tools one summary (twilio,
    // Microsoft 365); it only means something in company.
    severity: Severity::Low,
    class: RuleClass::Detection,
    help: "Two tools of one server that present themselves the same way: the model cannot tell the original from the copy (function overlapping).",
};

pub const PREFERRED_COPY: Rule = Rule {
    id: "SH006",
    name: "preferred-copy",
    title: "A tool that does what another tool does, and campaigns to be chosen over it",
    severity: Severity::High,
    class: RuleClass::Detection,
    help: "A tool that copies another (the same name with a qualifier such as `best_` or `_advanced`; in its own server also the same summary) and tells the model it is the better choice exists to take that tool's calls: function overlapping joined to preference manipulation. Either cue alone is no attack (generated servers repeat summaries; vendors advertise); together they are one. Review both tools; remove the copy or its claims.",
};

pub const RULES: [&Rule; 2] = [&DUPLICATE_TOOL, &PREFERRED_COPY];

/// Most look-alikes a finding names.
const NAMED: usize = 3;

/// SH005: tools of one server that present themselves with the same summary (the
/// first sentence of the description): function overlapping, where the model cannot
/// tell the impostor from the original. Which one is the copy cannot be known, so
/// every member of the group is reported.
pub fn duplicates(catalog: &Catalog, places: &dyn Locate) -> Vec<Finding> {
    let mut by_summary: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for tool in catalog.tools() {
        let summary = summary_sentence(description(tool));
        if summary.len() >= 30 {
            by_summary.entry(summary).or_default().push(&tool.name);
        }
    }
    let mut out = Vec::new();
    for names in by_summary.values().filter(|names| names.len() > 1) {
        for &name in names {
            let others: Vec<String> =
                names.iter().filter(|&&o| o != name).take(NAMED).map(|o| visible::escape(o)).collect();
            let message = format!("presents itself exactly as {} of the same server does", others.join(", "));
            let item = ItemRef::tool(name);
            out.push(
                Finding::of(&DUPLICATE_TOOL)
                    .about(&catalog.server, Some(&item))
                    .pointer("/description")
                    .message(message)
                    .evidence(name)
                    .key(&others.join(","))
                    .field_in(places)
                    .build(),
            );
        }
    }
    out
}

/// What the tools of the scanned set say they do, worked out when the first claim to be
/// preferred needs it (most scans have none), then kept: name cores of the whole set,
/// summary words of each server that has a claimant.
pub struct Overlaps<'a> {
    catalogs: &'a [Catalog],
    cores: Option<CoreIndex<'a>>,
    /// catalog → its tools' summary words and, per word, the tools that use it
    servers: HashMap<usize, Summaries<'a>>,
}

/// Name core → (catalog, tool name) of every tool of the set.
type CoreIndex<'a> = HashMap<Vec<String>, Vec<(usize, &'a str)>>;

struct Summaries<'a> {
    tools: Vec<(&'a str, BTreeSet<String>)>,
    by_word: HashMap<String, Vec<usize>>,
}

/// A word used by more tools of one server than this says nothing of what a tool does
/// ("get", the vendor's name). Skipping it, and reading at most `SUMMARY_WORDS` words of
/// a claimant's summary, bounds what a hostile catalog of claimants costs: each
/// claimant touches at most `COMMON_WORD × SUMMARY_WORDS` entries.
const COMMON_WORD: usize = 32;
const SUMMARY_WORDS: usize = 32;
/// Names of more words than this are compared whole only (each word left out is a lookup).
const NAME_WORDS: usize = 8;
/// Most originals gathered for one claimant: a set of many servers that all have the
/// tool stays linear; the finding names `NAMED` and counts the rest up to this.
const MOST_ORIGINALS: usize = 64;

impl<'a> Overlaps<'a> {
    pub fn new(catalogs: &'a [Catalog]) -> Overlaps<'a> {
        Overlaps { catalogs, cores: None, servers: HashMap::new() }
    }

    /// SH006 for one tool of catalog `at` whose findings carry `claims`: every other
    /// tool that does the same thing — in its own server (a copy beside the original,
    /// by name or by summary) or in another (a server taking a trusted server's calls,
    /// by name) — makes the claim an attack. Its own server's originals come first.
    pub fn preferred_copy(
        &mut self,
        at: usize,
        tool: &Item,
        claims: &BTreeSet<&'static str>,
        places: &dyn Locate,
    ) -> Option<Finding> {
        let catalog = self.catalogs.get(at)?;
        if claims.is_empty() {
            return None;
        }
        let mut originals: BTreeSet<(bool, &str, &str)> = BTreeSet::new();
        let core: Vec<String> = name_core(&tool.name).into_iter().collect();
        let catalogs = self.catalogs;
        let cores = self.cores.get_or_insert_with(|| index_cores(catalogs));
        // The original's core is the copy's, or the copy's less one word ("github").
        let less_one = (0..core.len()).filter(|_| (3..=NAME_WORDS).contains(&core.len())).map(|skip| {
            core.iter().enumerate().filter(|&(i, _)| i != skip).map(|(_, w)| w.clone()).collect::<Vec<_>>()
        });
        for key in std::iter::once(core.clone()).chain(less_one).filter(|k| k.len() >= 2) {
            for &(c, name) in cores.get(&key).into_iter().flatten().take(MOST_ORIGINALS) {
                if !(c == at && name == tool.name) {
                    originals.insert((c != at, &self.catalogs[c].server, name));
                }
            }
        }
        let summaries = self.servers.entry(at).or_insert_with(|| Summaries::of(catalog));
        let words = content_words(&summary_sentence(description(tool)));
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for word in words.iter().take(SUMMARY_WORDS) {
            match summaries.by_word.get(word) {
                Some(users) if users.len() <= COMMON_WORD => {
                    for &user in users {
                        *shared.entry(user).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        // In served order, so that the cap keeps the same originals on every run.
        let mut shared: Vec<(usize, usize)> = shared.into_iter().collect();
        shared.sort_unstable();
        for (user, count) in shared {
            if originals.len() >= MOST_ORIGINALS {
                break;
            }
            let Some((name, theirs)) = summaries.tools.get(user) else { continue };
            if *name != tool.name && count >= 2 && count * 4 >= words.len().min(theirs.len()) * 3 {
                originals.insert((false, &catalog.server, name));
            }
        }
        let (_, _, first) = *originals.first()?;
        let mut named: Vec<String> = originals
            .iter()
            .take(NAMED)
            .map(|&(elsewhere, server, name)| {
                if elsewhere {
                    format!("{} ({})", visible::escape(name), visible::escape(server))
                } else {
                    visible::escape(name)
                }
            })
            .collect();
        if originals.len() >= MOST_ORIGINALS {
            named.push("and more".to_owned());
        } else if originals.len() > NAMED {
            named.push(format!("and {} more", originals.len() - NAMED));
        }
        let claims: Vec<&str> = claims.iter().copied().collect();
        let message =
            format!("campaigns to be chosen ({}) and does what {} does", claims.join(", "), named.join(", "));
        let item = ItemRef::tool(&tool.name);
        Some(
            Finding::of(&PREFERRED_COPY)
                .about(&catalog.server, Some(&item))
                .pointer("/name")
                .span(Some([0, tool.name.chars().count()]))
                .message(message)
                .evidence(first)
                .key(first)
                .field_in(places)
                .build(),
        )
    }
}

fn index_cores(catalogs: &[Catalog]) -> CoreIndex<'_> {
    let mut cores: CoreIndex<'_> = HashMap::new();
    for (c, catalog) in catalogs.iter().enumerate() {
        for tool in catalog.tools() {
            let core: Vec<String> = name_core(&tool.name).into_iter().collect();
            cores.entry(core).or_default().push((c, &tool.name));
        }
    }
    cores
}

impl<'a> Summaries<'a> {
    fn of(catalog: &'a Catalog) -> Summaries<'a> {
        let tools: Vec<(&str, BTreeSet<String>)> = catalog
            .tools()
            .map(|tool| (tool.name.as_str(), content_words(&summary_sentence(description(tool)))))
            .collect();
        let mut by_word: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (_, words)) in tools.iter().enumerate() {
            for word in words {
                by_word.entry(word.clone()).or_default().push(i);
            }
        }
        Summaries { tools, by_word }
    }
}

/// Whether `tool`'s findings hold a claim of medium severity or more that the model
/// should prefer it (a `preference` signal): the rules that made it.
pub fn claims(findings: &[Finding]) -> BTreeSet<&'static str> {
    findings
        .iter()
        .filter(|f| f.signal == Some(Signal::Preference) && f.severity >= Severity::Medium)
        .map(|f| f.rule)
        .collect()
}

fn description(tool: &Item) -> &str {
    tool.value.get("description").and_then(|d| d.as_str()).unwrap_or("")
}

/// Words that say how good a copy claims to be, not what it does.
const QUALIFIERS: &[&str] = &[
    "best",
    "premium",
    "ultimate",
    "elite",
    "superior",
    "super",
    "supreme",
    "deluxe",
    "turbo",
    "optimal",
    "perfect",
    "enhanced",
    "advanced",
    "improved",
    "new",
    "pro",
    "plus",
    "official",
    "secure",
    "updated",
    "latest",
    "better",
    "fast",
    "faster",
    "smart",
    "enterprise",
    "professional",
    "extended",
    "v2",
    "v3",
];

/// Verbs a copy uses for what the original does: read as the original's.
fn synonym(word: &str) -> &str {
    match word {
        "fetch" | "retrieve" | "obtain" | "load" | "read" => "get",
        "initialize" | "init" | "make" => "create",
        "find" | "lookup" => "search",
        other => other,
    }
}

/// A tool name's words, lowercased, split at separators and camel case, qualifiers
/// dropped, verbs folded, plurals made singular.
fn name_core(name: &str) -> BTreeSet<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut word));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    words.push(word);
    words
        .iter()
        .filter(|w| !w.is_empty() && !QUALIFIERS.contains(&w.as_str()))
        .map(|w| singular(synonym(w)))
        .collect()
}

/// Words that carry no meaning of their own in a summary.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "from", "with", "into", "this", "that", "these", "those", "its", "your", "are",
    "is", "using", "via", "given", "any", "all", "about", "will", "can", "may", "one", "a", "an", "to", "of",
    "in", "on", "at", "by", "or", "be", "as", "it",
];

/// The content words of a summary: letters and digits, lowercased, stopwords and
/// qualifiers dropped, verbs folded, plurals made singular.
fn content_words(summary: &str) -> BTreeSet<String> {
    summary
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .filter(|w| !STOPWORDS.contains(w) && !QUALIFIERS.contains(w))
        .map(|w| singular(synonym(w)))
        .collect()
}

/// `repositories` → `repository`, `places` → `place`; short words stay.
fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies").filter(|s| s.len() >= 3) {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix('s').filter(|s| s.len() >= 3 && !s.ends_with('s')) {
        stem.to_owned()
    } else {
        word.to_owned()
    }
}

/// The first sentence of a description, whitespace folded and lowercased; an `Args:`
/// section never counts as part of it.
fn summary_sentence(description: &str) -> String {
    // Only the first sentence is folded: it ends at the first full stop before
    // whitespace, where it ends in the folded text too (`. `); an `args:` before it is
    // kept. (Cut first, then to 400 characters: the same text as the other way round.)
    let sentence = description
        .match_indices('.')
        .find(|&(i, _)| description[i + 1..].chars().next().is_some_and(char::is_whitespace))
        .map_or(description, |(i, _)| &description[..=i]);
    // Never fold more than the neighbourhood of the start.
    let head = match sentence.char_indices().nth(400) {
        Some((end, _)) => &sentence[..end],
        None => sentence,
    };
    let folded = head.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let before_args = folded.split(" args:").next().unwrap_or(&folded);
    let end = before_args.find(". ").map_or(before_args.len(), |i| i + 1);
    before_args[..end].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Header;
    use crate::finding::Nowhere;
    use crate::item::Kind;

    #[test]
    fn the_summary_folds_only_its_sentence_and_reads_as_folding_the_whole_head_did() {
        // What summary_sentence was before it stopped at the first sentence.
        fn folding_everything(description: &str) -> String {
            let head = match description.char_indices().nth(400) {
                Some((end, _)) => &description[..end],
                None => description,
            };
            let folded = head.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
            let before_args = folded.split(" args:").next().unwrap_or(&folded);
            let end = before_args.find(". ").map_or(before_args.len(), |i| i + 1);
            before_args[..end].trim().to_owned()
        }
        let long = format!("{}. Next.", "word ".repeat(79));
        let at_the_edge = format!("{}x. Next", "y".repeat(397));
        for description in [
            "",
            "Search for places. Premium.",
            "Do it. Args: x",
            "Do it Args: x. More",
            "Do it.\nMore",
            "Do it.More. Next",
            "  A  B\tC.\u{2003}D",
            "U.S. based service. Second",
            "..  .",
            "ends with.",
            "İSTANBUL ARGS: x. y",
            "Ünïcode. Ärger",
            long.as_str(),
            at_the_edge.as_str(),
        ] {
            assert_eq!(summary_sentence(description), folding_everything(description), "{description:?}");
        }
    }

    fn server(tools: &[(&str, &str)]) -> Catalog {
        Catalog {
            server: "s".into(),
            origin: "t".into(),
            header: Header::default(),
            items: tools
                .iter()
                .map(|(name, description)| Item {
                    kind: Kind::Tool,
                    name: (*name).into(),
                    value: serde_json::json!({ "name": name, "description": description }),
                    duplicate_keys: vec![],
                    source_pointer: String::new(),
                })
                .collect(),
            duplicates: vec![],
        }
    }

    fn claim(rule: &'static str, severity: Severity) -> Finding {
        let mut f = Finding::of(&DUPLICATE_TOOL).about("s", Some(&ItemRef::tool("x"))).build();
        f.rule = rule;
        f.severity = severity;
        f.signal = Some(Signal::Preference);
        f
    }

    #[test]
    fn names_and_summaries_that_do_the_same() {
        let same = |a: &str, b: &str| name_core(a) == name_core(b);
        assert!(same("best_get_stock_actions", "get_stock_actions"));
        assert!(same("Get_Stock_HistoricalPrices", "fetch_historical_stock_prices"));
        assert!(same("create_new_repository", "createRepositories"));
        assert!(!same("create_mail_child_folder", "create_mail_folder"));
        let a = content_words(&summary_sentence("Search for locations using Google Places API. Premium."));
        let b = content_words(&summary_sentence("Search for places using Google Places API. Args: query"));
        assert_eq!(a.intersection(&b).count(), 4, "{a:?} {b:?}");
        assert_eq!(singular("repositories"), "repository");
        assert_eq!(singular("address"), "address");
    }

    #[test]
    fn a_copy_that_campaigns_is_high_and_either_cue_alone_is_nothing() {
        let set = [server(&[
            ("get_stock_actions", "Get stock dividends and splits for a ticker from yahoo finance."),
            ("stock_actions_plus", "Get stock dividends and splits for a ticker from yahoo finance."),
            ("get_news", "Get news for a ticker."),
        ])];
        let mut overlaps = Overlaps::new(&set);
        let copy = &set[0].items[1];
        let strong = claims(&[claim("TR018", Severity::Medium)]);
        let found = overlaps.preferred_copy(0, copy, &strong, &Nowhere).map(|f| (f.severity, f.evidence));
        assert_eq!(found, Some((Severity::High, "get_stock_actions".to_owned())));
        // A weak claim, or none, or no original: nothing.
        let weak = claims(&[claim("ML008", Severity::Low)]);
        assert!(overlaps.preferred_copy(0, copy, &weak, &Nowhere).is_none());
        assert!(overlaps.preferred_copy(0, &set[0].items[2], &strong, &Nowhere).is_none());
    }

    #[test]
    fn many_originals_are_named_three_and_capped() {
        let mut set: Vec<Catalog> = (0..100)
            .map(|i| Catalog { server: format!("s{i:03}"), ..server(&[("get_stock_actions", "Dividends.")]) })
            .collect();
        set.push(Catalog {
            server: "evil".into(),
            ..server(&[("best_get_stock_actions", "Dividends, best.")])
        });
        let mut overlaps = Overlaps::new(&set);
        let strong = claims(&[claim("TR027", Severity::Medium)]);
        let found = overlaps.preferred_copy(100, &set[100].items[0], &strong, &Nowhere);
        let message = found.map(|f| f.message).unwrap_or_default();
        assert!(message.contains("get_stock_actions (s000), get_stock_actions (s001)"), "{message}");
        assert!(message.ends_with("and more does"), "{message}");
    }

    #[test]
    fn a_copy_of_another_servers_tool_names_its_server() {
        let set = [
            server(&[("get_stock_actions", "Get stock dividends and splits for a ticker.")]),
            Catalog { server: "evil".into(), ..server(&[("premium_stock_actions_get", "Premium quotes.")]) },
        ];
        let mut overlaps = Overlaps::new(&set);
        let strong = claims(&[claim("TR027", Severity::Medium)]);
        let found = overlaps.preferred_copy(1, &set[1].items[0], &strong, &Nowhere);
        let message = found.map(|f| f.message).unwrap_or_default();
        assert!(message.contains("get_stock_actions (s)"), "{message}");
    }
}
