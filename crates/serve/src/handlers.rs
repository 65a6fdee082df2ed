//! The routes.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kpledger_core::{BatchError, Ledger, Recorded, StorageError, StoreError};
use kpledger_model::{ActorId, Event, Hash, Offer, ParcelId, ParsedEvent, Payload, Text};
use kpledger_verify::{Finding, Rule, SigMode, Signatures};
use serde_json::{Value, json};

use crate::auth::{self, AuthError};
use crate::problem::Problem;
use crate::tiles;
use crate::writer::{Job, Work};
use crate::{AppState, Peer};

type St = State<Arc<AppState>>;

/// An event dated more than this far ahead of the server's clock is refused (as by ingest).
const MAX_AHEAD_SECS: i64 = 24 * 3600;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let timeout = state.cfg.request_timeout;
    Router::new()
        .route("/v1/events", get(list_events).post(submit))
        .route("/v1/events/{hash}", get(event_by_hash))
        .route("/v1/parcels/{id}", get(parcel))
        .route("/v1/parcels/{id}/history", get(parcel_history))
        .route("/v1/parcels/{id}/card", get(parcel_card))
        .route("/v1/certificates/{number}", get(certificate))
        .route("/v1/certificates/{number}/bundle", get(bundle))
        .route("/v1/actors", get(actors))
        .route("/v1/offers", get(list_offers).post(post_offer))
        .route("/v1/offers/{hash}", get(offer_by_hash))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI) }),
        )
        .fallback(|| async {
            Problem::new(StatusCode::NOT_FOUND, "no-route", "no such route; see /openapi.json")
        })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), limit_ip))
        .with_state(state)
}

