//! C2SP signed notes, transparency-log checkpoints and Ed25519 cosignatures.
//!
//! Three text formats, byte for byte as specified by C2SP (the copies under
//! specifications at c2sp.org are the reference; the tests in
//! `tests/note_vectors.rs` check this module against the Go reference's vectors):
//!
//! **Signed note** ([c2sp.org/signed-note] v1.0.0):
//!
//! ```text
//! <text: one or more lines, each ending in \n>
//! \n                                              the separating blank line
//! — <key name> <base64(key ID[4] || signature)>\n  one or more signature lines
//! ```
//!
//! The signed message is the text *including* its final newline. The text may contain
//! empty lines: it ends at the **last** empty line of the note. Key IDs are
//! `SHA-256(name || 0x0A || signature type || public key)[:4]` ([`KeyId::compute`]).
//! Verifier keys are `<name>+<hex key ID>+<base64(type || public key)>` ([`VerifierKey`]);
//! signer keys are golang.org/x/mod's `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ||
//! seed)>` ([`SignerKey`], not part of C2SP).
//!
//! **Checkpoint** ([c2sp.org/tlog-checkpoint] v1.0.0): a signed note whose text is the
//! origin line, the decimal tree size, the base64 RFC 6962 root hash and optional,
//! non-empty extension lines ([`Checkpoint`]).
//!
//! **Cosignature** ([c2sp.org/tlog-cosignature] v1.0.1, Ed25519 only): a signature line
//! on a checkpoint by a key of signature type `0x04`, whose signature bytes are
//! `timestamp (u64 big-endian) || Ed25519 signature[64]` over
//! `"cosignature/v1\ntime <timestamp>\n" || checkpoint text` ([`Cosigner`],
//! [`cosignature_v1_message`]).
//!
//! Everything goes through the crate's one path to hashes ([`crate::hash::sha256`]) and to
//! signatures ([`crate::sign::sign_raw`], [`crate::sign::verify_raw`], i.e.
//! `verify_strict`). Parsers never panic: hostile input gets a [`NoteError`].
//!
//! Deliberate differences from the Go reference (golang.org/x/mod/sumdb/note), all
//! stricter: base64 must be canonical (no non-zero trailing bits; Go tolerates them, and
//! ignores `\r`/`\n` inside key strings); key IDs in key strings must be lowercase hex (as
//! the spec writes them); a note is limited to [`MAX_NOTE_BYTES`]; every signature line
//! by a known key is verified, including repeats (Go verifies only the first line per key
//! and skips the rest); a checkpoint's root hash must be 32 bytes and its extension lines
//! non-empty (the transparency-dev Go parser accepts any hash length and empty lines).
//!
//! ```
//! use kpledger_model::hash::Hash;
//! use kpledger_model::keys::SecretKey;
//! use kpledger_model::note::{Checkpoint, Cosigner, SignerKey, open_checkpoint};
//!
//! let log = SignerKey::new("example.com/log", SecretKey::from_seed(&[1; 32]))?;
//! let witness = Cosigner::new("example.com/witness", SecretKey::from_seed(&[2; 32]))?;
//! let checkpoint = Checkpoint::new("example.com/log", 8, Hash([7; 32]))?;
//! let mut note = checkpoint.sign(&log)?;
//! note.cosign(&witness, 1_700_000_000)?;
//! let bytes = note.to_bytes();
//!
//! let opened = open_checkpoint(&bytes, "example.com/log", &log.verifier(), &[witness.verifier()])?;
//! assert_eq!(opened.checkpoint(), &checkpoint);
//! assert_eq!(opened.cosignatures()[0].timestamp(), 1_700_000_000);
//! # Ok::<(), kpledger_model::note::NoteError>(())
//! ```
//!
//! [c2sp.org/signed-note]: https://c2sp.org/signed-note@v1.0.0
//! [c2sp.org/tlog-checkpoint]: https://c2sp.org/tlog-checkpoint@v1.0.0
//! [c2sp.org/tlog-cosignature]: https://c2sp.org/tlog-cosignature@v1.0.1

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use crate::hash::{Hash, sha256};
use crate::keys::{KeyError, PublicKey, SecretKey};
use crate::sign::{secret_seed, sign_raw, verify_raw};

/// The most signature lines a note may have. C2SP requires accepting at least 16; the Go
/// reference refuses more than 100, and so does this module (when parsing and when adding).
pub const MAX_SIGNATURES: usize = 100;

/// The largest note, in bytes, that is parsed or produced (1 MiB). C2SP asks verifiers to
/// bound notes; this leaves room for 100 post-quantum signatures of nearly 5 kB each.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The largest cosignature timestamp, 2^63 − 1 (tlog-cosignature: MUST NOT exceed it).
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;

