//! The client side of `kpledger serve` for the commands that read or sign against a ledger
//! (`--server URL`): what they need of the ledger is read with requests signed (RFC 9421) by the
//! actor `--as` with `--key`, and what they sign is submitted to POST /v1/events, so that a
//! holder signs from its own machine without the ledger file. The server judges every
//! submission by the ledger's rules; nothing read here is trusted further than that.

use std::cell::RefCell;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_model::{ActorId, Origin, ParcelId, ParsedEvent, SecretKey};
use kpledger_verify::ParcelState;
use serde_json::{Value, json};

use super::common::{not_from_the_future, write_new};
use super::sign::created_parcels;
use crate::args::value::IdArg;
use crate::args::{CaArgs, SourceArgs};
use crate::render;
use crate::{CANNOT_RUN, FOUND, OK};

/// A server's answer that is not a success: its status and the problem's detail and findings
/// (RFC 9457).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) detail: String,
    pub(crate) findings: Value,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hint = match self.status {
            401 => {
                " (the request is signed as --as with --key: that actor must be enrolled with this key, unrevoked, \
                 and this machine's clock right)"
            }
            _ => "",
        };
        write!(f, "the server answered {}: {}{hint}", self.status, self.detail)
    }
}

impl std::error::Error for Refusal {}

/// A kpledger server, and the actor that signs the requests.
pub(crate) struct Server {
    base: String,
    agent: ureq::Agent,
    actor: ActorId,
    key: SecretKey,
    /// The ledger's origin, as the server last named it.
    origin: RefCell<Option<Origin>>,
}

