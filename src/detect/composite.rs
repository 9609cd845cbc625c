//! TR000: poisoning is a conjunction (threats.md §0.3). One tool whose findings carry an
//! instruction to the model, a sensitive target, and a sink or concealment is poisoned,
//! even when each cue alone is weak.

use std::collections::BTreeMap;

use crate::finding::{Finding, Locate, Rule, RuleClass, Severity, Signal};
use crate::item::{ItemRef, Kind};

pub const COMPOSITE: Rule = Rule {
    id: "TR000",
    name: "poisoning-composite",
    title: "An instruction to the model, a sensitive target, and a sink or concealment in one tool",
    severity: Severity::Critical,
    class: RuleClass::Detection,
    help: "Poisoning is a conjunction: an instruction to the model, a sensitive target, and a sink or concealment in one tool. Single weak cues never fail a gate by themselves.",
};

pub const RULES: [&Rule; 1] = [&COMPOSITE];

/// TR000 for one tool (or, with `tool` = `None`, one server header) from its findings:
/// - critical: instruction + target + (sink or concealment); a sink of low severity
///   (a parameter named as where something goes) counts only as below;
/// - high: an instruction (or a concealment, which is addressed to the model as much)
///   of medium severity or more + any other signal, or two independent instructions
///   of medium severity or more (different rules matching different text: one phrase
///   caught by two rules counts once), or a sensitive target of medium severity or
///   more and a sink named by another rule in the same field: sensitive data sent to a
///   destination, hostile by itself (detectors/README.md, severity by evidence), or a
///   concealment or confirmation bypass of medium severity or more on a tool that
///   acts in a way the user cannot take back ("deletion is permanent … never ask for
///   confirmation"): the confirmation exists for exactly that act.
///
/// An instruction in an output schema or in a resource also counts as concealment
/// ([`located`]): those describe data, and the model reads them where the user does not.
pub fn check(
    server: &str,
    item: Option<&ItemRef>,
    findings: &[Finding],
    places: &dyn Locate,
) -> Option<Finding> {
    // signal → the rules that gave it, and the strongest instruction seen
    let mut by_signal: BTreeMap<Signal, Vec<&'static str>> = BTreeMap::new();
    let mut strong_instruction = false;
    let mut strong_concealment = false;
    let mut consequence: Option<&'static str> = None;
    for f in findings {
        let Some(signal) = f.signal.map(counted) else { continue };
        // What the tool does is no cue of poisoning: it only weighs with concealment.
        if signal == Signal::Consequence {
            consequence = Some(f.rule);
            continue;
        }
        // A weak sink ("pass it as the `dir` parameter") is how documentation talks
        // too: it counts only as the carrier of a target in its own field (below).
        if signal == Signal::Sink && f.severity < Severity::Medium {
            continue;
        }
        for signal in located(signal, &f.pointer, item.map(|i| i.kind)) {
            let rules = by_signal.entry(signal).or_default();
            if !rules.contains(&f.rule) {
                rules.push(f.rule);
            }
        }
        // Concealment is addressed to the model too: "do not tell the user" tells it
        // what to do. With another signal it makes the conjunction.
        strong_instruction |=
            matches!(signal, Signal::Instruction | Signal::Concealment) && f.severity >= Severity::Medium;
        strong_concealment |= signal == Signal::Concealment && f.severity >= Severity::Medium;
    }
    let concealed_act = strong_concealment && consequence.is_some();
    if let Some(rule) = consequence.filter(|_| concealed_act) {
        by_signal.entry(Signal::Consequence).or_default().push(rule);
    }
    let has = |s: Signal| by_signal.contains_key(&s);
    let instruction = has(Signal::Instruction);
    let severity = if instruction && has(Signal::Target) && (has(Signal::Sink) || has(Signal::Concealment)) {
        Severity::Critical
    } else if strong_instruction && (by_signal.len() >= 2 || independent_instructions(findings) >= 2)
        || target_sent_to_sink(findings)
        || concealed_act
    {
        Severity::High
    } else {
        return None;
    };
    let parts: Vec<String> =
        by_signal.iter().map(|(signal, rules)| format!("{} ({})", signal.name(), rules.join(", "))).collect();
    let evidence = parts.join("; ");
    let message = format!(
        "poisoning pattern across the {}'s fields: {evidence}",
        item.map_or("server header".to_owned(), |i| i.kind.to_string())
    );
    Some(
        Finding::of(&COMPOSITE)
            .severity(severity)
            .about(server, item)
            .message(message)
            .evidence(&evidence)
            .field_in(places)
            .build(),
    )
}

/// A claim to be preferred tells the model what to choose: here it is an instruction
/// (it weighs apart only beside a copy of another tool: SH006).
fn counted(signal: Signal) -> Signal {
    match signal {
        Signal::Preference => Signal::Instruction,
        other => other,
    }
}

