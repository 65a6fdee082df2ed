//! `kpledger serve`, `kpledger submit` and `kpledger get`: the service and its client.

use super::verify::*;
use crate::args::*;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use kpledger_model::{ActorId, SecretKey, Time, canonical};
use serde_json::Value;

use super::remote::{Server, answered, post, transport};
use crate::commands::read_input;
use crate::{CANNOT_RUN, FOUND, OK};

/// Runs the service until it fails (or the process is stopped).
pub(crate) fn serve(listen: std::net::SocketAddr, cfg: kpledger_serve::Config) -> Result<u8> {
    // A database's URL without its password.
    let ledger = match cfg.ledger.to_str() {
        Some(u) if kpledger_core::store::pg::is_url(u) => kpledger_core::store::pg::shown(u),
        _ => cfg.ledger.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let running = kpledger_serve::start(listen, cfg).await?;
        println!("listening on {} (ledger {})", running.url(), ledger.display());
        std::io::stdout().flush()?;
        tokio::select! {
            r = running.wait() => r.map_err(anyhow::Error::from)?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(OK)
}

/// A request rate from its flags: 0 a second is no limit.
pub(crate) fn rate(per_second: u32, burst: u32) -> Option<kpledger_serve::Rate> {
    (per_second > 0).then(|| kpledger_serve::Rate { per_second, burst: burst.max(1) })
}

/// Text a server answered, for the terminal: its first `chars` characters, escaped (a server's
/// answer never drives the terminal).
fn served(text: &str, chars: usize) -> String {
    let clipped: String = text.chars().take(chars).collect();
    crate::render::terminal_safe(&clipped).into_owned()
}

/// Posts each file as one submission.
pub(crate) fn submit(server: &str, ca: &CaArgs, files: &[PathBuf], json: bool) -> Result<u8> {
    let url = format!("{}/v1/events", server.trim_end_matches('/'));
    let offers_url = format!("{}/v1/offers", server.trim_end_matches('/'));
    let agent = ca.agent()?;
    let mut code = OK;
    for f in files {
        let bytes = read_input(f)?;
        let jsonl = f.extension().is_some_and(|e| e == "jsonl");
        let ctype = if jsonl { "application/jsonl" } else { "application/json" };
        // A handover offer goes to the offers, for its buyer; everything else is an event.
        let is_offer =
            !jsonl && canonical::parse_strict(&bytes).is_ok_and(|v| v["body"]["kind"] == "handover_offer");
        let url = if is_offer { offers_url.as_str() } else { url.as_str() };
        let (status, body) = post(&agent, url, ctype, &bytes).map_err(|e| {
            anyhow!("could not reach {server}: {}; nothing was submitted from {}", transport(&e), f.display())
        })?;
        let body = String::from_utf8_lossy(&body).into_owned();
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if json {
            println!(
                "{}",
                serde_json::json!({"file": f.display().to_string(), "status": status, "answer": v})
            );
        }
        match status {
            200 | 201 => {
                if !json && is_offer {
                    println!(
                        "{}: offer {} {} for its buyer until {}",
                        f.display(),
                        served(v["offer"].as_str().unwrap_or(""), 12),
                        if status == 200 { "already waiting" } else { "waiting" },
                        Time::from_unix(v["expires"].as_i64().unwrap_or(0))
                    );
                } else if !json {
                    let already = status == 200;
                    for r in v["recorded"].as_array().into_iter().flatten() {
                        let hash = r["hash"].as_str().unwrap_or("");
                        println!(
                            "{}: event #{} ({}){}",
                            f.display(),
                            r["seq"],
                            served(hash, 12),
                            if already { " already recorded; nothing to do" } else { " recorded" }
                        );
                    }
                    print!("{}", super::remote::server_findings(&v["findings"]));
                }
            }
            422 => {
                if !json {
                    eprintln!(
                        "{}: refused: {}",
                        f.display(),
                        served(v["detail"].as_str().unwrap_or(&body), usize::MAX)
                    );
                    eprint!("{}", super::remote::server_findings(&v["findings"]));
                }
                code = code.max(FOUND);
            }
            _ => {
                if !json {
                    eprintln!(
                        "{}: the server answered {status}: {}",
                        f.display(),
                        served(v["detail"].as_str().unwrap_or(body.trim()), usize::MAX)
                    );
                }
                code = CANNOT_RUN;
            }
        }
    }
    Ok(code)
}

/// A signed GET: prints the body (or writes it to `out`); exit 0 on 200, 1 on 403, 2 otherwise.
pub(crate) fn get(
    server: &str,
    ca: &CaArgs,
    key: &Path,
    actor: &ActorId,
    path: &str,
    out: Option<&Path>,
) -> Result<u8> {
    if !path.starts_with('/') {
        bail!("{path:?} is not an API path: it starts with / (for example /v1/actors)");
    }
    let server = Server::new(server, ca, actor.clone(), SecretKey::read_pem_file(key)?)?;
    let body = match server.get(path) {
        Ok(body) => body,
        Err(e) => return answered(Err(e)),
    };
    match out {
        Some(f) => {
            crate::commands::write_new(f, &body)?;
            println!("{} bytes → {}", body.len(), f.display());
        }
        None => {
            // JSON is printed indented, as the other commands' --json output; other text with
            // its control characters escaped (a server's answer never drives the terminal);
            // binary data only to a file.
            let body = match serde_json::from_slice::<Value>(&body) {
                Ok(v) => serde_json::to_vec_pretty(&v)?,
                Err(_) => match std::str::from_utf8(&body) {
                    Ok(text) => crate::render::terminal_safe(text).into_owned().into_bytes(),
                    Err(_) => bail!(
                        "the server answered {} bytes of binary data: write them to a file with --out FILE",
                        body.len()
                    ),
                },
            };
            std::io::stdout().write_all(&body)?;
            if !body.ends_with(b"\n") {
                println!();
            }
        }
    }
    Ok(OK)
}

/// Serve the ledger over HTTP: signed submissions, signed reads, the log as tlog-tiles
///
/// The national authority's service. The trade posts signed events (made with --out) to
/// POST /v1/events; they are judged by the same rules as `kpledger ingest` and recorded in
/// groups, each acknowledged only once its transaction is on disk. Reads of trade data need
/// an RFC 9421 signature by an enrolled actor; the log (/checkpoint, /tile/…) is public.
/// The API is described in schemas/openapi.json (also served at /openapi.json). The first
/// line printed is `listening on http://ADDRESS` (https:// with --tls-cert); port 0 picks a
/// free port. HTTPS with --tls-cert and --tls-key, or plain HTTP behind a TLS reverse proxy
/// (README) whose address is given with --public-url.
///
/// Example: kpledger serve --ledger sl.kpl --listen 127.0.0.1:8080   (runs until stopped)
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The ledger file (made with `kpledger init`)
    #[arg(long, env = "KPLEDGER_LEDGER")]
    ledger: PathBuf,
    /// Address and port to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    #[command(flatten)]
    limits: LimitArgs,
    /// Seconds a signed read's `created` may differ from the server's clock
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    replay_window: u64,
    #[command(flatten)]
    checkpoints: CheckpointArgs,
    /// Seconds a posted handover offer waits for its buyer
    #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECONDS")]
    offer_ttl: u64,
    /// Most handover offers waiting at once
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    max_offers: usize,
    /// The scheme and host clients use (signed reads cover the full URI), e.g.
    /// https://ledger.nma.gov.sl behind a reverse proxy; default http:// and the Host header
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    #[command(flatten)]
    rates: RateArgs,
    /// Serve HTTPS (TLS 1.2 and 1.3) with this certificate chain, PEM, leaf first
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM (PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Publish the log (C2SP tlog-tiles) and each certificate's evidence bundle to this
    /// bucket (s3://BUCKET/PREFIX) or directory whenever a newer checkpoint is stored, as
    /// `kpledger log tiles --bundles` does: immutable objects first, the checkpoint last
    #[arg(long, value_name = "OUT")]
    publish: Option<String>,
    /// Seconds between looks for a newer checkpoint to publish with --publish
    #[arg(long, default_value_t = 10, value_name = "SECONDS", requires = "publish")]
    publish_every: u64,
    /// The S3-compatible endpoint of --publish (default: AWS, or AWS_ENDPOINT_URL)
    #[arg(long, value_name = "URL", requires = "publish")]
    s3_endpoint: Option<String>,
}

pub(crate) fn serve_cmd(a: ServeArgs) -> Result<u8> {
    let ServeArgs {
        ledger,
        listen,
        limits,
        replay_window,
        checkpoints,
        offer_ttl,
        max_offers,
        public_url,
        rates,
        tls_cert,
        tls_key,
        publish,
        publish_every,
        s3_endpoint,
    } = a;
    if let Some(out) = publish {
        // Checked now: a bucket or directory that cannot be used stops the service from starting.
        let target = super::publish::target(&out, s3_endpoint.as_deref())?;
        publishing(ledger.clone(), target, Duration::from_secs(publish_every.max(1)))?;
    }
    let mut cfg = kpledger_serve::Config::new(ledger);
    limits.apply(&mut cfg);
    checkpoints.apply(&mut cfg)?;
    rates.apply(&mut cfg);
    cfg.tls = tls_cert.zip(tls_key).map(|(cert, key)| kpledger_serve::TlsFiles { cert, key });
    cfg.replay_window = replay_window;
    cfg.public_url = public_url;
    cfg.offer_ttl = Duration::from_secs(offer_ttl);
    cfg.max_offers = max_offers;
    serve(listen, cfg)
}

/// `serve --publish`: a thread of its own (not the service's runtime: the bucket's client and a
/// PostgreSQL ledger block on runtimes of their own) looks for a newer stored checkpoint every
/// `every` and publishes the log and the bundles under it, as `kpledger log tiles --bundles`;
/// a failed round (bucket unreachable) writes no checkpoint, is reported on stderr and tried
/// again at the next look. Recording never waits for it.
fn publishing(ledger: PathBuf, target: super::publish::Target, every: Duration) -> Result<()> {
    std::thread::Builder::new().name("kpledger-publish".into()).spawn(move || {
        let mut published = 0u64;
        loop {
            std::thread::sleep(every);
            let round = || -> Result<Option<u64>> {
                let opts =
                    kpledger_core::OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) };
                let l = kpledger_core::Ledger::open(&ledger, opts)?;
                match l.latest_checkpoint()? {
                    Some(cp) if cp.size > published => {
                        // Not on stdout, which the service's supervisor may have closed after
                        // its first line.
                        super::publish::publish(&l, &target, true)?;
                        Ok(Some(cp.size))
                    }
                    _ => Ok(None),
                }
            };
            match round() {
                Ok(Some(size)) => published = size,
                Ok(None) => {}
                // Reported where a closed stderr cannot stop the thread.
                Err(e) => drop(writeln!(
                    std::io::stderr(),
                    "kpledger: publishing to {} failed, tried again in {} s: {}",
                    target.shown(),
                    every.as_secs(),
                    crate::render::terminal_safe(&format!("{e:#}"))
                )),
            }
        }
    })?;
    Ok(())
}