/// The header line of the Ed25519 cosignature/v1 signed message, newline included.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// The start of every signature line: EM DASH (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// The prefix of golang.org/x/mod signer keys.
const SKEY_PREFIX: &str = "PRIVATE+KEY+";

/// How much of a hostile string an error message repeats.
const CLIP: usize = 64;

/// What is wrong with a note, key string, checkpoint or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note (or checkpoint text) is larger than [`MAX_NOTE_BYTES`].
    #[error("the note is {len} bytes long, more than the {max}-byte limit")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not UTF-8.
    #[error("the note is not valid UTF-8 (bad byte at offset {offset})")]
    InvalidUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// An ASCII control character other than newline (C2SP: MUST NOT occur in a note).
    #[error("the note contains the control character 0x{byte:02x} at byte {offset}; only newline is allowed")]
    ControlCharacter {
        /// The character.
        byte: u8,
        /// Its byte offset.
        offset: usize,
    },
    /// A note text (or a checkpoint text) must end with a newline.
    #[error("the text does not end with a newline")]
    TextNotTerminated,
    /// There is no empty line separating the text from the signature lines.
    #[error("the note has no blank line separating its text from its signatures")]
    MissingSeparator,
    /// There is nothing after the separating blank line.
    #[error("the note has no signature lines")]
    NoSignatures,
    /// The last signature line does not end with a newline.
    #[error("the note's last signature line does not end with a newline")]
    MissingFinalNewline,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("the note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A line after the separating blank line is not `— <name> <base64>`.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// 1-based, counted from the first signature line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key name is empty, or has a Unicode space, a `+` or a control character.
    #[error(
        "{name:?} is not a valid key name: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidKeyName {
        /// The name (clipped).
        name: String,
    },
    /// Signature bytes must hold at least one byte (after the key ID).
    #[error("a signature must not be empty")]
    EmptySignature,
    /// A verifier key string is not `<name>+<8 lowercase hex>+<base64>`.
    #[error("malformed verifier key: {reason}")]
    MalformedVerifierKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// A signer key string is not `PRIVATE+KEY+<name>+<8 lowercase hex>+<base64(0x01 || seed)>`.
    /// The message never repeats any part of the string.
    #[error("malformed signer key: {reason}")]
    MalformedSignerKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// A verifier key's ID does not match its name, type and public key.
    #[error("verifier key {name}: key ID {claimed} does not match the key (computed {computed})")]
    KeyIdMismatch {
        /// The key name (clipped).
        name: String,
        /// The key ID in the string.
        claimed: KeyId,
        /// The key ID of the name, type and key.
        computed: KeyId,
    },
    /// A signature type this module does not implement (only `0x01` and `0x04`).
    #[error("unsupported signature type 0x{0:02x} (supported: 0x01 Ed25519, 0x04 Ed25519 cosignature/v1)")]
    UnsupportedSigType(u8),
    /// The public key material is not a valid, non-weak Ed25519 key.
    #[error("verifier key {name}: invalid Ed25519 public key: {reason}")]
    InvalidPublicKey {
        /// The key name (clipped).
        name: String,
        /// Why.
        reason: String,
    },
    /// A key of the wrong signature type was given.
    #[error("key {name} has signature type {found:?} where {expected:?} is required")]
    WrongKeyType {
        /// The key name.
        name: String,
        /// The required type.
        expected: SigType,
        /// The key's type.
        found: SigType,
    },
    /// Two known keys share a name and key ID, so signatures could not be attributed.
    #[error("two verifier keys have the same name and key ID {name}+{id}")]
    AmbiguousVerifier {
        /// The name.
        name: String,
        /// The key ID.
        id: KeyId,
    },
    /// A signature was checked against a key whose name or ID it does not carry.
    #[error("signature by {sig_name}+{sig_id} checked against key {key_name}+{key_id}")]
    SignatureKeyMismatch {
        /// The signature line's name (clipped).
        sig_name: String,
        /// The signature line's key ID.
        sig_id: KeyId,
        /// The key's name.
        key_name: String,
        /// The key's ID.
        key_id: KeyId,
    },
    /// A signature by a known key does not verify (C2SP: the whole note SHOULD be
    /// rejected, and is).
    #[error("invalid signature for known key {name}+{id}")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key ID.
        id: KeyId,
    },
    /// No signature by a known key (C2SP: the note MUST be rejected).
    #[error("note has no verifiable signatures ({unverified} by unknown keys)")]
    NoVerifiedSignatures {
        /// Distinct signature lines by unknown keys.
        unverified: usize,
    },
    /// A cosignature timestamp above 2^63 − 1.
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
    /// A signature is not a cosignature/v1 `timestamp[8] || signature[64]`.
    #[error(
        "signature by {name} is {len} bytes, not a 72-byte cosignature/v1 (timestamp and Ed25519 signature)"
    )]
    NotACosignature {
        /// The key name (clipped).
        name: String,
        /// The length of the signature bytes after the key ID.
        len: usize,
    },
    /// A checkpoint text has fewer than three lines.
    #[error("checkpoint: fewer than three lines (origin, tree size, root hash)")]
    TooFewLines,
    /// A checkpoint's first line is empty.
    #[error("checkpoint: the origin line is empty")]
    EmptyOrigin,
    /// A checkpoint origin or extension line contains a newline.
    #[error("checkpoint: {what} must be a single line")]
    NotASingleLine {
        /// "origin" or "extension line".
        what: &'static str,
    },
    /// The tree size line is not a canonical decimal `u64`.
    #[error(
        "checkpoint: tree size {found:?} is not a decimal number without leading zeros that fits in 64 bits"
    )]
    InvalidTreeSize {
        /// The line (clipped).
        found: String,
    },
    /// The root hash line is not standard, padded, canonical base64.
    #[error("checkpoint: the root hash {found:?} is not standard padded base64")]
    InvalidRootHash {
        /// The line (clipped).
        found: String,
    },
    /// The root hash is not a 32-byte SHA-256 hash.
    #[error("checkpoint: the root hash is {len} bytes, not 32 (RFC 6962 SHA-256)")]
    RootHashLength {
        /// Decoded length.
        len: usize,
    },
    /// An extension line is empty (tlog-checkpoint: extension lines MUST be non-empty).
    #[error("checkpoint: extension line {line} is empty")]
    EmptyExtensionLine {
        /// 1-based, counted from the first extension line.
        line: usize,
    },
    /// The checkpoint is from another log.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The expected origin.
        expected: String,
        /// The checkpoint's origin (clipped).
        found: String,
    },
    /// The checkpoint carries no signature by the log's key (cosignatures alone do not do).
    #[error("checkpoint has no signature by the log key {name}+{id}")]
    MissingLogSignature {
        /// The log key's name.
        name: String,
        /// The log key's ID.
        id: KeyId,
    },
}

