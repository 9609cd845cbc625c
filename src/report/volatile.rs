//! What `fetch --repeat` found (`crate::volatile::Volatility`), for a terminal: every
//! string from the server escaped.

use std::fmt::Write as _;

use crate::visible;
use crate::volatile::Volatility;

/// What `fetch --repeat` found, for a terminal: every pointer that moved with its
/// values (escaped, cut), what cannot be excluded and why, then the proposal.
pub fn human(found: &Volatility, times: u32, place: Option<&str>) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "Fetched {times} times: {} pointer(s) differ between fetches.", found.pointers.len());
    for volatile in &found.pointers {
        let _ = writeln!(out, "\n{}", visible::escape(&volatile.pointer));
        for (n, value) in volatile.values.iter().enumerate() {
            let shown = value.as_ref().map_or_else(
                || "(absent)".to_owned(),
                |v| visible::escape(&visible::truncate(&v.to_string(), 120)),
            );
            let _ = writeln!(out, "    fetch {}: {shown}", n + 1);
        }
        if volatile.reordered {
            let _ = writeln!(out, "    same members, another order: compare as a set (unordered = true)");
        }
        if let Some(why) = &volatile.refused {
            let _ = writeln!(out, "    cannot be excluded: {}", visible::escape(why));
        }
    }
    for item in &found.unstable_items {
        let _ = writeln!(
            out,
            "\n{}: served by some fetches only; an item cannot be excluded",
            visible::escape(item)
        );
    }
    for member in &found.header {
        let _ = writeln!(out, "\nthe header's {member} differs between fetches; the header is pinned whole");
    }
    match found.proposal() {
        Some(table) => {
            let whose = place.unwrap_or("the server's server.toml");
            let _ = writeln!(out, "\nProposed for {whose} (a policy: review it like any change):\n\n{table}");
        }
        None if found.pointers.is_empty() && found.unstable_items.is_empty() && found.header.is_empty() => {
            let _ = writeln!(out, "\nEvery fetch served the same metadata: nothing to exclude.");
        }
        None => {
            let _ = writeln!(
                out,
                "\nNothing here can be excluded: review what changes, or ask the vendor to stop it."
            );
        }
    }
    out
}
