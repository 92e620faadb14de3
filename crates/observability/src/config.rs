//! The `[metrics]`, `[tracing]` and `[health]` sections of the reader's configuration,
//! declared once here: [`TelemetryConfig::new`] and the health server take their defaults
//! from them.

use crate::TelemetryConfig;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use thirdparty_core::config::{InvalidValue, KeyKind};

thirdparty_core::config_section! {
    /// The `[metrics]` section: where metrics go.
    pub struct MetricsSection in "metrics" {
        /// DogStatsD UDP address, e.g. 127.0.0.1:8125; unset = no DogStatsD.
        pub statsd_address: Option<SocketAddr> = unset, KeyKind::SocketAddr;
        /// `env` tag on every metric (staging, prod…); falls back to the DD_ENV environment variable.
        pub env: Option<String> = unset, KeyKind::Text;
        /// Serve Prometheus metrics at /metrics on the health port.
        pub prometheus: bool = "false", KeyKind::Bool;
    }
}

thirdparty_core::config_section! {
    /// The `[tracing]` section: logs and trace export.
    pub struct TracingSection in "tracing" {
        /// Export traces over OTLP (endpoint from the standard OTEL_* variables).
        pub otlp: bool = "false", KeyKind::Bool;
        /// Log filter (tracing EnvFilter syntax).
        pub log_level: String = "info", KeyKind::Text;
    }
}

thirdparty_core::config_section! {
    /// The `[health]` section: the `/liveness` `/readiness` `/metrics` server.
    pub struct HealthSection in "health" {
        /// Port of the /liveness, /readiness (and /metrics) server; 0 picks a free one.
        pub port: u16 = "8080", KeyKind::Integer { min: 0, max: 65_535 };
        /// Address the health server binds.
        pub bind: String = "0.0.0.0", KeyKind::Text;
        /// Liveness fails when the consume loop made no progress for this long while work is pending.
        pub stall_timeout_s: Duration = "60", KeyKind::Seconds { min: 1, max: 86_400 };
    }
}

impl HealthSection {
    /// The address the health server binds: `bind`:`port` (an empty `bind` is the default
    /// address).
    pub fn addr(&self) -> Result<SocketAddr, InvalidValue> {
        let bind = if self.bind.trim().is_empty() {
            Self::default().bind
        } else {
            self.bind.clone()
        };
        let ip: IpAddr = bind.trim().parse().map_err(|_| InvalidValue {
            key: "health.bind",
            value: self.bind.clone(),
            expected: "an IP address such as 0.0.0.0".to_owned(),
        })?;
        Ok(SocketAddr::new(ip, self.port))
    }
}

impl TelemetryConfig {
    /// The telemetry of `flavor` as the `[metrics]` and `[tracing]` sections say; the
    /// `metrics.env` value becomes the `env` tag, an empty `log_level` is the default level.
    pub fn from_sections(
        flavor: impl Into<String>,
        metrics: &MetricsSection,
        tracing: &TracingSection,
    ) -> Self {
        let mut global_tags = Vec::new();
        if let Some(env) = &metrics.env {
            global_tags.push(("env".to_owned(), env.clone()));
        }
        Self {
            service: "case-third-party-reader".to_owned(),
            flavor: flavor.into(),
            statsd: metrics.statsd_address,
            prometheus: metrics.prometheus,
            otlp: tracing.otlp,
            log_filter: if tracing.log_level.trim().is_empty() {
                TracingSection::default().log_level
            } else {
                tracing.log_level.clone()
            },
            global_tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thirdparty_core::config::ConfigSection;

    #[test]
    fn health_addr_joins_bind_and_port_and_names_a_bad_bind() {
        let health = HealthSection::default();
        assert_eq!(health.addr().unwrap(), "0.0.0.0:8080".parse().unwrap());
        let bad = HealthSection::from_lookup(&|k| (k == "health.bind").then_some("anywhere"))
            .unwrap()
            .addr()
            .unwrap_err();
        assert_eq!(bad.key, "health.bind");
        assert_eq!(bad.value, "anywhere");
        let empty = HealthSection::from_lookup(&|k| (k == "health.bind").then_some(""))
            .unwrap()
            .addr()
            .unwrap();
        assert_eq!(empty, health.addr().unwrap());
    }

    #[test]
    fn the_env_value_becomes_the_env_tag() {
        let metrics =
            MetricsSection::from_lookup(&|k| (k == "metrics.env").then_some("prod")).unwrap();
        let config = TelemetryConfig::from_sections("jira", &metrics, &TracingSection::default());
        assert_eq!(config.global_tags, [("env".to_owned(), "prod".to_owned())]);
        assert_eq!(config.log_filter, "info");
        let empty_level =
            TracingSection::from_lookup(&|k| (k == "tracing.log_level").then_some("")).unwrap();
        assert_eq!(
            TelemetryConfig::from_sections("jira", &metrics, &empty_level).log_filter,
            TracingSection::default().log_level
        );
    }
}
