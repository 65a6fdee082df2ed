//! Property tests of the trust policy parser (docs/SPEC.md §14.5), the same properties the
//! `trust_policy` fuzz target checks on arbitrary bytes:
//!
//! - generated policies (logs, witnesses, nested groups with `all`/`any`/k thresholds, a
//!   quorum, issuers), written with comments, blank lines and random spaces and tabs, read
//!   back as exactly what was generated; the quorum decides as an independent evaluation of
//!   the generated structure does, for generated sets of cosigning witnesses; `to_text` reads
//!   back as the same policy and writes the same bytes again;
//! - every single-byte change of such a file is either refused with lines the file has, or
//!   read as a policy that round-trips.

// Tests: a failed unwrap is a failed test, and the panic says where.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use kpledger_model::SecretKey;
use kpledger_verify::TrustPolicy;
use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey, witness_vkey};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Debug, Clone)]
struct GenGroup {
    /// 0 = all, 1 = any, k + 1 = at least k.
    threshold: usize,
    members: Vec<Member>,
}

#[derive(Debug, Clone)]
struct GenPolicy {
    logs: usize,
    witnesses: usize,
    groups: Vec<GenGroup>,
    /// None: `quorum none`; Some(Witness/Group).
    quorum: Option<Member>,
    issuers: Vec<&'static str>,
    /// Whitespace and comment choices.
    style: Vec<u8>,
}

fn key(seed: u8) -> kpledger_model::PublicKey {
    SecretKey::from_seed(&[seed; 32]).public()
}

fn gen_policy() -> impl Strategy<Value = GenPolicy> {
    (
        0usize..3,
        0usize..6,
        proptest::collection::vec(any::<u64>(), 0..4),
        any::<u64>(),
        0usize..4,
        proptest::collection::vec(any::<u8>(), 64),
    )
        .prop_map(|(logs, witnesses, group_seeds, q, issuers, style)| {
            let mut groups: Vec<GenGroup> = Vec::new();
            // The witnesses each group reaches: a group's members reach disjoint witnesses
            // (the policy refuses one witness counted twice).
            let mut reach: Vec<BTreeSet<usize>> = Vec::new();
            for s in group_seeds {
                // Members: distinct names defined before (witnesses, then earlier groups).
                let pool = witnesses + groups.len();
                if pool == 0 {
                    break;
                }
                let mut members = Vec::new();
                let mut reached = BTreeSet::new();
                for bit in 0..pool {
                    if (s >> bit) & 1 == 1 {
                        let (m, under) = if bit < witnesses {
                            (Member::Witness(bit), BTreeSet::from([bit]))
                        } else {
                            (Member::Group(bit - witnesses), reach[bit - witnesses].clone())
                        };
                        if reached.is_disjoint(&under) {
                            reached.extend(under);
                            members.push(m);
                        }
                    }
                }
                if members.is_empty() {
                    members.push(Member::Witness(0).clone());
                    reached = BTreeSet::from([0]);
                    if witnesses == 0 {
                        members = vec![Member::Group(0)];
                        reached = reach[0].clone();
                    }
                }
                reach.push(reached);
                let n = members.len();
                let threshold = match (s >> 40) % 3 {
                    0 => 0,
                    1 => 1,
                    _ => 2 + ((s >> 44) as usize % n),
                };
                groups.push(GenGroup { threshold, members });
            }
            let quorum = match (q % 3, witnesses, groups.len()) {
                (0, _, _) | (1, 0, 0) | (2, 0, 0) => None,
                (1, w, _) if w > 0 => Some(Member::Witness((q >> 8) as usize % w)),
                (_, _, g) if g > 0 => Some(Member::Group((q >> 8) as usize % g)),
                (_, w, _) => Some(Member::Witness((q >> 8) as usize % w)),
            };
            let all = ["SL", "LR", "GN", "CI"];
            GenPolicy { logs, witnesses, groups, quorum, issuers: all[..issuers].to_vec(), style }
        })
}

fn wname(i: usize) -> String {
    format!("w{i}.example")
}
fn gname(i: usize) -> String {
    format!("group-{i}")
}
fn mname(m: &Member) -> String {
    match m {
        Member::Witness(i) => wname(*i),
        Member::Group(i) => gname(*i),
    }
}

