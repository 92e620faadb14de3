//! [`CaseClientConfig`]: where the Case Management API is and how to call it, with the
//! defaults of the `[case_api]` section ([`CaseApiSection`], declared once here).

use crate::auth::AuthToken;
use crate::tls::PemError;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use thirdparty_core::config::KeyKind;

thirdparty_core::config_section! {
    /// The `[case_api]` section of the reader's configuration. [`CaseClientConfig::new`] and
    /// [`RetryPolicy::default`] take their defaults from here; the PEM files are read by the
    /// service shell, which builds the [`TlsConfig`].
    pub struct CaseApiSection in "case_api" {
        /// Case Management gRPC endpoint, e.g. https://case-api:443 (http:// for plaintext).
        pub endpoint: Option<String> = required, KeyKind::Text;
        /// PEM CA bundle to verify the Case API server (TLS).
        pub ca_file: Option<PathBuf> = unset, KeyKind::File;
        /// PEM client certificate for mutual TLS.
        pub client_cert_file: Option<PathBuf> = unset, KeyKind::File;
        /// PEM client key for mutual TLS.
        pub client_key_file: Option<PathBuf> = unset, KeyKind::File;
        /// Server name to verify, when it differs from the endpoint host.
        pub tls_domain: Option<String> = unset, KeyKind::Text;
        /// File holding the bearer token sent on every call (a mounted secret); read again when it changes, so a rotated secret needs no restart.
        pub auth_token_file: Option<PathBuf> = unset, KeyKind::File;
        /// The bearer token itself (from the environment or --set), when there is no token file.
        pub auth_token: Option<String> = unset, KeyKind::Secret;
        /// Per-call deadline.
        pub deadline_ms: Duration = "5000", KeyKind::Millis { min: 10, max: 600_000 };
        /// Attempts per call on UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED.
        pub retry_max_attempts: u32 = "4", KeyKind::Integer { min: 1, max: 100 };
        /// First per-call retry backoff (exponential, full jitter).
        pub retry_initial_backoff_ms: Duration = "50", KeyKind::Millis { min: 1, max: 600_000 };
        /// Per-call retry backoff ceiling.
        pub retry_max_backoff_ms: Duration = "2000", KeyKind::Millis { min: 1, max: 600_000 };
        /// Total time budget of one call's retries.
        pub retry_max_elapsed_ms: Duration = "10000", KeyKind::Millis { min: 1, max: 3_600_000 };
    }
}

/// How long a `GetProjectSettings` answer is reused unless configured (the reader's
/// `cache.settings_ttl_s` default).
pub const DEFAULT_SETTINGS_CACHE_TTL: Duration = Duration::from_secs(300);

/// How many project settings the cache holds unless configured (the reader's
/// `cache.settings_capacity` default).
pub const DEFAULT_SETTINGS_CACHE_CAPACITY: usize = 10_000;

/// How to reach and call the Case Management API.
#[derive(Clone, Debug)]
pub struct CaseClientConfig {
    /// `http://host:port` (plaintext) or `https://host:port` (requires [`Self::tls`]).
    pub endpoint: String,
    /// TLS settings; required for an `https://` endpoint, refused for `http://`.
    pub tls: Option<TlsConfig>,
    /// Deadline of each attempt of a call (sent to the server as `grpc-timeout`).
    pub call_timeout: Duration,
    /// Deadline for opening a connection.
    pub connect_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// How long a `GetProjectSettings` answer (including "no settings") is reused.
    pub settings_cache_ttl: Duration,
    /// How many project settings the cache holds at most.
    pub settings_cache_capacity: usize,
    /// The bearer token sent as `authorization: Bearer …` on every call, if the API needs
    /// one.
    pub auth: Option<AuthToken>,
}

impl CaseClientConfig {
    /// A configuration without TLS for `endpoint` with the [`CaseApiSection`] defaults
    /// (5 s per attempt, [`RetryPolicy::default`]), 3 s to connect, settings cached
    /// [`DEFAULT_SETTINGS_CACHE_TTL`], [`DEFAULT_SETTINGS_CACHE_CAPACITY`] of them.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self::from_section(endpoint, &CaseApiSection::default())
    }

    /// A configuration without TLS for `endpoint` with the `[case_api]` section's deadline
    /// and retries (add TLS with [`Self::with_tls`]).
    pub fn from_section(endpoint: impl Into<String>, section: &CaseApiSection) -> Self {
        Self {
            endpoint: endpoint.into(),
            tls: None,
            call_timeout: section.deadline_ms,
            connect_timeout: Duration::from_secs(3),
            retry: RetryPolicy::from(section),
            settings_cache_ttl: DEFAULT_SETTINGS_CACHE_TTL,
            settings_cache_capacity: DEFAULT_SETTINGS_CACHE_CAPACITY,
            auth: None,
        }
    }

    /// This configuration with a bearer token on every call.
    pub fn with_auth_token(mut self, token: AuthToken) -> Self {
        self.auth = Some(token);
        self
    }

    /// This configuration with TLS.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// This configuration with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// TLS settings of the client (rustls with the `ring` provider).
#[derive(Clone)]
pub struct TlsConfig {
    /// PEM of the CA certificate(s) the server certificate must chain to.
    pub ca_pem: Vec<u8>,
    /// Client certificate and key for mutual TLS, if the server asks for one.
    pub client_identity: Option<ClientIdentity>,
    /// The name the server certificate must carry, when it differs from the endpoint's host
    /// (e.g. connecting to an IP with a certificate for `case-api.internal`).
    pub domain_name: Option<String>,
}

