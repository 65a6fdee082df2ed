//! `kpledger serve`, `kpledger submit` and `kpledger get`: the service and its client.

use super::verify::*;
use crate::args::*;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
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

impl CheckpointArgs {
    /// Reads the key and the witnesses' policy: a file that does not read stops the service
    /// before it starts.
    fn apply(self, cfg: &mut kpledger_serve::Config) -> Result<()> {
        let CheckpointArgs { checkpoint_key, checkpoint_every, witness_policy } = self;
        let every = Duration::from_secs(checkpoint_every.max(1));
        if let Some(k) = checkpoint_key {
            cfg.checkpoint = Some((SecretKey::read_pem_file(&k)?, every));
        }
        if let Some(p) = witness_policy {
            cfg.witnesses = Some((read_policy(&p)?, every));
        }
        Ok(())
    }
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

pub(crate) fn submit_cmd(a: SubmitArgs) -> Result<u8> {
    let SubmitArgs { server, ca, files, json } = a;
    submit(&server, &ca, &files, json)
}

pub(crate) fn get_cmd(a: GetArgs) -> Result<u8> {
    let GetArgs { server, ca, key, as_actor, path, out } = a;
    get(&server, &ca, &key, &as_actor, &path, out.as_deref())
}

pub(crate) fn bench(a: BenchArgs) -> Result<u8> {
    let BenchArgs { parcels, lot_parcels, dir, rounds, json, ledger } = a;
    if let Some(l) = ledger.as_deref().filter(|l| !kpledger_core::store::pg::is_url(l)) {
        anyhow::bail!("bench --ledger takes an empty PostgreSQL database (postgres://…), not {l}");
    }
    let report = crate::bench::run(parcels, lot_parcels, dir.as_deref(), rounds, json, ledger.as_deref())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::bench::table(&report));
    }
    Ok(OK)
}
