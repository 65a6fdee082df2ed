//! The HTTP side of the tests of `kpledger serve` and the witness: one client configuration,
//! and a self-signed certificate for a server on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A client that gives up on a call after `timeout` and takes every status as an answer, not
/// an error; over HTTPS it trusts the certificate `trusting` (DER) only, when one is given,
/// else the public roots.
pub fn agent(timeout: Duration, trusting: Option<&[u8]>) -> ureq::Agent {
    let mut config =
        ureq::config::Config::builder().http_status_as_error(false).timeout_global(Some(timeout));
    if let Some(der) = trusting {
        let root = ureq::tls::Certificate::from_der(der).to_owned();
        let roots = ureq::tls::RootCerts::Specific(Arc::new(vec![root]));
        config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }
    ureq::Agent::new_with_config(config.build())
}

/// A new self-signed certificate for the host `names` (an address such as 127.0.0.1, or a
/// name), written as PEM to `cert` with its private key to `key`; returns the certificate in
/// DER, for [`agent`] to trust.
pub fn self_signed(names: &[&str], cert: &Path, key: &Path) -> Vec<u8> {
    let made = rcgen::generate_simple_self_signed(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .unwrap_or_else(|e| panic!("cannot make a certificate for {names:?}: {e}"));
    std::fs::write(cert, made.cert.pem()).unwrap();
    std::fs::write(key, made.signing_key.serialize_pem()).unwrap();
    made.cert.der().to_vec()
}
