//! A synthetic national ledger at scale, for benchmarks and scale tests.
//!
//! The demo's actors, sites and policies ([`crate::demo`]), and its trade repeated: each
//! round, every country mines `lot_parcels` parcels, moves them through its licensed
//! middlemen to its exporter, values and seals the export lot, and issues and exports a KP
//! certificate for it. A certificate's evidence bundle therefore holds about
//! `2.3 × lot_parcels + 40` events. The clock is compressed (one second per step) so
//! that millions of events stay within the licences' year, and commits are not flushed to
//! disk while generating (`Ledger::set_fast_unsafe_writes`): the result is a
//! throw-away ledger.

use std::path::{Path, PathBuf};

use kpledger_model::{Origin, SecretKey, Time};

use crate::demo::{DEMO_ORIGIN, DEMO_SEED, DEMO_START, DemoError, importer, setup, trade, value_and_seal};
use crate::sim::{Sim, SimError};
use crate::store::Ledger;

/// What [`national`] built.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// Where the ledger was written.
    pub path: PathBuf,
    /// Its number of events.
    pub events: u64,
    /// Parcels mined.
    pub parcels: u64,
    /// The certificates issued, in order.
    pub certificates: Vec<String>,
    /// An importer's trust policy for it (docs/SPEC.md §14.5): the root's key for the log,
    /// each national authority for its country's certificates, no witness (`quorum none`).
    pub policy: String,
    /// The root authority's (throw-away) key, which signs checkpoints.
    pub root_key: SecretKey,
}

/// Builds a synthetic ledger at `path` (which must not exist) with about `parcels` mined
/// parcels, in export lots of `lot_parcels` (at least 2). `progress(parcels_done)` is called
/// after each lot.
pub fn national(
    path: &Path,
    parcels: u64,
    lot_parcels: u32,
    progress: &mut dyn FnMut(u64),
) -> Result<Synthetic, DemoError> {
    let mut ledger = Ledger::create(path)?;
    ledger.set_fast_unsafe_writes()?;
    let origin = Origin::new(DEMO_ORIGIN).map_err(SimError::Value)?;
    let start = Time::new(DEMO_START).map_err(SimError::Value)?;
    let mut sim = Sim::new(ledger, origin, DEMO_SEED, &start);
    sim.compress_time();
    let root = sim.genesis("mru.secretariat", "Mano River Union Secretariat - KP Regional Approach", "SL")?;
    let countries = setup(&mut sim, &root)?;
    let lot_parcels = lot_parcels.max(2);
    let mut done = 0u64;
    let mut certificates = Vec::new();
    let mut round = 0u32;
    while done < parcels {
        round += 1;
        for c in &countries {
            if done >= parcels {
                break;
            }
            let n = u32::try_from((parcels - done).min(u64::from(lot_parcels))).unwrap_or(lot_parcels).max(2);
            let (lot, _, _, _) = trade(&mut sim, c, n, false)?;
            value_and_seal(&mut sim, c, &lot)?;
            // Within each policy's number range (Sierra Leone numbers its certificates from 4000).
            let first = if c.code == "SL" { 4000 } else { 0 };
            let number = format!("{}-2026-{:06}", c.code, first + round);
            let to = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE")?;
            let draft = sim.draft_certificate(&number, &c.authority, &c.exporter, to, &[lot], 60)?;
            sim.certify(&c.authority, draft)?;
            sim.tick(1);
            sim.export(&c.authority, &number)?;
            sim.tick(1);
            certificates.push(number);
            done += u64::from(n);
            progress(done);
        }
    }
    // A checkpoint of the whole log, so that every certificate's bundle can prove its events.
    let root_key = sim.key(&root)?.clone();
    sim.ledger_mut().publish_checkpoint(&root_key)?;
    let mut authorities = Vec::new();
    for c in &countries {
        let country = kpledger_model::Country::new(c.code).map_err(SimError::Value)?;
        authorities.push((c.authority.to_string(), country, sim.key(&c.authority)?.public()));
    }
    let policy = crate::demo::importer_policy(DEMO_ORIGIN, root_key.public(), &authorities, false)?;
    let events = sim.ledger().len()?;
    Ok(Synthetic { path: path.to_owned(), events, parcels: done, certificates, policy, root_key })
}
