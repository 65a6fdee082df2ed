//! # kpledger-serve
//!
//! The national authority's HTTP service over one ledger file (`kpledger serve`): signed
//! events submitted by the trade, recorded through the same rules as `kpledger ingest`;
//! authenticated reads of trade data (RFC 9421 signatures by enrolled actors); the log,
//! public, as C2SP tlog-tiles; health and Prometheus metrics.
//!
//! **Where the writer is.** One OS thread (`writer.rs`) owns the ledger's only write
//! connection. Handlers parse and check signatures (on the blocking pool, a submission's
//! events on every core), then hand a submission to it through a bounded queue; it takes
//! every submission waiting (up to [`Config::group`]; while others are still being checked,
//! waiting for them up to [`Config::group_wait`]) and records them in one transaction (`Ledger::append_groups`: each
//! submission all or nothing under a savepoint, one `fsync` for the group), and answers each
//! only after the commit returned (WAL, `synchronous=FULL`: durable); a thread of its own
//! copies the write-ahead log into the database file after the commits (SQLite's checkpoint). Readers open their own
//! read-only connections (a small pool), on the blocking pool.
//!
//! Like every library of kpledger, this crate never prints or exits: the binary does.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod auth;
mod handlers;
mod metrics;
mod offers;
mod problem;
mod rate;
pub mod tiles;
mod writer;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kpledger_core::{Ledger, OpenOptions, StoreError};

pub use rate::{Rate, client_key};

/// The documents of an `application/jsonl` body of `POST /v1/events` (docs/SPEC.md §17): the
/// body split at each 0x0A, lines holding only ASCII white space (blank lines, a final
/// newline) left out, every other line kept as it is, in order. Each is then read as one signed
/// event, whose reader refuses anything but the event's exact bytes.
pub fn jsonl_documents(body: &[u8]) -> Vec<&[u8]> {
    body.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).collect()
}

