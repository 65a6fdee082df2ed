//! The one path to signatures.
//!
//! A signature is Ed25519 (RFC 8032, pure) over
//! `"kpledger/v1/sig/" || purpose || 0x00 || hash`, where `hash` is a 32-byte digest from
//! [`crate::hash`]. Verification always uses `verify_strict`, which rejects non-canonical
//! signatures and small-order keys (the speccheck policy `XXXVXXXXXXXX`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Hash;
use crate::keys::{PublicKey, SecretKey};

/// What a signature is for. Each purpose is a distinct context string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Signing a ledger event body.
    Event,
    /// Signing a handover offer.
    Offer,
}

impl Purpose {
    /// The ASCII label in the signed message.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Event => "event",
            Purpose::Offer => "offer",
        }
    }
}

/// A 64-byte Ed25519 signature, written as standard base64.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", B64.encode(self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // 64 bytes are 88 base64 characters, written on the stack.
        let mut text = [0u8; 88];
        let n = B64.encode_slice(self.0, &mut text).map_err(serde::ser::Error::custom)?;
        s.serialize_str(std::str::from_utf8(&text[..n]).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::types::with_str(d, |s| {
            // 88 characters decode to at most 66 bytes: on the stack.
            let mut arr = [0u8; 66];
            if s.len() == 88 && B64.decode_slice(s, &mut arr).is_ok_and(|n| n == 64) {
                let mut sig = [0u8; 64];
                sig.copy_from_slice(&arr[..64]);
                return Ok(Signature(sig));
            }
            // Anything else is refused, as said here.
            let bytes = B64.decode(s.as_bytes()).map_err(|e| format!("signature is not base64: {e}"))?;
            let arr: [u8; 64] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| format!("signature is {} bytes instead of 64", bytes.len()))?;
            Ok(Signature(arr))
        })
    }
}

/// The exact bytes that are signed for `purpose` over `hash`.
pub fn message(purpose: Purpose, hash: &Hash) -> Vec<u8> {
    let label = purpose.label().as_bytes();
    let mut m = Vec::with_capacity(16 + label.len() + 1 + 32);
    m.extend_from_slice(b"kpledger/v1/sig/");
    m.extend_from_slice(label);
    m.push(0);
    m.extend_from_slice(&hash.0);
    m
}

/// Signs `hash` for `purpose`.
pub fn sign(key: &SecretKey, purpose: Purpose, hash: &Hash) -> Signature {
    Signature(key.dalek().sign(&message(purpose, hash)).to_bytes())
}

/// Checks a signature with `verify_strict`. `true` only for a valid, canonical signature
/// by a key that is not weak.
pub fn verify(key: &PublicKey, purpose: Purpose, hash: &Hash, sig: &Signature) -> bool {
    verify_raw(key, &message(purpose, hash), &sig.0)
}

/// One signature to check: the key it claims, what it signs, and the signature.
#[derive(Debug, Clone, Copy)]
pub struct SigCheck {
    /// The key that claims the signature.
    pub key: PublicKey,
    /// What it is for.
    pub purpose: Purpose,
    /// The hash it signs.
    pub hash: Hash,
    /// The 64-byte Ed25519 signature over the purpose's message of `hash` (docs/SPEC.md §5.1).
    pub sig: Signature,
}

/// How [`verify_all_in`] checks many signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigMode {
    /// `verify_strict`, one signature at a time.
    #[default]
    Strict,
    /// Ed25519 batch verification (one multiscalar multiplication per batch, about twice as
    /// fast), with `verify_strict`'s criteria enforced around it; see [`verify_all_raw_in`].
    Batch,
}

/// The largest `y` a canonical point encoding may hold is p - 1 = 2^255 - 20: an encoding
/// whose `y` is p or more (19 values) is not canonical. `verify_strict` refuses such an `R`
/// (it compares the encoding it recomputes with the one in the signature).
fn canonical_y(bytes: &[u8; 32]) -> bool {
    !(bytes[0] >= 0xed && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[31] & 0x7f == 0x7f)
}

/// The `y` coordinates (sign bit cleared) of the eight points of small order. A canonical
/// encoding with one of these `y` is a small-order point, which `verify_strict` refuses as
/// `R` or as the key.
fn small_order_ys() -> &'static [[u8; 32]] {
    static YS: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    YS.get_or_init(|| {
        let mut ys: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| {
                let mut y = p.compress().to_bytes();
                y[31] &= 0x7f;
                y
            })
            .collect();
        ys.sort_unstable();
        ys.dedup();
        ys
    })
}

