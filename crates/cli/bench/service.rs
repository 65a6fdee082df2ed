//! The service (`kpledger serve`): the same events over HTTP, and its tiles.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use kpledger_core::Ledger;
use kpledger_model::Event;
use serde::Serialize;

use super::per_s;

/// Concurrent HTTP clients submitting one event per request (threads of this process, one
/// connection each).
pub(super) const HTTP_CLIENTS: usize = 32;
/// Events per request of the bulk clients (`application/jsonl`, all or nothing), as a back
/// office sends a day's events; and how many such clients submit at once.
pub(super) const BATCH_EVENTS: usize = 1000;
pub(super) const BATCH_CLIENTS: usize = 8;
/// The last quarter of the events is submitted at half the rate the first three quarters
/// reached, for the latency of single submissions.
pub(super) const PACED_DIVISOR: usize = 4;
/// Threads reading tiles, and for how long.
pub(super) const TILE_CLIENTS: usize = 2;
pub(super) const TILE_SECONDS: u64 = 3;

/// The service's figures (`kpledger bench`, "service").
#[derive(Debug, Serialize)]
pub(super) struct ServiceFigures {
    /// Concurrent clients, each submitting one event per request on a connection of its own.
    pub(super) clients: usize,
    /// Events submitted as fast as the clients could, each as soon as the events it links to
    /// were acknowledged.
    pub(super) events: u64,
    /// Of those: accepted (recorded and acknowledged, durable) per second.
    pub(super) accepted_events_per_s: f64,
    /// Events then submitted at half that rate, one per request.
    pub(super) paced_events: u64,
    /// The rate those arrived at.
    pub(super) paced_events_per_s: f64,
    /// Their latency, request sent to acknowledgement received.
    pub(super) latency_p50_ms: f64,
    pub(super) latency_p99_ms: f64,
    /// Every event of the ledger submitted again, into another new ledger, by
    /// `batch_clients` bulk clients in JSONL batches of `batch_events` consecutive events,
    /// each batch as soon as the events it links to outside it were acknowledged.
    pub(super) batch_clients: usize,
    pub(super) batch_events: usize,
    pub(super) batch_total: u64,
    /// Of those: accepted (recorded and acknowledged, durable) per second.
    pub(super) batch_accepted_events_per_s: f64,
    /// Full tiles (GET /tile/…) served per second by the service on a one-thread runtime with
    /// one blocking thread, read by `TILE_CLIENTS` clients for `TILE_SECONDS` seconds.
    pub(super) tiles_per_s: f64,
    pub(super) tile_requests: u64,
}

/// The events of `ledger` as the trade would submit them: their bytes, the events each links
/// to (by `prev`), and the events with no parcel (enrolments, policies, sites, …), which wait
/// for everything before them and hold back everything after them.
pub(super) struct Plan {
    docs: Vec<Vec<u8>>,
    deps: Vec<Vec<usize>>,
    /// The last event without a parcel before each event.
    gate: Vec<Option<usize>>,
    barrier: Vec<bool>,
}

pub(super) fn plan(ledger: &Ledger) -> Result<Plan> {
    let docs = ledger.event_docs(1, ledger.len()?)?;
    let mut index = std::collections::HashMap::new();
    let (mut deps, mut gate, mut barrier) = (Vec::new(), Vec::new(), Vec::new());
    let mut last: Option<usize> = None;
    for (i, doc) in docs.iter().enumerate() {
        let ev = Event::parse(doc)?;
        let parcels = ev.event.body.payload.parcels();
        deps.push(parcels.iter().filter_map(|(_, prev)| prev.and_then(|h| index.get(&h).copied())).collect());
        gate.push(last);
        barrier.push(parcels.is_empty());
        if parcels.is_empty() {
            last = Some(i);
        }
        index.insert(ev.hash, i);
    }
    Ok(Plan { docs, deps, gate, barrier })
}

/// Which events are handed out, and which are acknowledged.
pub(super) struct Sched {
    next: usize,
    end: usize,
    /// Consecutive events per request.
    batch: usize,
    done: Vec<bool>,
    /// Every event below is acknowledged.
    prefix: usize,
    failed: Option<String>,
}