/// The routes the service answers, as `(method, path template)`: the OpenAPI document
/// (`schemas/openapi.json`) lists exactly these, which a test holds it to.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/events"),
    ("get", "/v1/events"),
    ("get", "/v1/events/{hash}"),
    ("get", "/v1/parcels/{id}"),
    ("get", "/v1/parcels/{id}/history"),
    ("get", "/v1/parcels/{id}/card"),
    ("get", "/v1/certificates/{number}"),
    ("get", "/v1/certificates/{number}/bundle"),
    ("get", "/v1/actors"),
    ("get", "/v1/stats"),
    ("post", "/v1/offers"),
    ("get", "/v1/offers"),
    ("get", "/v1/offers/{hash}"),
    ("get", "/checkpoint"),
    ("get", "/tile/{path}"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// The write-ahead log's size, in pages, past which the writer copies it into the database
/// file itself (SQLite's checkpoint, on a commit); below, a thread of the service with its own
/// connection does it after each commit, while the writer goes on with the next submissions.
/// 10,000 pages of 4 KiB: 40 MiB at most while that thread falls behind.
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// Full tiles kept in memory once served (8 KiB each: 32 MiB at most).
const TILE_CACHE: usize = 4096;

/// The OpenAPI 3.1 document of the service, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../schemas/openapi.json");

/// The service's settings. Every limit has a `kpledger serve` flag; the defaults are
/// [`Config::new`]'s (documented in SECURITY.md).
#[derive(Debug, Clone)]
pub struct Config {
    /// The ledger file (it must exist: `kpledger init` makes it).
    pub ledger: PathBuf,
    /// Largest request body, bytes (413 beyond). Default 4 MiB.
    pub max_body: usize,
    /// Most events in one submission (413 beyond). Default 1,000.
    pub max_events: usize,
    /// Most connections open at once; a connection beyond is answered 503 and closed.
    /// Default 256.
    pub max_connections: usize,
    /// Time allowed to send a request's headers (the connection is closed after). Default 10 s.
    pub header_timeout: Duration,
    /// Time allowed for a whole request, body included (408 after). Default 30 s.
    pub request_timeout: Duration,
    /// Submissions waiting for the writer; a submission beyond is answered 503 with
    /// `Retry-After`. Default 1,024.
    pub queue: usize,
    /// Most submissions recorded in one transaction. Default 256.
    pub group: usize,
    /// How long the writer waits, after a group's first submission, for submissions the
    /// handlers are still reading and checking, so that they share one commit (one wait for
    /// the disk); it never waits when none is on its way. Zero: never. Default 2 ms.
    pub group_wait: Duration,
    /// How far a signed read's `created` may be from the server's clock. Default 300 s.
    pub replay_window: u64,
    /// With the root authority's key: publish a checkpoint this often when the log has grown
    /// since the last one (`kpledger serve --checkpoint-key --checkpoint-every`). Without:
    /// the service serves the checkpoints published with `kpledger log publish`.
    pub checkpoint: Option<(kpledger_model::SecretKey, Duration)>,
    /// With a policy whose `witness` lines give URLs: this often, the newest stored checkpoint
    /// that some of them have not cosigned is sent to each (C2SP tlog-witness) and the
    /// cosignatures that verify are stored (`kpledger serve --witness-policy`), on a thread
    /// of its own with its own connection, so that witnesses never hold up submissions.
    pub witnesses: Option<(kpledger_verify::TrustPolicy, Duration)>,
    /// The certificates trusted for witnesses' https:// URLs instead of the built-in roots
    /// (`kpledger serve --witness-ca-cert`): a witness whose certificate a private CA issued.
    pub witness_roots: Option<kpledger_witness::CaRoots>,
    /// How long a posted offer waits for its buyer. Default 7 days.
    pub offer_ttl: Duration,
    /// Most offers waiting at once (503 beyond). Default 100,000.
    pub max_offers: usize,
    /// The scheme and authority of `@target-uri` as clients see the service (for example
    /// `https://ledger.nma.gov.sl` behind a reverse proxy); default `http://` and the request's
    /// `Host` header.
    pub public_url: Option<String>,
    /// Requests a second from one client address (an IPv6 address's /64), any route; beyond
    /// it, 429 with `Retry-After`. `None`: no limit. Default 200 a second, bursts of 400.
    pub rate_ip: Option<Rate>,
    /// Requests a second signed by one enrolled actor (signed reads, submissions by their
    /// events' signers, offers by theirs), counted once its signature verified; beyond it,
    /// 429 with `Retry-After`. `None`: no limit. Default 50 a second, bursts of 100.
    pub rate_key: Option<Rate>,
    /// Most rate buckets kept for each of the two limits (see `rate`: the least recently
    /// used half is forgotten when full). Default 100,000.
    pub rate_buckets: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed: a request from one of these
    /// addresses is counted against the last address of that header (the one the proxy
    /// added). From any other address the header is ignored. Default none.
    pub trusted_proxies: Vec<IpAddr>,
    /// Serve HTTPS with this certificate chain and private key (PEM files: the chain, leaf
    /// first; a PKCS#8, PKCS#1 or SEC1 key), TLS 1.2 and 1.3 by rustls. `None`: plain HTTP
    /// (behind a TLS-terminating reverse proxy).
    pub tls: Option<TlsFiles>,
}

/// The PEM files of `kpledger serve --tls-cert --tls-key`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The certificate's private key.
    pub key: PathBuf,
}

impl Config {
    /// The defaults, for `ledger`.
    pub fn new(ledger: PathBuf) -> Config {
        Config {
            ledger,
            max_body: 4 << 20,
            max_events: 1000,
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            queue: 1024,
            group: 256,
            group_wait: Duration::from_millis(2),
            replay_window: 300,
            checkpoint: None,
            witnesses: None,
            witness_roots: None,
            offer_ttl: Duration::from_secs(7 * 24 * 3600),
            max_offers: 100_000,
            public_url: None,
            rate_ip: Some(Rate { per_second: 200, burst: 400 }),
            rate_key: Some(Rate { per_second: 50, burst: 100 }),
            rate_buckets: 100_000,
            trusted_proxies: Vec::new(),
            tls: None,
        }
    }
}

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The ledger could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checkpoint key is not the root authority's current key.
    #[error(
        "the --checkpoint-key is not the current key of this ledger's root authority ({0}); only it \
         signs checkpoints"
    )]
    NotRootKey(String),
    /// The network failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
}

/// The rustls server configuration from the PEM files (ring's algorithms, TLS 1.2 and 1.3,
/// HTTP/1.1 by ALPN).
fn tls_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&files.cert).and_then(Iterator::collect).map_err(|e| {
            ServeError::Tls(format!("{} is not a PEM certificate chain: {e}", files.cert.display()))
        })?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "{} holds no certificate (a PEM file with -----BEGIN CERTIFICATE----- blocks, leaf first)",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        ServeError::Tls(format!(
            "{} is not a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}",
            files.key.display()
        ))
    })?;
    // ring's algorithms, already in the tree for ureq's HTTPS (no C toolchain for aws-lc).
    // rustls 0.23.48 marks this provider deprecated because it offers no post-quantum key
    // exchange (X25519MLKEM768); SECURITY.md says so and shows a reverse proxy for that.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            ServeError::Tls(format!(
                "the key {} does not go with the certificate {}: {e}",
                files.key.display(),
                files.cert.display()
            ))
        })?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The pooled readers are closed on a thread of their own: a PostgreSQL ledger's client blocks