/// The per-IP rate, before routing: every request counts, whatever it asks.
async fn limit_ip(State(state): St, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(Peer(peer)) = req.extensions().get::<Peer>().copied()
        && let Err(p) = state.limit_ip(state.client_ip(peer, req.headers()))
    {
        return p.into_response();
    }
    next.run(req).await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

// ---------------------------------------------------------------------------------------
// Submissions

async fn submit(State(state): St, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (outcome, resp) = match submit_inner(&state, &headers, body).await {
        Ok((outcome, resp)) => (outcome, resp),
        Err((outcome, p)) => (outcome, p.into_response()),
    };
    state.metrics.outcome(outcome);
    state.metrics.latency(started.elapsed().as_micros() as u64);
    resp
}

type Failed = (&'static str, Problem);

async fn submit_inner(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Response), Failed> {
    let cfg = &state.cfg;
    let too_large =
        |detail: String| ("too_large", Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail));
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let jsonl = match mime.as_str() {
        "application/json" => false,
        "application/jsonl" => true,
        _ => {
            return Err((
                "malformed",
                Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "media-type",
                    "send one signed event as application/json, or several, one per line, as application/jsonl",
                ),
            ));
        }
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_body as u64) {
        return Err(too_large(format!(
            "the body is larger than this server's limit of {} bytes",
            cfg.max_body
        )));
    }
    let bytes = axum::body::to_bytes(body, cfg.max_body).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) {
            too_large(format!("the body is larger than this server's limit of {} bytes", cfg.max_body))
        } else {
            (
                "malformed",
                Problem::new(StatusCode::BAD_REQUEST, "body", format!("the body could not be read: {e}")),
            )
        }
    })?;
    let docs: Vec<&[u8]> = if jsonl {
        bytes.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).collect()
    } else {
        vec![&bytes[..]]
    };
    if docs.is_empty() {
        return Err(("malformed", Problem::new(StatusCode::BAD_REQUEST, "empty", "the body holds no event")));
    }
    if docs.len() > cfg.max_events {
        return Err(too_large(format!(
            "{} events in one submission; this server takes at most {} (send several submissions)",
            docs.len(),
            cfg.max_events
        )));
    }
    let docs: Vec<Vec<u8>> = docs.into_iter().map(<[u8]>::to_vec).collect();
    // Reading and signature checks do not touch the ledger: on the blocking pool.
    let checked =
        tokio::task::spawn_blocking(move || -> Result<(Vec<ParsedEvent>, Vec<Signatures>), Failed> {
            let mut events = Vec::with_capacity(docs.len());
            for (i, d) in docs.iter().enumerate() {
                let ev = Event::parse(d).map_err(|e| {
                    let mut p = Problem::new(
                        StatusCode::BAD_REQUEST,
                        "not-an-event",
                        format!("event {i} of the submission is not a valid signed kpledger event: {e}"),
                    );
                    p.event_index = Some(i);
                    ("malformed", p)
                })?;
                let mut times = vec![&ev.event.body.time];
                if let Payload::Handover { offer, .. } = &ev.event.body.payload {
                    times.push(&offer.body.time);
                }
                if let Some(t) = times.into_iter().find(|t| t.unix() > now() + MAX_AHEAD_SECS) {
                    let mut p = Problem::new(
                        StatusCode::BAD_REQUEST,
                        "future",
                        format!(
                            "event {i} is dated {t}, more than a day after the server's clock; nothing was \
                         recorded. Check the signer's clock"
                        ),
                    );
                    p.event_index = Some(i);
                    return Err(("malformed", p));
                }
                events.push(ev);
            }
            let refs: Vec<&ParsedEvent> = events.iter().collect();
            let sigs = Signatures::check_all(&refs, SigMode::Strict);
            Ok((events, sigs))
        })
        .await
        .map_err(|e| {
            ("error", Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
        })??;
    let (events, sigs) = checked;
    let refused = state.actors.read().ok().and_then(|a| a.precheck(&events, &sigs));
    if let Some((i, f)) = refused {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            format!("event {i} is not signed by a key enrolled in this ledger; nothing was recorded"),
        );
        p.findings = vec![f];
        p.event_index = Some(i);
        return Err(("refused", p));
    }
    // Each signer's rate, once its signatures verified with its enrolled key, for the events
    // not recorded yet: anyone may replay a recorded event (a signature proves who wrote it,
    // not who sent it), and that must not spend its signer's rate.
    let hashes: Vec<Hash> = events.iter().map(|e| e.hash).collect();
    let recorded = state
        .read(move |l| hashes.iter().map(|h| Ok(l.position_of(h)?.is_some())).collect::<Result<Vec<_>, _>>())
        .await
        .unwrap_or_default();
    let mut signers: Vec<&str> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| !recorded.get(*i).copied().unwrap_or(false))
        .map(|(_, e)| e.event.body.signer.as_str())
        .collect();
    signers.sort_unstable();
    signers.dedup();
    for s in signers {
        state.limit_key(s).map_err(|p| ("rate_limited", p))?;
    }
    // Who signed each event and the parcels it names: a refusal says no more than its signer
    // may read (see `redact`).
    let named: Vec<(ActorId, Vec<ParcelId>)> = events
        .iter()
        .map(|e| {
            let b = &e.event.body;
            (b.signer.clone(), b.payload.parcels().into_iter().map(|(p, _)| p).collect())
        })
        .collect();
    let (reply, answer) = tokio::sync::oneshot::channel();
    let busy = || {
        let p = Problem {
            retry_after: Some(1),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server has too many submissions waiting; retry after the delay given (a retry is safe: \
                 submission is idempotent)",
            )
        };
        ("busy", p)
    };
    state.writer.try_send(Work::Submit(Job { events, sigs, reply })).map_err(|_| busy())?;
    let outcome = answer.await.map_err(|_| busy())?;
    match outcome {
        Ok(Ok(recorded)) => {
            let mut created = false;
            let mut warnings = Vec::new();
            let list: Vec<Value> = recorded
                .iter()
                .map(|r| match r {
                    Recorded::New(a) => {
                        created = true;
                        warnings.extend(a.warnings.iter().cloned());
                        json!({"seq": a.seq, "hash": a.hash, "leaf_index": a.seq - 1})
                    }
                    Recorded::Already { seq, hash } => {
                        json!({"seq": seq, "hash": hash, "leaf_index": seq - 1})
                    }
                })
                .collect();
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            let body = json!({"recorded": list, "findings": warnings});
            Ok((if created { "created" } else { "duplicate" }, json_response(status, &body)))
        }
        Ok(Err(BatchError { index: i, error: StoreError::Rejected { findings, .. } })) => {
            let findings = match named.get(i) {
                Some((signer, parcels)) => redact(state, signer, parcels, findings).await,
                None => findings,
            };
            let codes: Vec<&str> = findings.iter().filter(|f| f.is_error()).map(|f| f.code.code()).collect();
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                format!(
                    "the ledger's rules refused event {i} ({}); nothing of the submission was recorded",
                    codes.join(", ")
                ),
            );
            p.findings = findings;
            p.event_index = Some(i);
            Err(("refused", p))
        }
        Ok(Err(BatchError { error, .. })) => Err(("error", Problem::from(error))),
        Err(msg) => Err((
            "error",
            Problem {
                retry_after: Some(1),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ledger",
                    format!("nothing was recorded: {msg}"),
                )
            },
        )),
    }
}