/// Where a signal stands weighs (issue 19 §3): a request for a secret in the
/// description of an input parameter says what to put in that parameter, which goes to
/// the server — the parameter is the sink; an instruction in an output schema or in a
/// resource (which describe data, not what the assistant should do: the model reads a
/// resource as content) is concealed from whoever reads the tool list.
fn located(signal: Signal, pointer: &str, kind: Option<Kind>) -> Vec<Signal> {
    let in_parameter = pointer.starts_with("/inputSchema/") && pointer.ends_with("/description");
    let describes_data = pointer.starts_with("/outputSchema/")
        || matches!(kind, Some(Kind::Resource | Kind::ResourceTemplate));
    match signal {
        Signal::Target if in_parameter => vec![Signal::Target, Signal::Sink],
        Signal::Instruction if describes_data => vec![Signal::Instruction, Signal::Concealment],
        other => vec![other],
    }
}

/// Whether one field holds a medium-or-worse sensitive target and a sink found by
/// another rule ("paste your system prompt here", "pass the whole conversation in the
/// `context` parameter"): the target is what the sink carries away. A weak target (a
/// mention of preferences, an environment variable's name) does not count.
fn target_sent_to_sink(findings: &[Finding]) -> bool {
    findings.iter().filter(|t| t.signal == Some(Signal::Target) && t.severity >= Severity::Medium).any(
        |target| {
            findings.iter().any(|sink| {
                sink.signal == Some(Signal::Sink)
                    && sink.pointer == target.pointer
                    && sink.rule != target.rule
            })
        },
    )
}