/// on a runtime of its own when closed, which cannot happen on this runtime's threads, where
/// the last reference to the state may go.
impl Drop for AppState {
    fn drop(&mut self) {
        let readers =
            std::mem::take(&mut *self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if !readers.is_empty() {
            let _ = std::thread::Builder::new().name("kpledger-close".into()).spawn(move || drop(readers));
        }
    }
}

/// The address a request is counted against (its rate bucket is [`client_key`]'s): the
/// peer's, or, from one of the `trusted` reverse proxies, the last address of the last
/// `X-Forwarded-For` line (`forwarded`, the header's lines in order), the one that proxy
/// added; the peer's again when that is not an address. Public for the fuzz target.
pub fn client_address<'a>(
    peer: IpAddr,
    trusted: &[IpAddr],
    mut forwarded: impl DoubleEndedIterator<Item = &'a [u8]>,
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let last = forwarded
        .next_back()
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|a| a.trim().parse::<IpAddr>().ok());
    last.unwrap_or(peer)
}

/// What the handlers share.
pub(crate) struct AppState {
    pub(crate) cfg: Config,
    pub(crate) writer: tokio::sync::mpsc::Sender<writer::Work>,
    readers: Mutex<Vec<Ledger>>,
    pub(crate) actors: std::sync::RwLock<writer::Actors>,
    pub(crate) nonces: Mutex<auth::Nonces>,
    pub(crate) offers: Mutex<offers::Offers>,
    pub(crate) metrics: metrics::Metrics,
    /// Submissions on their way to the writer (see [`Config::group_wait`]).
    pub(crate) preparing: writer::Preparing,
    /// Full tiles already read (immutable), at most [`TILE_CACHE`].
    pub(crate) tiles: Mutex<tiles::Cache>,
    /// Public keys decoded by submissions, kept for the next ones (bounded: see
    /// [`kpledger_model::KeyCache`]; only keys that passed every check are kept).
    pub(crate) keys: kpledger_model::KeyCache,
    ip_buckets: Option<Mutex<rate::Buckets<IpAddr>>>,
    key_buckets: Option<Mutex<rate::Buckets<String>>>,
}

/// The client's address, put on each request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) IpAddr);

impl AppState {
    /// The address a request is counted against ([`client_address`]).
    pub(crate) fn client_ip(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let forwarded = headers.get_all("x-forwarded-for").iter().map(axum::http::HeaderValue::as_bytes);
        client_address(peer, &self.cfg.trusted_proxies, forwarded)
    }

    /// Takes a token from the client address's bucket, or the 429.
    pub(crate) fn limit_ip(&self, ip: IpAddr) -> Result<(), problem::Problem> {
        self.limit(&self.ip_buckets, client_key(ip), false, || {
            format!("{ip} sent requests faster than this server allows")
        })
    }

    /// Takes a token from an enrolled actor's bucket (its signature verified), or the 429.
    pub(crate) fn limit_key(&self, actor: &str) -> Result<(), problem::Problem> {
        self.limit(&self.key_buckets, actor.to_owned(), true, || {
            format!("{actor} signed requests faster than this server allows")
        })
    }

    /// Takes a token from `key`'s bucket of one of the two limits (none: no limit), or the
    /// 429 saying `who` went over it, counted.
    fn limit<K: std::hash::Hash + Eq>(
        &self,
        buckets: &Option<Mutex<rate::Buckets<K>>>,
        key: K,
        by_key: bool,
        who: impl FnOnce() -> String,
    ) -> Result<(), problem::Problem> {
        let Some(b) = buckets else { return Ok(()) };
        match b.lock().map(|mut b| b.take(key, std::time::Instant::now())) {
            Ok(Err(secs)) => {
                self.metrics.rate_limited(by_key);
                let rate = if by_key { self.cfg.rate_key } else { self.cfg.rate_ip };
                Err(problem::Problem::rate_limited(who(), rate, secs))
            }
            _ => Ok(()),
        }
    }