impl Sched {
    /// Whether events `from..to` may be sent in one request: every event they link to is
    /// acknowledged or earlier in the request; an event without a parcel waits for
    /// everything before the request, any other for the last such event before it.
    fn ready(&self, plan: &Plan, from: usize, to: usize) -> bool {
        let settled = |d: usize| d >= from || self.done[d];
        (from..to).all(|i| {
            if plan.barrier[i] {
                return self.prefix >= from;
            }
            plan.gate[i].is_none_or(settled) && plan.deps[i].iter().all(|d| settled(*d))
        })
    }

    /// Records the events `from..to` as acknowledged.
    fn acknowledge(&mut self, from: usize, to: usize) {
        self.done[from..to].fill(true);
        while self.prefix < self.done.len() && self.done[self.prefix] {
            self.prefix += 1;
        }
    }
}

/// One request's body and media type: one event as `application/json`, several, one per
/// line, as `application/jsonl`.
fn request_body(plan: &Plan, from: usize, to: usize) -> (&'static str, Vec<u8>) {
    if to - from == 1 {
        return ("application/json", plan.docs[from].clone());
    }
    let mut body = Vec::with_capacity(plan.docs[from..to].iter().map(|d| d.len() + 1).sum());
    for d in &plan.docs[from..to] {
        body.extend_from_slice(d);
        body.push(b'\n');
    }
    ("application/jsonl", body)
}

/// One client: takes the next request's events, waits for the events they link to, (paced:
/// waits for its time), posts them and records the latency; until the events of the phase
/// are handed out.
fn http_client(
    shared: &(std::sync::Mutex<Sched>, std::sync::Condvar),
    plan: &Plan,
    url: &str,
    pace: Option<(Instant, Duration, usize)>,
) -> Vec<u64> {
    let (lock, cv) = shared;
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    );
    let mut latencies = Vec::new();
    let fail = |why: String| {
        if let Ok(mut s) = lock.lock() {
            s.failed.get_or_insert(why);
        }
        cv.notify_all();
    };
    loop {
        let (from, to) = {
            let Ok(mut s) = lock.lock() else { return latencies };
            if s.next >= s.end || s.failed.is_some() {
                return latencies;
            }
            let (from, to) = (s.next, (s.next + s.batch.max(1)).min(s.end));
            s.next = to;
            while !s.ready(plan, from, to) && s.failed.is_none() {
                s = match cv.wait_timeout(s, Duration::from_secs(1)) {
                    Ok((s, _)) => s,
                    Err(_) => return latencies,
                };
            }
            (from, to)
        };
        if let Some((t0, interval, first)) = pace {
            let at = t0 + interval * u32::try_from(from - first).unwrap_or(u32::MAX);
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
        }
        let (ctype, body) = request_body(plan, from, to);
        let what = if to - from == 1 {
            format!("event #{}", from + 1)
        } else {
            format!("events #{}-#{}", from + 1, to)
        };
        let t = Instant::now();
        let mut tries = 0;
        let outcome = loop {
            tries += 1;
            match agent.post(url).header("content-type", ctype).send(&body[..]) {
                Ok(mut r) => {
                    let status = r.status().as_u16();
                    let body = r.body_mut().read_to_string().unwrap_or_default();
                    match status {
                        200 | 201 => break Ok(()),
                        429 | 503 if tries < 100 => std::thread::sleep(Duration::from_millis(10)),
                        _ => break Err(format!("{what} answered {status}: {body}")),
                    }
                }
                Err(e) => break Err(format!("{what}: {e}")),
            }
        };
        if let Err(why) = outcome {
            fail(why);
            return latencies;
        }
        latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Ok(mut s) = lock.lock() {
            s.acknowledge(from, to);
        }
        cv.notify_all();
    }
}

/// How a phase submits: events `from..to` of the plan, `batch` per request, by `clients`
/// clients, each request at its time (`interval` apart) or as fast as they can.
struct Phase {
    from: usize,
    to: usize,
    batch: usize,
    clients: usize,
    interval: Option<Duration>,
}

