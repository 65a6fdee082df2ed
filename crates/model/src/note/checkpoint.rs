//! tlog-checkpoints: the note's text, and opening a checkpoint with its log signature and cosignatures.

use super::{
    MAX_NOTE_BYTES, Note, NoteError, SigType, Signature, SignerKey, VerifierKey, Verifiers, clip,
    find_control,
};
use crate::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;

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

    /// The origin line: the log's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The number of leaves (events) the checkpoint commits to.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The Merkle tree hash of the first `size` leaves (RFC 9162 §2.1).
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
pub(super) fn parse_tree_size(s: &str) -> Option<u64> {
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
    /// The checkpoint the note carries.
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