/// How many medium-or-worse instruction findings stand on separate text: different
/// rules, and different fields or non-overlapping spans.
fn independent_instructions(findings: &[Finding]) -> usize {
    let strong: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.signal.map(counted) == Some(Signal::Instruction) && f.severity >= Severity::Medium)
        .collect();
    let mut chosen: Vec<&Finding> = Vec::new();
    for f in strong {
        let overlaps = chosen.iter().any(|c| {
            c.rule == f.rule
                || (c.pointer == f.pointer
                    && match (c.span, f.span) {
                        (Some([a, b]), Some([x, y])) => a < y && x < b,
                        _ => true,
                    })
        });
        if !overlaps {
            chosen.push(f);
        }
    }
    chosen.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Nowhere;

    fn finding(rule: &'static str, severity: Severity, signal: Signal) -> Finding {
        Finding {
            rule,
            name: "x",
            class: RuleClass::Detection,
            severity,
            server: "s".into(),
            kind: Kind::Tool,
            item: Some("t".into()),
            pointer: "/description".into(),
            span: None,
            message: String::new(),
            evidence: String::new(),
            decoded: None,
            fingerprint: String::new(),
            signal: Some(signal),
            location: None,
        }
    }

    #[test]
    fn conjunction_is_critical_and_single_cues_are_not() {
        let a = finding("TR014", Severity::Info, Signal::Instruction);
        let b = finding("SEC101", Severity::Low, Signal::Target);
        let c = finding("TR004", Severity::Medium, Signal::Sink);
        let d = finding("TR002", Severity::High, Signal::Concealment);
        assert_eq!(
            check("s", Some(&ItemRef::tool("t")), &[a.clone(), b.clone(), c.clone()], &Nowhere)
                .map(|f| f.severity),
            Some(Severity::Critical)
        );
        assert_eq!(
            check("s", Some(&ItemRef::tool("t")), &[a.clone(), b.clone(), d], &Nowhere).map(|f| f.severity),
            Some(Severity::Critical)
        );
        assert_eq!(
            check("s", Some(&ItemRef::tool("t")), &[a.clone(), b.clone()], &Nowhere),
            None,
            "weak instruction + target"
        );
        let strong = finding("TR003", Severity::Medium, Signal::Instruction);
        assert_eq!(
            check("s", Some(&ItemRef::tool("t")), &[strong.clone(), c], &Nowhere).map(|f| f.severity),
            Some(Severity::High)
        );
        assert_eq!(check("s", Some(&ItemRef::tool("t")), &[b], &Nowhere), None);

        // Two rules on the same phrase count once; on separate phrases, twice.
        let mut one = strong.clone();
        one.span = Some([10, 30]);
        let mut same_phrase = finding("TR020", Severity::Medium, Signal::Instruction);
        same_phrase.span = Some([12, 28]);
        assert_eq!(
            check("s", Some(&ItemRef::tool("t")), &[one.clone(), same_phrase.clone()], &Nowhere),
            None
        );
        same_phrase.span = Some([40, 60]);
        assert_eq!(
            check("s", Some(&ItemRef::tool("t")), &[one, same_phrase], &Nowhere).map(|f| f.severity),
            Some(Severity::High)
        );
    }

    #[test]
    fn concealing_or_skipping_confirmation_of_an_irreversible_act_is_high() {
        let tool = ItemRef::tool("delete_files");
        let irreversible = finding("TR030", Severity::Info, Signal::Consequence);
        let skip = finding("ML003", Severity::Medium, Signal::Concealment);
        let composite = check("s", Some(&tool), &[irreversible.clone(), skip.clone()], &Nowhere);
        assert_eq!(composite.as_ref().map(|f| f.severity), Some(Severity::High));
        assert!(composite.is_some_and(|f| f.evidence.contains("consequence (TR030)")));
        // Alone, or with an instruction ("you must give the id"), the act is no cue.
        assert_eq!(check("s", Some(&tool), std::slice::from_ref(&irreversible), &Nowhere), None);
        let must = finding("TR020", Severity::Medium, Signal::Instruction);
        assert_eq!(check("s", Some(&tool), &[irreversible.clone(), must], &Nowhere), None);
        // A weak concealment cue does not make it.
        let weak = finding("TR013", Severity::Low, Signal::Concealment);
        assert_eq!(check("s", Some(&tool), &[irreversible, weak], &Nowhere), None);
        assert_eq!(check("s", Some(&tool), &[skip], &Nowhere), None, "the bypass alone");
    }

    #[test]
    fn a_weak_sink_with_an_instruction_is_documentation() {
        // "you MUST pass it as the `outputDir` parameter": an instruction and a channel,
        // nothing sensitive in it.
        let must = finding("TR020", Severity::Medium, Signal::Instruction);
        let channel = finding("TR028", Severity::Low, Signal::Sink);
        let target_elsewhere = {
            let mut t = finding("SEC105", Severity::Medium, Signal::Target);
            t.pointer = "/title".into();
            t
        };
        let judge = |findings: &[Finding]| {
            check("s", Some(&ItemRef::tool("t")), findings, &Nowhere).map(|f| f.severity)
        };
        assert_eq!(judge(&[must.clone(), channel.clone()]), None);
        // The target elsewhere makes instruction + target a high, but never critical
        // through the weak sink.
        assert_eq!(judge(&[must, channel, target_elsewhere]), Some(Severity::High));
    }

    #[test]
    fn a_target_sent_to_a_sink_in_one_field_is_high() {
        let tool = ItemRef::tool("t");
        let judge = |findings: &[Finding]| check("s", Some(&tool), findings, &Nowhere).map(|f| f.severity);
        let target = finding("TR010", Severity::Medium, Signal::Target);
        let sink = finding("TR028", Severity::Low, Signal::Sink);
        assert_eq!(judge(&[target.clone(), sink.clone()]), Some(Severity::High));
        // In different fields, a mention and a parameter's documentation: no.
        let mut elsewhere = sink.clone();
        elsewhere.pointer = "/inputSchema/properties/q/description".into();
        assert_eq!(judge(&[target.clone(), elsewhere]), None);
        // A weak target (a mention of preferences) is not something sent away.
        let weak = finding("SEC106", Severity::Low, Signal::Target);
        assert_eq!(judge(&[weak, sink.clone()]), None);
        // The sink must be another rule's: one rule's target in a parameter is not both.
        let same_rule = finding("TR010", Severity::Medium, Signal::Sink);
        assert_eq!(judge(&[target, same_rule]), None);
        assert_eq!(judge(&[sink]), None);
    }

    #[test]
    fn an_instruction_in_a_resource_or_an_output_schema_is_high_and_in_a_tool_description_is_not() {
        let forced = finding("ML007", Severity::Medium, Signal::Instruction);
        let judge = |item: ItemRef, finding: &Finding| {
            check("s", Some(&item), std::slice::from_ref(finding), &Nowhere).map(|f| f.severity)
        };
        assert_eq!(judge(ItemRef::tool("t"), &forced), None);
        assert_eq!(judge(ItemRef::new(Kind::Resource, "file:///a"), &forced), Some(Severity::High));
        assert_eq!(judge(ItemRef::new(Kind::ResourceTemplate, "file:///{p}"), &forced), Some(Severity::High));
        let mut in_output = forced.clone();
        in_output.pointer = "/outputSchema/properties/next/description".into();
        assert_eq!(judge(ItemRef::tool("t"), &in_output), Some(Severity::High));
        // A prompt is instructions by design: no.
        assert_eq!(judge(ItemRef::new(Kind::Prompt, "p"), &forced), None);
        // A weak cue in a resource is still weak.
        let weak = finding("ML009", Severity::Low, Signal::Instruction);
        assert_eq!(judge(ItemRef::new(Kind::Resource, "file:///a"), &weak), None);
    }
}
