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
//! use kpledger_model::{Hash, SecretKey};
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

use crate::hash::sha256;

mod checkpoint;
mod keys;
mod signed;

pub use checkpoint::{Checkpoint, Cosignature, OpenedCheckpoint, open_checkpoint};
pub use keys::{Cosigner, SignerKey, VerifierKey, Verifiers, cosignature_v1_message};
pub use signed::{Note, OpenedNote, Signature, VerifiedSignature, open};

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
        /// The limit in bytes ([`MAX_NOTE_BYTES`]).
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
        /// The offending byte.
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
        /// The limit ([`MAX_SIGNATURES`]).
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
        /// The key name both keys have.
        name: String,
        /// The key ID both keys have.
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

#[cfg(test)]
mod tests;
