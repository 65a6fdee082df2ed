//! The routes: `mod.rs` builds the router; one module per job.

mod events;
mod offers;
mod public;
mod reads;
mod signed;

use events::submit;
use offers::{list_offers, offer_by_hash, post_offer};
use public::{checkpoint, healthz, metrics, tile};
use reads::{
    actors, bundle, certificate, event_by_hash, list_events, parcel, parcel_card, parcel_history, stats,
};

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::problem::Problem;
use crate::{AppState, Peer};

type St = State<Arc<AppState>>;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let timeout = state.cfg.request_timeout;
    Router::new()
        .merge(trade())
        .merge(log())
        .merge(operations())
        .fallback(|| async {
            Problem::new(StatusCode::NOT_FOUND, "no-route", "no such route; see /openapi.json")
        })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), limit_ip))
        .with_state(state)
}

/// The trade's API (`/v1/…`): reads signed by an enrolled actor (RFC 9421), signed events and
/// handover offers posted.
fn trade() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/events", get(list_events).post(submit))
        .route("/v1/events/{hash}", get(event_by_hash))
        .route("/v1/parcels/{id}", get(parcel))
        .route("/v1/parcels/{id}/history", get(parcel_history))
        .route("/v1/parcels/{id}/card", get(parcel_card))
        .route("/v1/certificates/{number}", get(certificate))
        .route("/v1/certificates/{number}/bundle", get(bundle))
        .route("/v1/actors", get(actors))
        .route("/v1/stats", get(stats))
        .route("/v1/offers", get(list_offers).post(post_offer))
        .route("/v1/offers/{hash}", get(offer_by_hash))
}

/// The log, public (C2SP tlog-tiles): the latest checkpoint and the tiles.
fn log() -> Router<Arc<AppState>> {
    Router::new().route("/checkpoint", get(checkpoint)).route("/tile/{*path}", get(tile))
}

/// For the operators, public: health, metrics and the API's description.
fn operations() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

/// `GET /openapi.json`: schemas/openapi.json as built in.
async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI)
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

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}
