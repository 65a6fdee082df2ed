//! The state-free half of verification, on every core.
//!
//! Parsing an event's bytes, its canonical form, its hash and its signatures depend on
//! nothing but the event, so they are done ahead of the rules, in parallel: the rules then
//! run in ledger order on one thread with the signatures' verdicts in hand
//! ([`crate::rules::check_event_signed`]). Signatures go to the worker threads in chunks
//! of [`CHUNK`], which [`SigMode::Batch`] verifies as one batch each.

use kpledger_model::canonical::JsonError;
use kpledger_model::sign::{BatchKeys, SigMode};
use kpledger_model::{Event, KeyCache, ParsedEvent};
use rayon::prelude::*;

use crate::rules::Signatures;

/// Events per work item: large enough for a batch verification to pay off (its gain grows
/// with the batch and flattens past a few dozen signatures) and to amortise the hand-off,
/// small enough to keep every core busy to the end.
pub const CHUNK: usize = 64;

/// A stored event's state-free checks: the event read strictly (or why not), and, if it
/// was read, the verdicts on its signatures.
#[derive(Debug)]
pub struct Prepared {
    /// The event, or why its bytes are not a valid signed event.
    pub parsed: Result<ParsedEvent, JsonError>,
    /// The signatures' verdicts, for an event that was read.
    pub sigs: Option<Signatures>,
}

/// Reads each document as a signed event and checks its signatures, on all cores;
/// `out[i]` is for `docs[i]`. The keys the events name are decoded once per call.
pub fn prepare<T: AsRef<[u8]> + Sync>(docs: &[T], mode: SigMode) -> Vec<Prepared> {
    prepare_in(docs, mode, &KeyCache::default())
}

/// As [`prepare`], with the keys decoded looked up in, and kept in, `decoded`: the cache of a
/// run of many calls (a store's ingest).
pub fn prepare_in<T: AsRef<[u8]> + Sync>(docs: &[T], mode: SigMode, decoded: &KeyCache) -> Vec<Prepared> {
    let keys = BatchKeys::default();
    docs.par_chunks(CHUNK)
        .flat_map_iter(|chunk| prepare_docs(chunk.iter().map(AsRef::as_ref), mode, decoded, &keys))
        .collect()
}

fn prepare_docs<'a>(
    docs: impl Iterator<Item = &'a [u8]>,
    mode: SigMode,
    decoded: &KeyCache,
    keys: &BatchKeys,
) -> Vec<Prepared> {
    let parsed: Vec<Result<ParsedEvent, JsonError>> = decoded.scope(|| docs.map(Event::parse).collect());
    let good: Vec<&ParsedEvent> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let mut sigs = Signatures::check_all_in(&good, mode, keys).into_iter();
    parsed
        .into_iter()
        .map(|parsed| {
            let sigs = if parsed.is_ok() { sigs.next() } else { None };
            Prepared { parsed, sigs }
        })
        .collect()
}

/// Checks the signatures of events already read, on all cores; `out[i]` is for `events[i]`.
pub fn signatures(events: &[ParsedEvent], mode: SigMode) -> Vec<Signatures> {
    let keys = BatchKeys::default();
    events
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            let refs: Vec<&ParsedEvent> = chunk.iter().collect();
            Signatures::check_all_in(&refs, mode, &keys)
        })
        .collect()
}

