//! [`ReaderSettings`]: the typed configuration, built from a validated [`RawConfig`].

use crate::config::{ConfigError, RawConfig, Source};
use crate::flavor::default_topic;
use case_client::{CaseClientConfig, TlsConfig};
use kafka_runtime::{ConsumerConfig, MessageCoordinates, RetryPolicy, SkipList};
use observability::TelemetryConfig;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Prefix of pass-through librdkafka properties (`[kafka.librdkafka]` section).
pub const LIBRDKAFKA_PREFIX: &str = "kafka.librdkafka.";

/// Everything the service shell needs, typed.
#[derive(Debug, Clone)]
pub struct ReaderSettings {
    /// The consumer.
    pub consumer: ConsumerConfig,
    /// The operator skip-list.
    pub skip_messages: Vec<MessageCoordinates>,
    /// The Case API client.
    pub case_api: CaseClientConfig,
    /// Telemetry.
    pub telemetry: TelemetryConfig,
    /// Health server address.
    pub health_addr: SocketAddr,
    /// Liveness stall threshold.
    pub stall_timeout: Duration,
    /// Warm the metadata caches before readiness.
    pub warm_on_start: bool,
    /// Metadata cache TTL.
    pub metadata_ttl: Duration,
    /// Metadata cache capacity.
    pub metadata_capacity: usize,
}

