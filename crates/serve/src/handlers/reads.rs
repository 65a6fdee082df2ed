//! The authenticated reads of trade data: parcels, events, certificates, actors, stats.

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kpledger_core::{Ledger, StorageError, StoreError};
use kpledger_model::{ActorId, Event, Text};
use kpledger_verify::stored::AsStored;
use serde_json::{Value, json};

use crate::problem::Problem;

use super::json_response;
use super::signed::{
    SignedRead, event_json, forbidden, hash_param, involved_in_event, involved_in_parcel, not_found,
};

pub(super) async fn parcel(read: SignedRead, Path(id): Path<String>) -> Response {
    read.parcel(id, |l, _, p| Ok(Ok(json!({"ledger": l.origin()?, "head": p.head, "parcel": AsStored(&p)}))))
        .await
}

pub(super) async fn parcel_history(read: SignedRead, Path(id): Path<String>) -> Response {
    read.parcel(id, |l, pid, _| {
        let events: Vec<Value> = l.provenance(&pid)?.iter().map(|(s, e)| event_json(*s, e)).collect();
        Ok(Ok(json!({"parcel": pid, "events": events})))
    })
    .await
}

/// The parcel's card (docs/SPEC.md §14.6): what its holder or a buyer needs to sign the next
/// event without the ledger, proven under the newest checkpoint that covers its latest event.
/// 409 when no checkpoint covers it yet or the parcel was consumed.
pub(super) async fn parcel_card(read: SignedRead, Path(id): Path<String>) -> Response {
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

pub(super) async fn event_by_hash(read: SignedRead, Path(hash): Path<String>) -> Response {
    read.json(move |l, who, authority| {
        let h = match hash_param(&hash, "an event") {
            Ok(h) => h,
            Err(p) => return Ok(Err(p)),
        };
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
pub(super) struct Page {
    after: Option<u64>,
    limit: Option<u64>,
}

/// Most events in one page of `GET /v1/events`.
const MAX_PAGE: u64 = 1000;

pub(super) async fn list_events(read: SignedRead, page: Query<Page>) -> Response {
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

pub(super) async fn certificate(read: SignedRead, Path(number): Path<String>) -> Response {
    read.json(move |l, who, authority| {
        Ok(cert_reader(l, who, authority, &number)?.map(|(_, c)| json!(AsStored(&c))))
    })
    .await
}

pub(super) async fn bundle(read: SignedRead, Path(number): Path<String>) -> Response {
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

pub(super) async fn actors(read: SignedRead) -> Response {
    read.json(|l, _, _| Ok(Ok(json!({"actors": l.actors()?.iter().map(AsStored).collect::<Vec<_>>()})))).await
}

/// `GET /v1/stats?period=2026-Q3` (or `?from=DATE&to=DATE`; neither: the whole ledger).
#[derive(serde::Deserialize)]
pub(super) struct StatsQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The KP statistics of a period (what `kpledger stats --json` prints): the authorities'
/// alone, since they add up every actor's trade.
pub(super) async fn stats(read: SignedRead, q: Query<StatsQuery>) -> Response {
    let StatsQuery { period, from, to } = q.0;
    read.json(move |l, who, authority| {
        if !authority {
            return Ok(Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("{who} may not read the statistics: they add up every actor's trade, so only the authorities of this ledger read them"),
            )));
        }
        let bad = |e: String| {
            Problem::new(StatusCode::BAD_REQUEST, "bad-period", format!("{e}; ask for ?period=2026-Q3, or ?from=2026-01-01&to=2026-03-31"))
        };
        let day = |name: &str, v: Option<String>| {
            v.map(|s| kpledger_model::Date::new(s).map_err(|e| bad(format!("{name}: {e}")))).transpose()
        };
        let (from, to) = match (day("from", from), day("to", to)) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(p), _) | (_, Err(p)) => return Ok(Err(p)),
        };
        let events = l.events()?;
        let book = kpledger_report::Book::new(events.iter().map(|(s, e)| (*s, e)));
        let period = match kpledger_report::Period::choose(period.as_deref(), from, to, &book) {
            Ok(p) => p,
            Err(e) => return Ok(Err(bad(e.to_string()))),
        };
        let flags = kpledger_report::red_flags(&book);
        let stats = kpledger_report::Stats::compute(&book, &period, &flags);
        Ok(Ok(serde_json::to_value(&stats).unwrap_or_default()))
    })
    .await
}