fn clip(s: &str) -> String {
    s.chars().take(CLIP).collect()
}

// ---------------------------------------------------------------------------------------
// Key IDs, signature types, names
// ---------------------------------------------------------------------------------------

/// A 32-bit key ID, written as 8 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    /// `SHA-256(name || 0x0A || sig_type || public_key)[:4]`, big-endian.
    pub fn compute(name: &str, sig_type: u8, public_key: &[u8]) -> KeyId {
        let d = sha256(&[name.as_bytes(), b"\n", &[sig_type], public_key]);
        KeyId(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
    }
    /// The four big-endian bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
    /// Parses exactly 8 lowercase hex digits.
    fn parse_hex(s: &str) -> Option<KeyId> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        u32::from_str_radix(s, 16).ok().map(KeyId)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({:08x})", self.0)
    }
}

/// The signature types (C2SP signed-note "signature type identifier bytes") implemented here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigType {
    /// `0x01`: Ed25519 over the note text (signed-note).
    Ed25519,
    /// `0x04`: timestamped Ed25519 checkpoint cosignature (tlog-cosignature, cosignature/v1).
    CosignatureV1,
}

impl SigType {
    /// The identifier byte.
    pub const fn byte(self) -> u8 {
        match self {
            SigType::Ed25519 => 0x01,
            SigType::CosignatureV1 => 0x04,
        }
    }
    /// The type of an identifier byte, if implemented.
    pub const fn from_byte(b: u8) -> Option<SigType> {
        match b {
            0x01 => Some(SigType::Ed25519),
            0x04 => Some(SigType::CosignatureV1),
            _ => None,
        }
    }
}

/// Whether `name` is a valid key name: non-empty, no Unicode white space (Go's
/// `unicode.IsSpace`, the Unicode `White_Space` property), no `+`, and no ASCII control
/// character (which could not appear in a note anyway).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || u32::from(c) < 0x20)
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) { Ok(()) } else { Err(NoteError::InvalidKeyName { name: clip(name) }) }
}

/// The first byte below 0x20 other than newline, with its offset.
fn find_control(s: &str) -> Option<NoteError> {
    s.bytes()
        .enumerate()
        .find(|&(_, b)| b < 0x20 && b != b'\n')
        .map(|(offset, byte)| NoteError::ControlCharacter { byte, offset })
}

/// Checks a note text: at most [`MAX_NOTE_BYTES`], no control characters, ends with `\n`.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge { len: text.len(), max: MAX_NOTE_BYTES });
    }
    if let Some(e) = find_control(text) {
        return Err(e);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Verifier and signer keys
// ---------------------------------------------------------------------------------------

/// A public key that verifies note signatures: a name, a key ID, a signature type and an
/// Ed25519 public key (validated: canonical encoding, not weak).
///
/// Text form (a *vkey*): `<name>+<hex8 key ID>+<base64(type byte || 32-byte key)>`, e.g.
/// `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`. Parsing checks
/// that the key ID is that of the name, type and key.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: KeyId,
    sig_type: SigType,
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

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID.
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

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VerifierKey::parse(s)
    }
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

