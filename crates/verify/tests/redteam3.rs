//! Third red-team review (SECURITY.md, "Third red-team review"): a trust policy's witness
//! quorum met by one witness counted twice under two names.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use kpledger_model::{PublicKey, SecretKey};
use kpledger_verify::TrustPolicy;
use kpledger_verify::{log_vkey, witness_vkey};

fn key(n: u8) -> PublicKey {
    SecretKey::from_seed(&[n; 32]).public()
}

fn policy(groups: &str) -> String {
    format!(
        "log {}\nwitness sl.nma {}\nwitness lr.mme {}\nwitness gn.mines {}\n{groups}",
        log_vkey("kpledger.mru/regional", key(1)).unwrap().to_vkey(),
        witness_vkey("sl.nma", key(2)).unwrap().to_vkey(),
        witness_vkey("lr.mme", key(3)).unwrap().to_vkey(),
        witness_vkey("gn.mines", key(4)).unwrap().to_vkey(),
    )
}

/// A policy circulated by a neighbour reads "two of: Sierra Leone, and the neighbours", with
/// Sierra Leone slipped in among the neighbours: its cosignature alone met the quorum (the
/// group counted members, and sl.nma was met as itself and as "neighbours"). The same through
/// two subgroups that share a witness. Such a policy is now refused, naming the lines.
#[test]
fn redteam3_a_witness_reached_through_two_members_of_a_group_is_refused() {
    let sl_alone = BTreeSet::from([0usize]);
    for groups in [
        "group neighbours any lr.mme gn.mines sl.nma\ngroup mru 2 sl.nma neighbours\nquorum mru\n",
        "group g1 any sl.nma lr.mme\ngroup g2 any sl.nma gn.mines\ngroup mru all g1 g2\nquorum mru\n",
    ] {
        let text = policy(groups);
        match TrustPolicy::parse(text.as_bytes()) {
            Ok(p) => panic!("accepted; sl.nma alone meets its quorum: {}\n{text}", p.quorum_met(&sl_alone)),
            Err(e) => {
                assert!(e.to_string().contains("count twice"), "{e}");
                assert!(e.lines.contains(&2), "names sl.nma's line: {e}");
            }
        }
    }
    // Disjoint members still nest, and one witness does not meet a threshold of two.
    let p = TrustPolicy::parse(
        policy("group neighbours any lr.mme gn.mines\ngroup mru 2 sl.nma neighbours\nquorum mru\n")
            .as_bytes(),
    )
    .unwrap();
    assert!(!p.quorum_met(&sl_alone));
    assert!(p.quorum_met(&BTreeSet::from([0, 2])));
}

/// Liberia's authority, a witness the importer trusts, hands over a second key for "its backup
/// witness", signing under the same witness name lr.mme: listed as a second witness, its two
/// cosignatures counted as two of the quorum's three. Two keys signing under one name are one
/// witness and such a policy is refused.
#[test]
fn redteam3_two_keys_signing_as_one_witness_are_refused() {
    let text = format!(
        "log {}\nwitness lr.mme {}\nwitness lr-backup {}\nwitness gn.mines {}\ngroup q 2 lr.mme lr-backup gn.mines\nquorum q\n",
        log_vkey("kpledger.mru/regional", key(1)).unwrap().to_vkey(),
        witness_vkey("lr.mme", key(3)).unwrap().to_vkey(),
        witness_vkey("lr.mme", key(5)).unwrap().to_vkey(),
        witness_vkey("gn.mines", key(4)).unwrap().to_vkey(),
    );
    match TrustPolicy::parse(text.as_bytes()) {
        Ok(p) => panic!("accepted; lr.mme alone meets 2 of 3: {}", p.quorum_met(&BTreeSet::from([0, 1]))),
        Err(e) => assert_eq!(e.lines, vec![2, 3], "{e}"),
    }
}