    /// Runs `f` with a read-only connection, on the blocking pool.
    pub(crate) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Ledger) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let pooled = state.readers.lock().ok().and_then(|mut p| p.pop());
            let ledger = match pooled {
                Some(l) => l,
                None => Ledger::open(
                    &state.cfg.ledger,
                    OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) },
                )?,
            };
            let out = f(&ledger);
            if let Ok(mut p) = state.readers.lock()
                && p.len() < 16
            {
                p.push(ledger);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Refused(format!("a read failed: {e}")))?
    }
}

/// The witnessing loop: every `every`, while the writer runs, sends the newest stored
/// checkpoint to the policy's witnesses unless all of them have cosigned it already. A round
/// that fails (a witness down, the ledger busy) is counted and tried again at the next tick.
fn witnessing(state: &Arc<AppState>, policy: &kpledger_verify::TrustPolicy, every: Duration) {
    let agent = kpledger_witness::agent(state.cfg.witness_roots.as_ref());
    let mut ledger: Option<Ledger> = None;
    while !state.writer.is_closed() {
        std::thread::sleep(every);
        if ledger.is_none() {
            ledger = Ledger::open(&state.cfg.ledger, OpenOptions::default()).ok();
        }
        let Some(l) = ledger.as_mut() else { continue };
        match kpledger_witness::newest_fully_cosigned(l, policy) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(_) => {
                state.metrics.witnessing(false);
                continue;
            }
        }
        let ok = matches!(kpledger_witness::witness_newest(l, policy, &agent), Ok(Some(r)) if r.quorum_met);
        state.metrics.witnessing(ok);
    }
}

/// A running service: its address, and the task serving it.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
    https: bool,
}

impl Running {
    /// The service's base URL on its bound address: `http://ADDR`, or `https://ADDR` with TLS.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.https { "https" } else { "http" }, self.addr)
    }

    /// Waits until the service stops (it stops only on an error).
    pub async fn wait(self) -> Result<(), ServeError> {
        self.task.await.map_err(|e| ServeError::Io(std::io::Error::other(e)))?
    }
}

