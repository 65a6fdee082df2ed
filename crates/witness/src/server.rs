//! The witness's HTTP service (C2SP tlog-witness), on axum:
//!
//! - `POST <prefix>/add-checkpoint`: [`Witness::add_checkpoint`];
//! - `GET <prefix>/<hex SHA-256 of the origin>/checkpoint`: the last checkpoint this witness
//!   cosigned for that log, with the log's signatures and this witness's cosignature (404
//!   for a log it has not cosigned).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kpledger_model::hash::sha256;
use kpledger_model::note::Cosigner;

use crate::decide::{Decision, LogKeys, decide};
use crate::request::MAX_BODY_BYTES;
use crate::state::StateFile;

/// The content type of a 409 response's body (tlog-witness).
pub(crate) const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An answer to a request: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body: the cosignature lines, a tree size (409), or a sentence saying what is wrong.
    pub body: String,
}

impl Answer {
    fn text(status: u16, body: impl Into<String>) -> Answer {
        let mut body = body.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Answer { status, content_type: "text/plain; charset=utf-8", body }
    }
}

/// What the witness tells its operator (the binary prints it; the library never does).
pub(crate) type Report = Box<dyn Fn(&str) + Send + Sync>;

/// A witness: its cosigning key, the logs it witnesses and its state, behind one lock.
pub struct Witness {
    cosigner: Cosigner,
    logs: LogKeys,
    state: Mutex<StateFile>,
    report: Report,
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
    pause: Option<Duration>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("cosigner", &self.cosigner).finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness cosigning as `cosigner` the logs of `logs`, its state in `state`; `report`
    /// receives one line per decision; `clock` gives the cosignature time (POSIX seconds).
    pub fn new(
        cosigner: Cosigner,
        logs: LogKeys,
        state: StateFile,
        report: Report,
        clock: Box<dyn Fn() -> u64 + Send + Sync>,
    ) -> Witness {
        Witness { cosigner, logs, state: Mutex::new(state), report, clock, pause: None }
    }

    /// Waits `pause` after deciding to cosign and before recording it (holding the lock): a
    /// testing aid that widens the window in which a crash test kills the process.
    pub fn with_pause(mut self, pause: Option<Duration>) -> Witness {
        self.pause = pause;
        self
    }

    /// Handles an add-checkpoint request body. The check, the durable write of the new state
    /// and the cosignature happen under one lock, so two requests cannot interleave; the new
    /// state is on disk before the cosignature is returned. A refused fork or inconsistent
    /// extension is kept on disk (both signed checkpoints) before the refusal is returned.
    pub fn add_checkpoint(&self, body: &[u8]) -> Answer {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        match decide(state.logs(), &self.logs, body) {
            Decision::Refuse(r) => {
                let mut message = r.message.clone();
                if let Some(ev) = &r.evidence {
                    match state.keep_evidence(ev, (self.clock)()) {
                        Ok(path) => {
                            (self.report)(&format!(
                                "REFUSED {} ({}): {}; evidence kept in {}",
                                ev.origin,
                                r.status,
                                r.message,
                                path.display()
                            ));
                            message.push_str("; this witness kept both signed checkpoints as evidence");
                        }
                        Err(e) => {
                            (self.report)(&format!(
                                "REFUSED {} ({}): {}; evidence NOT kept: {e}",
                                ev.origin, r.status, r.message
                            ));
                        }
                    }
                } else {
                    (self.report)(&format!("refused ({}): {}", r.status, r.message));
                }
                match r.current_size {
                    Some(size) => Answer {
                        status: r.status,
                        content_type: SIZE_CONTENT_TYPE,
                        body: format!("{size}\n"),
                    },
                    None => Answer::text(r.status, message),
                }
            }
            Decision::Cosign { origin, checkpoint, mut record } => {
                let now = (self.clock)();
                let sig = match self.cosigner.cosign(&checkpoint, now) {
                    Ok(s) => s,
                    Err(e) => return Answer::text(500, format!("cannot cosign: {e}")),
                };
                record.cosignatures = sig.to_line();
                if let Some(p) = self.pause {
                    std::thread::sleep(p);
                }
                if let Err(e) = state.commit(&origin, record) {
                    (self.report)(&format!("cannot record the state, nothing cosigned: {e}"));
                    return Answer::text(500, "the witness could not record its state; nothing was cosigned");
                }
                (self.report)(&format!("cosigned {origin} at size {}", checkpoint.size()));
                Answer { status: 200, content_type: "text/plain; charset=utf-8", body: sig.to_line() }
            }
        }
    }

    /// The last checkpoint cosigned for the log whose origin hashes (SHA-256, lowercase hex)
    /// to `origin_hash`: the log's note with this witness's cosignature.
    pub fn checkpoint(&self, origin_hash: &str) -> Answer {
        let state = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let found = state.logs().iter().find(|(o, _)| hex::encode(sha256(&[o.as_bytes()])) == origin_hash);
        match found {
            Some((_, r)) => Answer {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: format!("{}{}", r.note, r.cosignatures),
            },
            None => Answer::text(404, "this witness has cosigned no checkpoint of that log"),
        }
    }
}

fn respond(a: Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, a.content_type)], a.body).into_response()
}

/// The routes under `prefix` (empty, or starting with `/` and not ending with one).
pub fn router(witness: Arc<Witness>, prefix: &str) -> Router {
    let add = |State(w): State<Arc<Witness>>, body: Bytes| async move {
        let w2 = Arc::clone(&w);
        match tokio::task::spawn_blocking(move || w2.add_checkpoint(&body)).await {
            Ok(a) => respond(a),
            Err(_) => respond(Answer::text(500, "the witness failed while handling the request")),
        }
    };
    let get_cp =
        |State(w): State<Arc<Witness>>, Path(h): Path<String>| async move { respond(w.checkpoint(&h)) };
    let inner = Router::new()
        .route("/add-checkpoint", post(add))
        .route("/{origin}/checkpoint", get(get_cp))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(witness);
    if prefix.is_empty() { inner } else { Router::new().nest(prefix, inner) }
}

/// Serves `witness` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: Arc<Witness>,
    prefix: &str,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness, prefix)).await
}
