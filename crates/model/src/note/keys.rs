//! Verifier keys (C2SP vkeys), signer keys and cosigners, and the set of keys a note is opened with.

use super::{
    COSIGNATURE_V1_HEADER, Checkpoint, KeyId, MAX_COSIGNATURE_TIMESTAMP, NoteError, SKEY_PREFIX, SigType,
    Signature, check_name, check_text, clip, is_valid_key_name,
};
use crate::keys::{KeyError, PublicKey, SecretKey};
use crate::sign::{secret_seed, sign_raw, verify_raw};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;
use std::str::FromStr;
use zeroize::Zeroizing;

/// A public key that verifies note signatures: a name, a key ID, a signature type and an
/// Ed25519 public key (validated: canonical encoding, not weak).
///
/// Text form (a *vkey*): `<name>+<hex8 key ID>+<base64(type byte || 32-byte key)>`, e.g.
/// `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`. Parsing checks
/// that the key ID is that of the name, type and key.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub(super) name: String,
    pub(super) id: KeyId,
    pub(super) sig_type: SigType,
    key: PublicKey,
}

impl VerifierKey {
    /// A key named `name` of type `sig_type`; the key ID is computed.
    pub fn new(name: &str, sig_type: SigType, key: PublicKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let id = KeyId::compute(name, sig_type.byte(), &key.to_bytes());
        Ok(VerifierKey { name: name.to_owned(), id, sig_type, key })
    }

    /// Parses a vkey string (see the type's documentation).
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let malformed = |reason| NoteError::MalformedVerifierKey { reason };
        let (name, rest) = vkey.split_once('+').ok_or(malformed("expected <name>+<key ID>+<base64 key>"))?;
        let (hex, b64) = rest.split_once('+').ok_or(malformed("expected <name>+<key ID>+<base64 key>"))?;
        check_name(name)?;
        let claimed = KeyId::parse_hex(hex).ok_or(malformed("the key ID is not 8 lowercase hex digits"))?;
        let data = B64.decode(b64).map_err(|_| malformed("the key is not standard padded base64"))?;
        let (&alg, key) = data.split_first().ok_or(malformed("the key is empty"))?;
        let computed = KeyId::compute(name, alg, key);
        if computed != claimed {
            return Err(NoteError::KeyIdMismatch { name: clip(name), claimed, computed });
        }
        let sig_type = SigType::from_byte(alg).ok_or(NoteError::UnsupportedSigType(alg))?;
        let key = PublicKey::from_bytes(key)
            .map_err(|e| NoteError::InvalidPublicKey { name: clip(name), reason: key_error_reason(e) })?;
        Ok(VerifierKey { name: name.to_owned(), id: claimed, sig_type, key })
    }

    /// The vkey string.
    pub fn to_vkey(&self) -> String {
        let mut data = [0u8; 33];
        data[0] = self.sig_type.byte();
        data[1..].copy_from_slice(&self.key.to_bytes());
        format!("{}+{}+{}", self.name, self.id, B64.encode(data))
    }

    /// The key name that signature lines carry.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID computed from the name, signature type and public key (C2SP signed-note).
    pub fn key_id(&self) -> KeyId {
        self.id
    }
    /// The signature type.
    pub fn sig_type(&self) -> SigType {
        self.sig_type
    }
    /// The Ed25519 public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Verifies `sig` as a signature by this key on a note whose text is `text` (including
    /// its final newline). For a [`SigType::CosignatureV1`] key the signature must be a
    /// cosignature/v1 (timestamp ≤ 2^63 − 1) over [`cosignature_v1_message`], and its
    /// timestamp is returned; for [`SigType::Ed25519`] the result is `None`.
    pub fn verify(&self, text: &str, sig: &Signature) -> Result<Option<u64>, NoteError> {
        if sig.name != self.name || sig.key_id != self.id {
            return Err(NoteError::SignatureKeyMismatch {
                sig_name: clip(&sig.name),
                sig_id: sig.key_id,
                key_name: self.name.clone(),
                key_id: self.id,
            });
        }
        let invalid = || NoteError::InvalidSignature { name: self.name.clone(), id: self.id };
        match self.sig_type {
            SigType::Ed25519 => {
                let s: &[u8; 64] = sig.bytes.as_slice().try_into().map_err(|_| invalid())?;
                if verify_raw(&self.key, text.as_bytes(), s) { Ok(None) } else { Err(invalid()) }
            }
            SigType::CosignatureV1 => {
                let (timestamp, s) = sig.cosignature_v1().map_err(|_| invalid())?;
                if verify_raw(&self.key, &cosignature_v1_message(timestamp, text), &s) {
                    Ok(Some(timestamp))
                } else {
                    Err(invalid())
                }
            }
        }
    }
}