impl SignerKey {
    /// A signer named `name`.
    pub fn new(name: &str, key: SecretKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let id = KeyId::compute(name, SigType::Ed25519.byte(), &key.public().to_bytes());
        Ok(SignerKey { name: name.to_owned(), id, key })
    }

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

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.id
    }
    /// The secret key.
    pub fn secret_key(&self) -> &SecretKey {
        &self.key
    }
    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            sig_type: SigType::Ed25519,
            key: self.key.public(),
        }
    }

    /// Signs a note text (which must end with a newline and have no control characters).
    pub fn sign(&self, text: &str) -> Result<Signature, NoteError> {
        check_text(text)?;
        Ok(Signature {
            name: self.name.clone(),
            key_id: self.id,
            bytes: sign_raw(&self.key, text.as_bytes()).to_vec(),
        })
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key_id", &self.id)
            .field("public", &self.key.public())
            .finish_non_exhaustive()
    }
}

impl FromStr for SignerKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignerKey::parse(s)
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

impl Cosigner {
    /// A cosigner named `name`; its key ID is `SHA-256(name || 0x0A || 0x04 || public key)[:4]`.
    pub fn new(name: &str, key: SecretKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let id = KeyId::compute(name, SigType::CosignatureV1.byte(), &key.public().to_bytes());
        Ok(Cosigner { name: name.to_owned(), id, key })
    }
    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.id
    }
    /// The matching verifier key (signature type `0x04`).
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            sig_type: SigType::CosignatureV1,
            key: self.key.public(),
        }
    }
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
        Ok(Signature { name: self.name.clone(), key_id: self.id, bytes })
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &self.id)
            .field("public", &self.key.public())
            .finish_non_exhaustive()
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
    /// The keys.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }
}

// ---------------------------------------------------------------------------------------
// Signatures and notes
// ---------------------------------------------------------------------------------------

/// One signature line: `— <name> <base64(key ID || bytes)>\n`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    name: String,
    key_id: KeyId,
    bytes: Vec<u8>,
}

impl Signature {
    /// A signature by `name`/`key_id` with signature bytes `bytes` (after the key ID;
    /// must not be empty).
    pub fn new(name: &str, key_id: KeyId, bytes: Vec<u8>) -> Result<Self, NoteError> {
        check_name(name)?;
        if bytes.is_empty() {
            return Err(NoteError::EmptySignature);
        }
        Ok(Signature { name: name.to_owned(), key_id, bytes })
    }

    /// Parses one signature line, with its final newline.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let body = line.strip_suffix('\n').ok_or(NoteError::MissingFinalNewline)?;
        if let Some(e) = find_control(body) {
            return Err(e);
        }
        Self::parse_line_body(body, 1)
    }

    /// Parses a signature line without its newline; `line` is for error messages.
    fn parse_line_body(body: &str, line: usize) -> Result<Self, NoteError> {
        let malformed = |reason| NoteError::MalformedSignatureLine { line, reason };
        let rest = body
            .strip_prefix(SIG_PREFIX)
            .ok_or(malformed("it does not start with an em dash and a space"))?;
        let (name, b64) =
            rest.split_once(' ').ok_or(malformed("no space between the key name and the signature"))?;
        if !is_valid_key_name(name) {
            return Err(malformed("invalid key name"));
        }
        let data = B64.decode(b64).map_err(|_| malformed("the signature is not standard padded base64"))?;
        if data.len() < 5 {
            return Err(malformed("the signature is shorter than a key ID and one byte"));
        }
        let key_id = KeyId(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
        Ok(Signature { name: name.to_owned(), key_id, bytes: data[4..].to_vec() })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    /// The signature bytes after the key ID.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// `base64(key ID || bytes)`, as on the line.
    pub fn to_base64(&self) -> String {
        let mut data = Vec::with_capacity(4 + self.bytes.len());
        data.extend_from_slice(&self.key_id.to_bytes());
        data.extend_from_slice(&self.bytes);
        B64.encode(data)
    }
    /// The line, `— <name> <base64>\n`.
    pub fn to_line(&self) -> String {
        format!("{SIG_PREFIX}{} {}\n", self.name, self.to_base64())
    }
    /// Splits cosignature/v1 bytes into the timestamp and the Ed25519 signature. Says
    /// nothing about validity: see [`VerifierKey::verify`].
    pub fn cosignature_v1(&self) -> Result<(u64, [u8; 64]), NoteError> {
        let not = || NoteError::NotACosignature { name: clip(&self.name), len: self.bytes.len() };
        let (ts, sig) = self.bytes.split_first_chunk::<8>().ok_or_else(not)?;
        let sig: [u8; 64] = sig.try_into().map_err(|_| not())?;
        let ts = u64::from_be_bytes(*ts);
        if ts > MAX_COSIGNATURE_TIMESTAMP {
            return Err(NoteError::TimestampOutOfRange(ts));
        }
        Ok((ts, sig))
    }
    fn encoded_len(&self) -> usize {
        SIG_PREFIX.len() + self.name.len() + 1 + (4 + self.bytes.len()).div_ceil(3) * 4 + 1
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({} {} {})", self.name, self.key_id, self.to_base64())
    }
}

/// A signed note: a text and its signature lines, in order. Holding one says nothing
/// about validity; [`Note::open`] checks signatures.
///
/// Every `Note` has a valid text and at most [`MAX_SIGNATURES`] signatures and encodes to
/// at most [`MAX_NOTE_BYTES`]; [`Note::parse`] of its encoding gives it back, except for a
/// note made by [`Note::new`] that has no signature yet (a signed note needs at least one,
/// so its encoding, `text + "\n"`, does not parse).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<Signature>,
}

