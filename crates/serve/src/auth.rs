//! Reads are authenticated with RFC 9421 HTTP Message Signatures: the subset kpledger
//! accepts, written here (ARCHITECTURE.md says why), and nothing more.
//!
//! A request carries one signature, labelled `sig1`:
//!
//! ```text
//! Signature-Input: sig1=("@method" "@target-uri");created=1773216000;keyid="sl.nma";nonce="5f1c…";alg="ed25519"
//! Signature: sig1=:<base64 of the 64-byte Ed25519 signature>:
//! ```
//!
//! The covered components are exactly `"@method" "@target-uri"`, or those two and
//! `"content-digest"` for a request with a body; the parameters are exactly `created`,
//! `keyid` (an actor id enrolled in the ledger), `nonce` (1–64 characters of `A-Za-z0-9-_`)
//! and `alg="ed25519"`, in that order, and `Signature-Input` must be byte for byte that
//! serialisation (RFC 8941, one space between items, none elsewhere). The signature base is
//! RFC 9421 §2.5's:
//!
//! ```text
//! "@method": GET
//! "@target-uri": http://host:port/v1/parcels/…
//! "@signature-params": ("@method" "@target-uri");created=…;keyid="…";nonce="…";alg="ed25519"
//! ```
//!
//! (lines joined by `\n`, no newline at the end), signed with Ed25519 (RFC 8032) by the
//! actor's current key, verified with `verify_strict`.

use base64::Engine as _;
use kpledger_model::sign::{sign_raw, verify_raw};
use kpledger_model::{PublicKey, SecretKey};

/// A parsed `Signature-Input` / `Signature` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The covered components, in order.
    pub components: Vec<String>,
    /// `created`, Unix seconds.
    pub created: i64,
    /// The actor id.
    pub keyid: String,
    /// The `nonce` parameter: the service refuses a second request with it inside the window.
    pub nonce: String,
    /// The 64-byte Ed25519 signature of the signature base (RFC 9421 §2.5).
    pub signature: [u8; 64],
}

/// Why a request's signature was not accepted (each one a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No signature headers.
    #[error(
        "this read needs an RFC 9421 HTTP message signature by an enrolled actor (Signature-Input and \
         Signature headers; docs/SPEC.md, HTTP API)"
    )]
    Missing,
    /// The headers are not in the accepted form.
    #[error("the request's signature headers are malformed: {0}")]
    Malformed(String),
    /// `created` is outside the replay window.
    #[error(
        "the request was signed at {created}, outside the {window} s window around the server's clock \
         ({now}); sign it again now (check the clock)"
    )]
    Stale {
        /// `created`.
        created: i64,
        /// The server's time.
        now: i64,
        /// How far, in seconds, `created` may be from the server's time either way.
        window: u64,
    },
    /// A nonce seen before inside the window.
    #[error("this signed request was already received (its nonce was used); sign each request anew")]
    Replayed,
    /// Signed before this service started: its nonce may have been used with a previous run,
    /// whose memory of nonces is gone.
    #[error(
        "the request was signed at {created}, before this service started ({started}), so it cannot be told \
         from a replay; sign it again now"
    )]
    BeforeStart {
        /// `created`.
        created: i64,
        /// When the service started, Unix seconds.
        started: i64,
    },
    /// The key id is not an enrolled, unrevoked actor.
    #[error("{0} is not an enrolled, unrevoked actor of this ledger")]
    UnknownActor(String),
    /// The signature does not verify.
    #[error("the request's signature does not verify with {0}'s current key")]
    BadSignature(String),
}

/// The `Signature-Input` value for these parameters (the accepted serialisation).
pub fn signature_params(components: &[String], created: i64, keyid: &str, nonce: &str) -> String {
    let items: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    format!("({});created={created};keyid=\"{keyid}\";nonce=\"{nonce}\";alg=\"ed25519\"", items.join(" "))
}

/// The signature base (RFC 9421 §2.5) over the given component values.
pub fn signature_base(values: &[(String, String)], params: &str) -> String {
    let mut out = String::new();
    for (name, value) in values {
        out.push_str(&format!("\"{name}\": {value}\n"));
    }
    out.push_str(&format!("\"@signature-params\": {params}"));
    out
}

/// Signs a request without body: the two headers' values (`Signature-Input`, `Signature`).
pub fn sign_request(
    method: &str,
    target_uri: &str,
    keyid: &str,
    key: &SecretKey,
    created: i64,
    nonce: &str,
) -> (String, String) {
    let components = vec!["@method".to_owned(), "@target-uri".to_owned()];
    let params = signature_params(&components, created, keyid, nonce);
    let base = signature_base(
        &[("@method".into(), method.to_owned()), ("@target-uri".into(), target_uri.to_owned())],
        &params,
    );
    let sig = sign_raw(key, base.as_bytes());
    (format!("sig1={params}"), format!("sig1=:{}:", base64::engine::general_purpose::STANDARD.encode(sig)))
}

