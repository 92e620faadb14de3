//! [`MetricsExporters`]: the DogStatsD and/or Prometheus recorder behind the `metrics`
//! facade, built without being installed so tests can use it as a local recorder.

use crate::{TelemetryConfig, TelemetryError, events::sanitize_tag_value, names};
use cadence::{BufferedUdpMetricSink, MetricSink};
use metrics::Recorder;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_exporter_statsd::StatsdBuilder;
use metrics_util::layers::{Fanout, FanoutBuilder};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

/// Bytes per DogStatsD datagram: several metrics share one datagram, newline-separated,
/// up to this size (the Datadog agent's recommended maximum for UDP).
pub const STATSD_DATAGRAM_BYTES: usize = 1432;

/// Prometheus histogram buckets of the end-to-end latency, in milliseconds. The 0.25 to
/// 25 ms buckets resolve the healthy range (a p99 target of 1 ms needs buckets below it, or
/// p99 reads as "under the first bucket"); the long tail covers backlogs and replays.
pub const LATENCY_BUCKETS_MS: &[f64] = &[
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    25.0,
    50.0,
    100.0,
    250.0,
    500.0,
    1_000.0,
    2_500.0,
    5_000.0,
    10_000.0,
    30_000.0,
    60_000.0,
    300_000.0,
    900_000.0,
    3_600_000.0,
];

/// The buffered UDP sink, shared between the recorder (which writes to it) and the flusher.
#[derive(Clone)]
struct SharedStatsdSink(Arc<BufferedUdpMetricSink>);

impl MetricSink for SharedStatsdSink {
    fn emit(&self, metric: &str) -> io::Result<usize> {
        self.0.emit(metric)
    }

    fn flush(&self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The metrics recorder chosen by the configuration — DogStatsD over UDP, Prometheus, both
/// (fan-out) or neither — plus what is needed to flush them.
///
/// [`crate::init`] installs it globally. Tests use [`MetricsExporters::recorder`] with
/// `metrics::with_local_recorder` / `metrics::set_default_local_recorder` instead, then
/// [`MetricsExporters::flush`].
pub struct MetricsExporters {
    recorder: Fanout,
    flusher: MetricsFlusher,
}

/// Flushes buffered DogStatsD datagrams and runs Prometheus upkeep. Cheap to clone.
#[derive(Clone, Default)]
pub struct MetricsFlusher {
    statsd: Option<SharedStatsdSink>,
    prometheus: Option<PrometheusHandle>,
}

impl MetricsFlusher {
    /// Sends the DogStatsD datagram being filled (metrics are batched until a datagram is
    /// full or this is called) and runs Prometheus upkeep. Send errors are ignored: UDP
    /// metrics are best effort.
    pub fn flush(&self) {
        if let Some(sink) = &self.statsd {
            let _ = sink.flush();
        }
        if let Some(handle) = &self.prometheus {
            handle.run_upkeep();
        }
    }
}

impl std::fmt::Debug for MetricsFlusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsFlusher")
            .field("statsd", &self.statsd.is_some())
            .field("prometheus", &self.prometheus.is_some())
            .finish()
    }
}

impl std::fmt::Debug for MetricsExporters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExporters")
            .field("flusher", &self.flusher)
            .finish_non_exhaustive()
    }
}