/// What the service takes from one connection and one request, and how much work waits for
/// its writer.
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// Largest request body, bytes (413 beyond)
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    max_body: usize,
    /// Most events in one submission (413 beyond)
    #[arg(long, default_value_t = 1000, value_name = "N")]
    max_events: usize,
    /// Most connections open at once (a connection beyond is answered 503 and closed)
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_connections: usize,
    /// Seconds a client has to send a request's headers before the connection is closed
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    header_timeout: u64,
    /// Seconds a whole request may take, body included (408 after)
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    request_timeout: u64,
    /// Submissions waiting for the writer before new ones get 503 with Retry-After
    #[arg(long, default_value_t = 1024, value_name = "N")]
    queue: usize,
    /// Most submissions recorded in one transaction (group commit)
    #[arg(long, default_value_t = 256, value_name = "N")]
    group: usize,
    /// Milliseconds the writer waits, after a group's first submission, for submissions still
    /// being checked, so that they share one commit (never when none is on its way; 0: never)
    #[arg(long, default_value_t = 2, value_name = "MS")]
    group_wait: u64,
}

impl LimitArgs {
    fn apply(self, cfg: &mut kpledger_serve::Config) {
        let LimitArgs {
            max_body,
            max_events,
            max_connections,
            header_timeout,
            request_timeout,
            queue,
            group,
            group_wait,
        } = self;
        cfg.max_body = max_body;
        cfg.max_events = max_events;
        cfg.max_connections = max_connections;
        cfg.header_timeout = Duration::from_secs(header_timeout);
        cfg.request_timeout = Duration::from_secs(request_timeout);
        cfg.queue = queue;
        cfg.group = group;
        cfg.group_wait = Duration::from_millis(group_wait);
    }
}