fn key_error_reason(e: KeyError) -> String {
    match e {
        KeyError::Invalid { reason, .. } => reason,
        KeyError::Weak(_) => "a weak (small-order) key".to_owned(),
        other => other.to_string(),
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({})", self.to_vkey())
    }
}

/// `FromStr` by the type's own `parse`.
macro_rules! from_str_by_parse {
    ($($ty:ident),*) => {$(
        impl FromStr for $ty {
            type Err = NoteError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }
    )*};
}

from_str_by_parse!(VerifierKey, SignerKey);

/// What signer keys and cosigners share: a checked name, the key ID of name, signature type
/// and public key, the matching verifier key, and a `Debug` that shows only the public half.
macro_rules! named_secret_key {
    ($ty:ident, $sig_type:expr, $new_doc:literal) => {
        impl $ty {
            #[doc = $new_doc]
            pub fn new(name: &str, key: SecretKey) -> Result<Self, NoteError> {
                check_name(name)?;
                let id = KeyId::compute(name, $sig_type.byte(), &key.public().to_bytes());
                Ok($ty { name: name.to_owned(), id, key })
            }
            /// The key name its signature lines carry.
            pub fn name(&self) -> &str {
                &self.name
            }
            /// The key ID computed from the name, signature type and public key (C2SP signed-note).
            pub fn key_id(&self) -> KeyId {
                self.id
            }
            /// The matching verifier key (of this key's signature type).
            pub fn verifier(&self) -> VerifierKey {
                VerifierKey {
                    name: self.name.clone(),
                    id: self.id,
                    sig_type: $sig_type,
                    key: self.key.public(),
                }
            }
            /// A signature by this key: its name, key ID and `bytes`.
            fn signature(&self, bytes: Vec<u8>) -> Signature {
                Signature { name: self.name.clone(), key_id: self.id, bytes }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("key_id", &self.id)
                    .field("public", &self.key.public())
                    .finish_non_exhaustive()
            }
        }
    };
}

/// An Ed25519 note-signing key (signature type `0x01`) with its name.
///
/// Text form: golang.org/x/mod's signer key
/// `PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 || 32-byte seed)>` (not part of C2SP). The
/// key ID is that of the *public* key, and parsing checks it. `Debug` shows only the public
/// half, and errors never repeat any part of a signer key string.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    id: KeyId,
    key: SecretKey,
}

named_secret_key!(SignerKey, SigType::Ed25519, "A signer named `name`.");

