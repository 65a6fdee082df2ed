//! Read-only queries for the reports (`kpledger-report`): every event in ledger order.
//! Kept apart from `store.rs`; it uses only the store's public queries.

use kpledger_model::ParsedEvent;

use crate::store::{Ledger, StoreError};

impl Ledger {
    /// Every event with its position, in ledger order.
    pub fn events(&self) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for seq in 1..=n {
            if let Some(ev) = self.event(seq)? {
                out.push((seq, ev));
            }
        }
        Ok(out)
    }
}
