//! Parcel cards (docs/SPEC.md §14.6) from arbitrary bytes, checked under the card fixtures'
//! trust policy. First byte even: the bytes are the card; odd: up to 4 byte changes of the
//! genuine fixture card (a valuation head: two events). Never a panic; a card that differs
//! from the genuine one in anything but its `stated` part, layout or cosignature lines is
//! refused; a card that is accepted is accepted again as the card's own pretty JSON, with the
//! same proven facts.
#![no_main]

use kpledger_verify::{TrustPolicy, verify_card};
use libfuzzer_sys::fuzz_target;

const POLICY: &[u8] = include_bytes!("../../fixtures/cards/trust-policy.txt");
const CARD: &[u8] = include_bytes!("../../fixtures/cards/ok_valuation_head/card.json");

fuzz_target!(|data: &[u8]| {
    let policy = TrustPolicy::parse(POLICY).expect("the fixture policy reads");
    let (first, rest) = match data.split_first() {
        Some(x) => x,
        None => return,
    };
    let input: Vec<u8> = if first % 2 == 0 {
        rest.to_vec()
    } else {
        let mut card = CARD.to_vec();
        for pair in rest.chunks(3).take(4) {
            if let [a, b, v] = pair {
                let at = (usize::from(*a) << 8 | usize::from(*b)) % card.len();
                card[at] = *v;
            }
        }
        card
    };
    let Ok(checked) = verify_card(&input, &policy) else { return };
    // The genuine card's proven facts, whatever the layout or the stated part.
    let genuine = verify_card(CARD, &policy).expect("the fixture card verifies");
    if checked.card.parcel == genuine.card.parcel && checked.card.ledger == genuine.card.ledger {
        assert_eq!(
            checked.card.head, genuine.card.head,
            "another head accepted for the same parcel and checkpoint"
        );
        assert_eq!(checked.card.holder, genuine.card.holder);
        assert_eq!(checked.card.weight_pt, genuine.card.weight_pt);
        assert_eq!(checked.card.status, genuine.card.status);
        assert_eq!(checked.card.events, genuine.card.events);
    }
    let again = serde_json::to_vec_pretty(&checked.card).expect("a card writes");
    let twice = verify_card(&again, &policy).expect("an accepted card written back is refused");
    assert_eq!(twice.card, checked.card);
});