/// The findings of a refused event as its signer may read them. POST /v1/events needs no
/// read signature, and the rules' messages name a parcel's holder, head and weight: an actor
/// that may not read a parcel the event names (neither an authority of the ledger nor involved
/// in it, as for `GET /v1/parcels/{id}`) gets each finding's code and severity only.
async fn redact(
    state: &Arc<AppState>,
    signer: &ActorId,
    parcels: &[ParcelId],
    findings: Vec<Finding>,
) -> Vec<Finding> {
    if state.actors.read().map(|a| a.is_ledger_authority(signer.as_str())).unwrap_or(false) {
        return findings;
    }
    let (who, named) = (signer.clone(), parcels.to_vec());
    let hidden = state
        .read(move |l| {
            for p in &named {
                if l.parcel(p)?.is_some() && !involved_in_parcel(l, &who, p)? {
                    return Ok(Some(*p));
                }
            }
            Ok(None)
        })
        .await;
    let p = match hidden {
        Ok(None) => return findings,
        Ok(Some(p)) => p.to_string(),
        Err(_) => "a parcel it names".to_owned(),
    };
    findings
        .into_iter()
        .map(|f| {
            let message = format!(
                "refused by {}; the details concern parcel {p}, which {signer} may not read",
                f.code.code()
            );
            let mut r = match f.severity {
                kpledger_verify::Severity::Error => Finding::error(f.code, message),
                _ => Finding::warning(f.code, message),
            };
            r.event = f.event;
            r
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Authenticated reads

/// Who signed this request (an enrolled, unrevoked actor) and with which key, or the 401;
/// then the actor's request rate (429 beyond it), taken only once its signature verified.
async fn authenticate(
    state: &Arc<AppState>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(String, kpledger_model::PublicKey), Problem> {
    let found = verified_signer(state, method, uri, headers).await?;
    state.limit_key(&found.0)?;
    Ok(found)
}

/// Who signed this request (an enrolled, unrevoked actor) and with which key, or the 401.
/// The registry of keys follows the service's own commits; when it does not know the key
/// (enrolled or rotated beside the service, `kpledger actor … --ledger`), it is reloaded from
/// the ledger once, if the ledger's record of the signer differs, and the signature checked again.
async fn verified_signer(
    state: &Arc<AppState>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(String, kpledger_model::PublicKey), Problem> {
    let unauthorized = |e: AuthError| {
        state.metrics.read_refused();
        Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
    };
    let (id, first) = match check_signature(state, method, uri, headers) {
        Ok(found) => return Ok(found),
        Err(e @ (AuthError::UnknownActor(_) | AuthError::BadSignature(_))) => match &e {
            AuthError::UnknownActor(id) | AuthError::BadSignature(id) => (id.clone(), e),
            _ => return Err(unauthorized(e)),
        },
        Err(e) => return Err(unauthorized(e)),
    };
    let st = Arc::clone(state);
    let who = id;
    let reloaded = state
        .read(move |l| {
            let Ok(who) = ActorId::new(who) else { return Ok(false) };
            let current = l.actor(&who)?.filter(|a| a.revoked.is_none()).map(|a| a.record.key);
            let known = st.actors.read().ok().and_then(|a| a.key(who.as_str()).copied());
            if current == known {
                return Ok(false);
            }
            let fresh = crate::writer::Actors::load(l)?;
            if let Ok(mut w) = st.actors.write()
                && fresh.size >= w.size
            {
                *w = fresh;
                return Ok(true);
            }
            Ok(false)
        })
        .await
        .unwrap_or(false);
    if !reloaded {
        return Err(unauthorized(first));
    }
    check_signature(state, method, uri, headers).map_err(unauthorized)
}

fn check_signature(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(String, kpledger_model::PublicKey), AuthError> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(input), Some(sig)) = (h("signature-input"), h("signature")) else {
        return Err(AuthError::Missing);
    };
    let req = auth::parse(input, sig)?;
    let now = now();
    let window = state.cfg.replay_window;
    if req.created.abs_diff(now) > window {
        return Err(AuthError::Stale { created: req.created, now, window });
    }
    let key = state.actors.read().ok().and_then(|a| a.key(&req.keyid).copied());
    let Some(key) = key else {
        return Err(AuthError::UnknownActor(req.keyid.clone()));
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = match &state.cfg.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let scheme = if state.cfg.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{}{path}", h("host").unwrap_or(""))
        }
    };
    auth::verify(&req, method.as_str(), &target, h("content-digest"), &key)?;
    let fresh = state
        .nonces
        .lock()
        .map(|mut n| n.insert(&req.keyid, &req.nonce, req.created, now, window, 1_000_000))
        .unwrap_or(false);
    if !fresh {
        return Err(AuthError::Replayed);
    }
    Ok((req.keyid, key))
}

fn forbidden(who: &str, what: &str) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "{who} may not read {what}: an actor reads the parcels it holds or held and the certificates it exported or imported; authorities of this ledger read everything"
        ),
    )
}

