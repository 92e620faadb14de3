//! PEM checks and the rustls crypto provider, shared by `case-client` and `case-sandbox`'s
//! TLS server. PEM contents never appear in errors or logs: only what is wrong with them.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A PEM input that cannot be used. Retrying does not help: fix the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} is not usable: {reason}; pass PEM text (-----BEGIN CERTIFICATE----- / -----BEGIN PRIVATE KEY-----)"
)]
pub struct PemError {
    /// Which input ("CA certificate PEM", "client certificate PEM", …).
    pub what: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

#[cfg(not(any(feature = "tls-ring", feature = "fips")))]
compile_error!(
    "case-proto needs a TLS crypto provider: enable its `tls-ring` feature (the default) or `fips`"
);

/// The rustls crypto provider of this build: AWS-LC in FIPS mode (`aws-lc-rs` with its `fips`
/// feature, the validated AWS-LC FIPS module) when the crate's `fips` feature is on, `ring`
/// (feature `tls-ring`) otherwise.
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "fips")]
    {
        rustls::crypto::default_fips_provider()
    }
    #[cfg(all(feature = "tls-ring", not(feature = "fips")))]
    {
        rustls::crypto::ring::default_provider()
    }
}

/// Installs [`crypto_provider`] as the process default if no default is installed yet.
/// Idempotent, and harmless when another provider was installed first (that one stays: check
/// [`fips_active`] if it matters). tonic's TLS uses the process default, so the Case API
/// client, the sandbox server and the OTLP exporter all run on it. Needed because a build
/// with both `ring` and `aws-lc-rs` compiled in (both features on, or `fips` with the
/// OTLP exporter's AWS-LC) cannot pick a default by itself.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: a provider is installed.
        let _ = crypto_provider().install_default();
    }
}

/// Whether the process-default crypto provider is FIPS-validated (rustls'
/// `CryptoProvider::fips`): true only in a `fips` build after [`install_crypto_provider`].
pub fn fips_active() -> bool {
    rustls::crypto::CryptoProvider::get_default().is_some_and(|p| p.fips())
}

/// The name of this build's provider, for start-up logs and `check-config`.
pub const CRYPTO_PROVIDER_NAME: &str = if cfg!(feature = "fips") {
    "aws-lc-rs (FIPS)"
} else {
    "ring"
};

/// Parses every certificate of a PEM bundle; at least one is required.
pub fn certificates(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PemError {
            what,
            reason: format!("bad PEM ({e})"),
        })?;
    if certs.is_empty() {
        return Err(PemError {
            what,
            reason: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs)
}

/// Checks that `pem` holds at least one certificate usable as a trust anchor.
pub fn check_ca(pem: &[u8], what: &'static str) -> Result<(), PemError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(pem, what)? {
        roots.add(cert).map_err(|e| PemError {
            what,
            reason: format!("not a valid CA certificate ({e})"),
        })?;
    }
    Ok(())
}

/// Checks that `cert_pem` and `key_pem` form a usable identity: the certificate chain parses,
/// the key parses and is supported, and the key belongs to the first certificate.
pub fn check_identity(cert_pem: &[u8], key_pem: &[u8], what: &'static str) -> Result<(), PemError> {
    let certs = certificates(cert_pem, what)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| PemError {
        what,
        reason: format!("the private key PEM does not parse ({e})"),
    })?;
    rustls::sign::CertifiedKey::from_der(certs, key, &crypto_provider()).map_err(|e| PemError {
        what,
        reason: format!("certificate and private key do not form an identity ({e})"),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(name: &str) -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem())
    }

    #[test]
    fn valid_pem_passes() {
        let (cert, key) = self_signed("localhost");
        check_ca(cert.as_bytes(), "CA").unwrap();
        check_identity(cert.as_bytes(), key.as_bytes(), "identity").unwrap();
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        // A `fips` build runs on the validated module, any other build does not claim it.
        assert_eq!(fips_active(), cfg!(feature = "fips"));
    }

    #[test]
    fn invalid_pem_is_refused_without_echoing_it() {
        let err = check_ca(b"not pem at all", "CA certificate PEM").unwrap_err();
        assert!(err.to_string().contains("CA certificate PEM"));
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(check_ca(garbage, "CA").is_err());

        let (cert, key) = self_signed("a");
        let (_, other_key) = self_signed("b");
        let err =
            check_identity(cert.as_bytes(), other_key.as_bytes(), "client identity").unwrap_err();
        assert!(err.reason.contains("do not form an identity"), "{err}");
        assert!(
            !err.to_string().contains("PRIVATE KEY-----\n"),
            "no PEM echoed"
        );
        assert!(check_identity(cert.as_bytes(), b"nope", "id").is_err());
        assert!(check_identity(key.as_bytes(), key.as_bytes(), "id").is_err());
    }
}
