//! kpledger's one HTTP client builder: the log's requests to witnesses ([`agent`]) and the
//! CLI's requests to a `kpledger serve` (`kpledger submit`, `get`, `--server`) are made by
//! agents built here, differing only in their timeout and in the authorities they trust.
//!
//! A status is an answer, not an error (the caller reads 409, 422, 503 …). HTTPS is rustls
//! with the Mozilla root certificates built in ([`ureq::tls::RootCerts::WebPki`]), or, with
//! [`CaRoots`], only the certificates of a PEM file: an authority's private CA, or the
//! self-signed certificate of a test deployment. The file's certificates replace the built-in
//! roots rather than add to them (as `curl --cacert` does): naming the authority that issues
//! the server's certificate also pins it, so that no public CA can stand in for the server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// How long one request of the log to a witness may take in all.
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(30);

/// The certificates an HTTPS client trusts instead of the built-in roots, read from a PEM file.
#[derive(Debug, Clone)]
pub struct CaRoots {
    certs: Arc<Vec<Certificate<'static>>>,
}

/// Why a CA certificate file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The file could not be read.
    #[error("cannot read the CA certificate file {}: {error}", path.display())]
    Read {
        /// The CA certificate file, as given.
        path: PathBuf,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// The file holds no PEM certificate.
    #[error(
        "{} holds no PEM certificate (a -----BEGIN CERTIFICATE----- block): give the certificate of the \
         authority that issued the server's certificate, or the server's own self-signed certificate, in PEM",
        path.display()
    )]
    NoCertificate {
        /// The CA certificate file, as given.
        path: PathBuf,
    },
    /// The file's PEM, or a certificate in it, does not parse.
    #[error("{}: {reason}", path.display())]
    Unusable {
        /// The CA certificate file, as given.
        path: PathBuf,
        /// What the PEM or X.509 parser reported.
        reason: String,
    },
}

impl CaRoots {
    /// The certificates of the PEM file at `path` (one or several: a CA bundle); other PEM
    /// blocks in it are ignored.
    pub fn read(path: &Path) -> Result<CaRoots, CaError> {
        let pem = std::fs::read(path).map_err(|error| CaError::Read { path: path.to_owned(), error })?;
        Self::from_pem(&pem, path)
    }

    /// The certificates of `pem`, read from `path` (named in errors).
    pub fn from_pem(pem: &[u8], path: &Path) -> Result<CaRoots, CaError> {
        let unusable = |reason: String| CaError::Unusable { path: path.to_owned(), reason };
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item.map_err(|e| unusable(format!("not valid PEM: {e}")))? {
                PemItem::Certificate(c) => certs.push(c),
                _ => continue,
            }
        }
        if certs.is_empty() {
            return Err(CaError::NoCertificate { path: path.to_owned() });
        }
        // The TLS library would skip a certificate it cannot use as a trust anchor without a
        // word, and every connection would then fail as untrusted: refuse the file instead.
        let mut store = rustls::RootCertStore::empty();
        for (i, c) in certs.iter().enumerate() {
            store.add(rustls::pki_types::CertificateDer::from(c.der().to_vec())).map_err(|e| {
                unusable(format!("certificate {} of the file is not a usable X.509 certificate: {e}", i + 1))
            })?;
        }
        Ok(CaRoots { certs: Arc::new(certs) })
    }

    /// How many certificates are trusted.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Never true: a [`CaRoots`] holds at least one certificate.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

/// An HTTP agent: statuses are answers, not errors; each request takes `timeout` at most in
/// all; HTTPS trusts `roots` when given, else the built-in Mozilla roots.
pub fn http_agent(timeout: Duration, roots: Option<&CaRoots>) -> ureq::Agent {
    let config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout));
    let config = match roots {
        Some(r) => config
            .tls_config(TlsConfig::builder().root_certs(RootCerts::Specific(Arc::clone(&r.certs))).build()),
        None => config,
    };
    config.build().into()
}

/// An HTTP agent for witnesses: [`http_agent`] with [`WITNESS_TIMEOUT`], trusting `roots` for
/// their https:// URLs when given (a private CA), else the built-in roots.
pub fn agent(roots: Option<&CaRoots>) -> ureq::Agent {
    http_agent(WITNESS_TIMEOUT, roots)
}

/// Whether `e` is a TLS refusal of the server's certificate (not issued by a trusted
/// authority, expired, for another name …).
pub fn is_certificate_error(e: &ureq::Error) -> bool {
    let invalid = |r: &rustls::Error| matches!(r, rustls::Error::InvalidCertificate(_));
    match e {
        ureq::Error::Rustls(r) => invalid(r),
        // The handshake's refusal, as the connection's reader reports it.
        ureq::Error::Io(io) => {
            io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()).is_some_and(invalid)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_file_without_a_certificate_is_refused_naming_it() {
        let p = Path::new("server.key");
        let key = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+Dv1HxQ3nzHGqfqqFzpoRAZ+9RHbbpAqTVn0LPF/VU\n-----END PRIVATE KEY-----\n";
        for pem in [&b""[..], b"hello\n", b"\x30\x82\x01\x0a\x02", key] {
            let e = CaRoots::from_pem(pem, p).unwrap_err();
            assert!(matches!(e, CaError::NoCertificate { .. }), "{e}");
            assert!(e.to_string().starts_with("server.key holds no PEM certificate"), "{e}");
        }
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = CaRoots::from_pem(garbage, p).unwrap_err();
        assert!(e.to_string().contains("certificate 1 of the file is not a usable X.509 certificate"), "{e}");
        let e = CaRoots::read(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