fn not_found(what: String) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", what)
}

/// Whether `who` holds or held the parcel, or signed or received one of its events.
fn involved_in_parcel(ledger: &Ledger, who: &ActorId, parcel: &ParcelId) -> Result<bool, StoreError> {
    if ledger.parcel(parcel)?.is_some_and(|p| &p.holder == who) {
        return Ok(true);
    }
    Ok(ledger.parcel_events(parcel)?.iter().any(|(_, ev)| involved_in_event(who, ev)))
}

fn involved_in_event(who: &ActorId, ev: &ParsedEvent) -> bool {
    let body = &ev.event.body;
    &body.signer == who
        || matches!(&body.payload, Payload::Handover { offer, .. } if &offer.body.to == who || &offer.body.signer == who)
}

/// 64 hexadecimal digits (either case) as a hash.
fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    bytes.and_then(|b| <[u8; 32]>::try_from(b).ok())
}

fn event_json(seq: u64, ev: &ParsedEvent) -> Value {
    let event: Value = serde_json::from_slice(&ev.canonical).unwrap_or(Value::Null);
    json!({"seq": seq, "hash": ev.hash, "leaf_index": seq - 1, "event": event})
}

/// Authenticates, then runs `f` on a read connection with the reader's id and whether it
/// is an authority of the ledger.
async fn authed_read<T: Send + 'static>(
    state: &Arc<AppState>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    f: impl FnOnce(&Ledger, &ActorId, bool) -> Result<Result<T, Problem>, StoreError> + Send + 'static,
) -> Result<T, Problem> {
    let (who, key) = authenticate(state, method, uri, headers).await?;
    let authority = state.actors.read().map(|a| a.is_ledger_authority(&who)).unwrap_or(false);
    let who = ActorId::new(who).map_err(|e| Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", e))?;
    state
        .read(move |l| {
            // The registry follows the service's own commits only; a key revoked or rotated
            // beside it (`kpledger actor revoke --ledger`) is refused on the ledger's word.
            if !l.actor(&who)?.is_some_and(|a| a.revoked.is_none() && a.record.key == key) {
                return Ok(Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    AuthError::UnknownActor(who.to_string()).to_string(),
                )));
            }
            f(l, &who, authority)
        })
        .await?
}

/// A read's JSON answer (200), or its problem.
fn ok_json(r: Result<Value, Problem>) -> Response {
    match r {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(p) => p.into_response(),
    }
}