fn nonce_ok(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn keyid_ok(k: &str) -> bool {
    (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// Parses the two headers. Only the accepted form is read (see the module documentation).
pub fn parse(input: &str, signature: &str) -> Result<SignedRequest, AuthError> {
    let bad = |m: &str| AuthError::Malformed(m.to_owned());
    let params = input
        .strip_prefix("sig1=")
        .ok_or_else(|| bad("Signature-Input must hold one signature labelled sig1"))?;
    let (list, rest) = params
        .strip_prefix('(')
        .and_then(|p| p.split_once(')'))
        .ok_or_else(|| bad("Signature-Input must start with the covered components in parentheses"))?;
    let components: Vec<String> = list
        .split(' ')
        .map(|c| c.strip_prefix('"').and_then(|c| c.strip_suffix('"')).map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("each covered component is a quoted string"))?;
    let two = components == ["@method", "@target-uri"];
    let three = components == ["@method", "@target-uri", "content-digest"];
    if !two && !three {
        return Err(bad(
            "the covered components must be (\"@method\" \"@target-uri\"), with \"content-digest\" for a body",
        ));
    }
    let mut created = None;
    let mut keyid = None;
    let mut nonce = None;
    let mut alg = None;
    for p in rest.split(';').skip(1) {
        let (k, v) = p.split_once('=').ok_or_else(|| bad("a parameter without a value"))?;
        let quoted = || v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).map(str::to_owned);
        match k {
            "created" if created.is_none() => {
                created = Some(
                    v.parse::<i64>()
                        .ok()
                        .filter(|c| *c >= 0 && !v.starts_with('+'))
                        .ok_or_else(|| bad("created is not a time"))?,
                )
            }
            "keyid" if keyid.is_none() => keyid = quoted(),
            "nonce" if nonce.is_none() => nonce = quoted(),
            "alg" if alg.is_none() => alg = quoted(),
            _ => return Err(bad("parameters are created, keyid, nonce and alg, once each")),
        }
    }
    let created = created.ok_or_else(|| bad("created is missing"))?;
    let keyid =
        keyid.filter(|k| keyid_ok(k)).ok_or_else(|| bad("keyid (an actor id) is missing or malformed"))?;
    let nonce =
        nonce.filter(|n| nonce_ok(n)).ok_or_else(|| bad("nonce is missing or not 1-64 of A-Za-z0-9-_"))?;
    if alg.as_deref() != Some("ed25519") {
        return Err(bad("alg must be \"ed25519\""));
    }
    // One serialisation only: the signature base repeats it, so it must be the one signed.
    if params != signature_params(&components, created, &keyid, &nonce) {
        return Err(bad("Signature-Input is not in the canonical serialisation (docs/SPEC.md, HTTP API)"));
    }
    let b64 = signature
        .strip_prefix("sig1=:")
        .and_then(|s| s.strip_suffix(':'))
        .ok_or_else(|| bad("Signature must be sig1=:<base64>:"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad("the signature is not base64"))?;
    let signature: [u8; 64] = bytes.try_into().map_err(|_| bad("an Ed25519 signature is 64 bytes"))?;
    Ok(SignedRequest { components, created, keyid, nonce, signature })
}

/// Verifies the parsed signature over the request's method, target URI and, when covered,
/// its `Content-Digest` header value.
pub fn verify(
    req: &SignedRequest,
    method: &str,
    target_uri: &str,
    content_digest: Option<&str>,
    key: &PublicKey,
) -> Result<(), AuthError> {
    let mut values =
        vec![("@method".to_owned(), method.to_owned()), ("@target-uri".to_owned(), target_uri.to_owned())];
    if req.components.len() == 3 {
        let d = content_digest.ok_or_else(|| {
            AuthError::Malformed("content-digest is covered but the header is absent".into())
        })?;
        values.push(("content-digest".to_owned(), d.to_owned()));
    }
    let params = signature_params(&req.components, req.created, &req.keyid, &req.nonce);
    let base = signature_base(&values, &params);
    if verify_raw(key, base.as_bytes(), &req.signature) {
        Ok(())
    } else {
        Err(AuthError::BadSignature(req.keyid.clone()))
    }
}

/// Nonces seen inside the replay window, each kept until its request's `created` leaves the
/// window.
///
/// The memory is this process's: it starts empty at `started`, so a request signed before
/// then (which a previous run of the service may have answered) is refused rather than
/// judged fresh. Without that bound, a request captured shortly before a restart could be
/// replayed once after it, inside the window.
#[derive(Debug)]
pub struct Nonces {
    seen: std::collections::HashMap<(String, String), i64>,
    started: i64,
}

impl Nonces {
    /// An empty memory, for a service started at `started` (Unix seconds).
    pub fn new(started: i64) -> Nonces {
        Nonces { seen: std::collections::HashMap::new(), started }
    }

    /// Records `(keyid, nonce)` signed at `created`: refused if it was seen already, or was
    /// signed before this memory began. Entries older than the window are forgotten first. At
    /// most `cap` are kept: when full, the request is refused as a replay would be (the client
    /// signs anew a moment later).
    pub fn insert(
        &mut self,
        keyid: &str,
        nonce: &str,
        created: i64,
        now: i64,
        window: u64,
        cap: usize,
    ) -> Result<(), AuthError> {
        // The second the service started in is accepted: a request signed in it before the
        // start is the one case this cannot tell apart (a clock with whole seconds).
        if created < self.started {
            return Err(AuthError::BeforeStart { created, started: self.started });
        }
        let window = window as i64;
        if self.seen.len() >= cap {
            self.seen.retain(|_, c| *c + window >= now);
        }
        if self.seen.len() >= cap {
            return Err(AuthError::Replayed);
        }
        match self.seen.insert((keyid.to_owned(), nonce.to_owned()), created) {
            None => Ok(()),
            Some(_) => Err(AuthError::Replayed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_request_round_trips_and_a_changed_uri_fails() {
        let key = SecretKey::from_seed(&[7u8; 32]);
        let (input, sig) = sign_request("GET", "http://x/v1/actors", "sl.nma", &key, 1_773_216_000, "n1");
        let req = parse(&input, &sig).expect("parses");
        assert_eq!(req.keyid, "sl.nma");
        assert!(verify(&req, "GET", "http://x/v1/actors", None, &key.public()).is_ok());
        assert!(verify(&req, "GET", "http://x/v1/actors?a", None, &key.public()).is_err());
        assert!(verify(&req, "POST", "http://x/v1/actors", None, &key.public()).is_err());
    }

    #[test]
    fn other_serialisations_are_refused() {
        let key = SecretKey::from_seed(&[7u8; 32]);
        let (input, sig) = sign_request("GET", "http://x/", "a", &key, 5, "n");
        for bad in [
            input.replace("sig1=", "sig2="),
            input.replace("(\"@method\" \"@target-uri\")", "(\"@target-uri\")"),
            input.replace(";alg=\"ed25519\"", ""),
            input.replace(";alg=\"ed25519\"", ";alg=\"rsa-pss-sha512\""),
            input.replace(";nonce=\"n\"", ""),
            input.replace(";created=5", ";created=5;created=6"),
            input.replace(";created=5", "; created=5"),
            input.replace("keyid=\"a\"", "keyid=\"a\\\"b\""),
        ] {
            assert!(parse(&bad, &sig).is_err(), "{bad}");
        }
        assert!(parse(&input, "sig1=:AAAA:").is_err());
    }

    #[test]
    fn a_nonce_is_accepted_once() {
        let mut n = Nonces::new(50);
        assert!(n.insert("a", "x", 100, 100, 300, 10).is_ok());
        assert!(matches!(n.insert("a", "x", 100, 101, 300, 10), Err(AuthError::Replayed)));
        assert!(n.insert("b", "x", 100, 101, 300, 10).is_ok());
    }

    #[test]
    fn a_request_signed_before_the_service_started_is_refused_whatever_its_nonce() {
        // A restart forgets the nonces; a request captured before it must not pass as new.
        let mut n = Nonces::new(1_000);
        assert!(matches!(
            n.insert("a", "fresh-nonce", 999, 1_001, 300, 10),
            Err(AuthError::BeforeStart { created: 999, started: 1_000 })
        ));
        assert!(n.insert("a", "fresh-nonce", 1_000, 1_001, 300, 10).is_ok());
    }

    #[test]
    fn a_full_memory_refuses_until_old_entries_leave_the_window() {
        let mut n = Nonces::new(0);
        assert!(n.insert("a", "1", 100, 100, 10, 2).is_ok());
        assert!(n.insert("a", "2", 100, 100, 10, 2).is_ok());
        assert!(matches!(n.insert("a", "3", 105, 105, 10, 2), Err(AuthError::Replayed)));
        assert!(n.insert("a", "3", 120, 120, 10, 2).is_ok());
    }
}