/// The checkpoints the service publishes itself, and the witnesses it asks to cosign them.
#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// The root authority's private key: the service then publishes a checkpoint every
    /// --checkpoint-every seconds when the log has grown (without it, publish with
    /// `kpledger log publish`)
    #[arg(long, value_name = "KEY")]
    checkpoint_key: Option<PathBuf>,
    /// Seconds between checkpoints published with --checkpoint-key
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    checkpoint_every: u64,
    /// A C2SP tlog-policy whose `witness` lines give URLs: every --checkpoint-every seconds,
    /// the newest checkpoint not yet cosigned by all of them is sent to each (C2SP
    /// tlog-witness) and the cosignatures that verify are stored, as `kpledger log witness`
    /// does; a checkpoint counts as published for bundles once the quorum has cosigned it
    #[arg(long, value_name = "POLICY")]
    witness_policy: Option<PathBuf>,
    /// With a witness whose https:// URL has a certificate no public authority issued: trust
    /// only the certificate(s) of this PEM file for the witnesses (the private CA that issued
    /// theirs) instead of the built-in public roots
    #[arg(long, value_name = "FILE", requires = "witness_policy")]
    witness_ca_cert: Option<PathBuf>,
}

impl CheckpointArgs {
    /// Reads the key and the witnesses' policy: a file that does not read stops the service
    /// before it starts.
    fn apply(self, cfg: &mut kpledger_serve::Config) -> Result<()> {
        let CheckpointArgs { checkpoint_key, checkpoint_every, witness_policy, witness_ca_cert } = self;
        let every = Duration::from_secs(checkpoint_every.max(1));
        if let Some(k) = checkpoint_key {
            cfg.checkpoint = Some((SecretKey::read_pem_file(&k)?, every));
        }
        if let Some(p) = witness_policy {
            cfg.witnesses = Some((read_policy(&p)?, every));
        }
        if let Some(ca) = witness_ca_cert {
            cfg.witness_roots = Some(kpledger_witness::CaRoots::read(&ca).context("--witness-ca-cert")?);
        }
        Ok(())
    }
}