/// What a signed read's handler takes from its request: the service, and the parts the
/// signature covers.
struct SignedRead {
    state: Arc<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for SignedRead {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(SignedRead {
            state: Arc::clone(state),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

/// What a read computes on its connection, given the reader and whether it is an authority.
trait ReadFn<T>:
    FnOnce(&Ledger, &ActorId, bool) -> Result<Result<T, Problem>, StoreError> + Send + 'static
{
}
impl<T, F> ReadFn<T> for F where
    F: FnOnce(&Ledger, &ActorId, bool) -> Result<Result<T, Problem>, StoreError> + Send + 'static
{
}

impl SignedRead {
    /// Authenticates the request, then runs `f` on a read connection ([`authed_read`]).
    async fn run<T: Send + 'static>(&self, f: impl ReadFn<T>) -> Result<T, Problem> {
        authed_read(&self.state, &self.method, &self.uri, &self.headers, f).await
    }

    /// The same, answered as JSON (200) or with its problem.
    async fn json(&self, f: impl ReadFn<Value>) -> Response {
        ok_json(self.run(f).await)
    }

    /// A read about the parcel `id`, once [`readable_parcel`] found it and let the reader see it.
    async fn parcel(
        &self,
        id: String,
        f: impl FnOnce(
            &Ledger,
            ParcelId,
            kpledger_verify::ParcelState,
        ) -> Result<Result<Value, Problem>, StoreError>
        + Send
        + 'static,
    ) -> Response {
        self.json(move |l, who, authority| match readable_parcel(l, who, authority, &id)? {
            Ok((pid, p)) => f(l, pid, p),
            Err(problem) => Ok(Err(problem)),
        })
        .await
    }
}

/// The parcel `id` names, if it exists and `who` may read it (an authority of the ledger, or an
/// actor that holds or held it): else 400, 404 or 403.
fn readable_parcel(
    l: &Ledger,
    who: &ActorId,
    authority: bool,
    id: &str,
) -> Result<Result<(ParcelId, kpledger_verify::ParcelState), Problem>, StoreError> {
    let Ok(pid) = id.parse::<ParcelId>() else {
        return Ok(Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-id",
            format!("{id:?} is not a parcel id (a UUID)"),
        )));
    };
    let Some(p) = l.parcel(&pid)? else {
        return Ok(Err(not_found(format!("no parcel {pid} in this ledger"))));
    };
    if !authority && !involved_in_parcel(l, who, &pid)? {
        return Ok(Err(forbidden(who.as_str(), &format!("parcel {pid}"))));
    }
    Ok(Ok((pid, p)))
}

async fn parcel(read: SignedRead, Path(id): Path<String>) -> Response {
    read.parcel(id, |l, _, p| Ok(Ok(json!({"ledger": l.origin()?, "head": p.head, "parcel": p})))).await
}

async fn parcel_history(read: SignedRead, Path(id): Path<String>) -> Response {
    read.parcel(id, |l, pid, _| {
        let events: Vec<Value> = l.provenance(&pid)?.iter().map(|(s, e)| event_json(*s, e)).collect();
        Ok(Ok(json!({"parcel": pid, "events": events})))
    })
    .await
}

/// The parcel's card (docs/SPEC.md §14.6): what its holder or a buyer needs to sign the next
/// event without the ledger, proven under the newest checkpoint that covers its latest event.
/// 409 when no checkpoint covers it yet or the parcel was consumed.
async fn parcel_card(read: SignedRead, Path(id): Path<String>) -> Response {
    read.parcel(id, |l, pid, _| match l.parcel_card(&pid) {
        Ok(card) => Ok(serde_json::to_value(&card)
            .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))),
        Err(e @ (StoreError::Refused(_) | StoreError::NoParcel { .. })) => {
            Ok(Err(Problem::new(StatusCode::CONFLICT, "no-card", e.to_string())))
        }
        Err(e) => Err(e),
    })
    .await
}