/// Submits a phase; its wall time and its requests' latencies, sorted.
fn submit_phase(
    sched: &(std::sync::Mutex<Sched>, std::sync::Condvar),
    plan: &Plan,
    url: &str,
    phase: &Phase,
) -> Result<(Duration, Vec<u64>)> {
    if let Ok(mut s) = sched.0.lock() {
        (s.next, s.end, s.batch) = (phase.from, phase.to, phase.batch);
    }
    let t = Instant::now();
    let pace = phase.interval.map(|d| (t, d, phase.from));
    let mut latencies: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..phase.clients).map(|_| scope.spawn(|| http_client(sched, plan, url, pace))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let elapsed = t.elapsed();
    if let Some(why) = sched.0.lock().ok().and_then(|s| s.failed.clone()) {
        bail!("the service refused an event of the generated ledger; this is a bug: {why}");
    }
    latencies.sort_unstable();
    Ok((elapsed, latencies))
}

/// A new ledger at `path`, a service over it, and the schedule of the plan's events.
fn fresh(
    path: &Path,
    cfg: &kpledger_serve::Config,
    n: usize,
) -> Result<(InProcess, (std::sync::Mutex<Sched>, std::sync::Condvar))> {
    drop(Ledger::create(path)?);
    let cfg = kpledger_serve::Config { ledger: path.to_owned(), ..cfg.clone() };
    let sched = Sched { next: 0, end: 0, batch: 1, done: vec![false; n], prefix: 0, failed: None };
    Ok((InProcess::start(cfg, false)?, (std::sync::Mutex::new(sched), std::sync::Condvar::new())))
}

/// Checks that the service recorded all `n` events into the ledger at `path`.
fn all_recorded(path: &Path, n: usize) -> Result<()> {
    let recorded = read_only(path)?.len()?;
    if recorded != n as u64 {
        bail!("the service recorded {recorded} events of {n} into {}; this is a bug", path.display());
    }
    Ok(())
}

fn read_only(path: &Path) -> Result<Ledger> {
    Ok(Ledger::open(path, kpledger_core::OpenOptions { read_only: true, ..Default::default() })?)
}