impl MetricsExporters {
    /// Builds the recorders the configuration asks for, without installing anything.
    ///
    /// DogStatsD: histograms go out as distributions (`|d`), global tags (plus
    /// `service:<service>` unless given) on every metric. Prometheus: the same global tags
    /// as labels, latency buckets in milliseconds.
    pub fn build(config: &TelemetryConfig) -> Result<Self, TelemetryError> {
        let tags = global_tags(config);
        let mut fanout = FanoutBuilder::default();
        let mut flusher = MetricsFlusher::default();
        if let Some(addr) = config.statsd {
            let sink = SharedStatsdSink(Arc::new(statsd_sink(addr)?));
            let mut builder = StatsdBuilder::from(addr.ip().to_string(), addr.port())
                .with_sink(sink.clone())
                .histogram_is_distribution();
            for (k, v) in &tags {
                builder = builder.with_default_tag(k, v);
            }
            let recorder = builder
                .build(None)
                .map_err(|e| TelemetryError::StatsdRecorder {
                    addr,
                    message: e.to_string(),
                })?;
            fanout = fanout.add_recorder(recorder);
            flusher.statsd = Some(sink);
        }
        if config.prometheus {
            let mut builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(names::END_TO_END_LATENCY.to_owned()),
                    LATENCY_BUCKETS_MS,
                )
                .map_err(|e| TelemetryError::PrometheusRecorder {
                    message: e.to_string(),
                })?;
            for (k, v) in &tags {
                builder = builder.add_global_label(k, v);
            }
            let recorder = builder.build_recorder();
            flusher.prometheus = Some(recorder.handle());
            fanout = fanout.add_recorder(recorder);
        }
        Ok(Self {
            recorder: fanout.build(),
            flusher,
        })
    }

    /// The recorder, for `metrics::with_local_recorder` in tests.
    pub fn recorder(&self) -> &dyn Recorder {
        &self.recorder
    }

    /// The Prometheus handle (render `/metrics` with it), when Prometheus is enabled.
    pub fn prometheus_handle(&self) -> Option<PrometheusHandle> {
        self.flusher.prometheus.clone()
    }

    /// A handle that flushes these exporters.
    pub fn flusher(&self) -> MetricsFlusher {
        self.flusher.clone()
    }

    /// See [`MetricsFlusher::flush`].
    pub fn flush(&self) {
        self.flusher.flush();
    }

    /// Installs the recorder as the process-wide one and describes every metric; returns
    /// the flusher. Fails if a global recorder is already installed.
    pub fn install(self) -> Result<MetricsFlusher, TelemetryError> {
        metrics::set_global_recorder(self.recorder)
            .map_err(|_| TelemetryError::MetricsRecorderAlreadySet)?;
        names::describe_metrics();
        Ok(self.flusher)
    }
}

/// The configured global tags, sanitized, with `service` added unless given.
fn global_tags(config: &TelemetryConfig) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = config
        .global_tags
        .iter()
        .map(|(k, v)| (sanitize_tag_value(k), sanitize_tag_value(v)))
        .collect();
    if !tags.iter().any(|(k, _)| k == "service") && !config.service.is_empty() {
        tags.push(("service".to_owned(), sanitize_tag_value(&config.service)));
    }
    tags
}

/// A non-blocking UDP socket batching metrics into datagrams for `addr`.
fn statsd_sink(addr: SocketAddr) -> Result<BufferedUdpMetricSink, TelemetryError> {
    let socket_error = |source| TelemetryError::StatsdSocket { addr, source };
    let local: SocketAddr = if addr.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(local).map_err(socket_error)?;
    socket.set_nonblocking(true).map_err(socket_error)?;
    BufferedUdpMetricSink::builder()
        .with_capacity(STATSD_DATAGRAM_BYTES)
        .build(addr, socket)
        .map_err(|e| TelemetryError::StatsdRecorder {
            addr,
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_tags_are_sanitized_and_get_a_service() {
        let mut config = TelemetryConfig::new("jira");
        config.global_tags = vec![("env".into(), "prod|eu".into())];
        assert_eq!(
            global_tags(&config),
            vec![
                ("env".to_owned(), "prod_eu".to_owned()),
                ("service".to_owned(), "case-third-party-reader".to_owned())
            ]
        );
        config.global_tags.push(("service".into(), "mine".into()));
        assert_eq!(global_tags(&config).len(), 2, "a given service is kept");
    }

    #[test]
    fn prometheus_renders_what_was_recorded() {
        let config = TelemetryConfig {
            prometheus: true,
            ..TelemetryConfig::new("jira")
        };
        let exporters = MetricsExporters::build(&config).unwrap();
        metrics::with_local_recorder(exporters.recorder(), || {
            metrics::counter!(names::CHANGELOG_PROCESSED, "flavor" => "jira").increment(2);
        });
        let text = exporters.prometheus_handle().unwrap().render();
        assert!(
            text.contains(
                "dd_case_third_party_reader_changelog_processed{service=\"case-third-party-reader\",flavor=\"jira\"} 2"
            ),
            "{text}"
        );
    }
}