/// What batch verification has learned about keys: whether each has no small-order component
/// (see `batchable`), a scalar multiplication per key. Owned by the verifier, which passes it
/// to every [`verify_all_in`] of one run, from any number of threads: a ledger names a few
/// hundred keys in millions of signatures, so each is checked once per run. At most
/// [`BatchKeys::CAPACITY`] keys are kept; keys beyond them are checked each time they come,
/// nothing kept is ever dropped.
#[derive(Debug, Default)]
pub struct BatchKeys {
    torsion_free: std::sync::RwLock<std::collections::HashMap<[u8; 32], bool>>,
}

impl BatchKeys {
    /// The most keys kept.
    pub const CAPACITY: usize = 1 << 16;

    /// Whether `key` has no small-order component, from what is kept or computed now.
    fn torsion_free(&self, key: &PublicKey) -> bool {
        let bytes = key.to_bytes();
        // A poisoned lock only means another thread panicked mid-insert of a plain bool.
        if let Some(&known) = self.torsion_free.read().unwrap_or_else(|e| e.into_inner()).get(&bytes) {
            return known;
        }
        let free = key.dalek().to_edwards().is_torsion_free();
        let mut kept = self.torsion_free.write().unwrap_or_else(|e| e.into_inner());
        if kept.len() < Self::CAPACITY {
            kept.insert(bytes, free);
        }
        free
    }
}

/// True when batch verification gives exactly `verify_strict`'s answer for this signature
/// as far as it can be known without verifying it: the key has no small-order component
/// (`torsion_free`, checked once per key: honest keys never have one), `s` is reduced, and
/// `R` is canonically encoded and not of small order. Anything else is checked alone with
/// `verify_strict`.
fn batchable(torsion_free: bool, sig: &[u8; 64]) -> bool {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&sig[..32]);
    s.copy_from_slice(&sig[32..]);
    let mut y = r;
    y[31] &= 0x7f;
    torsion_free
        && canonical_y(&r)
        && small_order_ys().binary_search(&y).is_err()
        && bool::from(curve25519_dalek::Scalar::from_canonical_bytes(s).is_some())
}

/// As [`verify_all_in`], for a call on its own (nothing learnt about keys is kept).
pub fn verify_all(checks: &[SigCheck], mode: SigMode) -> Vec<bool> {
    verify_all_in(checks, mode, &BatchKeys::default())
}

/// Checks every signature; `out[i]` is the verdict on `checks[i]`, exactly as [`verify`]
/// gives it (but see [`verify_all_raw_in`] on batches). What a batch learns about keys is kept
/// in `keys`, for the next call of the same run.
pub fn verify_all_in(checks: &[SigCheck], mode: SigMode, keys: &BatchKeys) -> Vec<bool> {
    let messages: Vec<Vec<u8>> = checks.iter().map(|c| message(c.purpose, &c.hash)).collect();
    let raw: Vec<RawSigCheck<'_>> = checks
        .iter()
        .zip(&messages)
        .map(|(c, m)| RawSigCheck { key: &c.key, msg: m, sig: &c.sig.0 })
        .collect();
    verify_all_raw_in(&raw, mode, keys)
}

/// A signature over raw message bytes, for [`verify_all_raw_in`].
#[derive(Debug, Clone, Copy)]
pub struct RawSigCheck<'a> {
    /// The key that claims the signature.
    pub key: &'a PublicKey,
    /// The signed bytes.
    pub msg: &'a [u8],
    /// The 64-byte Ed25519 signature of `msg`.
    pub sig: &'a [u8; 64],
}