impl ReaderSettings {
    /// Types and cross-checks a loaded configuration for flavor `flavor`. `needs_kafka` is
    /// false for commands that never touch the broker (`replay --file`).
    pub fn from_raw(raw: &RawConfig, flavor: &str, needs_kafka: bool) -> Result<Self, ConfigError> {
        let brokers = if needs_kafka {
            raw.require("kafka.brokers")?
        } else {
            raw.get("kafka.brokers").unwrap_or("unused:9092")
        };
        let endpoint = raw.require("case_api.endpoint")?.to_owned();
        let topic = raw
            .get("kafka.topic")
            .map_or_else(|| default_topic(flavor), str::to_owned);
        let session_timeout = raw.millis("kafka.session_timeout_ms")?;
        let drain_timeout = raw.millis("kafka.drain_timeout_ms")?;
        if drain_timeout > session_timeout / 2 {
            return Err(ConfigError::Conflict {
                key: "kafka.drain_timeout_ms".into(),
                other: "kafka.session_timeout_ms".into(),
                message: format!(
                    "the revoke drain ({} ms) must be at most half the session timeout ({} ms), or the group evicts the consumer while it drains",
                    drain_timeout.as_millis(),
                    session_timeout.as_millis()
                ),
            });
        }
        let mut consumer = ConsumerConfig::new(brokers, topic)
            .with_group_id(raw.get("kafka.group_id").unwrap_or("case-management"))
            .with_auto_offset_reset(raw.get("kafka.auto_offset_reset").unwrap_or("latest"))
            .with_max_in_flight(usize_of(raw, "kafka.max_in_flight")?)
            .with_partition_queue_capacity(usize_of(raw, "kafka.partition_queue_capacity")?)
            .with_session_timeout(session_timeout)
            .with_drain_timeout(drain_timeout)
            .with_shutdown_grace(raw.millis("kafka.shutdown_grace_ms")?)
            .with_retry(RetryPolicy {
                max_attempts: u32_of(raw, "kafka.retry_max_attempts")?,
                initial_backoff: raw.millis("kafka.retry_initial_backoff_ms")?,
                max_backoff: raw.millis("kafka.retry_max_backoff_ms")?,
            });
        for (key, value) in raw.with_prefix(LIBRDKAFKA_PREFIX) {
            consumer = consumer.with_librdkafka_override(key, value);
        }
        consumer.validate().map_err(|e| ConfigError::Conflict {
            key: "kafka".into(),
            other: "kafka.librdkafka".into(),
            message: e.to_string(),
        })?;

        let skip_messages = parse_skip(raw)?;

        let mut case_api = CaseClientConfig::new(endpoint.clone());
        case_api.call_timeout = raw.millis("case_api.deadline_ms")?;
        case_api.retry = case_client::RetryPolicy {
            max_attempts: u32_of(raw, "case_api.retry_max_attempts")?,
            initial_backoff: raw.millis("case_api.retry_initial_backoff_ms")?,
            max_backoff: raw.millis("case_api.retry_max_backoff_ms")?,
            max_elapsed: raw.millis("case_api.retry_max_elapsed_ms")?,
        };
        case_api.settings_cache_ttl = raw.secs("cache.settings_ttl_s")?;
        case_api.settings_cache_capacity = usize_of(raw, "cache.settings_capacity")?;
        if let Some(ca) = raw.get("case_api.ca_file") {
            let mut tls = TlsConfig::new(read_pem(raw, "case_api.ca_file", ca)?);
            match (
                raw.get("case_api.client_cert_file"),
                raw.get("case_api.client_key_file"),
            ) {
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
            if let Some(domain) = raw.get("case_api.tls_domain") {
                tls = tls.with_domain_name(domain);
            }
            case_api = case_api.with_tls(tls);
        } else if endpoint.starts_with("https://") {
            return Err(ConfigError::Conflict {
                key: "case_api.endpoint".into(),
                other: "case_api.ca_file".into(),
                message: "an https:// endpoint needs case_api.ca_file (the CA that signed the server certificate)".into(),
            });
        }

        let mut telemetry = TelemetryConfig::new(flavor);
        telemetry.statsd = raw.socket_addr("metrics.statsd_address")?;
        telemetry.prometheus = raw.bool("metrics.prometheus")?;
        telemetry.otlp = raw.bool("tracing.otlp")?;
        telemetry.log_filter = raw.get("tracing.log_level").unwrap_or("info").to_owned();
        telemetry.global_tags.push(("flavor".into(), flavor.into()));
        if let Some(env) = raw.get("metrics.env") {
            telemetry.global_tags.push(("env".into(), env.into()));
        }

        let bind: IpAddr = raw
            .get("health.bind")
            .unwrap_or("0.0.0.0")
            .parse()
            .map_err(|_| invalid(raw, "health.bind", "an IP address such as 0.0.0.0"))?;
        let port = u16::try_from(raw.u64("health.port")?)
            .map_err(|_| invalid(raw, "health.port", "a port from 0 to 65535"))?;

        Ok(Self {
            consumer,
            skip_messages,
            case_api,
            telemetry,
            health_addr: SocketAddr::new(bind, port),
            stall_timeout: raw.secs("health.stall_timeout_s")?,
            warm_on_start: raw.bool("cache.warm_on_start")?,
            metadata_ttl: raw.secs("cache.metadata_ttl_s")?,
            metadata_capacity: usize_of(raw, "cache.metadata_capacity")?,
        })
    }

    /// A skip-list holding the configured entries.
    pub fn skip_list(&self) -> SkipList {
        SkipList::from_coordinates(self.skip_messages.iter().cloned())
    }
}

/// The configured skip-list entries (`topic:partition:offset`).
pub fn parse_skip(raw: &RawConfig) -> Result<Vec<MessageCoordinates>, ConfigError> {
    let key = "dd.kafka.consumer.skip_messages";
    SkipList::parse_entries(raw.get(key).unwrap_or_default()).map_err(|e| {
        ConfigError::InvalidValue {
            key: key.into(),
            value: e.entry,
            expected: format!(
                "`topic:partition:offset` entries separated by commas ({})",
                e.problem
            ),
            origin: raw.source(key).cloned().unwrap_or(Source::Default),
        }
    })
}

fn invalid(raw: &RawConfig, key: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.into(),
        value: raw.get(key).unwrap_or_default().into(),
        expected: expected.into(),
        origin: raw.source(key).cloned().unwrap_or(Source::Default),
    }
}

fn usize_of(raw: &RawConfig, key: &str) -> Result<usize, ConfigError> {
    usize::try_from(raw.u64(key)?).map_err(|_| invalid(raw, key, "a smaller number"))
}

fn u32_of(raw: &RawConfig, key: &str) -> Result<u32, ConfigError> {
    u32::try_from(raw.u64(key)?).map_err(|_| invalid(raw, key, "a smaller number"))
}

fn read_pem(raw: &RawConfig, key: &str, path: &str) -> Result<Vec<u8>, ConfigError> {
    let p: PathBuf = Path::new(path).to_path_buf();
    std::fs::read(&p).map_err(|e| ConfigError::InvalidValue {
        key: key.into(),
        value: path.into(),
        expected: format!("a readable PEM file ({e})"),
        origin: raw.source(key).cloned().unwrap_or(Source::Default),
    })
}
