//! RFC 9457 problem details (`application/problem+json`), carrying kpledger's findings.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kpledger_verify::Finding;
use serde_json::json;

/// A problem response.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    /// A short, stable name (the `type` is `urn:kpledger:problem:<kind>`).
    pub(crate) kind: &'static str,
    pub(crate) detail: String,
    pub(crate) findings: Vec<Finding>,
    /// The 0-based index, in the submission, of the event at fault.
    pub(crate) event_index: Option<usize>,
    pub(crate) retry_after: Option<u32>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            kind,
            detail: detail.into(),
            findings: Vec::new(),
            event_index: None,
            retry_after: None,
        }
    }

    /// 429: a client or an actor over its request rate (`rate`, when it is set), with the
    /// whole seconds until its next request is taken.
    pub(crate) fn rate_limited(who: String, rate: Option<crate::Rate>, secs: u64) -> Problem {
        let limit = rate.map_or_else(String::new, |r| {
            format!(" ({} requests a second, bursts of {})", r.per_second, r.burst)
        });
        Problem {
            retry_after: Some(u32::try_from(secs).unwrap_or(u32::MAX)),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("{who}{limit}; retry after {secs} s (nothing was done for this request)"),
            )
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("urn:kpledger:problem:{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.findings.is_empty() {
            body["findings"] = json!(self.findings);
        }
        if let Some(i) = self.event_index {
            body["event_index"] = json!(i);
        }
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(s) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

impl From<kpledger_core::StoreError> for Problem {
    fn from(e: kpledger_core::StoreError) -> Problem {
        match e {
            kpledger_core::StoreError::Storage(kpledger_core::StorageError::Locked(_)) => Problem {
                retry_after: Some(1),
                ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            },
            e => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "ledger", e.to_string()),
        }
    }
}