async fn event_by_hash(read: SignedRead, Path(hash): Path<String>) -> Response {
    read.json(move |l, who, authority| {
        let Some(bytes) = parse_hash(&hash) else {
            return Ok(Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-hash",
                "an event hash is 64 hexadecimal digits",
            )));
        };
        let h = Hash(bytes);
        let Some(seq) = l.position_of(&h)? else {
            return Ok(Err(not_found(format!("no event {hash} in this ledger"))));
        };
        let Some(ev) = l.event(seq)? else {
            return Ok(Err(not_found(format!("no event {hash} in this ledger"))));
        };
        if !authority && !involved_in_event(who, &ev) {
            let mut any = false;
            for (p, _) in ev.event.body.payload.parcels() {
                if involved_in_parcel(l, who, &p)? {
                    any = true;
                    break;
                }
            }
            if !any {
                return Ok(Err(forbidden(who.as_str(), "this event")));
            }
        }
        Ok(Ok(event_json(seq, &ev)))
    })
    .await
}

#[derive(serde::Deserialize)]
struct Page {
    after: Option<u64>,
    limit: Option<u64>,
}

/// Most events in one page of `GET /v1/events`.
const MAX_PAGE: u64 = 1000;

async fn list_events(read: SignedRead, page: Query<Page>) -> Response {
    let after = page.after.unwrap_or(0);
    let limit = page.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let r = read
        .run(move |l, who, authority| {
            if !authority {
                return Ok(Err(forbidden(who.as_str(), "the whole event stream")));
            }
            let len = l.len()?;
            let first = after.saturating_add(1);
            let last = after.saturating_add(limit).min(len);
            let mut events = Vec::new();
            if first <= last {
                for (i, doc) in l.event_docs(first, last)?.into_iter().enumerate() {
                    let seq = first + i as u64;
                    let ev = Event::parse(&doc).map_err(|e| StorageError::BadRow {
                        path: l.path().to_owned(),
                        reason: format!("event #{seq}: {e}"),
                    })?;
                    events.push(event_json(seq, &ev));
                }
            }
            Ok(Ok((events, last, len)))
        })
        .await;
    match r {
        Ok((events, last, len)) => {
            let mut resp = json_response(StatusCode::OK, &json!({"events": events, "size": len}));
            if last < len {
                let link = format!("</v1/events?after={last}&limit={limit}>; rel=\"next\"");
                if let Ok(v) = HeaderValue::from_str(&link) {
                    resp.headers_mut().insert(header::LINK, v);
                }
            }
            resp
        }
        Err(p) => p.into_response(),
    }
}

fn cert_reader(
    l: &Ledger,
    who: &ActorId,
    authority: bool,
    number: &str,
) -> Result<Result<(Text, kpledger_verify::CertificateState), Problem>, StoreError> {
    let Ok(n) = Text::new(number) else {
        return Ok(Err(Problem::new(StatusCode::BAD_REQUEST, "bad-number", "not a certificate number")));
    };
    let Some(c) = l.certificate(&n)? else {
        return Ok(Err(not_found(format!("no certificate {number} in this ledger"))));
    };
    let party = &c.certificate.exporter.actor == who || c.certificate.importer.actor.as_ref() == Some(who);
    if !authority && !party {
        return Ok(Err(forbidden(who.as_str(), &format!("certificate {number}"))));
    }
    Ok(Ok((n, c)))
}

async fn certificate(read: SignedRead, Path(number): Path<String>) -> Response {
    read.json(move |l, who, authority| Ok(cert_reader(l, who, authority, &number)?.map(|(_, c)| json!(c))))
        .await
}

async fn bundle(read: SignedRead, Path(number): Path<String>) -> Response {
    let r = read
        .run(move |l, who, authority| {
            let (n, _) = match cert_reader(l, who, authority, &number)? {
                Ok(x) => x,
                Err(p) => return Ok(Err(p)),
            };
            match l.bundle(&n) {
                Ok(b) => Ok(Ok(serde_json::to_vec_pretty(&b).unwrap_or_default())),
                Err(StoreError::Refused(why)) => {
                    Ok(Err(Problem::new(StatusCode::CONFLICT, "no-checkpoint", why)))
                }
                Err(e) => Err(e),
            }
        })
        .await;
    match r {
        Ok(mut v) => {
            v.push(b'\n');
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], v).into_response()
        }
        Err(p) => p.into_response(),
    }
}