impl Server {
    /// The server at `url`, read as `actor` with `key`; an https:// server's certificate is
    /// trusted as `ca` says.
    pub(crate) fn new(url: &str, ca: &CaArgs, actor: ActorId, key: SecretKey) -> Result<Server> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--server {url:?} is not a URL: write its scheme and host, e.g. http://127.0.0.1:8080");
        }
        let agent = ca.agent()?;
        Ok(Server {
            base: url.trim_end_matches('/').to_owned(),
            agent,
            actor,
            key,
            origin: RefCell::new(None),
        })
    }

    /// The server's base URL.
    pub(crate) fn url(&self) -> &str {
        &self.base
    }

    /// The ledger's origin as a document signed for it names it (the server refuses an event
    /// for another ledger).
    pub(crate) fn know_origin(&self, origin: &Origin) {
        self.origin.borrow_mut().get_or_insert_with(|| origin.clone());
    }

    /// The actor the requests are signed as.
    pub(crate) fn actor(&self) -> &ActorId {
        &self.actor
    }

    fn unreachable(&self, e: &ureq::Error) -> anyhow::Error {
        anyhow!("could not reach the server {}: {}; nothing was read or submitted", self.base, transport(e))
    }

    /// A signed GET of `path`: its body, or the server's refusal (a [`Refusal`]).
    pub(crate) fn get(&self, path: &str) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        let (input, sig) =
            kpledger_serve::auth::sign_request("GET", &url, self.actor.as_str(), &self.key, now, &nonce);
        let mut resp = self
            .agent
            .get(&url)
            .header("signature-input", &input)
            .header("signature", &sig)
            .call()
            .map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().with_config().limit(1 << 30).read_to_vec()?;
        if status != 200 {
            return Err(refusal(status, &body).into());
        }
        Ok(body)
    }

    /// A signed GET of a JSON document.
    pub(crate) fn get_json(&self, path: &str) -> Result<Value> {
        let body = self.get(path)?;
        serde_json::from_slice(&body).with_context(|| format!("the server's answer to {path} is not JSON"))
    }

    /// The ledger's origin: as the server named it with a parcel, else from its newest checkpoint
    /// (GET /checkpoint, public: its first line is the log's origin).
    pub(crate) fn origin(&self) -> Result<Origin> {
        if let Some(o) = self.origin.borrow().clone() {
            return Ok(o);
        }
        let url = format!("{}/checkpoint", self.base);
        let mut resp = self.agent.get(&url).call().map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec()?;
        if status == 404 {
            bail!(
                "the server names its ledger in its checkpoints and has published none yet: ask its authority to publish \
                 one (`kpledger log publish`, or `kpledger serve --checkpoint-key`)"
            );
        }
        if status != 200 {
            return Err(refusal(status, &body).into());
        }
        let text = String::from_utf8_lossy(&body);
        let first = text.lines().next().unwrap_or_default();
        let origin =
            Origin::new(first).map_err(|e| anyhow!("the server's checkpoint names no ledger: {e}"))?;
        *self.origin.borrow_mut() = Some(origin.clone());
        Ok(origin)
    }

    /// A parcel's current state and head (GET /v1/parcels/ID).
    pub(crate) fn parcel(&self, id: &ParcelId) -> Result<ParcelState> {
        let v = self.get_json(&format!("/v1/parcels/{id}"))?;
        if let Some(o) = v["ledger"].as_str().and_then(|o| Origin::new(o).ok()) {
            *self.origin.borrow_mut() = Some(o);
        }
        kpledger_verify::stored::read_parcel(&v["parcel"].to_string())
            .with_context(|| format!("the server's answer for parcel {id} is not a parcel's state"))
    }

    /// Submits a signed event (POST /v1/events) and prints the outcome as recording it in the
    /// ledger would: exit 0 recorded (or recorded before: submission is idempotent), 1 refused
    /// by the ledger's rules (the findings are printed), 2 could not be submitted.
    pub(crate) fn submit(&self, parsed: &ParsedEvent, json: bool, new_ids: bool) -> Result<u8> {
        not_from_the_future(parsed, "the event")?;
        let url = format!("{}/v1/events", self.base);
        let (status, body) = post(&self.agent, &url, "application/json", &parsed.canonical)
            .map_err(|e| self.unreachable(&e))?;
        let kind = parsed.event.body.payload.kind();
        let created = created_parcels(parsed);
        match status {
            200 | 201 => {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let seq = v["recorded"][0]["seq"].as_u64().unwrap_or(0);
                let findings = &v["findings"];
                if json {
                    println!(
                        "{}",
                        json!({"ok": true, "seq": seq, "hash": parsed.hash, "kind": kind, "parcels": created,
                               "findings": findings, "server": self.base, "already_recorded": status == 200})
                    );
                } else if new_ids {
                    if created.is_empty() {
                        println!("{}", parsed.hash);
                    }
                    for p in &created {
                        println!("{p}");
                    }
                    eprint!("{}", server_findings(findings));
                } else {
                    let already = if status == 200 { ", recorded before: nothing to do" } else { "" };
                    println!(
                        "recorded {kind} as event #{seq} ({}) by {}{already}",
                        parsed.hash.short(),
                        self.base
                    );
                    for p in &created {
                        println!("  new parcel {p}");
                    }
                    print!("{}", server_findings(findings));
                }
                Ok(OK)
            }
            422 => {
                let r = refusal(status, &body);
                if json {
                    println!("{}", json!({"ok": false, "findings": r.findings}));
                } else {
                    eprintln!(
                        "kpledger: the ledger's rules refused the event; nothing was recorded ({})",
                        r.detail
                    );
                    eprint!("{}", server_findings(&r.findings));
                }
                Ok(FOUND)
            }
            _ => Err(refusal(status, &body).into()),
        }
    }

    /// Posts a signed handover offer (POST /v1/offers), where its buyer fetches it.
    pub(crate) fn post_offer(&self, bytes: &[u8]) -> Result<Value> {
        let url = format!("{}/v1/offers", self.base);
        let (status, body) =
            post(&self.agent, &url, "application/json", bytes).map_err(|e| self.unreachable(&e))?;
        if status != 200 && status != 201 {
            return Err(refusal(status, &body).into());
        }
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// The whole parcel id typed: a server does not resolve prefixes.
pub(crate) fn whole_parcel(typed: &IdArg) -> Result<ParcelId> {
    typed.typed.trim().parse().map_err(|_| {
        anyhow!(
            "{:?}: with --server, give the whole parcel id (a UUID such as 0195f3a2-7c1e-7a00-8000-1234567890ab); \
             the server does not complete a prefix",
            typed.typed
        )
    })
}

fn refusal(status: u16, body: &[u8]) -> Refusal {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let detail =
        v["detail"].as_str().map_or_else(|| String::from_utf8_lossy(body).trim().to_owned(), str::to_owned);
    Refusal { status, detail: render::terminal_safe(&detail).into_owned(), findings: v["findings"].clone() }
}

/// A server's findings, one a line with its hint, as `render::findings` prints them locally.
pub(crate) fn server_findings(findings: &Value) -> String {
    let mut out = String::new();
    for f in findings.as_array().into_iter().flatten() {
        let text = |k: &str| render::terminal_safe(f[k].as_str().unwrap_or(""));
        out.push_str(&format!("  {} {}: {}\n", text("severity"), text("code"), text("message")));
        if let Some(h) = f["hint"].as_str() {
            out.push_str(&format!("      hint: {}\n", render::terminal_safe(h)));
        }
    }
    out
}

/// A server's refusal ends the command as `kpledger get` does (403: exit 1); other errors as
/// usual.
pub(crate) fn answered(r: Result<u8>) -> Result<u8> {
    match r {
        Err(e) => match exit_of(&e) {
            Some(code) => Ok(code),
            None => Err(e),
        },
        ok => ok,
    }
}

/// How a refusal ends the command: 403 is an answer (exit 1, as `kpledger get`), anything else
/// could not run (exit 2).
fn exit_of(e: &anyhow::Error) -> Option<u8> {
    let r = e.downcast_ref::<Refusal>()?;
    eprintln!("kpledger: {r}");
    Some(if r.status == 403 { FOUND } else { CANNOT_RUN })
}

/// Writes a signed event to `out` for `kpledger submit` later.
pub(crate) fn write_event(
    parsed: &ParsedEvent,
    out: &std::path::Path,
    server: &str,
    json: bool,
) -> Result<u8> {
    not_from_the_future(parsed, "the event")?;
    write_new(out, &[parsed.canonical.as_slice(), b"\n"].concat())?;
    if json {
        println!(
            "{}",
            json!({"written": out, "hash": parsed.hash, "kind": parsed.event.body.payload.kind()})
        );
    } else {
        println!("signed {} {} → {}", parsed.event.body.payload.kind(), parsed.hash.short(), out.display());
        println!("submit it with: kpledger submit --server {server} {}", out.display());
    }
    Ok(OK)
}

impl SourceArgs {
    /// The server of `--server`, read as `--as` with `--key`; `None` for the ledger file.
    pub(crate) fn server(&self) -> Result<Option<Server>> {
        let Some(url) = &self.server else { return Ok(None) };
        let (Some(key), Some(actor)) = (&self.key, &self.as_actor) else {
            bail!("with --server, give --key KEY and --as ACTOR: reads are signed as an enrolled actor")
        };
        Ok(Some(Server::new(url, &self.ca, actor.clone(), SecretKey::read_pem_file(key)?)?))
    }

    /// Opens the ledger file, read only.
    pub(crate) fn open(&self) -> Result<kpledger_core::Ledger> {
        let Some(path) = &self.ledger else {
            bail!(
                "the following required argument was not provided: --ledger FILE (or set KPLEDGER_LEDGER), or --server URL"
            )
        };
        super::common::open(path, true, &self.open)
    }
}

/// How long one request of the commands that talk to a server may take in all.
const SERVER_TIMEOUT: Duration = Duration::from_secs(120);

impl CaArgs {
    /// The HTTP client of the commands that talk to a server (a status is an answer, not an
    /// error; two minutes at most), trusting the certificates of --ca-cert for HTTPS instead of
    /// the built-in roots.
    pub(crate) fn agent(&self) -> Result<ureq::Agent> {
        Ok(kpledger_witness::http_agent(SERVER_TIMEOUT, self.roots()?.as_ref()))
    }

    /// The certificates of --ca-cert, or `None` for the built-in roots.
    pub(crate) fn roots(&self) -> Result<Option<kpledger_witness::CaRoots>> {
        self.ca_cert
            .as_deref()
            .map(|path| kpledger_witness::CaRoots::read(path).context("--ca-cert"))
            .transpose()
    }
}

/// A request that got no answer, said plainly: a server certificate that is not trusted says
/// how to trust it.
pub(crate) fn transport(e: &ureq::Error) -> String {
    if kpledger_witness::is_certificate_error(e) {
        format!(
            "its TLS certificate is not trusted ({e}): if a private CA issued it, give that CA's certificate with \
             --ca-cert FILE (PEM); if it is self-signed, the certificate itself"
        )
    } else {
        e.to_string()
    }
}

/// POSTs `bytes`: the status and body. A busy server (503) or a rate limit (429) is asked again
/// after the delay it gives (at most 30 s), five times at most: a submission is idempotent.
pub(crate) fn post(
    agent: &ureq::Agent,
    url: &str,
    ctype: &str,
    bytes: &[u8],
) -> std::result::Result<(u16, Vec<u8>), ureq::Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut resp = agent.post(url).header("content-type", ctype).send(bytes)?;
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body = resp.body_mut().read_to_vec().unwrap_or_default();
        match (status, retry) {
            (429 | 503, Some(secs)) if tries < 5 => std::thread::sleep(Duration::from_secs(secs.min(30))),
            _ => return Ok((status, body)),
        }
    }
}
