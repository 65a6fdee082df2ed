//! Offers relayed between parties: `POST /v1/offers`, `GET /v1/offers`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kpledger_core::{Ledger, StoreError};
use kpledger_model::Offer;
use kpledger_verify::{Finding, Rule};
use serde_json::json;

use crate::AppState;
use crate::problem::Problem;

use super::signed::{SignedRead, forbidden, hash_param, not_found};
use super::{St, json_response, now};

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

pub(super) async fn post_offer(State(state): St, headers: HeaderMap, body: Body) -> Response {
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
    if kpledger_core::clock::is_ahead(&offer.body.time, now()) {
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
pub(super) struct OffersTo {
    to: Option<String>,
}

pub(super) async fn list_offers(read: SignedRead, q: Query<OffersTo>) -> Response {
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

pub(super) async fn offer_by_hash(read: SignedRead, Path(hash): Path<String>) -> Response {
    let st = Arc::clone(&read.state);
    read.json(move |_, who, authority| {
        let h = match hash_param(&hash, "an offer") {
            Ok(h) => h,
            Err(p) => return Ok(Err(p)),
        };
        let Some(w) = st.offers.lock().ok().and_then(|o| o.get(&h, now())) else {
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