async fn actors(read: SignedRead) -> Response {
    read.json(|l, _, _| Ok(Ok(json!({"actors": l.actors()?})))).await
}

// ---------------------------------------------------------------------------------------
// Offers relayed between parties

/// Largest offer document accepted (an offer is well under 2 KiB).
const MAX_OFFER: usize = 64 * 1024;

fn refused_offer(code: Rule, msg: String) -> Problem {
    let mut p =
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", format!("the offer was not kept: {msg}"));
    p.findings = vec![Finding::error(code, msg)];
    p
}

/// Whether the offer still applies: its signer holds the parcel and its `prev` is the head.
fn offer_is_current(l: &Ledger, offer: &Offer) -> Result<Result<(), Problem>, StoreError> {
    let b = &offer.body;
    if !l.actor(&b.signer)?.is_some_and(|a| a.revoked.is_none() && a.record.key == offer.sig.key) {
        return Ok(Err(refused_offer(
            Rule::Ch2,
            format!("the offer is not signed by {}'s current, unrevoked key", b.signer),
        )));
    }
    if l.origin()?.as_ref() != Some(&b.ledger) {
        return Ok(Err(refused_offer(
            Rule::Ch2,
            format!("the offer is for ledger {}, not this one", b.ledger),
        )));
    }
    let Some(p) = l.parcel(&b.parcel)? else {
        return Ok(Err(refused_offer(Rule::Ch1, format!("no parcel {} in this ledger", b.parcel))));
    };
    if p.holder != b.signer {
        return Ok(Err(refused_offer(
            Rule::Ch2,
            // Not naming the holder: POST /v1/offers needs no read signature.
            format!("the offer is signed by {}, who does not hold the parcel", b.signer),
        )));
    }
    if p.head != b.prev {
        return Ok(Err(refused_offer(
            Rule::Ch1,
            format!(
                "the offer links to {} but the parcel's latest event is {}; offer it again",
                b.prev.short(),
                p.head.short()
            ),
        )));
    }
    Ok(Ok(()))
}

async fn post_offer(State(state): St, headers: HeaderMap, body: Body) -> Response {
    match post_offer_inner(&state, &headers, body).await {
        Ok(r) => r,
        Err(p) => p.into_response(),
    }
}

async fn post_offer_inner(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ctype.split(';').next().unwrap_or("").trim() != "application/json" {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "media-type",
            "send one signed offer as application/json",
        ));
    }
    let limit = state.cfg.max_body.min(MAX_OFFER);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", format!("an offer is at most {limit} bytes"))
    })?;
    let offer: Offer = kpledger_model::canonical::from_slice_strict(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "not-an-offer",
            format!("not a signed kpledger handover offer: {e}"),
        )
    })?;
    if offer.body.time.unix() > now() + MAX_AHEAD_SECS {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "future",
            "the offer is dated more than a day after the server's clock",
        ));
    }
    // No database work for an offer not signed by an enrolled key, or to a stranger.
    let b = &offer.body;
    let (signer_ok, to_ok) = state
        .actors
        .read()
        .map(|a| (a.key(b.signer.as_str()) == Some(&offer.sig.key), a.key(b.to.as_str()).is_some()))
        .unwrap_or((false, false));
    if !offer.signature_valid() || !signer_ok {
        return Err(refused_offer(
            Rule::Ch2,
            format!("the offer is not signed by {}'s enrolled key", b.signer),
        ));
    }
    if !to_ok {
        return Err(refused_offer(
            Rule::Ch2,
            format!("{} is not an enrolled, unrevoked actor of this ledger", b.to),
        ));
    }
    let hash =
        offer.hash().map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "not-an-offer", e.to_string()))?;
    let checked = offer.clone();
    state.read(move |l| offer_is_current(l, &checked)).await??;
    // An offer already waiting, or one that no longer applies, is anyone's to post again: only
    // a new one spends its signer's rate.
    if state.offers.lock().ok().and_then(|o| o.get(&hash, now())).is_none() {
        state.limit_key(b.signer.as_str())?;
    }
    let expires = now().saturating_add(state.cfg.offer_ttl.as_secs() as i64);
    let kept = state
        .offers
        .lock()
        .ok()
        .and_then(|mut o| o.insert(hash, offer, expires, now(), state.cfg.max_offers));
    let status = match kept {
        Some(true) => StatusCode::CREATED,
        Some(false) => StatusCode::OK,
        None => {
            return Err(Problem {
                retry_after: Some(60),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "too many offers are waiting; try later",
                )
            });
        }
    };
    Ok(json_response(status, &json!({"offer": hash, "expires": expires})))
}