impl Note {
    /// An unsigned note. `text` must end with a newline and contain no control characters
    /// other than newline; it may contain empty lines.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Note { text: text.to_owned(), signatures: Vec::new() })
    }

    /// Parses a signed note. Checks the structure only (UTF-8, no control characters, the
    /// blank line, at least one and at most [`MAX_SIGNATURES`] well-formed signature lines,
    /// the final newline); no signature is verified, and repeated lines are kept.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge { len: bytes.len(), max: MAX_NOTE_BYTES });
        }
        let s = std::str::from_utf8(bytes).map_err(|e| NoteError::InvalidUtf8 { offset: e.valid_up_to() })?;
        if let Some(e) = find_control(s) {
            return Err(e);
        }
        let split = s.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::MissingFinalNewline)?;
        let mut signatures = Vec::new();
        for (i, line) in sigs.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures { max: MAX_SIGNATURES });
            }
            signatures.push(Signature::parse_line_body(line, i + 1)?);
        }
        Ok(Note { text: text.to_owned(), signatures })
    }

    /// The text, including its final newline (the signed message of Ed25519 signatures).
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The signatures, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Appends `sig`, first removing any signature with the same name and key ID (as the Go
    /// reference's `Sign` does). Fails, leaving the note unchanged, above
    /// [`MAX_SIGNATURES`] or [`MAX_NOTE_BYTES`]. The signature is not verified.
    pub fn add_signature(&mut self, sig: Signature) -> Result<(), NoteError> {
        let mut sigs: Vec<Signature> = self
            .signatures
            .iter()
            .filter(|s| s.name != sig.name || s.key_id != sig.key_id)
            .cloned()
            .collect();
        sigs.push(sig);
        if sigs.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { max: MAX_SIGNATURES });
        }
        let len = self.text.len() + 1 + sigs.iter().map(Signature::encoded_len).sum::<usize>();
        if len > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge { len, max: MAX_NOTE_BYTES });
        }
        self.signatures = sigs;
        Ok(())
    }

    /// Signs the text with `signer` and adds the signature ([`Note::add_signature`]).
    pub fn sign(&mut self, signer: &SignerKey) -> Result<(), NoteError> {
        let sig = signer.sign(&self.text)?;
        self.add_signature(sig)
    }

    /// Cosigns the note, whose text must be a checkpoint, at `timestamp`, and adds the
    /// cosignature ([`Note::add_signature`]).
    pub fn cosign(&mut self, cosigner: &Cosigner, timestamp: u64) -> Result<(), NoteError> {
        let checkpoint = Checkpoint::parse(&self.text)?;
        let sig = cosigner.cosign(&checkpoint, timestamp)?;
        self.add_signature(sig)
    }

    /// Verifies the note against `known` keys (C2SP signed-note "Signatures"):
    ///
    /// - a signature whose (name, key ID) matches no known key is ignored (listed as
    ///   unverified, identical lines once);
    /// - every signature by a known key is verified, repeats included, and one that fails
    ///   rejects the whole note ([`NoteError::InvalidSignature`]);
    /// - at least one must verify ([`NoteError::NoVerifiedSignatures`]).
    ///
    /// Verified signatures are listed once per key, in order of first appearance.
    pub fn open(&self, known: &Verifiers) -> Result<OpenedNote, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut unverified: Vec<Signature> = Vec::new();
        for sig in &self.signatures {
            match known.get(&sig.name, sig.key_id) {
                None => {
                    if !unverified.contains(sig) {
                        unverified.push(sig.clone());
                    }
                }
                Some(key) => {
                    let timestamp = key.verify(&self.text, sig)?;
                    if !verified.iter().any(|v| v.key.name == key.name && v.key.id == key.id) {
                        verified.push(VerifiedSignature { key: key.clone(), timestamp });
                    }
                }
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignatures { unverified: unverified.len() });
        }
        Ok(OpenedNote { note: self.clone(), verified, unverified })
    }

    /// The encoded note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}