/// A service in this process on 127.0.0.1 (port 0), until `stop` is sent.
pub(super) struct InProcess {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    /// `one_core`: a one-thread runtime with one blocking thread; else tokio's defaults.
    fn start(cfg: kpledger_serve::Config, one_core: bool) -> Result<InProcess> {
        let rt = if one_core {
            tokio::runtime::Builder::new_current_thread().max_blocking_threads(1).enable_all().build()?
        } else {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                match kpledger_serve::start("127.0.0.1:0".parse().expect("an address"), cfg).await {
                    Ok(running) => {
                        let _ = addr_tx.send(Ok(running.url()));
                        tokio::select! {
                            _ = running.wait() => {}
                            _ = stopped => {}
                        }
                    }
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                    }
                }
            });
        });
        let url = addr_rx.recv().context("the service thread stopped")??;
        Ok(InProcess { url, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The service bench: the events of `ingested` (the ledger `ingest` made) submitted over HTTP
/// into a new ledger in `dir` one per request, then into another in JSONL batches; then the
/// tiles of that ledger served from one core.
pub(super) fn service(ingested: &Path, dir: &Path, say: &dyn Fn(&str)) -> Result<ServiceFigures> {
    let plan = plan(&read_only(ingested)?)?;
    let n = plan.docs.len();
    let mut cfg = kpledger_serve::Config::new(ingested.to_owned());
    (cfg.rate_ip, cfg.rate_key) = (None, None);
    cfg.queue = 4 * HTTP_CLIENTS;
    let paced_from = n - n / PACED_DIVISOR;

    let single = dir.join("served-single.kpl");
    let (fast, paced_time, paced) = {
        let (server, sched) = fresh(&single, &cfg, n)?;
        let url = format!("{}/v1/events", server.url);
        say(&format!(
            "submitting the same {paced_from} events over HTTP, {HTTP_CLIENTS} clients, one event per request"
        ));
        let phase = Phase { from: 0, to: paced_from, batch: 1, clients: HTTP_CLIENTS, interval: None };
        let (fast, _) = submit_phase(&sched, &plan, &url, &phase)?;
        let rate = per_s(paced_from as u64, fast);
        say(&format!("submitting {} more at half that rate ({:.0} events/s)", n - paced_from, rate / 2.0));
        let interval = Some(Duration::from_secs_f64(2.0 / rate.max(1.0)));
        let phase = Phase { from: paced_from, to: n, interval, ..phase };
        let (paced_time, paced) = submit_phase(&sched, &plan, &url, &phase)?;
        (fast, paced_time, paced)
    };
    all_recorded(&single, n)?;

    let batched = dir.join("served-batches.kpl");
    let batch_time = {
        let (server, sched) = fresh(&batched, &cfg, n)?;
        let url = format!("{}/v1/events", server.url);
        say(&format!(
            "submitting all {n} events again, into another new ledger, in JSONL batches of {BATCH_EVENTS} \
             ({BATCH_CLIENTS} clients)"
        ));
        let phase = Phase { from: 0, to: n, batch: BATCH_EVENTS, clients: BATCH_CLIENTS, interval: None };
        submit_phase(&sched, &plan, &url, &phase)?.0
    };
    all_recorded(&batched, n)?;
    let cfg = kpledger_serve::Config { ledger: batched, ..cfg };

    say(&format!("reading tiles for {TILE_SECONDS} s from the service on one core"));
    // Hash tiles only (entry bundles are not runs of 32-byte hashes); the full ones, or the
    // partial ones of a log too small to have any.
    let tiles: Vec<String> = {
        let hashes: Vec<_> =
            kpledger_serve::tiles::all_tiles(n as u64).into_iter().filter(|t| t.level.is_some()).collect();
        let full: Vec<String> = hashes.iter().filter(|t| t.width.is_none()).map(|t| t.to_path()).collect();
        if full.is_empty() { hashes.iter().map(|t| t.to_path()).collect() } else { full }
    };
    let server = InProcess::start(cfg, true)?;
    let deadline = Instant::now() + Duration::from_secs(TILE_SECONDS);
    let t = Instant::now();
    let counts: Vec<Result<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..TILE_CLIENTS)
            .map(|c| {
                let (tiles, base) = (&tiles, &server.url);
                scope.spawn(move || -> Result<u64> {
                    let agent = ureq::Agent::new_with_config(
                        ureq::config::Config::builder().timeout_global(Some(Duration::from_secs(30))).build(),
                    );
                    let mut count = 0u64;
                    let mut k = c;
                    while Instant::now() < deadline {
                        let path = &tiles[k % tiles.len()];
                        let body = agent.get(format!("{base}/{path}")).call()?.body_mut().read_to_vec()?;
                        if body.is_empty() || body.len() % 32 != 0 {
                            bail!("{path}: {} bytes is not a tile", body.len());
                        }
                        count += 1;
                        k += TILE_CLIENTS;
                    }
                    Ok(count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a tile client panicked"))))
            .collect()
    });
    let tile_time = t.elapsed();
    drop(server);
    let tile_requests = counts.into_iter().sum::<Result<u64>>()?;

    let ms = |v: &[u64], pct: usize| -> f64 {
        let i = (v.len() * pct).div_ceil(100).clamp(1, v.len().max(1)) - 1;
        v.get(i).map_or(0.0, |us| *us as f64 / 1e3)
    };
    Ok(ServiceFigures {
        clients: HTTP_CLIENTS,
        events: paced_from as u64,
        accepted_events_per_s: per_s(paced_from as u64, fast),
        paced_events: (n - paced_from) as u64,
        paced_events_per_s: per_s((n - paced_from) as u64, paced_time),
        latency_p50_ms: ms(&paced, 50),
        latency_p99_ms: ms(&paced, 99),
        batch_clients: BATCH_CLIENTS,
        batch_events: BATCH_EVENTS,
        batch_total: n as u64,
        batch_accepted_events_per_s: per_s(n as u64, batch_time),
        tiles_per_s: per_s(tile_requests, tile_time),
        tile_requests,
    })
}