/// How many requests a client address and an enrolled actor may make.
#[derive(Debug, Args)]
pub(crate) struct RateArgs {
    /// Requests a second from one client address (IPv6: its /64), any route; 429 with
    /// Retry-After beyond (0: no limit)
    #[arg(long, default_value_t = 200, value_name = "N")]
    rate_ip: u32,
    /// Requests one client address may send at once after a quiet spell
    #[arg(long, default_value_t = 400, value_name = "N")]
    burst_ip: u32,
    /// Requests a second signed by one enrolled actor (reads, submissions, offers), counted
    /// once the signature verified; 429 with Retry-After beyond (0: no limit)
    #[arg(long, default_value_t = 50, value_name = "N")]
    rate_key: u32,
    /// Requests one actor may sign at once after a quiet spell
    #[arg(long, default_value_t = 100, value_name = "N")]
    burst_key: u32,
    /// Most clients (and most actors) whose rates are remembered; when full, the least
    /// recently seen half is forgotten
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    rate_buckets: usize,
    /// A reverse proxy whose X-Forwarded-For is believed for --rate-ip (repeat for several);
    /// from other addresses the header is ignored
    #[arg(long, value_name = "IP")]
    trusted_proxy: Vec<std::net::IpAddr>,
}

impl RateArgs {
    fn apply(self, cfg: &mut kpledger_serve::Config) {
        let RateArgs { rate_ip, burst_ip, rate_key, burst_key, rate_buckets, trusted_proxy } = self;
        cfg.rate_ip = rate(rate_ip, burst_ip);
        cfg.rate_key = rate(rate_key, burst_key);
        cfg.rate_buckets = rate_buckets;
        cfg.trusted_proxies = trusted_proxy;
    }
}

