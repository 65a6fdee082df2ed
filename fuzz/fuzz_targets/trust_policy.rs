//! Trust policy files (docs/SPEC.md §14.5: C2SP tlog-policy lines and `kpledger-issuer`
//! lines) from arbitrary bytes. A policy that is read writes back (`to_text`) to a file that
//! reads as the same policy and writes back to the same bytes; every line that is neither
//! blank nor a comment is exactly one log, witness, group, quorum or issuer; the quorum
//! gives the same verdict on both readings for fuzz-chosen sets of cosigning witnesses and
//! never turns false when more witnesses cosign; a refusal names only lines the file has.
#![no_main]

use std::collections::BTreeSet;

use kpledger_verify::TrustPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count();
    let policy = match TrustPolicy::parse(data) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.lines.iter().all(|&l| l >= 1 && l <= lines), "{e} names a line the file does not have");
            return;
        }
    };
    let text = policy.to_text();
    let again = TrustPolicy::parse(text.as_bytes()).expect("a policy's own text is refused");
    assert_eq!(again.to_text(), text, "writing a policy twice gives other bytes");
    assert!(again.same_as(&policy));

    let statements = data
        .split(|&b| b == b'\n')
        .filter(|l| {
            let t: Vec<&u8> = l.iter().skip_while(|&&b| b == b' ' || b == b'\t').collect();
            !t.is_empty() && *t[0] != b'#' && !t.iter().all(|&&b| b == b' ' || b == b'\t')
        })
        .count();
    let counted = policy.logs().len()
        + policy.unverifiable_logs().len()
        + policy.witnesses().len()
        + policy.groups().len()
        + policy.issuers().len()
        + 1;
    assert_eq!(statements, counted, "a line was read as something other than one statement");

    // Sets of cosigning witnesses chosen by the input's bytes, each grown by one witness.
    let n = policy.witnesses().len();
    if n == 0 {
        assert_eq!(policy.quorum_met(&BTreeSet::new()), again.quorum_met(&BTreeSet::new()));
        return;
    }
    for chunk in data.chunks(8).take(16) {
        let mut set = BTreeSet::new();
        for (i, b) in chunk.iter().enumerate() {
            for bit in 0..8 {
                if b & (1 << bit) != 0 {
                    set.insert((i * 8 + bit) % n);
                }
            }
        }
        let met = policy.quorum_met(&set);
        assert_eq!(met, again.quorum_met(&set), "the written policy decides otherwise");
        let mut more = set.clone();
        more.insert(usize::from(chunk[0]) % n);
        assert!(!met || policy.quorum_met(&more), "a quorum met is lost when another witness cosigns");
    }
    // Every group's threshold is at most its members, so all witnesses always meet the quorum.
    let all: BTreeSet<usize> = (0..n).collect();
    assert!(policy.quorum_met(&all), "no set of cosignatures can meet this quorum");
});
