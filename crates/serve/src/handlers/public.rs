//! The public log (checkpoint, tiles), health and metrics.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;
use crate::tiles;

use super::St;
use super::signed::not_found;

pub(super) async fn checkpoint(State(state): St) -> Response {
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

pub(super) async fn tile(State(state): St, Path(path): Path<String>) -> Response {
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
pub(super) async fn healthz(State(state): St) -> Response {
    if state.writer.is_closed() {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "ledger", "the writer has stopped: restart the service")
            .into_response()
    } else {
        "ok\n".into_response()
    }
}

pub(super) async fn metrics(State(state): St) -> Response {
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