#[derive(serde::Deserialize)]
struct OffersTo {
    to: Option<String>,
}

async fn list_offers(read: SignedRead, q: Query<OffersTo>) -> Response {
    let st = Arc::clone(&read.state);
    let to = q.0.to;
    read.json(move |l, who, authority| {
        let to = to.unwrap_or_else(|| who.to_string());
        if to != who.as_str() && !authority {
            return Ok(Err(forbidden(who.as_str(), &format!("the offers to {to}"))));
        }
        let waiting = st.offers.lock().map(|o| o.to(&to, now())).unwrap_or_default();
        let mut out = Vec::new();
        for (hash, w) in waiting {
            if offer_is_current(l, &w.offer)?.is_ok() {
                out.push(json!({"hash": hash, "expires": w.expires, "offer": w.offer}));
            } else if let Ok(mut o) = st.offers.lock() {
                o.remove(&hash);
            }
        }
        Ok(Ok(json!({"offers": out})))
    })
    .await
}

async fn offer_by_hash(read: SignedRead, Path(hash): Path<String>) -> Response {
    let st = Arc::clone(&read.state);
    read.json(move |_, who, authority| {
        let Some(h) = parse_hash(&hash) else {
            return Ok(Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-hash",
                "an offer hash is 64 hexadecimal digits",
            )));
        };
        let Some(w) = st.offers.lock().ok().and_then(|o| o.get(&Hash(h), now())) else {
            return Ok(Err(not_found(format!(
                "no offer {hash} is waiting (expired, superseded, or never posted)"
            ))));
        };
        let b = &w.offer.body;
        if !authority && &b.to != who && &b.signer != who {
            return Ok(Err(forbidden(who.as_str(), "this offer")));
        }
        // The offer document itself, as `kpledger handover offer --out` writes it.
        Ok(Ok(json!(w.offer)))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// The public log, health and metrics

async fn checkpoint(State(state): St) -> Response {
    match state.read(|l| l.latest_checkpoint()).await {
        Ok(Some(c)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
            c.note,
        )
            .into_response(),
        Ok(None) => {
            not_found("no checkpoint was published yet (`kpledger log publish`)".into()).into_response()
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn tile(State(state): St, Path(path): Path<String>) -> Response {
    let Some(t) = tiles::parse(&path) else {
        return not_found(format!("tile/{path} is not a tile path (C2SP tlog-tiles)")).into_response();
    };
    let cached = state.tiles.lock().ok().and_then(|c| c.get(&t));
    let read = match cached {
        Some(bytes) => Ok(Some(bytes)),
        None => state.read(move |l| tiles::read(l, &t, l.len()?)).await.map(|r| {
            r.map(|v| {
                let bytes = axum::body::Bytes::from(v);
                if let Ok(mut c) = state.tiles.lock() {
                    c.put(t, bytes.clone());
                }
                bytes
            })
        }),
    };
    match read {
        Ok(Some(bytes)) => {
            let cache =
                if t.width.is_none() { "public, max-age=31536000, immutable" } else { "public, max-age=60" };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, cache)],
                bytes,
            )
                .into_response()
        }
        Ok(None) => not_found(format!("the log does not hold {} yet", t.to_path())).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// 200 while the writer runs; 503 once it has stopped (submissions cannot be recorded).
async fn healthz(State(state): St) -> Response {
    if state.writer.is_closed() {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "ledger", "the writer has stopped: restart the service")
            .into_response()
    } else {
        "ok\n".into_response()
    }
}

async fn metrics(State(state): St) -> Response {
    let sizes = state.read(|l| Ok((l.len()?, l.latest_checkpoint()?.map(|c| c.size)))).await;
    match sizes {
        Ok((len, cp)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            state.metrics.render(len, cp),
        )
            .into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}
