//! Ed25519 keys and key files.
//!
//! Private keys are PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the same files that
//! `openssl genpkey -algorithm ed25519` writes and reads. Public keys are SubjectPublicKeyInfo
//! PEM (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes) and, inside signed
//! documents, the 32 raw bytes in standard base64.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What went wrong with a key or key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("cannot {action} key file {path}")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The key file's path, as it was given.
        path: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A private key was given where a public key is expected.
    #[error(
        "{0} holds a PRIVATE key where a public key is expected: pass the public key \
         (the .pub file, or `openssl pkey -in KEY -pubout`) and keep the private key to its owner"
    )]
    PrivateWherePublic(String),
    /// A public key was given where a private key is expected.
    #[error("{0} holds a PUBLIC key, but signing needs the private key (PKCS#8 PEM)")]
    PublicWherePrivate(String),
    /// The file is PEM or base64, but not an Ed25519 key of the expected kind.
    #[error(
        "{path} is not an Ed25519 {kind} key: {reason}. kpledger reads PKCS#8 PEM private keys \
         (`kpledger key new` or `openssl genpkey -algorithm ed25519`) and PEM public keys"
    )]
    Invalid {
        /// The file (or `<inline>`).
        path: String,
        /// "private" or "public".
        kind: &'static str,
        /// The decoder's reason.
        reason: String,
    },
    /// The key is one of the small-order points that make signatures meaningless.
    #[error("the public key {0} is a weak (small-order) Ed25519 key and cannot be trusted")]
    Weak(String),
    /// The operating system's random number generator failed.
    #[error("cannot make a key: the system random number generator failed: {0}")]
    Random(String),
}

/// Public keys already decoded and checked, for reading many events
/// ([`crate::Event::parse_in`]).
///
/// Decoding a point costs a square root and an inversion, and a ledger names the same few
/// hundred keys in millions of events. Whoever reads many events owns one for the run (the
/// verifier, a store while it ingests) and passes it in with each read; its clones share the
/// keys, so all the threads of a run can use one. Only keys that passed every check are kept,
/// at most [`KeyCache::CAPACITY`] of them: a key beyond them is decoded each time it comes,
/// and nothing kept is ever dropped. A read without one decodes every key it meets.
#[derive(Debug, Clone, Default)]
pub struct KeyCache(std::sync::Arc<std::sync::RwLock<std::collections::HashMap<[u8; 32], PublicKey>>>);

impl KeyCache {
    /// The most keys kept (about 230 bytes each).
    pub const CAPACITY: usize = 1 << 14;

    /// Runs `f` with every key read on this thread meanwhile (by [`PublicKey::from_bytes`],
    /// and so by every event read) looked up in this cache first. Serde gives a key's reader no
    /// way to be handed the cache, so it is bound to the thread for the length of `f` (and the
    /// binding in force before is restored afterwards, even if `f` panics).
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<KeyCache>);
        impl Drop for Restore {
            fn drop(&mut self) {
                IN_USE.set(self.0.take());
            }
        }
        let _restore = Restore(IN_USE.replace(Some(self.clone())));
        f()
    }

    fn get(&self, bytes: &[u8; 32]) -> Option<PublicKey> {
        // A poisoned lock only means another thread panicked mid-insert of a checked key.
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(bytes).copied()
    }

    fn keep(&self, bytes: [u8; 32], key: PublicKey) {
        let mut kept = self.0.write().unwrap_or_else(|e| e.into_inner());
        if kept.len() < Self::CAPACITY {
            kept.insert(bytes, key);
        }
    }
}

thread_local! {
    /// The cache of the [`KeyCache::scope`] this thread is in, if any.
    static IN_USE: std::cell::RefCell<Option<KeyCache>> = const { std::cell::RefCell::new(None) };
}

