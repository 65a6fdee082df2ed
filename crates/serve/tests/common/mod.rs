//! A small Sierra Leone ledger and a service over it, on 127.0.0.1 port 0.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kpledger_core::sim::Sim;
use kpledger_model::{ActorId, HsCode, ParcelId, ParsedEvent, Payload, Points, SecretKey, SiteId};
use kpledger_testkit::TempDir;
use kpledger_testkit::cast::{self, KAMARA, KOIDU, KOROMA, NMA, SESAY, TONGO, Terms};

pub(crate) const ORIGIN: &str = "kpledger.sl/serve-test";

kpledger_testkit::cast_ids! {
    /// Who is who: the NMA, a miner at Koidu, one at Tongo, and the dealer.
    pub(crate) struct Cast { nma: NMA, koroma: KOROMA, sesay: SESAY, dealer: KAMARA }
    sites { koidu: KOIDU, tongo: TONGO }
}

/// The world: the simulator (keys, clock), and who is who (`w.koroma`, through `Deref`).
pub(crate) struct World {
    pub(crate) dir: PathBuf,
    pub(crate) ledger: PathBuf,
    pub(crate) sim: Sim,
    cast: Cast,
    _tmp: TempDir,
}

impl std::ops::Deref for World {
    type Target = Cast;

    fn deref(&self) -> &Cast {
        &self.cast
    }
}

impl World {
    /// A new ledger in a directory of its own (removed when the world is dropped).
    pub(crate) fn new(tag: &str) -> World {
        // The NMA, its policy, the Koidu and Tongo sites, a miner at each and the dealer.
        let terms = Terms::new(ORIGIN, "kpledger-serve-tests", "2026-03-02T08:00:00Z");
        let (sim, c, tmp) = cast::world(&format!("serve-{tag}"), &cast::SIERRA_LEONE[..7], &terms);
        let (dir, path) = (tmp.path().to_owned(), tmp.ledger());
        World { dir, ledger: path, sim, cast: Cast::of(&c), _tmp: tmp }
    }

    /// A new extraction by `miner` at `site`, signed, not recorded; the clock moves a minute.
    pub(crate) fn extraction(&mut self, miner: &ActorId, site: &SiteId) -> (ParcelId, ParsedEvent) {
        let parcel = self.sim.new_parcel_id();
        let ev = self
            .sim
            .sign(
                miner,
                Payload::Extraction {
                    parcel,
                    site: site.clone(),
                    weight_pt: Points(1234),
                    stones: 3,
                    hs_code: HsCode::new("7102.31").unwrap(),
                },
            )
            .unwrap();
        self.sim.tick(1);
        (parcel, ev)
    }

    /// A new extraction by `miner` at `site`, recorded in the ledger: the new parcel.
    pub(crate) fn recorded(&mut self, miner: &ActorId, site: &SiteId) -> ParcelId {
        let (parcel, ev) = self.extraction(miner, site);
        self.sim.ledger_mut().append(&ev).unwrap();
        parcel
    }

    /// The signing key of `who`.
    pub(crate) fn key(&self, who: &ActorId) -> SecretKey {
        self.sim.key(who).unwrap().clone()
    }

    /// A config over this world's ledger.
    pub(crate) fn config(&self) -> kpledger_serve::Config {
        kpledger_serve::Config::new(self.ledger.clone())
    }
}

/// A running service and the runtime it runs on.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) url: String,
    _rt: tokio::runtime::Runtime,
}

pub(crate) fn start(cfg: kpledger_serve::Config) -> Server {
    try_start(cfg).unwrap()
}

/// Starts the service, or why it could not start.
pub(crate) fn try_start(cfg: kpledger_serve::Config) -> Result<Server, kpledger_serve::ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let running = rt.block_on(kpledger_serve::start("127.0.0.1:0".parse().unwrap(), cfg))?;
    let (addr, url) = (running.addr, running.url());
    rt.spawn(running.wait());
    Ok(Server { addr, url, _rt: rt })
}

pub(crate) fn agent() -> ureq::Agent {
    kpledger_testkit::http::agent(Duration::from_secs(60), None)
}

/// A response: status, selected headers, body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) retry_after: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) link: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (content_type, retry_after, cache_control, link) =
        (h("content-type").unwrap_or_default(), h("retry-after"), h("cache-control"), h("link"));
    let status = r.status().as_u16();
    let body = r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap();
    Answer { status, content_type, retry_after, cache_control, link, body }
}

pub(crate) fn post(url: &str, ctype: &str, body: &[u8]) -> Answer {
    answer(agent().post(url).header("content-type", ctype).send(body).unwrap())
}

pub(crate) fn post_events(server: &Server, events: &[&ParsedEvent]) -> Answer {
    let url = format!("{}/v1/events", server.url);
    if events.len() == 1 {
        post(&url, "application/json", &events[0].canonical)
    } else {
        let mut body = Vec::new();
        for e in events {
            body.extend_from_slice(&e.canonical);
            body.push(b'\n');
        }
        post(&url, "application/jsonl", &body)
    }
}

pub(crate) fn get(url: &str) -> Answer {
    answer(agent().get(url).call().unwrap())
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A GET signed (RFC 9421) by `actor` with `key`, with the given headers' values.
pub(crate) fn signed_headers(url: &str, actor: &ActorId, key: &SecretKey, nonce: &str) -> (String, String) {
    kpledger_serve::auth::sign_request("GET", url, actor.as_str(), key, now(), nonce)
}

pub(crate) fn get_signed(url: &str, actor: &ActorId, key: &SecretKey, nonce: &str) -> Answer {
    let (input, sig) = signed_headers(url, actor, key, nonce);
    get_with(url, &input, &sig)
}

pub(crate) fn get_with(url: &str, input: &str, sig: &str) -> Answer {
    get_headers(url, &[("signature-input", input), ("signature", sig)])
}

/// A GET with the given headers.
pub(crate) fn get_headers(url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = agent().get(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    answer(req.call().unwrap())
}