/// The file: every statement with random leading and inner blanks, comments and blank
/// lines between, logs and issuers placed at random among the ordered rest.
fn render(p: &GenPolicy) -> String {
    let mut style = p.style.iter().copied().cycle();
    let mut sp = move || -> &'static str {
        match style.next().unwrap_or(0) % 4 {
            0 => " ",
            1 => "\t",
            2 => "  \t ",
            _ => " \t",
        }
    };
    let mut ordered: Vec<Vec<String>> = Vec::new();
    for i in 0..p.witnesses {
        ordered.push(vec![
            "witness".into(),
            wname(i),
            witness_vkey(&wname(i), key(20 + i as u8)).unwrap().to_vkey(),
        ]);
    }
    for (i, g) in p.groups.iter().enumerate() {
        let k = match g.threshold {
            0 => "all".to_owned(),
            1 => "any".to_owned(),
            k => (k - 1).to_string(),
        };
        let mut f = vec!["group".into(), gname(i), k];
        f.extend(g.members.iter().map(mname));
        ordered.push(f);
    }
    ordered.push(vec!["quorum".into(), p.quorum.as_ref().map_or("none".into(), mname)]);
    let mut free: Vec<Vec<String>> = Vec::new();
    for i in 0..p.logs {
        free.push(vec![
            "log".into(),
            log_vkey(&format!("log{i}.example/tree"), key(1 + i as u8)).unwrap().to_vkey(),
        ]);
    }
    for (i, c) in p.issuers.iter().enumerate() {
        let actor = format!("{}.authority", c.to_lowercase());
        free.push(vec![
            ISSUER_KEYWORD.into(),
            (*c).into(),
            issuer_vkey(&actor, key(40 + i as u8)).unwrap().to_vkey(),
        ]);
    }
    let mut out = String::from("# generated\n");
    let mut fi = free.into_iter();
    for (i, stmt) in ordered.into_iter().enumerate() {
        if i % 2 == 0
            && let Some(f) = fi.next()
        {
            out.push_str(&format!("{}{}\n", sp(), f.join(sp())));
        }
        out.push_str(&format!(
            "{}{}{}\n",
            if i % 3 == 0 { "" } else { sp() },
            stmt.join(sp()),
            if i % 2 == 1 { sp() } else { "" }
        ));
        if i % 4 == 3 {
            out.push_str(&format!("{}# a comment with words\n\n", sp()));
        }
    }
    for f in fi {
        out.push_str(&format!("{}\n", f.join(sp())));
    }
    out
}

/// The quorum, evaluated on the generated structure (recursively, not in line order).
fn met(p: &GenPolicy, m: &Member, set: &BTreeSet<usize>) -> bool {
    match m {
        Member::Witness(i) => set.contains(i),
        Member::Group(g) => {
            let g = &p.groups[*g];
            let count = g.members.iter().filter(|x| met(p, x, set)).count();
            let need = match g.threshold {
                0 => g.members.len(),
                1 => 1,
                k => k - 1,
            };
            count >= need
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn generated_policies_read_as_generated_and_round_trip(p in gen_policy(), sets in proptest::collection::vec(any::<u8>(), 8)) {
        let text = render(&p);
        let policy = TrustPolicy::parse(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(policy.logs().len(), p.logs);
        prop_assert_eq!(policy.witnesses().len(), p.witnesses);
        prop_assert_eq!(policy.groups().len(), p.groups.len());
        prop_assert_eq!(policy.issuers().len(), p.issuers.len());
        for (i, l) in policy.logs().iter().enumerate() {
            prop_assert_eq!(policy.log_keys(l.key.name()), vec![key(1 + i as u8)]);
        }
        for s in &sets {
            let set: BTreeSet<usize> = (0..p.witnesses).filter(|i| (s >> (i % 8)) & 1 == 1).collect();
            let expected = p.quorum.as_ref().is_none_or(|q| met(&p, q, &set));
            prop_assert_eq!(policy.quorum_met(&set), expected, "{:?}\n{}", set, text);
        }
        let written = policy.to_text();
        let again = TrustPolicy::parse(written.as_bytes()).unwrap();
        prop_assert!(again.same_as(&policy));
        prop_assert_eq!(again.to_text(), written);
    }

    #[test]
    fn single_byte_changes_are_refused_by_line_or_round_trip(p in gen_policy(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = render(&p).into_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        let lines = bytes.split(|&b| b == b'\n').count();
        match TrustPolicy::parse(&bytes) {
            Err(e) => prop_assert!(e.lines.iter().all(|&l| (1..=lines).contains(&l)), "{}", e),
            Ok(policy) => {
                let written = policy.to_text();
                let again = TrustPolicy::parse(written.as_bytes()).unwrap();
                prop_assert_eq!(again.to_text(), written);
            }
        }
    }
}