/// An Ed25519 public key, validated not to be weak.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// From the 32 raw bytes; refuses invalid encodings and weak keys. Inside a
    /// [`KeyCache::scope`], a key the cache holds is taken from it, and a new one that passes
    /// is kept in it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Invalid {
            path: "<inline>".into(),
            kind: "public",
            reason: format!("{} bytes instead of 32", bytes.len()),
        })?;
        match IN_USE.with_borrow(|c| c.as_ref().map(|c| c.get(&arr))) {
            Some(Some(key)) => Ok(key),
            Some(None) => {
                let key = Self::decode(arr)?;
                IN_USE.with_borrow(|c| c.as_ref().map(|c| c.keep(arr, key)));
                Ok(key)
            }
            None => Self::decode(arr),
        }
    }

    fn decode(arr: [u8; 32]) -> Result<Self, KeyError> {
        let vk = VerifyingKey::from_bytes(&arr).map_err(|e| KeyError::Invalid {
            path: "<inline>".into(),
            kind: "public",
            reason: e.to_string(),
        })?;
        // RFC 8032 §5.1.3: a y-coordinate of p or more is an invalid encoding, but the
        // decoder reduces it; insist that the point encodes back to the same bytes.
        if vk.to_edwards().compress().to_bytes() != arr {
            return Err(KeyError::Invalid {
                path: "<inline>".into(),
                kind: "public",
                reason: "non-canonical point encoding (y is not reduced modulo p)".into(),
            });
        }
        if vk.is_weak() {
            return Err(KeyError::Weak(B64.encode(arr)));
        }
        Ok(PublicKey(vk))
    }
    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// Standard base64 of the raw bytes, as written in documents.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0.as_bytes())
    }
    /// A short, stable name for people: the first 16 hex digits of SHA-256 of the key.
    pub fn fingerprint(&self) -> String {
        hex::encode(&crate::hash::sha256(&[self.0.as_bytes()])[..8])
    }
    /// SubjectPublicKeyInfo PEM.
    pub fn to_pem(&self) -> String {
        self.0.to_public_key_pem(LineEnding::LF).expect("encoding a valid Ed25519 public key cannot fail")
    }
    /// Parses PEM text; `name` is used in error messages.
    pub fn from_pem(text: &str, name: &str) -> Result<Self, KeyError> {
        if text.contains("PRIVATE KEY-----") {
            return Err(KeyError::PrivateWherePublic(name.to_owned()));
        }
        let vk = VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| KeyError::Invalid {
            path: name.to_owned(),
            kind: "public",
            reason: e.to_string(),
        })?;
        Self::from_bytes(vk.as_bytes()).map_err(|e| match e {
            KeyError::Invalid { kind, reason, .. } => {
                KeyError::Invalid { path: name.to_owned(), kind, reason }
            }
            other => other,
        })
    }
    /// Reads a public key file.
    pub fn read_pem_file(path: &Path) -> Result<Self, KeyError> {
        read_pem(path, Self::from_pem)
    }
    pub(crate) fn dalek(&self) -> &VerifyingKey {
        &self.0
    }
}

text_form!(PublicKey, to_base64);

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // 32 bytes are 44 base64 characters, written on the stack.
        let mut text = [0u8; 44];
        let n = B64.encode_slice(self.0.as_bytes(), &mut text).map_err(serde::ser::Error::custom)?;
        s.serialize_str(std::str::from_utf8(&text[..n]).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::types::with_str(d, |s| {
            // 44 characters decode to at most 33 bytes: on the stack.
            let mut arr = [0u8; 33];
            let decoded;
            let bytes = match (s.len() == 44).then(|| B64.decode_slice(s, &mut arr)) {
                Some(Ok(n)) => &arr[..n],
                // Anything else is decoded (or refused) as it always was.
                _ => {
                    decoded =
                        B64.decode(s.as_bytes()).map_err(|e| format!("public key is not base64: {e}"))?;
                    &decoded[..]
                }
            };
            PublicKey::from_bytes(bytes).map_err(|e| e.to_string())
        })
    }
}

/// An Ed25519 private key. Its `Debug` shows only the public half; the secret is zeroed
/// on drop (ed25519-dalek's `zeroize` feature).
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }
    /// From a 32-byte seed (RFC 8032 "secret key"). Used for deterministic fixtures.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SecretKey(SigningKey::from_bytes(seed))
    }
    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
    /// PKCS#8 v1 PEM text (RFC 8410, without the optional public key): the form
    /// `openssl genpkey -algorithm ed25519` writes and every OpenSSL 3 reads.
    pub fn to_pem(&self) -> String {
        // RFC 8410 §7: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
        // OCTET STRING seed } }: a fixed 16-byte prefix and the 32-byte seed.
        const PREFIX: [u8; 16] =
            [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
        let mut der = zeroize::Zeroizing::new([0u8; 48]);
        der[..16].copy_from_slice(&PREFIX);
        der[16..].copy_from_slice(self.0.as_bytes());
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", B64.encode(&der[..]))
    }
    /// Parses PKCS#8 PEM text; `name` is used in error messages.
    pub fn from_pem(text: &str, name: &str) -> Result<Self, KeyError> {
        if text.contains("PUBLIC KEY-----") && !text.contains("PRIVATE KEY-----") {
            return Err(KeyError::PublicWherePrivate(name.to_owned()));
        }
        SigningKey::from_pkcs8_pem(text.trim()).map(SecretKey).map_err(|e| KeyError::Invalid {
            path: name.to_owned(),
            kind: "private",
            reason: e.to_string(),
        })
    }
    /// Reads a private key file.
    pub fn read_pem_file(path: &Path) -> Result<Self, KeyError> {
        read_pem(path, Self::from_pem)
    }
    pub(crate) fn dalek(&self) -> &SigningKey {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("public", &self.public()).finish_non_exhaustive()
    }
}

