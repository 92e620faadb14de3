//! [`ReaderSettings`]: the typed configuration, built once per command from the sections of a
//! validated [`RawConfig`].

use crate::config::{ConfigError, RawConfig, Source};
use crate::flavor::default_topic;
use crate::keys::{CacheSection, ConsumerSection};
use case_client::config::CaseApiSection;
use case_client::{AuthToken, CaseClientConfig, TlsConfig};
use kafka_runtime::{ConsumerConfig, DeadLetterConfig, KafkaSection, LIBRDKAFKA_PREFIX, SkipList};
use observability::TelemetryConfig;
use observability::config::{HealthSection, MetricsSection, TracingSection};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The reader's version (what `--version` prints), written in every parked record's
/// `dead-letter-reader-version` header.
pub(crate) const READER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything the service shell needs, typed.
#[derive(Debug, Clone)]
pub(crate) struct ReaderSettings {
    /// The consumer.
    pub(crate) consumer: ConsumerConfig,
    /// The operator skip-list.
    pub(crate) skip_messages: ConsumerSection,
    /// The Case API client.
    pub(crate) case_api: CaseClientConfig,
    /// Telemetry.
    pub(crate) telemetry: TelemetryConfig,
    /// Health server address.
    pub(crate) health_addr: SocketAddr,
    /// Liveness stall threshold.
    pub(crate) stall_timeout: Duration,
    /// The `[cache]` section (warm-up, metadata cache size and lifetime).
    pub(crate) cache: CacheSection,
}

impl ReaderSettings {
    /// Types and cross-checks a loaded configuration for flavor `flavor`. `needs_kafka` is
    /// false for commands that never touch the broker (`replay --file`).
    pub(crate) fn from_raw(
        raw: &RawConfig,
        flavor: &str,
        needs_kafka: bool,
    ) -> Result<Self, ConfigError> {
        let kafka: KafkaSection = raw.section()?;
        let case_api: CaseApiSection = raw.section()?;
        let cache: CacheSection = raw.section()?;
        let brokers = if needs_kafka {
            raw.require("kafka.brokers", kafka.brokers.clone())?
        } else {
            kafka
                .brokers
                .clone()
                .unwrap_or_else(|| "unused:9092".to_owned())
        };
        let endpoint = raw.require("case_api.endpoint", case_api.endpoint.clone())?;
        let topic = kafka.topic.clone().unwrap_or_else(|| default_topic(flavor));
        if kafka.drain_timeout_ms > kafka.session_timeout_ms / 2 {
            return Err(ConfigError::Conflict {
                key: "kafka.drain_timeout_ms".into(),
                other: "kafka.session_timeout_ms".into(),
                message: format!(
                    "the revoke drain ({} ms) must be at most half the session timeout ({} ms), or the group evicts the consumer while it drains",
                    kafka.drain_timeout_ms.as_millis(),
                    kafka.session_timeout_ms.as_millis()
                ),
            });
        }
        let dead_letter_topic = kafka.dead_letter_topic_for(&topic);
        let mut consumer = ConsumerConfig::from_section(brokers, topic, &kafka);
        for (key, value) in raw.with_prefix(LIBRDKAFKA_PREFIX) {
            consumer = consumer.with_librdkafka_override(key, value);
        }
        if let Some(dead_letter_topic) = dead_letter_topic {
            consumer = consumer.with_dead_letter(DeadLetterConfig::new(
                dead_letter_topic,
                flavor,
                READER_VERSION,
            ));
        }
        consumer.validate().map_err(|e| match e {
            kafka_runtime::RuntimeError::InvalidConfig {
                field: "dead_letter_topic",
                message,
            } => ConfigError::Conflict {
                key: "kafka.dead_letter_topic".into(),
                other: "kafka.topic".into(),
                message,
            },
            e => ConfigError::Conflict {
                key: "kafka".into(),
                other: "kafka.librdkafka".into(),
                message: e.to_string(),
            },
        })?;

        let mut case_client = CaseClientConfig::from_section(endpoint.clone(), &case_api);
        case_client.settings_cache_ttl = cache.settings_ttl_s;
        case_client.settings_cache_capacity = cache.settings_capacity;
        if let Some(tls) = tls_config(raw, &case_api)? {
            case_client = case_client.with_tls(tls);
        } else if endpoint.starts_with("https://") {
            return Err(ConfigError::Conflict {
                key: "case_api.endpoint".into(),
                other: "case_api.ca_file".into(),
                message: "an https:// endpoint needs case_api.ca_file (the CA that signed the server certificate)".into(),
            });
        }

        match (&case_api.auth_token_file, &case_api.auth_token) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict {
                    key: "case_api.auth_token".into(),
                    other: "case_api.auth_token_file".into(),
                    message: "set one source of the Case API token: the file (a mounted secret, read again when it changes) or the token itself".into(),
                });
            }
            (Some(file), None) => {
                case_client = case_client.with_auth_token(AuthToken::File(file.clone()));
            }
            (None, Some(token)) => {
                case_client = case_client.with_auth_token(AuthToken::Inline(token.clone()));
            }
            (None, None) => {}
        }

        let metrics: MetricsSection = raw.section()?;
        let tracing: TracingSection = raw.section()?;
        let mut telemetry = TelemetryConfig::from_sections(flavor, &metrics, &tracing);
        telemetry
            .global_tags
            .insert(0, ("flavor".into(), flavor.into()));

        let health: HealthSection = raw.section()?;
        Ok(Self {
            consumer,
            skip_messages: raw.section()?,
            case_api: case_client,
            telemetry,
            health_addr: health.addr().map_err(|e| raw.invalid(e))?,
            stall_timeout: health.stall_timeout_s,
            cache,
        })
    }

    /// A skip-list holding the configured entries.
    pub(crate) fn skip_list(&self) -> SkipList {
        SkipList::from_entries(self.skip_messages.skip_messages.iter().cloned())
    }
}

/// The Case API TLS settings, when `case_api.ca_file` is set.
fn tls_config(raw: &RawConfig, section: &CaseApiSection) -> Result<Option<TlsConfig>, ConfigError> {
    let Some(ca) = &section.ca_file else {
        return Ok(None);
    };
    let mut tls = TlsConfig::new(read_pem(raw, "case_api.ca_file", ca)?);
    match (&section.client_cert_file, &section.client_key_file) {
        (Some(cert), Some(key)) => {
            tls = tls.with_client_identity(
                read_pem(raw, "case_api.client_cert_file", cert)?,
                read_pem(raw, "case_api.client_key_file", key)?,
            );
        }
        (None, None) => {}
        _ => {
            return Err(ConfigError::Conflict {
                key: "case_api.client_cert_file".into(),
                other: "case_api.client_key_file".into(),
                message: "set both for mutual TLS, or neither".into(),
            });
        }
    }
    if let Some(domain) = &section.tls_domain {
        tls = tls.with_domain_name(domain);
    }
    Ok(Some(tls))
}

fn read_pem(raw: &RawConfig, key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::InvalidValue {
        key: key.into(),
        value: path.display().to_string(),
        expected: format!("a readable PEM file ({e})"),
        origin: raw.source(key).cloned().unwrap_or(Source::Default),
    })
}