/// Opens the ledger, starts the writer and listens on `listen` (port 0: a free port).
/// Must be called inside a tokio runtime.
pub async fn start(listen: SocketAddr, cfg: Config) -> Result<Running, ServeError> {
    // Opened on the blocking pool: a PostgreSQL ledger's client blocks on a runtime of its own,
    // which cannot run on this one's threads.
    let (path, checkpoint) = (cfg.ledger.clone(), cfg.checkpoint.clone());
    let (mut ledger, actors, reader, checkpointer) =
        tokio::task::spawn_blocking(move || -> Result<_, ServeError> {
            let mut ledger = Ledger::open(&path, OpenOptions::default())?;
            // The checkpoints are the checkpointer's (below), the writer's only past this size.
            // (PostgreSQL has no such log: no connection for it.)
            ledger.set_wal_autocheckpoint(WRITER_CHECKPOINT_PAGES)?;
            let checkpointer =
                if ledger.is_postgres() { None } else { Some(Ledger::open(&path, OpenOptions::default())?) };
            let actors = writer::Actors::load(&ledger)?;
            // One reader opened now: a ledger that cannot be read fails here, not at the first
            // request.
            let reader =
                Ledger::open(&path, OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) })?;
            if let Some((key, _)) = &checkpoint {
                let root = actors.root();
                if root.map(|r| r.record.key) != Some(key.public()) {
                    return Err(ServeError::NotRootKey(
                        root.map_or_else(|| "none yet".into(), |r| r.record.id.to_string()),
                    ));
                }
            }
            Ok((ledger, actors, reader, checkpointer))
        })
        .await
        .map_err(|e| ServeError::Io(std::io::Error::other(e)))??;
    let tls = cfg.tls.as_ref().map(tls_config).transpose()?.map(tokio_rustls::TlsAcceptor::from);
    let (tx, rx) = tokio::sync::mpsc::channel(cfg.queue.max(1));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        cfg: cfg.clone(),
        writer: tx,
        readers: Mutex::new(vec![reader]),
        actors: std::sync::RwLock::new(actors),
        nonces: Mutex::new(auth::Nonces::new(handlers::now())),
        offers: Mutex::new(offers::Offers::default()),
        metrics: metrics::Metrics::default(),
        preparing: writer::Preparing::default(),
        tiles: Mutex::new(tiles::Cache::new(TILE_CACHE)),
        keys: kpledger_model::KeyCache::default(),
        ip_buckets: cfg.rate_ip.map(|r| Mutex::new(rate::Buckets::new(r, cfg.rate_buckets))),
        key_buckets: cfg.rate_key.map(|r| Mutex::new(rate::Buckets::new(r, cfg.rate_buckets))),
    });
    // Woken after each commit; ends with the writer (its sender dropped).
    let (copy, copy_rx) = std::sync::mpsc::sync_channel::<()>(1);
    if let Some(checkpointer) = checkpointer {
        std::thread::Builder::new().name("kpledger-checkpointer".into()).spawn(move || {
            while copy_rx.recv().is_ok() {
                // A failure leaves the log to the next round, or to the writer past its size.
                let _ = checkpointer.checkpoint_wal();
            }
        })?;
    }
    let st = Arc::clone(&state);
    std::thread::Builder::new()
        .name("kpledger-writer".into())
        .spawn(move || writer::run(&mut ledger, rx, &st, &copy))?;
    if let Some((_, every)) = &cfg.checkpoint {
        // The timer only asks; the writer, which owns the write connection, publishes.
        let (writer, every) = (state.writer.clone(), (*every).max(Duration::from_millis(100)));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Busy: the next tick asks again.
                if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) =
                    writer.try_send(writer::Work::Publish)
                {
                    break;
                }
            }
        });
    }
    if let Some((policy, every)) = cfg.witnesses.clone() {
        let st = Arc::clone(&state);
        std::thread::Builder::new()
            .name("kpledger-witnessing".into())
            .spawn(move || witnessing(&st, &policy, every.max(Duration::from_millis(100))))?;
    }
    let app = handlers::router(Arc::clone(&state));
    let task = tokio::spawn(accept_loop(listener, app, state, tls));
    Ok(Running { addr, task, https: cfg.tls.is_some() })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    state: Arc<AppState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<(), ServeError> {
    let slots = Arc::new(tokio::sync::Semaphore::new(state.cfg.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            // Out of descriptors and the like: wait a moment rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            state.metrics.connection_refused();
            // Over TLS, no handshake is spent on it: the connection is closed.
            if tls.is_none() {
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt as _;
                    let mut stream = stream;
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let header_timeout = state.cfg.header_timeout;
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, app, peer, header_timeout).await,
                // The handshake has the headers' time limit: a slow client cannot hold a slot.
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                    {
                        serve_connection(stream, app, peer, header_timeout).await;
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Serves HTTP/1.1 on one connection (plain or TLS), each request marked with its peer.
async fn serve_connection<I>(io: I, app: axum::Router, peer: SocketAddr, header_timeout: Duration)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let service = hyper_util::service::TowerToHyperService::new(tower::service_fn(
        move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(Peer(peer.ip()));
            tower::ServiceExt::oneshot(app.clone(), req)
        },
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let _ = http.serve_connection(TokioIo::new(io), service).await;
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::{client_address, jsonl_documents};

    #[test]
    fn a_jsonl_body_is_its_lines_that_are_not_blank_each_as_it_stands() {
        let docs = |body: &str| -> Vec<String> {
            jsonl_documents(body.as_bytes()).iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect()
        };
        assert_eq!(docs("{\"a\":1}\n{\"b\":2}\n"), ["{\"a\":1}", "{\"b\":2}"]);
        // Blank lines (white space only) anywhere are left out; a final newline or none.
        assert_eq!(docs("\n  \n{\"a\":1}\n\t\n\n{\"b\":2}"), ["{\"a\":1}", "{\"b\":2}"]);
        // A line is not trimmed: its white space and a CR reach the event reader, which
        // refuses anything but an event's exact bytes.
        assert_eq!(docs(" {\"a\":1}\r\n"), [" {\"a\":1}\r"]);
        assert!(docs("").is_empty() && docs("\n\r\n \n").is_empty());
    }

    #[test]
    fn only_the_address_a_trusted_proxy_appended_counts() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        let at = |peer, lines: &[&str]| client_address(peer, &[proxy], lines.iter().map(|l| l.as_bytes()));
        // From a peer that is not a trusted proxy, the header is ignored.
        assert_eq!(at(client, &["192.0.2.1"]), client);
        // From the proxy: the last address of the last line, the one the proxy added; what the
        // client wrote before it does not count.
        assert_eq!(
            at(proxy, &["192.0.2.1, 192.0.2.2", "203.0.113.9 , 2001:db8::5"]),
            "2001:db8::5".parse::<IpAddr>().unwrap()
        );
        // Not an address, or no header: the proxy's own.
        assert_eq!(at(proxy, &["192.0.2.1, not-an-address"]), proxy);
        assert_eq!(at(proxy, &[]), proxy);
        assert_eq!(at(proxy, &["192.0.2.1,"]), proxy);
    }
}
