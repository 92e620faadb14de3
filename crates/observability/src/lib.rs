//! Telemetry of the case third-party reader: DogStatsD (or Prometheus) metrics with the previous service's
//! names and tags, JSON logs without free text, OpenTelemetry traces over OTLP, and the
//! `/liveness` `/readiness` `/metrics` health server.
//!
//! Events follow one pattern: one struct per telemetry event ([`events`]) whose `emit` writes
//! its log line and its metrics together. [`PipelineTelemetry`] turns every pipeline outcome
//! into those events. [`init`] installs the exporters once per process; everything it
//! installs can also be built without installing it ([`MetricsExporters::build`],
//! [`build_subscriber`]) for tests.
//!
//! ```
//! use std::{net::SocketAddr, sync::Arc, time::Duration};
//! use observability::{HealthState, PipelineTelemetry, TelemetryConfig};
//! use thirdparty_core::Integration;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let config = TelemetryConfig {
//!     prometheus: true, // serve /metrics; set `statsd` for DogStatsD, `otlp` for traces
//!     ..TelemetryConfig::new("jira")
//! };
//! let telemetry = observability::init(&config)?;
//! let health = HealthState::new(Duration::from_secs(300));
//! let server = observability::serve_health(
//!     SocketAddr::from(([127, 0, 0, 1], 0)), // 8080 in production
//!     health.clone(),
//!     telemetry.prometheus_handle(),
//! ).await?;
//!
//! // Build the pipeline with the telemetry, then mark ready once the consumer joined.
//! let _for_pipeline: Arc<dyn thirdparty_core::Telemetry> =
//!     Arc::new(PipelineTelemetry::new(Integration::new("jira")));
//! health.set_ready(true);
//!
//! // At shutdown: not ready any more, stop serving, flush metrics and spans.
//! health.set_draining();
//! server.shutdown().await;
//! telemetry.shutdown()?;
//! # Ok::<(), observability::TelemetryError>(())
//! # }).unwrap();
//! ```

pub mod config;
mod error;
pub mod events;
mod exporters;
mod health;
mod logging;
pub mod names;
mod telemetry;
mod traces;

pub use error::TelemetryError;
pub use exporters::{LATENCY_BUCKETS_MS, MetricsExporters, MetricsFlusher, STATSD_DATAGRAM_BYTES};
pub use health::{DEFAULT_HEALTH_PORT, HealthServer, HealthState, serve_health};
pub use logging::build_subscriber;
pub use metrics_exporter_prometheus::PrometheusHandle;
pub use names::METRIC_NAMES;
pub use telemetry::{CacheStatsReporter, PipelineTelemetry};
pub use traces::{TracedCaseApi, TracedHandler, build_otlp_tracer_provider, extract_trace_context};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How often buffered DogStatsD datagrams are sent and Prometheus upkeep runs.
pub const METRICS_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What [`init`] sets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// Service name: `service` tag and OTLP `service.name` (`case-third-party-reader`).
    pub service: String,
    /// Flavor of this deployment (`jira`, `servicenow`).
    pub flavor: String,
    /// DogStatsD agent address (UDP), if metrics go to Datadog.
    pub statsd: Option<SocketAddr>,
    /// Keep metrics for Prometheus, served as `/metrics` on the health port.
    pub prometheus: bool,
    /// Export traces over OTLP/gRPC, configured by the standard `OTEL_*` variables.
    pub otlp: bool,
    /// Log filter, a `tracing` directive (`info`, `info,observability=debug`).
    pub log_filter: String,
    /// Tags on every metric (`env`, `version`…); `service` is added unless given.
    pub global_tags: Vec<(String, String)>,
}

impl TelemetryConfig {
    /// Defaults for a flavor (those of the `[metrics]` and `[tracing]` sections): service
    /// `case-third-party-reader`, logs at `info`, no metrics exporter, no trace export.
    pub fn new(flavor: impl Into<String>) -> Self {
        Self::from_sections(
            flavor,
            &config::MetricsSection::default(),
            &config::TracingSection::default(),
        )
    }
}

