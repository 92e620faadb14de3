#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! TLS and mutual TLS between case-client and case-sandbox, with test CAs made by rcgen.

mod common;

use case_client::{CaseClient, ConnectError, RetryPolicy, TlsConfig};
use case_sandbox::{Rpc, ServerHandle, ServerTls, Store};
use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use thirdparty_core::CaseApiError;

/// A test certificate authority.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf certificate and key for `names` (DNS names or IPs), signed by this CA.
    fn leaf(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A TLS sandbox (certificate by `ca`; mutual TLS when `client_ca` is given) over a store
/// holding case `c1`, and that store.
async fn tls_server(ca: &TestCa, client_ca: Option<&TestCa>) -> (Store, ServerHandle) {
    let store = store_with_case();
    let (cert_pem, key_pem) = ca.leaf(&["localhost", "127.0.0.1"]);
    let tls = ServerTls {
        cert_pem: cert_pem.into_bytes(),
        key_pem: key_pem.into_bytes(),
        client_ca_pem: client_ca.map(|c| c.pem().into_bytes()),
    };
    let server = case_sandbox::serve_tls("127.0.0.1:0".parse().unwrap(), store.clone(), tls)
        .await
        .unwrap_or_else(|e| panic!("the TLS sandbox must start on loopback: {e}"));
    (store, server)
}

fn tls_client(url: &str, tls: TlsConfig) -> CaseClient {
    CaseClient::connect(
        config(url)
            .with_retry(RetryPolicy::no_retry())
            .with_tls(tls),
    )
    .unwrap()
}

#[tokio::test]
async fn handshake_with_the_test_ca_succeeds_and_calls_work() {
    let ca = TestCa::new("test CA");
    let (store, server) = tls_server(&ca, None).await;
    assert!(server.url().starts_with("https://"));

    // By IP (the certificate carries 127.0.0.1) …
    let client = tls_client(&server.url(), TlsConfig::new(ca.pem()));
    let got = get_c1(&client).await.unwrap();
    assert_eq!(got.map(|c| c.id.0).as_deref(), Some("c1"));

    // … and by name with a domain override.
    let by_name = tls_client(
        &server.url(),
        TlsConfig::new(ca.pem()).with_domain_name("localhost"),
    );
    assert!(get_c1(&by_name).await.unwrap().is_some());
    assert_eq!(store.calls(Rpc::GetCase), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_plaintext_client_against_the_tls_server_fails_clearly() {
    let ca = TestCa::new("test CA");
    let (store, server) = tls_server(&ca, None).await;
    let plain_url = format!("http://{}", server.local_addr());
    let client =
        CaseClient::connect(config(&plain_url).with_retry(RetryPolicy::no_retry())).unwrap();
    let err = get_c1(&client).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, CaseApiError::Unavailable { .. }), "{err:?}");
    assert!(
        message.contains("plaintext http://") && message.contains("requires TLS"),
        "{message}"
    );
    assert_calls(
        &store,
        Rpc::GetCase,
        0,
        "the call never reached the service",
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_trusting_another_ca_is_refused() {
    let ca = TestCa::new("test CA");
    let other = TestCa::new("some other CA");
    let (store, server) = tls_server(&ca, None).await;
    let client = tls_client(&server.url(), TlsConfig::new(other.pem()));
    let err = get_c1(&client).await.unwrap_err();
    assert!(
        matches!(err, CaseApiError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(
        err.is_configuration_fault() && err.is_retryable(),
        "a certificate problem is the reader's setup: the message waits for the fix, never dropped"
    );
    assert!(client.is_refused(), "the reader is not ready while refused");

    // The right CA but a name the certificate does not carry is refused as well.
    let wrong_name = tls_client(
        &server.url(),
        TlsConfig::new(ca.pem()).with_domain_name("case-api.example"),
    );
    let err = get_c1(&wrong_name).await.unwrap_err();
    assert!(
        matches!(err, CaseApiError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert_eq!(store.calls(Rpc::GetCase), 0);
    server.shutdown().await.unwrap();
}

/// A client certificate the server refused: the server's certificate alert usually arrives
/// (PermissionDenied); when the kernel resets the connection first, the client sees a
/// dropped connection.
fn assert_refused_by_the_server(err: &CaseApiError) {
    assert!(
        matches!(
            err,
            CaseApiError::PermissionDenied { .. } | CaseApiError::Unavailable { .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn mutual_tls_accepts_a_client_certificate_from_the_client_ca_only() {
    let server_ca = TestCa::new("server CA");
    let client_ca = TestCa::new("client CA");
    let rogue_ca = TestCa::new("rogue CA");
    let (store, server) = tls_server(&server_ca, Some(&client_ca)).await;

    let (cert, key) = client_ca.leaf(&["reader-jira"]);
    let good = tls_client(
        &server.url(),
        TlsConfig::new(server_ca.pem()).with_client_identity(cert, key),
    );
    assert!(get_c1(&good).await.unwrap().is_some());

    let no_cert = tls_client(&server.url(), TlsConfig::new(server_ca.pem()));
    let err = get_c1(&no_cert).await.unwrap_err();
    assert_refused_by_the_server(&err);

    let (rogue_cert, rogue_key) = rogue_ca.leaf(&["reader-jira"]);
    let rogue = tls_client(
        &server.url(),
        TlsConfig::new(server_ca.pem()).with_client_identity(rogue_cert, rogue_key),
    );
    let err = get_c1(&rogue).await.unwrap_err();
    assert_refused_by_the_server(&err);
    assert_calls(
        &store,
        Rpc::GetCase,
        1,
        "only the trusted client got through",
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unusable_pem_is_refused_before_any_call() {
    let ca = TestCa::new("test CA");
    let (cert, _) = ca.leaf(&["reader"]);
    let (_, other_key) = ca.leaf(&["other"]);
    let key_body = other_key.lines().nth(1).unwrap().to_owned();
    let mismatched = TlsConfig::new(ca.pem()).with_client_identity(cert, other_key);
    let err = CaseClient::connect(config("https://127.0.0.1:1").with_tls(mismatched)).unwrap_err();
    assert!(matches!(err, ConnectError::Pem(_)), "{err:?}");
    assert!(
        !err.to_string().contains(&key_body),
        "no PEM content in errors"
    );
    assert!(
        !format!("{err:?}").contains(&key_body),
        "no PEM content in errors"
    );

    let store = Store::new();
    let bad = ServerTls {
        cert_pem: b"nope".to_vec(),
        key_pem: b"nope".to_vec(),
        client_ca_pem: None,
    };
    let err = case_sandbox::serve_tls("127.0.0.1:0".parse().unwrap(), store, bad)
        .await
        .unwrap_err();
    assert!(matches!(err, case_sandbox::ServeError::Tls(_)), "{err:?}");
}

/// The `fips` feature of this crate reaches the crypto provider it re-exports: a `fips`
/// build runs on the validated AWS-LC module, any other build on ring and does not claim it.
#[test]
fn the_crypto_provider_is_the_one_of_this_build() {
    case_client::tls::install_crypto_provider();
    assert_eq!(case_client::tls::fips_active(), cfg!(feature = "fips"));
    let expected_name = if cfg!(feature = "fips") {
        "aws-lc-rs (FIPS)"
    } else {
        "ring"
    };
    assert_eq!(case_client::tls::CRYPTO_PROVIDER_NAME, expected_name);
}