impl TlsConfig {
    /// Trust the CA(s) in `ca_pem`, no client certificate, the endpoint's host as name.
    pub fn new(ca_pem: impl Into<Vec<u8>>) -> Self {
        Self {
            ca_pem: ca_pem.into(),
            client_identity: None,
            domain_name: None,
        }
    }

    /// Adds a client certificate and key (mutual TLS).
    pub fn with_client_identity(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_identity = Some(ClientIdentity {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        });
        self
    }

    /// Overrides the name checked against the server certificate.
    pub fn with_domain_name(mut self, name: impl Into<String>) -> Self {
        self.domain_name = Some(name.into());
        self
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_pem", &format_args!("<{} bytes>", self.ca_pem.len()))
            .field("client_identity", &self.client_identity)
            .field("domain_name", &self.domain_name)
            .finish()
    }
}

/// A client certificate chain and its private key, as PEM.
#[derive(Clone)]
pub struct ClientIdentity {
    /// Certificate chain PEM, leaf first.
    pub cert_pem: Vec<u8>,
    /// Private key PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Vec<u8>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Retries of `UNAVAILABLE`, `DEADLINE_EXCEEDED` and `RESOURCE_EXHAUSTED`: exponential
/// backoff with full jitter (each wait is uniformly random between zero and
/// `min(max_backoff, initial_backoff × 2^(retry−1))`), bounded by attempts and by elapsed
/// time. When either bound is reached the call fails with
/// [`thirdparty_core::CaseApiError::Unavailable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Cap of the first wait.
    pub initial_backoff: Duration,
    /// Cap of every wait.
    pub max_backoff: Duration,
    /// No retry starts after this much time since the first attempt (waits included).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// The `[case_api]` section's defaults: 4 attempts, waits capped at 50 ms doubling to
    /// 2 s, 10 s in all.
    fn default() -> Self {
        Self::from(&CaseApiSection::default())
    }
}

impl From<&CaseApiSection> for RetryPolicy {
    fn from(section: &CaseApiSection) -> Self {
        Self {
            max_attempts: section.retry_max_attempts,
            initial_backoff: section.retry_initial_backoff_ms,
            max_backoff: section.retry_max_backoff_ms,
            max_elapsed: section.retry_max_elapsed_ms,
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn no_retry() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff these retries follow (thirdparty-core's one full-jitter [`Backoff`]).
    ///
    /// [`Backoff`]: thirdparty_core::Backoff
    pub fn backoff(&self) -> thirdparty_core::Backoff {
        thirdparty_core::Backoff::new(self.max_attempts, self.initial_backoff, self.max_backoff)
            .with_max_elapsed(self.max_elapsed)
    }
}

/// A configuration the client cannot be built from. Retrying does not help: fix the
/// configuration ([`ConnectError::is_retryable`] is `false`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The endpoint is not an `http://` or `https://` URL.
    #[error(
        "Case API endpoint {endpoint:?} is invalid: {reason}; use http://host:port or https://host:port"
    )]
    InvalidEndpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// `https://` without TLS settings, or TLS settings with `http://`.
    #[error("Case API endpoint {endpoint:?} and TLS settings disagree: {reason}")]
    TlsMismatch {
        /// The endpoint as configured.
        endpoint: String,
        /// What disagrees.
        reason: &'static str,
    },
    /// A CA or client certificate/key PEM is unusable.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// A numeric setting is out of range.
    #[error("Case API client setting {setting} is invalid: {reason}")]
    InvalidSetting {
        /// The setting.
        setting: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// tonic refused the endpoint or TLS settings.
    #[error("Case API client could not be configured for {endpoint:?}: {source}")]
    Transport {
        /// The endpoint as configured.
        endpoint: String,
        /// tonic's error.
        #[source]
        source: tonic::transport::Error,
    },
}

impl ConnectError {
    /// Whether building the client again may succeed without a change: never.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_caps_double_up_to_the_max_and_jitter_stays_under_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(60),
        };
        let backoff = p.backoff();
        let caps: Vec<u128> = (1..=6).map(|r| backoff.ceiling(r).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            backoff.ceiling(u32::MAX),
            Duration::from_millis(1000),
            "no overflow"
        );
        for retry in 1..=6 {
            for _ in 0..200 {
                assert!(backoff.delay(retry, rand::random()) <= backoff.ceiling(retry));
            }
        }
        // Full jitter really spreads: 200 draws under a 1 s cap are not all equal.
        let draws: std::collections::BTreeSet<_> =
            (0..200).map(|_| backoff.delay(5, rand::random())).collect();
        assert!(draws.len() > 1);
        assert_eq!(backoff.max_elapsed, Some(Duration::from_secs(60)));
    }

    #[test]
    fn debug_never_prints_pem() {
        let tls = TlsConfig::new("-----BEGIN CERTIFICATE-----secretca").with_client_identity(
            "-----BEGIN CERTIFICATE-----cert",
            "-----BEGIN PRIVATE KEY-----secretkey",
        );
        let printed = format!("{:?}", CaseClientConfig::new("https://x:1").with_tls(tls));
        assert!(
            !printed.contains("secret") && !printed.contains("BEGIN"),
            "{printed}"
        );
    }
}
