//! What the linked librdkafka can do for Kafka security, read from librdkafka itself (its
//! `builtin.features` property), and what a configuration asks of it (`security.protocol`).
//!
//! librdkafka does TLS and SASL/SCRAM with OpenSSL: this crate's `tls` feature (on by
//! default) builds it in, from source (openssl-src), or links the system OpenSSL when
//! `OPENSSL_NO_VENDOR=1` is set at build time. Without the feature (the reader's FIPS build)
//! only `plaintext` and `sasl_plaintext` (PLAIN, OAUTHBEARER) are possible.
//!
//! ```
//! use kafka_runtime::{ConsumerConfig, security};
//!
//! let config = ConsumerConfig::new("kafka-1:9093", "events")
//!     .with_librdkafka_override("security.protocol", "SASL_SSL");
//! let protocol = security::SecurityProtocol::of(&config);
//! assert_eq!(protocol, security::SecurityProtocol::SaslSsl);
//! assert!(protocol.uses_tls());
//! // Whether this build can connect so: `security::built_in().supports(protocol)`.
//! ```

use crate::ConsumerConfig;
use rdkafka::config::ClientConfig;

/// librdkafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// `plaintext` (librdkafka's default).
    Plaintext,
    /// `ssl`: TLS, optionally with a client certificate (mutual TLS).
    Ssl,
    /// `sasl_plaintext`: SASL without TLS.
    SaslPlaintext,
    /// `sasl_ssl`: SASL over TLS (most managed Kafka services).
    SaslSsl,
    /// A value librdkafka will refuse at start (it names the accepted ones).
    Other,
}

impl SecurityProtocol {
    /// The protocol `config` asks for (its `security.protocol` override, case-insensitive).
    pub fn of(config: &ConsumerConfig) -> Self {
        match config
            .librdkafka_overrides
            .get("security.protocol")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("plaintext") => Self::Plaintext,
            Some("ssl") => Self::Ssl,
            Some("sasl_plaintext") => Self::SaslPlaintext,
            Some("sasl_ssl") => Self::SaslSsl,
            Some(_) => Self::Other,
        }
    }

    /// Whether the connections are TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// librdkafka's name of it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
            Self::Other => "other",
        }
    }
}

/// The security features of the linked librdkafka (`builtin.features`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltIn {
    /// librdkafka's version string.
    pub librdkafka_version: String,
    /// Every built-in feature, as librdkafka lists them (`gzip, snappy, ssl, sasl, …`).
    pub features: Vec<String>,
}

impl BuiltIn {
    /// Whether a feature (`ssl`, `sasl_scram`, `sasl_plain`, `sasl_oauthbearer`,
    /// `sasl_gssapi`, …) is built in.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Whether this build can connect with `protocol`.
    pub fn supports(&self, protocol: SecurityProtocol) -> bool {
        !protocol.uses_tls() || self.has("ssl")
    }

    /// The SASL mechanisms built in, by their `sasl.mechanisms` names.
    pub fn sasl_mechanisms(&self) -> Vec<&'static str> {
        [
            ("sasl_plain", "PLAIN"),
            ("sasl_scram", "SCRAM-SHA-256"),
            ("sasl_scram", "SCRAM-SHA-512"),
            ("sasl_oauthbearer", "OAUTHBEARER"),
            ("sasl_gssapi", "GSSAPI"),
        ]
        .into_iter()
        .filter(|(feature, _)| self.has(feature))
        .map(|(_, mechanism)| mechanism)
        .collect()
    }

    /// Whether SASL `mechanism` (a `sasl.mechanisms` value, case-insensitive) is built in.
    pub fn has_sasl_mechanism(&self, mechanism: &str) -> bool {
        self.sasl_mechanisms()
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mechanism.trim()))
    }
}

/// Asks the linked librdkafka what it was built with.
pub fn built_in() -> BuiltIn {
    let (_, librdkafka_version) = rdkafka::util::get_rdkafka_version();
    let features = ClientConfig::new()
        .create_native_config()
        .and_then(|native| native.get("builtin.features"))
        .map(|list| {
            list.split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect()
        })
        // Reading a property of a fresh configuration does not fail; if it ever did, the
        // build claims nothing rather than guessing.
        .unwrap_or_default();
    BuiltIn {
        librdkafka_version,
        features,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_reports_ssl_exactly_when_the_tls_feature_is_on() {
        let built = built_in();
        assert!(built.has("sasl_plain"), "{built:?}");
        assert_eq!(built.has("ssl"), cfg!(feature = "tls"), "{built:?}");
        assert_eq!(built.has("sasl_scram"), cfg!(feature = "tls"), "{built:?}");
        assert_eq!(
            built.supports(SecurityProtocol::SaslSsl),
            cfg!(feature = "tls")
        );
        assert!(built.supports(SecurityProtocol::SaslPlaintext));
        assert!(built.has_sasl_mechanism(" plain "));
        assert_eq!(
            built.has_sasl_mechanism("SCRAM-SHA-512"),
            cfg!(feature = "tls")
        );
        assert!(!built.has_sasl_mechanism("SCRAM-SHA"));
    }

    #[test]
    fn the_protocol_is_read_case_insensitively() {
        let with = |v: &str| {
            SecurityProtocol::of(
                &ConsumerConfig::new("b:9092", "t")
                    .with_librdkafka_override("security.protocol", v),
            )
        };
        assert_eq!(
            SecurityProtocol::of(&ConsumerConfig::new("b:9092", "t")),
            SecurityProtocol::Plaintext
        );
        assert_eq!(with("SASL_SSL"), SecurityProtocol::SaslSsl);
        assert_eq!(with(" ssl "), SecurityProtocol::Ssl);
        assert_eq!(with("sasl_plaintext"), SecurityProtocol::SaslPlaintext);
        assert_eq!(with("tls"), SecurityProtocol::Other);
        assert!(!with("tls").uses_tls());
    }
}