impl FromStr for Note {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Note::parse(s.as_bytes())
    }
}

/// Parses `bytes` as a signed note and verifies it against `known` ([`Note::open`]).
pub fn open(bytes: &[u8], known: &Verifiers) -> Result<OpenedNote, NoteError> {
    Note::parse(bytes)?.open(known)
}

/// A signature that verified under a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    key: VerifierKey,
    timestamp: Option<u64>,
}

impl VerifiedSignature {
    /// The key.
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }
    /// The cosignature timestamp, for a [`SigType::CosignatureV1`] key.
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }
}

/// A note whose signatures were checked by [`Note::open`]: only that function makes one.
#[derive(Debug, Clone)]
pub struct OpenedNote {
    note: Note,
    verified: Vec<VerifiedSignature>,
    unverified: Vec<Signature>,
}

impl OpenedNote {
    /// The note.
    pub fn note(&self) -> &Note {
        &self.note
    }
    /// Its text, now trustworthy as far as the known keys go.
    pub fn text(&self) -> &str {
        &self.note.text
    }
    /// The known keys that signed, once each, in order of first appearance.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }
    /// Signatures by unknown keys (identical lines once), which were ignored.
    pub fn unverified(&self) -> &[Signature] {
        &self.unverified
    }
}

// ---------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------

/// A transparency-log checkpoint body (tlog-checkpoint v1.0.0):
///
/// ```text
/// <origin>\n       non-empty (SHOULD be a schema-less URL without spaces or '+': not enforced)
/// <tree size>\n    ASCII decimal, no leading zeros ("0" for the empty tree)
/// <root hash>\n    base64 of the 32-byte RFC 6962 SHA-256 root
/// [<extension>\n]* optional, each non-empty (NOT RECOMMENDED)
/// ```
///
/// Whether the root hash is right for the size is for the Merkle tree code to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root_hash: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root_hash: Hash) -> Result<Self, NoteError> {
        check_line(origin, "origin")?;
        if origin.is_empty() {
            return Err(NoteError::EmptyOrigin);
        }
        let c = Checkpoint { origin: origin.to_owned(), size, root_hash, extensions: Vec::new() };
        c.check_size()?;
        Ok(c)
    }

    /// Adds an extension line (non-empty, without newline or control characters).
    pub fn with_extension(mut self, line: &str) -> Result<Self, NoteError> {
        check_line(line, "extension line")?;
        if line.is_empty() {
            return Err(NoteError::EmptyExtensionLine { line: self.extensions.len() + 1 });
        }
        self.extensions.push(line.to_owned());
        self.check_size()?;
        Ok(self)
    }

    fn check_size(&self) -> Result<(), NoteError> {
        let len =
            self.origin.len() + self.extensions.iter().map(|e| e.len() + 1).sum::<usize>() + 20 + 1 + 44 + 2;
        if len > MAX_NOTE_BYTES { Err(NoteError::TooLarge { len, max: MAX_NOTE_BYTES }) } else { Ok(()) }
    }

    /// Parses a checkpoint body (a note text, final newline included).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge { len: text.len(), max: MAX_NOTE_BYTES });
        }
        if let Some(e) = find_control(text) {
            return Err(e);
        }
        let body = text.strip_suffix('\n').ok_or(NoteError::TextNotTerminated)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let (Some(size), Some(hash)) = (lines.next(), lines.next()) else {
            return Err(NoteError::TooFewLines);
        };
        if origin.is_empty() {
            return Err(NoteError::EmptyOrigin);
        }
        let size = parse_tree_size(size).ok_or_else(|| NoteError::InvalidTreeSize { found: clip(size) })?;
        if hash.is_empty() {
            return Err(NoteError::InvalidRootHash { found: String::new() });
        }
        let raw = B64.decode(hash).map_err(|_| NoteError::InvalidRootHash { found: clip(hash) })?;
        let root: [u8; 32] =
            raw.as_slice().try_into().map_err(|_| NoteError::RootHashLength { len: raw.len() })?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(NoteError::EmptyExtensionLine { line: i + 1 });
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root_hash: Hash(root), extensions })
    }

    /// The body, final newline included: the text of the checkpoint note.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root_hash.0));
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The root hash.
    pub fn root_hash(&self) -> &Hash {
        &self.root_hash
    }
    /// The extension lines, without their newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The checkpoint as a note signed by the log's key (whose name SHOULD be the origin).
    /// A log must never sign two checkpoints that are not consistent.
    pub fn sign(&self, log: &SignerKey) -> Result<Note, NoteError> {
        let mut note = Note::new(&self.to_text())?;
        note.sign(log)?;
        Ok(note)
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn check_line(line: &str, what: &'static str) -> Result<(), NoteError> {
    if line.contains('\n') {
        return Err(NoteError::NotASingleLine { what });
    }
    match find_control(line) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// ASCII decimal without sign or leading zeros (except "0"), fitting in a u64.
fn parse_tree_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// A verified cosignature/v1 on a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    key: VerifierKey,
    timestamp: u64,
}

impl Cosignature {
    /// The cosigner's key.
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }
    /// When it was made (POSIX seconds, as the cosigner says). Whether to refuse
    /// timestamps in the future is the caller's choice.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
}

