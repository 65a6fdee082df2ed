//! What the fuzz targets share (`#[macro_use] mod fixed;`): values made once per process,
//! and the fixed inputs read from the repository's fixtures.
#![allow(dead_code)]

/// `once!(T, init)`: the `&'static T` that `init` makes the first time it is asked for, and
/// every later time (a `OnceLock` of its own at each use).
macro_rules! once {
    ($t:ty, $init:expr) => {{
        static CELL: std::sync::OnceLock<$t> = std::sync::OnceLock::new();
        CELL.get_or_init(|| $init)
    }};
}

/// The SL fixture ledger's witnessed export bundle (`fixtures/bundles/ok_sl_witnessed_export`).
pub(crate) const WITNESSED_BUNDLE: &[u8] =
    include_bytes!("../../fixtures/bundles/ok_sl_witnessed_export/bundle.json");

/// The trust policy that bundle verifies under: the SL fixture ledger's root key pinned for
/// its log, the NMA for Sierra Leone's certificates, Liberia's authority as the one witness
/// required.
pub(crate) fn witnessed_policy() -> kpledger_verify::TrustPolicy {
    let text = include_bytes!("../../fixtures/bundles/ok_sl_witnessed_export/policy.txt");
    kpledger_verify::TrustPolicy::parse(text).expect("the fixture's trust policy")
}