/// Prepares a stream of batches on `helpers` threads and on the calling thread, and hands
/// each item with its [`Prepared`] checks to `judge`, in order, on the calling thread;
/// `doc` gives an item's bytes.
///
/// `next_batch` (also on the calling thread) gives the next batch, or an empty one at the
/// end; its error stops the pipeline and is returned. The calling thread judges each chunk
/// as soon as it is ready and, whenever the next one is not, prepares a waiting chunk
/// itself: there are never more busy threads than `helpers + 1`, so on a machine with that
/// many cores nothing is time-sliced, and no core waits at the end of a batch. Two batches
/// are in flight at most, so memory is bounded by the batch size.
pub fn pipeline<T, E>(
    mode: SigMode,
    helpers: usize,
    doc: fn(&T) -> &[u8],
    mut next_batch: impl FnMut() -> Result<Vec<T>, E>,
    mut judge: impl FnMut(&T, &Prepared),
) -> Result<(), E>
where
    T: Send + Sync,
{
    let queue = Queue::<T>::default();
    // What is learnt about keys (decoded points; for batch verification, their small-order
    // components), shared by every thread of this run.
    let (decoded, keys) = (KeyCache::default(), BatchKeys::default());
    let (results, arrived) = std::sync::mpsc::channel::<(u64, Option<Vec<Prepared>>)>();
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            let results = results.clone();
            let (queue, decoded, keys) = (&queue, &decoded, &keys);
            scope.spawn(move || {
                while let Some(job) = queue.take() {
                    // Tells the calling thread if this job dies with a panic, so that it
                    // does not wait for it forever; the scope then passes the panic on.
                    let mut guard = PanicGuard { id: job.id, results: &results, armed: true };
                    let out = prepare_docs(job.batch[job.range.clone()].iter().map(doc), mode, decoded, keys);
                    guard.armed = false;
                    if results.send((job.id, Some(out))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(results);
        // Closes the queue however the calling thread leaves, so the helpers end.
        let _close = CloseOnDrop(&queue);
        // Batches read and not yet judged; the front one is being judged, from its chunk `n`.
        let mut batches: std::collections::VecDeque<(std::sync::Arc<Vec<T>>, u64)> =
            std::collections::VecDeque::new();
        let mut n = 0usize;
        let mut ready: std::collections::HashMap<u64, Vec<Prepared>> = std::collections::HashMap::new();
        let mut next_id = 0u64;
        let mut exhausted = false;
        loop {
            // Keep enough chunks waiting that no thread runs dry while this one reads.
            while !exhausted && batches.len() < MAX_BATCHES && queue.len() < LOW_WATER {
                let batch = next_batch()?;
                if batch.is_empty() {
                    exhausted = true;
                    break;
                }
                let batch = std::sync::Arc::new(batch);
                let first = next_id;
                let jobs = (0..batch.len()).step_by(CHUNK).map(|start| {
                    let job = Job {
                        batch: batch.clone(),
                        range: start..(start + CHUNK).min(batch.len()),
                        id: next_id,
                    };
                    next_id += 1;
                    job
                });
                queue.push(jobs);
                batches.push_back((batch, first));
            }
            let Some((batch, first)) = batches.front().cloned() else { return Ok(()) };
            let start = n * CHUNK;
            if start >= batch.len() {
                batches.pop_front();
                n = 0;
                continue;
            }
            let id = first + n as u64;
            n += 1;
            let out = loop {
                // Take in what the helpers have finished, then look for this chunk.
                while let Ok(got) = arrived.try_recv() {
                    let (got, Some(out)) = got else { panic!("a verification thread panicked") };
                    ready.insert(got, out);
                }
                if let Some(out) = ready.remove(&id) {
                    break out;
                }
                // Not ready: prepare a waiting chunk here rather than wait.
                if let Some(job) = queue.try_take() {
                    let out =
                        prepare_docs(job.batch[job.range.clone()].iter().map(doc), mode, &decoded, &keys);
                    if job.id == id {
                        break out;
                    }
                    ready.insert(job.id, out);
                    continue;
                }
                // Every chunk is taken: wait for a helper's.
                match arrived.recv() {
                    Ok((got, Some(out))) => {
                        ready.insert(got, out);
                    }
                    Ok((_, None)) | Err(_) => panic!("a verification thread panicked"),
                }
            };
            for (item, p) in batch[start..].iter().zip(&out) {
                judge(item, p);
            }
        }
    })
}

/// Batches read ahead of the one being judged, at most (memory is bounded by this times the
/// batch size).
const MAX_BATCHES: usize = 4;
/// Chunks waiting for a thread below which another batch is read.
const LOW_WATER: usize = 16;

/// A chunk of a batch to prepare.
struct Job<T> {
    batch: std::sync::Arc<Vec<T>>,
    range: std::ops::Range<usize>,
    id: u64,
}

/// The chunks waiting for a thread, in order; closed when the pipeline ends.
struct Queue<T> {
    jobs: std::sync::Mutex<(std::collections::VecDeque<Job<T>>, bool)>,
    wake: std::sync::Condvar,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            jobs: std::sync::Mutex::new((std::collections::VecDeque::new(), false)),
            wake: std::sync::Condvar::new(),
        }
    }
}

