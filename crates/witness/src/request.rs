//! The body of a C2SP tlog-witness `add-checkpoint` request, byte for byte:
//!
//! ```text
//! old <size>\n                 ASCII decimal, no leading zeros ("0" for zero)
//! <base64 hash>\n              zero to 63 consistency-proof lines, 32-byte hashes
//! \n                           an empty line
//! <signed note>                the checkpoint, with one or more signature lines
//! ```
//!
//! Parsing never panics and is bounded: the body is at most [`MAX_BODY_BYTES`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use kpledger_model::Hash;
use kpledger_model::note::MAX_NOTE_BYTES;

/// The most consistency-proof lines a request may carry (tlog-witness: a client MUST NOT
/// send more than 63).
pub const MAX_PROOF_LINES: usize = 63;

/// The largest request body read: a note of [`MAX_NOTE_BYTES`] plus the old line and 63
/// proof lines.
pub const MAX_BODY_BYTES: usize = MAX_NOTE_BYTES + 64 * 46;

/// A parsed add-checkpoint request. The note is not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness cosigned last.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub note: Vec<u8>,
}

/// Why a request body is malformed (the witness answers 400 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Larger than [`MAX_BODY_BYTES`].
    #[error("the request body is {0} bytes, more than the {MAX_BODY_BYTES}-byte limit")]
    TooLarge(usize),
    /// The first line is not `old <decimal>`.
    #[error("the first line must be `old <size>` (ASCII decimal without leading zeros), ending in a newline")]
    OldLine,
    /// A proof line is not the base64 of a 32-byte hash.
    #[error("consistency proof line {0} is not the standard base64 of a 32-byte hash")]
    ProofLine(usize),
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// No empty line before the checkpoint.
    #[error("no empty line between the consistency proof and the checkpoint")]
    NoSeparator,
}

impl AddCheckpoint {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, RequestError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(RequestError::TooLarge(body.len()));
        }
        let (first, mut rest) = split_line(body).ok_or(RequestError::OldLine)?;
        let digits = first.strip_prefix(b"old ").ok_or(RequestError::OldLine)?;
        let old = parse_decimal(digits).ok_or(RequestError::OldLine)?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = split_line(rest).ok_or(RequestError::NoSeparator)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let n = proof.len() + 1;
            let bytes = B64.decode(line).map_err(|_| RequestError::ProofLine(n))?;
            let hash: [u8; 32] = bytes.try_into().map_err(|_| RequestError::ProofLine(n))?;
            proof.push(Hash(hash));
        }
        Ok(AddCheckpoint { old, proof, note: rest.to_vec() })
    }

    /// The request body: the inverse of [`AddCheckpoint::parse`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(B64.encode(h.0).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.note);
        out
    }
}

/// The line before the first `\n` and what follows it; `None` without a newline.
fn split_line(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = b.iter().position(|&c| c == b'\n')?;
    Some((&b[..i], &b[i + 1..]))
}

/// A canonical ASCII decimal `u64`: digits only, no leading zero unless it is `0`.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let r = AddCheckpoint {
            old: 20,
            proof: vec![Hash([1; 32]), Hash([2; 32])],
            note: b"o\n1\nx\n\n- a\n".to_vec(),
        };
        assert_eq!(AddCheckpoint::parse(&r.to_bytes()), Ok(r.clone()));
        let empty = AddCheckpoint { old: 0, proof: vec![], note: b"n".to_vec() };
        assert_eq!(empty.to_bytes(), b"old 0\n\nn");
        assert_eq!(AddCheckpoint::parse(b"old 0\n\nn"), Ok(empty));
        for bad in [
            &b"old 01\n\nn"[..],
            b"old -1\n\n",
            b"old\n\n",
            b"Old 1\n\n",
            b"old 1",
            b"old  1\n\n",
            b"old 18446744073709551616\n\n",
        ] {
            assert_eq!(AddCheckpoint::parse(bad), Err(RequestError::OldLine), "{bad:?}");
        }
        assert_eq!(AddCheckpoint::parse(b"old 1\nAAAA\n\n"), Err(RequestError::ProofLine(1)));
        assert_eq!(AddCheckpoint::parse(b"old 1\n"), Err(RequestError::NoSeparator));
        let line = B64.encode([7u8; 32]);
        let many = format!("old 1\n{}\n", vec![line.as_str(); 64].join("\n"));
        assert_eq!(AddCheckpoint::parse(many.as_bytes()), Err(RequestError::TooManyProofLines));
        let ok63 = format!("old 1\n{}\n\nn", vec![line.as_str(); 63].join("\n"));
        assert_eq!(AddCheckpoint::parse(ok63.as_bytes()).map(|r| r.proof.len()), Ok(63));
        assert!(matches!(
            AddCheckpoint::parse(&vec![b'a'; MAX_BODY_BYTES + 1]),
            Err(RequestError::TooLarge(_))
        ));
    }
}