/// Installs the process-wide telemetry:
/// - the global metrics recorder (DogStatsD and/or Prometheus, fan-out if both; none
///   configured means metrics are dropped), with a thread flushing DogStatsD datagrams every
///   [`METRICS_FLUSH_INTERVAL`];
/// - the global tracing subscriber: JSON logs on stdout, plus the OpenTelemetry layer when
///   `otlp` is set (then also the W3C trace-context propagator as the global propagator);
/// - `log` records of other crates are forwarded to it.
///
/// With `otlp`, call it inside a tokio runtime. Keep the returned guard alive; call
/// [`TelemetryGuard::shutdown`] at exit (dropping it flushes too, ignoring errors).
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let exporters = MetricsExporters::build(config)?;
    let prometheus = exporters.prometheus_handle();
    let tracer_provider = if config.otlp {
        Some(build_otlp_tracer_provider(config)?)
    } else {
        None
    };
    let tracer = tracer_provider
        .as_ref()
        .map(|p| p.tracer(config.service.clone()));
    let subscriber = build_subscriber(config, std::io::stdout, tracer)?;
    subscriber
        .try_init()
        .map_err(|e| TelemetryError::SubscriberAlreadySet {
            message: e.to_string(),
        })?;
    let flusher = exporters.install()?;
    if let Some(provider) = &tracer_provider {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    let flush_thread = FlushThread::start(flusher.clone());
    tracing::info!(
        service = config.service.as_str(),
        flavor = config.flavor.as_str(),
        statsd = config.statsd.map(|a| a.to_string()),
        prometheus = config.prometheus,
        otlp = config.otlp,
        "telemetry initialised"
    );
    Ok(TelemetryGuard {
        flusher,
        prometheus,
        tracer_provider,
        flush_thread,
    })
}

/// Keeps the telemetry of [`init`] running; flushes it at shutdown.
#[derive(Debug)]
pub struct TelemetryGuard {
    flusher: MetricsFlusher,
    prometheus: Option<PrometheusHandle>,
    tracer_provider: Option<SdkTracerProvider>,
    flush_thread: Option<FlushThread>,
}

impl TelemetryGuard {
    /// The Prometheus handle for [`serve_health`], when Prometheus is enabled.
    pub fn prometheus_handle(&self) -> Option<PrometheusHandle> {
        self.prometheus.clone()
    }

    /// Sends buffered metrics now.
    pub fn flush_metrics(&self) {
        self.flusher.flush();
    }

    /// Flushes metrics, stops the flush thread, and exports the remaining spans.
    ///
    /// With OTLP this blocks until the exporter is done (or times out): call it from a
    /// multi-threaded runtime or `spawn_blocking`, not from a current-thread runtime's only
    /// thread, whose gRPC client would then never get to run.
    pub fn shutdown(mut self) -> Result<(), TelemetryError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), TelemetryError> {
        if let Some(thread) = self.flush_thread.take() {
            thread.stop();
        }
        self.flusher.flush();
        match self.tracer_provider.take() {
            Some(provider) => provider
                .shutdown()
                .map_err(|source| TelemetryError::TraceShutdown { source }),
            None => Ok(()),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// A thread flushing the metrics every [`METRICS_FLUSH_INTERVAL`] until stopped (a plain
/// thread, so metrics flow whatever the runtime does).
#[derive(Debug)]
struct FlushThread {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<()>,
}

impl FlushThread {
    fn start(flusher: MetricsFlusher) -> Option<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("metrics-flush".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(METRICS_FLUSH_INTERVAL)
                {
                    flusher.flush();
                }
            });
        match handle {
            Ok(handle) => Some(Self { stop, handle }),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the metrics flush thread; DogStatsD metrics are sent only when a datagram fills up");
                None
            }
        }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}