/// As [`verify_all_raw_in`], for a call on its own (nothing learnt about keys is kept).
pub fn verify_all_raw(checks: &[RawSigCheck<'_>], mode: SigMode) -> Vec<bool> {
    verify_all_raw_in(checks, mode, &BatchKeys::default())
}

/// Checks every signature over raw bytes; `out[i]` is the verdict on `checks[i]`. Only for
/// [`verify_all_in`] and for external formats that fix their own message layout, as
/// [`verify_raw`].
///
/// With [`SigMode::Strict`], each is [`verify_raw`] (`verify_strict`). With
/// [`SigMode::Batch`], the signatures that pass the up-front checks of `batchable` (key
/// without a small-order component, reduced `s`, canonical `R` not of small order) are
/// verified together; if the batch fails, each of them is verified alone, so the one that is
/// bad is named. The others are verified alone from the start.
///
/// What batching cannot match exactly: batch verification checks the signature equation up
/// to a small-order component of `R`. A signature whose `R` carries one fails
/// `verify_strict`, but passes a batch with probability about 1/8. Only the key's holder can
/// make such a signature (it needs the secret key), and every ingest uses `verify_strict`,
/// so no such signature enters a ledger through kpledger. `Strict` is the default.
///
/// What a batch learns about keys is kept in `keys`, which the caller owns (one per run).
pub fn verify_all_raw_in(checks: &[RawSigCheck<'_>], mode: SigMode, keys: &BatchKeys) -> Vec<bool> {
    let single = |c: &RawSigCheck<'_>| verify_raw(c.key, c.msg, c.sig);
    match mode {
        SigMode::Strict => checks.iter().map(single).collect(),
        SigMode::Batch => {
            let mut out = vec![false; checks.len()];
            let mut batch = Vec::with_capacity(checks.len());
            for (i, c) in checks.iter().enumerate() {
                if batchable(keys.torsion_free(c.key), c.sig) {
                    batch.push(i);
                } else {
                    out[i] = single(c);
                }
            }
            if batch.is_empty() {
                return out;
            }
            let msgs: Vec<&[u8]> = batch.iter().map(|&i| checks[i].msg).collect();
            let sigs: Vec<ed25519_dalek::Signature> =
                batch.iter().map(|&i| ed25519_dalek::Signature::from_bytes(checks[i].sig)).collect();
            let keys: Vec<ed25519_dalek::VerifyingKey> =
                batch.iter().map(|&i| *checks[i].key.dalek()).collect();
            let all_good = ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok();
            for &i in &batch {
                out[i] = all_good || single(&checks[i]);
            }
            out
        }
    }
}

/// `verify_strict` over raw message bytes. Only for external formats that fix their own
/// message layout (RFC 8032 vectors, C2SP signed notes); kpledger documents use [`verify`].
pub fn verify_raw(key: &PublicKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    key.dalek().verify_strict(msg, &sig).is_ok()
}

/// Signs raw message bytes. Only for external formats, as [`verify_raw`].
pub fn sign_raw(key: &SecretKey, msg: &[u8]) -> [u8; 64] {
    key.dalek().sign(msg).to_bytes()
}

/// The 32-byte RFC 8032 seed ("secret key") of `key`, zeroed when dropped. Only for
/// external key encodings that carry the bare seed: golang.org/x/mod's
/// `PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)` signer keys in [`crate::note`].
/// Crate-private, so the seed never leaves this crate except through such an encoding.
pub(crate) fn secret_seed(key: &SecretKey) -> zeroize::Zeroizing<[u8; 32]> {
    zeroize::Zeroizing::new(key.dalek().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Domain, digest};

    #[test]
    fn sign_verify_and_purpose_separation() {
        let sk = SecretKey::from_seed(&[1; 32]);
        let h = digest(Domain::Event, b"{}");
        let s = sign(&sk, Purpose::Event, &h);
        assert!(verify(&sk.public(), Purpose::Event, &h, &s));
        assert!(!verify(&sk.public(), Purpose::Offer, &h, &s));
        let other = digest(Domain::Event, b"[]");
        assert!(!verify(&sk.public(), Purpose::Event, &other, &s));
        let mut bad = s;
        bad.0[0] ^= 1;
        assert!(!verify(&sk.public(), Purpose::Event, &h, &bad));
    }

    #[test]
    fn batch_keys_are_learnt_once_per_run_and_shared_by_calls() {
        let sk = SecretKey::from_seed(&[2; 32]);
        let h = digest(Domain::Event, b"{}");
        let good = SigCheck {
            key: sk.public(),
            purpose: Purpose::Event,
            hash: h,
            sig: sign(&sk, Purpose::Event, &h),
        };
        let mut bad = good;
        bad.sig.0[0] ^= 1;
        let keys = BatchKeys::default();
        for _ in 0..2 {
            assert_eq!(verify_all_in(&[good, bad, good], SigMode::Batch, &keys), [true, false, true]);
        }
        let kept = keys.torsion_free.read().unwrap();
        assert_eq!((kept.len(), kept.get(&sk.public().to_bytes())), (1, Some(&true)));
    }
}