impl<T> Queue<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, (std::collections::VecDeque<Job<T>>, bool)> {
        // The lock is held only to move jobs in and out, never across a panic that matters.
        self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, jobs: impl Iterator<Item = Job<T>>) {
        self.lock().0.extend(jobs);
        self.wake.notify_all();
    }

    /// The next job, waiting for one; `None` once the queue is closed.
    fn take(&self) -> Option<Job<T>> {
        let mut q = self.lock();
        loop {
            if q.1 {
                return None;
            }
            if let Some(job) = q.0.pop_front() {
                return Some(job);
            }
            q = self.wake.wait(q).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    fn len(&self) -> usize {
        self.lock().0.len()
    }

    fn try_take(&self) -> Option<Job<T>> {
        self.lock().0.pop_front()
    }

    fn close(&self) {
        self.lock().1 = true;
        self.wake.notify_all();
    }
}

struct CloseOnDrop<'q, T>(&'q Queue<T>);

impl<T> Drop for CloseOnDrop<'_, T> {
    fn drop(&mut self) {
        self.0.close();
    }
}

struct PanicGuard<'a> {
    id: u64,
    results: &'a std::sync::mpsc::Sender<(u64, Option<Vec<Prepared>>)>,
    armed: bool,
}

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // The receiver may be gone too; nothing more to tell then.
            let _ = self.results.send((self.id, None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items come back in order, each with its own verdict, whatever the number of helpers
    /// and however the batches fall against the chunks.
    #[test]
    fn pipeline_keeps_order_and_pairs_each_item_with_its_own_result() {
        for helpers in [0, 1, 3] {
            for sizes in [vec![1], vec![CHUNK], vec![CHUNK + 1, 3, 2 * CHUNK - 1], vec![5; 40]] {
                let total: usize = sizes.iter().sum();
                // Odd items are not JSON, even ones are JSON but not events: different errors.
                let items: Vec<(usize, Vec<u8>)> = (0..total)
                    .map(|i| {
                        (i, if i % 2 == 0 { format!("{{\"n\":{i}}}") } else { format!("<{i}>") }.into_bytes())
                    })
                    .collect();
                let mut batches = sizes.iter().scan(0, |at, n| {
                    let b = items[*at..*at + n].to_vec();
                    *at += n;
                    Some(b)
                });
                let mut seen = Vec::new();
                let r: Result<(), ()> = pipeline(
                    SigMode::Strict,
                    helpers,
                    |(_, d): &(usize, Vec<u8>)| d.as_slice(),
                    || Ok(batches.next().unwrap_or_default()),
                    |(i, _), p| {
                        let shape = matches!(p.parsed, Err(JsonError::Shape(_)));
                        seen.push((*i, p.sigs.is_none(), shape));
                    },
                );
                assert_eq!(r, Ok(()));
                let want: Vec<_> = (0..total).map(|i| (i, true, i % 2 == 0)).collect();
                assert_eq!(seen, want, "helpers {helpers}, batches {sizes:?}");
            }
        }
    }

    /// An error from the source stops the pipeline and comes back; what came before it was
    /// judged, nothing after.
    #[test]
    fn pipeline_stops_at_the_sources_error() {
        let mut calls = 0;
        let mut judged = 0;
        let r = pipeline(
            SigMode::Strict,
            1,
            |d: &Vec<u8>| d.as_slice(),
            || {
                calls += 1;
                if calls == 3 { Err("disk gone") } else { Ok(vec![b"x".to_vec(); 10]) }
            },
            |_, _| judged += 1,
        );
        assert_eq!(r, Err("disk gone"));
        assert_eq!(calls, 3);
        assert!(judged <= 20, "judged {judged} items of the 20 read");
    }
}