/// A checkpoint whose log signature (and known cosignatures) verified: only
/// [`open_checkpoint`] makes one.
#[derive(Debug, Clone)]
pub struct OpenedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
    cosignatures: Vec<Cosignature>,
    unverified: Vec<Signature>,
}

impl OpenedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
    /// The signed note it came in.
    pub fn note(&self) -> &Note {
        &self.note
    }
    /// Valid cosignatures by the known cosigners, once per cosigner.
    pub fn cosignatures(&self) -> &[Cosignature] {
        &self.cosignatures
    }
    /// Signatures by unknown keys, which were ignored.
    pub fn unverified(&self) -> &[Signature] {
        &self.unverified
    }
}

/// Parses and verifies a signed checkpoint from the log `origin`:
///
/// - `log_key` (type [`SigType::Ed25519`]) must have signed it;
/// - every signature by a key in `cosigners` (type [`SigType::CosignatureV1`]) must
///   verify, and is returned with its timestamp; signatures by other keys are ignored;
/// - the text must be a checkpoint whose origin line is `origin`.
///
/// Counting cosignatures against a quorum, and the consistency of the checkpoint with
/// earlier ones, are the caller's business.
pub fn open_checkpoint(
    bytes: &[u8],
    origin: &str,
    log_key: &VerifierKey,
    cosigners: &[VerifierKey],
) -> Result<OpenedCheckpoint, NoteError> {
    let wrong = |k: &VerifierKey, expected| NoteError::WrongKeyType {
        name: k.name.clone(),
        expected,
        found: k.sig_type,
    };
    if log_key.sig_type != SigType::Ed25519 {
        return Err(wrong(log_key, SigType::Ed25519));
    }
    if let Some(k) = cosigners.iter().find(|k| k.sig_type != SigType::CosignatureV1) {
        return Err(wrong(k, SigType::CosignatureV1));
    }
    let known = Verifiers::new(std::iter::once(log_key.clone()).chain(cosigners.iter().cloned()))?;
    let note = Note::parse(bytes)?;
    let opened = note.open(&known)?;
    if !opened.verified.iter().any(|v| v.key == *log_key) {
        return Err(NoteError::MissingLogSignature { name: log_key.name.clone(), id: log_key.id });
    }
    let checkpoint = Checkpoint::parse(&opened.note.text)?;
    if checkpoint.origin != origin {
        return Err(NoteError::OriginMismatch {
            expected: origin.to_owned(),
            found: clip(&checkpoint.origin),
        });
    }
    let cosignatures = opened
        .verified
        .iter()
        .filter_map(|v| v.timestamp.map(|timestamp| Cosignature { key: v.key.clone(), timestamp }))
        .collect();
    Ok(OpenedCheckpoint { checkpoint, note: opened.note, cosignatures, unverified: opened.unverified })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module documentation's example, kept in step with it.
    #[test]
    fn module_example() {
        let log = SignerKey::new("example.com/log", SecretKey::from_seed(&[1; 32])).unwrap();
        let witness = Cosigner::new("example.com/witness", SecretKey::from_seed(&[2; 32])).unwrap();
        let checkpoint = Checkpoint::new("example.com/log", 8, Hash([7; 32])).unwrap();
        let mut note = checkpoint.sign(&log).unwrap();
        note.cosign(&witness, 1_700_000_000).unwrap();
        let bytes = note.to_bytes();
        let opened =
            open_checkpoint(&bytes, "example.com/log", &log.verifier(), &[witness.verifier()]).unwrap();
        assert_eq!(opened.checkpoint(), &checkpoint);
        assert_eq!(opened.cosignatures()[0].timestamp(), 1_700_000_000);
    }

    fn peter() -> SignerKey {
        SignerKey::new("PeterNeumann", SecretKey::from_seed(&[5; 32])).unwrap()
    }

    #[test]
    fn text_may_contain_empty_lines_and_end_with_one() {
        for text in ["a\n\nb\n", "a\n\n", "\n", "— x y\n\n"] {
            let mut n = Note::new(text).unwrap();
            n.sign(&peter()).unwrap();
            let back = Note::parse(&n.to_bytes()).unwrap();
            assert_eq!(back, n, "{text:?}");
            back.open(&Verifiers::new([peter().verifier()]).unwrap()).unwrap();
        }
        assert_eq!(Note::new("no newline"), Err(NoteError::TextNotTerminated));
        assert_eq!(Note::new(""), Err(NoteError::TextNotTerminated));
        assert!(matches!(Note::new("tab\there\n"), Err(NoteError::ControlCharacter { byte: 9, offset: 3 })));
    }

    #[test]
    fn key_names() {
        assert!(is_valid_key_name("example.com/log"));
        assert!(is_valid_key_name("\u{2014}"));
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\u{3000}b", "a\u{85}b", "a\u{1}b", "a\tb"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn sign_replaces_the_same_key_and_keeps_others() {
        let other = SignerKey::new("other", SecretKey::from_seed(&[6; 32])).unwrap();
        let mut n = Note::new("x\n").unwrap();
        n.sign(&peter()).unwrap();
        n.sign(&other).unwrap();
        n.sign(&peter()).unwrap();
        let names: Vec<&str> = n.signatures().iter().map(Signature::name).collect();
        assert_eq!(names, ["other", "PeterNeumann"]);
    }

    #[test]
    fn add_signature_limits() {
        let mut n = Note::new("x\n").unwrap();
        for i in 0..MAX_SIGNATURES {
            n.add_signature(Signature::new(&format!("k{i}"), KeyId(0), vec![1]).unwrap()).unwrap();
        }
        let extra = Signature::new("k-extra", KeyId(0), vec![1]).unwrap();
        assert_eq!(n.add_signature(extra), Err(NoteError::TooManySignatures { max: MAX_SIGNATURES }));
        assert_eq!(n.signatures().len(), MAX_SIGNATURES);
        let mut big = Note::new("x\n").unwrap();
        let huge = Signature::new("k", KeyId(0), vec![0; MAX_NOTE_BYTES]).unwrap();
        assert!(matches!(big.add_signature(huge), Err(NoteError::TooLarge { .. })));
        assert!(big.signatures().is_empty());
    }

    #[test]
    fn encoded_len_is_exact() {
        for len in 1..40 {
            let s = Signature::new("n\u{e9}", KeyId(7), vec![3; len]).unwrap();
            assert_eq!(s.encoded_len(), s.to_line().len(), "{len}");
        }
    }

    #[test]
    fn tree_sizes() {
        assert_eq!(parse_tree_size("0"), Some(0));
        assert_eq!(parse_tree_size("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "00", "0123", "+12", " 12", "12 ", "-1", "18446744073709551616", "1_000", "\u{661}"] {
            assert_eq!(parse_tree_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn checkpoint_constructor_refuses_bad_lines() {
        let h = Hash([0; 32]);
        assert_eq!(Checkpoint::new("", 0, h), Err(NoteError::EmptyOrigin));
        assert_eq!(Checkpoint::new("a\nb", 0, h), Err(NoteError::NotASingleLine { what: "origin" }));
        let c = Checkpoint::new("o", 0, h).unwrap();
        assert_eq!(c.clone().with_extension(""), Err(NoteError::EmptyExtensionLine { line: 1 }));
        assert!(matches!(c.with_extension("a\rb"), Err(NoteError::ControlCharacter { byte: 13, .. })));
    }

    #[test]
    fn cosignature_timestamp_bound() {
        let w = Cosigner::new("w", SecretKey::from_seed(&[8; 32])).unwrap();
        let c = Checkpoint::new("o", 1, Hash([1; 32])).unwrap();
        assert_eq!(w.cosign(&c, 1 << 63), Err(NoteError::TimestampOutOfRange(1 << 63)));
        let s = w.cosign(&c, MAX_COSIGNATURE_TIMESTAMP).unwrap();
        assert_eq!(w.verifier().verify(&c.to_text(), &s), Ok(Some(MAX_COSIGNATURE_TIMESTAMP)));
        // A cosignature line claiming a timestamp >= 2^63 is refused even if signed.
        let mut bytes = s.bytes().to_vec();
        bytes[..8].copy_from_slice(&(1u64 << 63).to_be_bytes());
        let forged = Signature::new("w", w.key_id(), bytes).unwrap();
        assert!(matches!(forged.cosignature_v1(), Err(NoteError::TimestampOutOfRange(_))));
        assert!(matches!(
            w.verifier().verify(&c.to_text(), &forged),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = SignerKey::new("n", SecretKey::from_seed(&[9; 32])).unwrap();
        let skey = s.to_skey();
        let secret_b64 = skey.splitn(5, '+').nth(4).unwrap().to_owned();
        assert!(!format!("{s:?}").contains(&secret_b64));
        let c = Cosigner::new("n", SecretKey::from_seed(&[9; 32])).unwrap();
        assert!(!format!("{c:?}").contains(&hex::encode([9u8; 32])));
    }
}
