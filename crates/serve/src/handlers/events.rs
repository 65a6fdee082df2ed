//! `POST /v1/events`: signed submissions, checked off the writer, recorded by it.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kpledger_core::{BatchError, Recorded, StoreError};
use kpledger_model::{ActorId, Hash, ParcelId, ParsedEvent};
use kpledger_verify::{Finding, SigMode, Signatures};
use serde_json::{Value, json};

use crate::AppState;
use crate::problem::Problem;
use crate::writer::{Job, Work};

use super::signed::involved_in_parcel;
use super::{St, json_response, now};

pub(super) async fn submit(State(state): St, headers: HeaderMap, body: Body) -> Response {
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
    let docs: Vec<axum::body::Bytes> = if jsonl {
        crate::jsonl_documents(&bytes).into_iter().map(|l| bytes.slice_ref(l)).collect()
    } else {
        vec![bytes.clone()]
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
    // On its way to the writer until queued: the writer may wait for it (`Config::group_wait`).
    let preparing = state.preparing.start();
    // Reading and signature checks do not touch the ledger: on the blocking pool, the
    // events of a submission on every core.
    let keys = state.keys.clone();
    let checked = tokio::task::spawn_blocking(move || read_and_check(&docs, &keys))
        .await
        .map_err(|e| ("error", Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())))?;
    let (events, sigs) = checked?;
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
    charge_signers(state, &events).await?;
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
    drop(preparing);
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

/// Each signer's rate, once its signatures verified with its enrolled key, for the events
/// not recorded yet: anyone may replay a recorded event (a signature proves who wrote it, not
/// who sent it), and that must not spend its signer's rate. Without a per-actor limit, no
/// database work.
async fn charge_signers(state: &Arc<AppState>, events: &[ParsedEvent]) -> Result<(), Failed> {
    if state.cfg.rate_key.is_none() {
        return Ok(());
    }
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
    Ok(())
}

/// Reads each document of a submission as a signed event, refuses one dated more than a day
/// ahead of the server's clock, and checks their signatures (on every core). The first
/// document at fault is named by its index. `keys`: the service's decoded keys, shared by
/// every submission (a submission's signers are mostly the same few enrolled actors).
fn read_and_check(
    docs: &[axum::body::Bytes],
    keys: &kpledger_model::KeyCache,
) -> Result<(Vec<ParsedEvent>, Vec<Signatures>), Failed> {
    let prepared = kpledger_verify::prepare::prepare_in(docs, SigMode::Strict, keys);
    let mut events = Vec::with_capacity(docs.len());
    let mut sigs = Vec::with_capacity(docs.len());
    for (i, p) in prepared.into_iter().enumerate() {
        let ev = p.parsed.map_err(|e| {
            let mut p = Problem::new(
                StatusCode::BAD_REQUEST,
                "not-an-event",
                format!("event {i} of the submission is not a valid signed kpledger event: {e}"),
            );
            p.event_index = Some(i);
            ("malformed", p)
        })?;
        if let Some(t) = kpledger_core::clock::dated_ahead(&ev, now()) {
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
        sigs.push(p.sigs.unwrap_or_else(|| Signatures::check(&ev)));
        events.push(ev);
    }
    Ok((events, sigs))
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
