//! Key files and key encodings from arbitrary bytes: PKCS#8 PEM private keys, SPKI PEM
//! public keys, raw 32-byte public keys and their base64 form in documents. Whatever is
//! accepted must write back to a form that reads as the same key; a raw public key is
//! accepted only in its canonical encoding.
#![no_main]

use kpledger_model::{PublicKey, SecretKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Raw bytes as a public key: only canonical, non-weak encodings are accepted.
    if let Ok(k) = PublicKey::from_bytes(data) {
        assert_eq!(k.to_bytes().as_slice(), data, "a public key is accepted in a non-canonical encoding");
        let pem = k.to_pem();
        assert_eq!(PublicKey::from_pem(&pem, "fuzz").expect("own PEM refused"), k);
        let json = serde_json::to_string(&k).expect("serialise");
        assert_eq!(serde_json::from_str::<PublicKey>(&json).expect("own base64 refused"), k);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sk) = SecretKey::from_pem(text, "fuzz") {
        let pem = sk.to_pem();
        let back = SecretKey::from_pem(&pem, "fuzz").expect("own private PEM refused");
        assert_eq!(back.public(), sk.public());
        assert_eq!(back.to_pem(), pem);
        // A key file is one or the other: a private key is never read as a public key.
        assert!(PublicKey::from_pem(text, "fuzz").is_err(), "a private key file read as a public key");
    }
    if let Ok(pk) = PublicKey::from_pem(text, "fuzz") {
        let pem = pk.to_pem();
        assert_eq!(PublicKey::from_pem(&pem, "fuzz").expect("own public PEM refused"), pk);
        assert!(SecretKey::from_pem(text, "fuzz").is_err(), "a public key file read as a private key");
    }
    // A public key as written in signed documents (standard base64 in a JSON string).
    if let Ok(pk) = serde_json::from_value::<PublicKey>(serde_json::Value::String(text.to_owned())) {
        assert_eq!(pk.to_base64(), text, "a document key is accepted in a non-canonical base64 form");
    }
});
