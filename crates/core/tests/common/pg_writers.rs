//! Writers appending to one PostgreSQL store at once, for the tests of its sequencer.

use std::time::Duration;

use kpledger_core::store::backend::{Backend as _, Writes};
use kpledger_core::store::pg::PgStore;

/// `writers` threads, each with a connection of its own to `url`, each making `each`
/// appends, one write transaction per append: `append(writes, writer, i)` writes the rows and
/// returns the position it gave the event (read from the log's end inside the transaction, as
/// the store does). Returns `(position, writer, i)` of every append whose commit succeeded:
/// the acknowledged ones.
pub(crate) fn concurrent_appends(
    url: &str,
    writers: usize,
    each: usize,
    append: fn(&dyn Writes, usize, usize) -> u64,
) -> Vec<(u64, usize, usize)> {
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let mut s = PgStore::open(&url, false, Duration::from_secs(30)).unwrap();
                let mut acked = Vec::new();
                for i in 0..each {
                    let tx = s.begin_write().unwrap();
                    let seq = append(tx.writes(), w, i);
                    if tx.commit().is_ok() {
                        acked.push((seq, w, i));
                    }
                }
                acked
            })
        })
        .collect();
    handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
}
