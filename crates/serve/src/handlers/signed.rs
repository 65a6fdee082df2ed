//! Signed reads (RFC 9421): who signed a request, and what that reader may see.

use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kpledger_core::{Ledger, StoreError};
use kpledger_model::{ActorId, Hash, ParcelId, ParsedEvent, Payload};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{self, AuthError};
use crate::problem::Problem;

use super::{json_response, now};

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
    state.nonces.lock().map_err(|_| AuthError::Replayed)?.insert(
        &req.keyid,
        &req.nonce,
        req.created,
        now,
        window,
        1_000_000,
    )?;
    Ok((req.keyid, key))
}

pub(super) fn forbidden(who: &str, what: &str) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "{who} may not read {what}: an actor reads the parcels it holds or held and the certificates it exported or imported; authorities of this ledger read everything"
        ),
    )
}

pub(super) fn not_found(what: String) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", what)
}

/// Whether `who` holds or held the parcel, or signed or received one of its events.
pub(super) fn involved_in_parcel(
    ledger: &Ledger,
    who: &ActorId,
    parcel: &ParcelId,
) -> Result<bool, StoreError> {
    if ledger.parcel(parcel)?.is_some_and(|p| &p.holder == who) {
        return Ok(true);
    }
    Ok(ledger.parcel_events(parcel)?.iter().any(|(_, ev)| involved_in_event(who, ev)))
}

pub(super) fn involved_in_event(who: &ActorId, ev: &ParsedEvent) -> bool {
    let body = &ev.event.body;
    &body.signer == who
        || matches!(&body.payload, Payload::Handover { offer, .. } if &offer.body.to == who || &offer.body.signer == who)
}

/// A hash in a path: 64 hexadecimal digits (either case), or the 400 naming `what` it is
/// the hash of.
pub(super) fn hash_param(hex: &str, what: &str) -> Result<Hash, Problem> {
    let bad =
        || Problem::new(StatusCode::BAD_REQUEST, "bad-hash", format!("{what} hash is 64 hexadecimal digits"));
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> =
        (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()).map(Hash).ok_or_else(bad)
}

pub(super) fn event_json(seq: u64, ev: &ParsedEvent) -> Value {
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
    // The actor's request rate (429 beyond it), taken only once its signature verified.
    let (who, key) = verified_signer(state, method, uri, headers).await?;
    state.limit_key(&who)?;
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
pub(super) struct SignedRead {
    pub(super) state: Arc<AppState>,
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
pub(super) trait ReadFn<T>:
    FnOnce(&Ledger, &ActorId, bool) -> Result<Result<T, Problem>, StoreError> + Send + 'static
{
}
impl<T, F> ReadFn<T> for F where
    F: FnOnce(&Ledger, &ActorId, bool) -> Result<Result<T, Problem>, StoreError> + Send + 'static
{
}

impl SignedRead {
    /// Authenticates the request, then runs `f` on a read connection ([`authed_read`]).
    pub(super) async fn run<T: Send + 'static>(&self, f: impl ReadFn<T>) -> Result<T, Problem> {
        authed_read(&self.state, &self.method, &self.uri, &self.headers, f).await
    }

    /// The same, answered as JSON (200) or with its problem.
    pub(super) async fn json(&self, f: impl ReadFn<Value>) -> Response {
        ok_json(self.run(f).await)
    }

    /// A read about the parcel `id`, once [`readable_parcel`] found it and let the reader see it.
    pub(super) async fn parcel(
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