/// Reads the PEM file at `path` and parses it with `from_pem`, naming the file in errors.
fn read_pem<K>(path: &Path, from_pem: fn(&str, &str) -> Result<K, KeyError>) -> Result<K, KeyError> {
    from_pem(&read_text(path)?, &path.display().to_string())
}

fn read_text(path: &Path) -> Result<String, KeyError> {
    use std::io::Read as _;
    const LIMIT: u64 = 64 * 1024;
    let io = |source| KeyError::Io { action: "read", path: path.display().to_string(), source };
    // Read at most one byte more than a key file can be, whatever the file claims to be
    // (a device or a huge file is refused without reading it all).
    let mut bytes = Vec::new();
    std::fs::File::open(path).map_err(io)?.take(LIMIT + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > LIMIT {
        return Err(KeyError::Invalid {
            path: path.display().to_string(),
            kind: "PEM",
            reason: format!("the file is more than {LIMIT} bytes long, far too large for a key"),
        });
    }
    String::from_utf8(bytes).map_err(|_| KeyError::Invalid {
        path: path.display().to_string(),
        kind: "PEM",
        reason: "the file is not text (DER keys must be converted to PEM)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_wrong_kind_errors() {
        let sk = SecretKey::from_seed(&[7; 32]);
        let pem = sk.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = SecretKey::from_pem(&pem, "k").unwrap();
        assert_eq!(back.public(), sk.public());
        let pub_pem = sk.public().to_pem();
        assert_eq!(PublicKey::from_pem(&pub_pem, "p").unwrap(), sk.public());
        assert!(matches!(PublicKey::from_pem(&pem, "k"), Err(KeyError::PrivateWherePublic(_))));
        assert!(matches!(SecretKey::from_pem(&pub_pem, "p"), Err(KeyError::PublicWherePrivate(_))));
        assert!(matches!(SecretKey::from_pem("hello", "x"), Err(KeyError::Invalid { .. })));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let sk = SecretKey::from_seed(&[9; 32]);
        let dbg = format!("{sk:?}");
        assert!(dbg.contains(&sk.public().to_base64()));
        assert!(!dbg.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // y = p + 3 (p = 2^255 - 19) reduces to the valid y = 3 but is not its encoding.
        let mut y = [0xffu8; 32];
        y[0] = 0xed + 3;
        y[31] = 0x7f;
        assert!(matches!(PublicKey::from_bytes(&y), Err(KeyError::Invalid { .. })));
    }

    #[test]
    fn private_pem_is_pkcs8_v1_like_openssl() {
        let pem = SecretKey::from_seed(&[3; 32]).to_pem();
        // v1 OneAsymmetricKey for Ed25519 is 48 bytes of DER: 64 base64 characters.
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(body.len(), 64, "{pem}");
    }

    #[test]
    fn a_key_cache_is_used_only_inside_its_scope_and_keeps_only_checked_keys() {
        let kept = |c: &KeyCache| c.0.read().unwrap().len();
        let (a, b) = (SecretKey::from_seed(&[1; 32]).public(), SecretKey::from_seed(&[2; 32]).public());
        let cache = KeyCache::default();
        // Outside a scope nothing is kept anywhere.
        assert_eq!(PublicKey::from_bytes(&a.to_bytes()).unwrap(), a);
        assert_eq!(kept(&cache), 0);
        // Inside, a checked key is kept, and found again; a refused key is not kept.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        cache.scope(|| {
            assert_eq!(PublicKey::from_bytes(&a.to_bytes()).unwrap(), a);
            assert_eq!(PublicKey::from_bytes(&a.to_bytes()).unwrap(), a);
            assert!(matches!(PublicKey::from_bytes(&weak), Err(KeyError::Weak(_))));
            // A nested scope uses its own cache and gives the outer one back afterwards.
            let inner = KeyCache::default();
            inner.scope(|| PublicKey::from_bytes(&b.to_bytes()).unwrap());
            assert_eq!(kept(&inner), 1);
            assert_eq!(PublicKey::from_bytes(&b.to_bytes()).unwrap(), b);
        });
        assert_eq!(kept(&cache), 2);
        // Clones share the keys (one cache for all the threads of a run).
        let clone = cache.clone();
        std::thread::spawn(move || clone.scope(|| PublicKey::from_bytes(&[3; 32]).map(|_| ())))
            .join()
            .unwrap()
            .ok();
        assert!(kept(&cache) >= 2);
        // The binding ends with the scope, even when it panics.
        let caught = std::panic::catch_unwind(|| cache.scope(|| panic!("inside")));
        assert!(caught.is_err());
        let before = kept(&cache);
        PublicKey::from_bytes(&SecretKey::from_seed(&[4; 32]).public().to_bytes()).unwrap();
        assert_eq!(kept(&cache), before);
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (small order) encoded as y = 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(PublicKey::from_bytes(&identity), Err(KeyError::Weak(_))));
    }
}