impl SignerKey {
    /// Parses a `PRIVATE+KEY+…` signer key string.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let malformed = |reason| NoteError::MalformedSignerKey { reason };
        let layout = "expected PRIVATE+KEY+<name>+<key ID>+<base64 key>";
        let rest = skey.strip_prefix(SKEY_PREFIX).ok_or(malformed(layout))?;
        let (name, rest) = rest.split_once('+').ok_or(malformed(layout))?;
        let (hex, b64) = rest.split_once('+').ok_or(malformed(layout))?;
        if !is_valid_key_name(name) {
            return Err(malformed("the key name is empty or has spaces, '+' or control characters"));
        }
        let claimed = KeyId::parse_hex(hex).ok_or(malformed("the key ID is not 8 lowercase hex digits"))?;
        let data =
            Zeroizing::new(B64.decode(b64).map_err(|_| malformed("the key is not standard padded base64"))?);
        let (&alg, seed) = data.split_first().ok_or(malformed("the key is empty"))?;
        if alg != SigType::Ed25519.byte() {
            return Err(malformed("the key's signature type is not 0x01 (Ed25519)"));
        }
        if seed.len() != 32 {
            return Err(malformed("the Ed25519 seed is not 32 bytes"));
        }
        let mut arr = Zeroizing::new([0u8; 32]);
        arr.copy_from_slice(seed);
        let signer = SignerKey::new(name, SecretKey::from_seed(&arr))?;
        if signer.id != claimed {
            return Err(malformed("the key ID does not match the key"));
        }
        Ok(signer)
    }

    /// The `PRIVATE+KEY+…` string, zeroed when dropped. Keep it secret.
    pub fn to_skey(&self) -> Zeroizing<String> {
        let seed = secret_seed(&self.key);
        let mut data = Zeroizing::new([0u8; 33]);
        data[0] = SigType::Ed25519.byte();
        data[1..].copy_from_slice(&seed[..]);
        let b64 = Zeroizing::new(B64.encode(&data[..]));
        let id = self.id.to_string();
        let mut out = Zeroizing::new(String::with_capacity(
            SKEY_PREFIX.len() + self.name.len() + 1 + id.len() + 1 + b64.len(),
        ));
        out.push_str(SKEY_PREFIX);
        out.push_str(&self.name);
        out.push('+');
        out.push_str(&id);
        out.push('+');
        out.push_str(&b64);
        out
    }

    /// The Ed25519 secret key it signs with.
    pub fn secret_key(&self) -> &SecretKey {
        &self.key
    }

    /// Signs a note text (which must end with a newline and have no control characters).
    pub fn sign(&self, text: &str) -> Result<Signature, NoteError> {
        check_text(text)?;
        Ok(self.signature(sign_raw(&self.key, text.as_bytes()).to_vec()))
    }
}

/// An Ed25519 checkpoint cosigner (tlog-cosignature, signature type `0x04`): a name and a
/// secret key. The signed message does not commit to the name, so one key must serve only
/// one cosigner.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    id: KeyId,
    key: SecretKey,
}

named_secret_key!(
    Cosigner,
    SigType::CosignatureV1,
    "A cosigner named `name`; its key ID is `SHA-256(name || 0x0A || 0x04 || public key)[:4]`."
);

impl Cosigner {
    /// A cosignature/v1 on `checkpoint` at `timestamp` (POSIX seconds, ≤ 2^63 − 1). Only
    /// make one after checking that the checkpoint is consistent with every earlier one
    /// seen from that log.
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> Result<Signature, NoteError> {
        if timestamp > MAX_COSIGNATURE_TIMESTAMP {
            return Err(NoteError::TimestampOutOfRange(timestamp));
        }
        let sig = sign_raw(&self.key, &cosignature_v1_message(timestamp, &checkpoint.to_text()));
        let mut bytes = Vec::with_capacity(72);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&sig);
        Ok(self.signature(bytes))
    }
}

/// The Ed25519 cosignature/v1 signed message:
/// `"cosignature/v1\n" || "time " || decimal timestamp || "\n" || checkpoint text`, where
/// the checkpoint text includes its final newline and any extension lines.
pub fn cosignature_v1_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(COSIGNATURE_V1_HEADER.len() + 26 + checkpoint_text.len());
    m.extend_from_slice(COSIGNATURE_V1_HEADER.as_bytes());
    m.extend_from_slice(format!("time {timestamp}\n").as_bytes());
    m.extend_from_slice(checkpoint_text.as_bytes());
    m
}

/// A set of known verifier keys, at most one per (name, key ID).
#[derive(Debug, Clone, Default)]
pub struct Verifiers {
    keys: Vec<VerifierKey>,
}

impl Verifiers {
    /// The set; refuses two keys with the same name and key ID.
    pub fn new(keys: impl IntoIterator<Item = VerifierKey>) -> Result<Self, NoteError> {
        let mut out: Vec<VerifierKey> = Vec::new();
        for k in keys {
            if out.iter().any(|o| o.name == k.name && o.id == k.id) {
                return Err(NoteError::AmbiguousVerifier { name: k.name, id: k.id });
            }
            out.push(k);
        }
        Ok(Verifiers { keys: out })
    }
    /// The key with this name and ID.
    pub fn get(&self, name: &str, id: KeyId) -> Option<&VerifierKey> {
        self.keys.iter().find(|k| k.id == id && k.name == name)
    }
    /// The keys, in the order given, no two with the same name and key ID.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }
}
