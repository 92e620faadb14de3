//! [`TelemetryError`]: what can go wrong while setting telemetry up.

use std::net::SocketAddr;

/// Setting up metrics, logs, traces or the health server failed. Every message names what
/// failed and how to fix it; [`TelemetryError::is_retryable`] says whether trying again can
/// help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error(
        "invalid log filter `{filter}`: {source}; use a tracing directive such as `info` or `info,observability=debug`"
    )]
    InvalidLogFilter {
        /// The filter as configured.
        filter: String,
        /// What the parser said.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// The UDP socket for DogStatsD could not be opened.
    #[error(
        "cannot open a UDP socket to send DogStatsD metrics to {addr}: {source}; check the statsd address and that the process may open sockets"
    )]
    StatsdSocket {
        /// Where metrics were to be sent.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The DogStatsD recorder could not be built.
    #[error("cannot build the DogStatsD metrics recorder for {addr}: {message}")]
    StatsdRecorder {
        /// Where metrics were to be sent.
        addr: SocketAddr,
        /// What the exporter said.
        message: String,
    },
    /// The Prometheus recorder could not be built.
    #[error("cannot build the Prometheus metrics recorder: {message}")]
    PrometheusRecorder {
        /// What the exporter said.
        message: String,
    },
    /// A global metrics recorder is already installed (`init` was called twice, or another
    /// library installed one).
    #[error(
        "a global metrics recorder is already installed; call observability::init once per process"
    )]
    MetricsRecorderAlreadySet,
    /// A global tracing subscriber is already installed.
    #[error(
        "a global tracing subscriber is already installed ({message}); call observability::init once per process and install no other subscriber"
    )]
    SubscriberAlreadySet {
        /// What tracing-subscriber said.
        message: String,
    },
    /// OTLP export was asked for outside a tokio runtime: the gRPC exporter needs one.
    #[error(
        "OTLP trace export needs a tokio runtime: call observability::init from inside the runtime (e.g. in an async main)"
    )]
    OtlpNeedsTokioRuntime,
    /// The OTLP span exporter could not be built (bad `OTEL_EXPORTER_OTLP_*` variables).
    #[error(
        "cannot build the OTLP span exporter: {source}; check OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and the other OTEL_* variables"
    )]
    OtlpExporter {
        /// What the exporter said.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Flushing or shutting the tracer provider down failed (spans may be lost).
    #[error(
        "cannot flush or shut down the OTLP trace exporter: {source}; check that the collector at OTEL_EXPORTER_OTLP_ENDPOINT is reachable"
    )]
    TraceShutdown {
        /// What the SDK said.
        #[source]
        source: opentelemetry_sdk::error::OTelSdkError,
    },
    /// The health server could not listen.
    #[error(
        "cannot listen for health checks on {addr}: {source}; choose a free port or stop the process holding it"
    )]
    HealthBind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
}

impl TelemetryError {
    /// Whether trying the same thing again later can succeed: true only for socket
    /// errors (a port held by a process that is going away, a collector not up yet) and
    /// exporter flushes. Configuration mistakes and double initialisation are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::StatsdSocket { .. } | Self::HealthBind { .. } | Self::TraceShutdown { .. } => {
                true
            }
            Self::InvalidLogFilter { .. }
            | Self::StatsdRecorder { .. }
            | Self::PrometheusRecorder { .. }
            | Self::MetricsRecorderAlreadySet
            | Self::SubscriberAlreadySet { .. }
            | Self::OtlpNeedsTokioRuntime
            | Self::OtlpExporter { .. } => false,
        }
    }
}
