//! Signature lines and signed notes: parsing, signing and opening a note against known keys.

use super::{
    Checkpoint, Cosigner, KeyId, MAX_COSIGNATURE_TIMESTAMP, MAX_NOTE_BYTES, MAX_SIGNATURES, NoteError,
    SIG_PREFIX, SignerKey, VerifierKey, Verifiers, check_name, check_text, clip, find_control,
    is_valid_key_name,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;
use std::str::FromStr;

/// One signature line: `— <name> <base64(key ID || bytes)>\n`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    pub(super) name: String,
    pub(super) key_id: KeyId,
    pub(super) bytes: Vec<u8>,
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

    /// The name of the key that made it (the signature line's first field).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID it claims (its first four bytes), which picks the verifier key.
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
    pub(super) fn encoded_len(&self) -> usize {
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
    pub(super) text: String,
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
    pub(super) key: VerifierKey,
    pub(super) timestamp: Option<u64>,
}

impl VerifiedSignature {
    /// The known key it verified under.
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }
    /// The cosignature timestamp, for a [`crate::note::SigType::CosignatureV1`] key.
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }
}

/// A note whose signatures were checked by [`Note::open`]: only that function makes one.
#[derive(Debug, Clone)]
pub struct OpenedNote {
    pub(super) note: Note,
    pub(super) verified: Vec<VerifiedSignature>,
    pub(super) unverified: Vec<Signature>,
}

impl OpenedNote {
    /// The note as parsed, with all its signature lines.
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