/// Post signed event files (made with --out) and handover offers to a kpledger server
///
/// Each FILE is one submission: one signed event (JSON) or several, one per line (.jsonl),
/// recorded all or none. A handover offer (`kpledger handover offer --out`) is posted to
/// /v1/offers, where its buyer fetches it (`kpledger get … /v1/offers`). Prints each event's position in the log; an event already recorded
/// is reported, not recorded twice, so a retry is safe. A busy server (503) or a rate limit
/// (429) is retried after the delay it gives, five times at most. Exit 1 when the ledger's rules refuse a
/// submission (the findings are printed), 2 when it cannot be sent.
///
/// Example: kpledger submit --server http://127.0.0.1:8080 handover.json   (needs a running kpledger serve)
#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    /// The server's base URL
    #[arg(long, env = "KPLEDGER_SERVER")]
    server: String,
    #[command(flatten)]
    ca: CaArgs,
    /// Signed event files (.json: one event; .jsonl: one per line)
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print the server's answers as JSON, one line per file
    #[arg(long)]
    json: bool,
}

pub(crate) fn submit_cmd(a: SubmitArgs) -> Result<u8> {
    let SubmitArgs { server, ca, files, json } = a;
    submit(&server, &ca, &files, json)
}

/// Read from a kpledger server as an enrolled actor (an RFC 9421 signed GET)
///
/// PATH is the API path: /v1/parcels/ID (state and head hash), /v1/parcels/ID/history,
/// /v1/events/HASH, /v1/events?after=SEQ&limit=N, /v1/certificates/NUMBER,
/// /v1/certificates/NUMBER/bundle, /v1/actors (schemas/openapi.json). The request is signed
/// with KEY as actor --as; the server answers 401 to an unsigned, stale or replayed
/// request and 403 when the actor may not read it. Prints the body, or writes it to --out.
///
/// Example: kpledger get --server http://127.0.0.1:8080 --key gems.pem --as sl.exporter.kono-gems
///   /v1/certificates/SL-2026-004312/bundle --out SL-2026-004312.json   (needs a running kpledger serve)
///
/// Over HTTPS, from a server whose certificate the authority's private CA issued (--ca-cert,
/// on every command that takes --server):
///
/// Example: kpledger get --server https://ledger.nma.gov.sl --ca-cert nma-ca.pem --key gems.pem
///   --as sl.exporter.kono-gems /v1/actors   (needs a running kpledger serve with a certificate from that CA)
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The server's base URL
    #[arg(long, env = "KPLEDGER_SERVER")]
    server: String,
    #[command(flatten)]
    ca: CaArgs,
    /// The actor's private key (PKCS#8 PEM)
    #[arg(long)]
    key: PathBuf,
    /// The actor id enrolled with this key
    #[arg(long = "as", value_name = "ACTOR", value_parser = value::actor)]
    as_actor: ActorId,
    /// The API path, starting with /
    path: String,
    /// Write the body to this new file instead of printing it
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn get_cmd(a: GetArgs) -> Result<u8> {
    let GetArgs { server, ca, key, as_actor, path, out } = a;
    get(&server, &ca, &key, &as_actor, &path, out.as_deref())
}
