//! The service: config → telemetry → Case API → pipeline → health → Kafka runtime → signals →
//! drain.

use crate::config::{ConfigSources, RawConfig};
use crate::flavor::{Flavor, FlavorCaches, FlavorParts, FlavorSetup};
use crate::keys::{ConsumerSection, sections};
use crate::settings::ReaderSettings;
use case_client::CaseClient;
use kafka_runtime::{ConsumerStatus, KafkaRuntime, RuntimeError, SkipList};
use observability::{
    CacheStatsReporter, HealthState, PipelineTelemetry, TelemetryGuard, TracedCaseApi,
    TracedHandler,
};
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::{CaseApi, Integration, Pipeline};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Why the service stopped with an error; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum AppError {
    /// Bad configuration (exit 78).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Telemetry could not start (exit 1).
    #[error("telemetry did not start: {0}")]
    Telemetry(#[from] observability::TelemetryError),
    /// The Case API client could not be built (exit 78: it is a configuration problem).
    #[error("Case API client: {0}")]
    CaseClient(#[from] case_client::ConnectError),
    /// The consumer stopped on a fatal error (exit 1; the supervisor restarts the reader).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The health server could not start (exit 1).
    #[error("health server: {0}")]
    Health(observability::TelemetryError),
}

impl AppError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::CaseClient(_) => crate::config::EXIT_CONFIG,
            _ => 1,
        }
    }
}

/// The Case API as the pipeline sees it: the gRPC client wrapped for tracing.
pub(crate) fn case_api(
    settings: &ReaderSettings,
) -> Result<(CaseClient, Arc<dyn CaseApi>), AppError> {
    let client = CaseClient::connect(settings.case_api.clone())?;
    let api: Arc<dyn CaseApi> = Arc::new(TracedCaseApi::new(client.clone()));
    Ok((client, api))
}

/// Builds the flavor's pipeline with telemetry.
pub(crate) fn build_pipeline<F: Flavor>(
    raw: &RawConfig,
    settings: &ReaderSettings,
    api: Arc<dyn CaseApi>,
) -> Result<(Pipeline, Arc<dyn FlavorCaches>), AppError> {
    let FlavorParts { pipeline, caches } = F::build(FlavorSetup {
        section: &raw.section::<F::Section>()?,
        api,
        metadata_ttl: settings.cache.metadata_ttl_s,
        metadata_capacity: settings.cache.metadata_capacity,
    })?;
    let pipeline =
        pipeline.with_telemetry(Arc::new(PipelineTelemetry::new(Integration::new(F::NAME))));
    Ok((pipeline, caches))
}

/// Runs the service until SIGTERM/SIGINT or a fatal error.
pub(crate) async fn run<F: Flavor>(
    raw: RawConfig,
    settings: ReaderSettings,
    sources: ConfigSources,
    telemetry: &TelemetryGuard,
) -> Result<(), AppError> {
    // Listen for SIGTERM before anything slow (cache warm-up, group join): a SIGTERM during
    // start-up is kept and drains the reader as soon as it runs, instead of killing it.
    let term = listen_for_sigterm();
    for (key, source) in raw.unknown_keys() {
        warn!(key = key.as_str(), source = %source, "unknown config key ignored; check its spelling");
    }
    let (client, api) = case_api(&settings)?;
    // Installed by `main` before anything opened a TLS connection.
    info!(
        crypto_provider = case_client::tls::CRYPTO_PROVIDER_NAME,
        fips = case_client::tls::fips_active(),
        "TLS crypto provider installed"
    );
    let (pipeline, caches) = build_pipeline::<F>(&raw, &settings, api.clone())?;

    let health = HealthState::new(settings.stall_timeout);
    let health_server = observability::serve_health(
        settings.health_addr,
        health.clone(),
        telemetry.prometheus_handle(),
    )
    .await
    .map_err(AppError::Health)?;
    info!(addr = %health_server.local_addr(), "health server listening");

    let skip = settings.skip_list();
    let runtime = KafkaRuntime::new(
        settings.consumer.clone(),
        Arc::new(TracedHandler::new(pipeline)),
        skip.clone(),
    )?;
    let status = runtime.status();

    let (stop_tx, stop_rx) = watch::channel(false);
    let case_api_ok = warm_caches(&settings, caches.as_ref(), api.as_ref()).await;
    let bridge = tokio::spawn(bridge_health(
        status.clone(),
        health.clone(),
        case_api_ok,
        client.clone(),
        stop_rx.clone(),
    ));
    let flavor = Integration::new(F::NAME);
    let reporter = CacheStatsReporter::new(flavor)
        .with_cache("project_settings", move || client.settings_cache_stats());
    let stats = tokio::spawn(report_cache_stats(
        flavor,
        reporter,
        caches.clone(),
        stop_rx.clone(),
    ));
    let reload = tokio::spawn(reload_skip_list::<F>(sources, skip, stop_rx.clone()));

    let shutdown_health = health.clone();
    let result = runtime
        .run(async move {
            shutdown_signal(term).await;
            info!("shutdown requested; draining");
            shutdown_health.set_draining();
        })
        .await;
    health.set_draining();
    let _ = stop_tx.send(true);
    for task in [bridge, stats, reload] {
        let _ = task.await;
    }
    health_server.shutdown().await;
    match result {
        Ok(summary) => {
            info!(
                handled = summary.status.messages_handled,
                skipped = summary.status.messages_skipped,
                dead_lettered = summary.status.messages_dead_lettered,
                closed_cleanly = summary.closed_cleanly,
                "reader stopped"
            );
            Ok(())
        }
        Err(e) => {
            error!(error = %e, kind = e.kind(), "reader stopped on a fatal error; exiting non-zero so the supervisor restarts it");
            Err(e.into())
        }
    }
}

/// Warms the flavor's caches (when configured) and tells whether the Case API answered.
async fn warm_caches(
    settings: &ReaderSettings,
    caches: &dyn FlavorCaches,
    api: &dyn CaseApi,
) -> bool {
    if settings.cache.warm_on_start {
        match caches.warm().await {
            Ok(orgs) => {
                info!(orgs, "metadata caches warmed");
                return true;
            }
            Err(e) => warn!(error = %e, "warming the metadata caches failed; they load on demand"),
        }
    }
    api.list_integration_orgs("__readiness_probe__")
        .await
        .is_ok()
}

/// Mirrors the consumer's state into the health endpoints until `stop`.
async fn bridge_health(
    status: ConsumerStatus,
    health: HealthState,
    mut case_api_ok: bool,
    client: CaseClient,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_progress: Option<Duration> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let s = status.snapshot();
        health.set_pending(s.held > 0);
        if let Some(since) = s.since_last_progress
            && last_progress.is_none_or(|prev| since < prev)
        {
            health.heartbeat();
        }
        if s.held == 0 {
            health.heartbeat();
        }
        last_progress = s.since_last_progress;
        if !case_api_ok && s.messages_handled > 0 {
            // Handling a message needs the Case API: it answers.
            case_api_ok = true;
        }
        if !health.is_draining() {
            // Not ready while no broker connection is up, while a message waits for the
            // dead-letter topic, or while the Case API refuses the reader's token or TLS
            // settings: traffic cannot flow.
            health.set_ready(
                s.running
                    && s.joined_group
                    && case_api_ok
                    && !s.brokers_down
                    && s.dead_letter_waiting == 0
                    && !client.is_refused(),
            );
        }
    }
}

/// Reports every cache's hit/miss gauges every 10 s until `stop`.
async fn report_cache_stats(
    flavor: Integration,
    reporter: CacheStatsReporter,
    caches: Arc<dyn FlavorCaches>,
    mut stop: watch::Receiver<bool>,
) {
    use observability::events::{CacheStatsReported, TelemetryEvent};
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        reporter.report();
        for (cache, stats) in caches.stats() {
            CacheStatsReported {
                flavor,
                cache,
                stats,
            }
            .emit();
        }
    }
}

/// Re-reads `skip_messages` on SIGHUP and when the config file changes (checked every 5 s).
async fn reload_skip_list<F: Flavor>(
    sources: ConfigSources,
    skip: SkipList,
    mut stop: watch::Receiver<bool>,
) {
    let modified = |s: &ConfigSources| {
        s.file
            .as_ref()
            .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
    };
    let mut last = modified(&sources);
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(error = %e, "cannot listen for SIGHUP; the skip-list reloads on file change only");
            None
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        let hangup = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let forced = tokio::select! {
            _ = stop.changed() => return,
            _ = hangup => true,
            _ = tick.tick() => false,
        };
        let now = modified(&sources);
        if !forced && now == last {
            continue;
        }
        last = now;
        let reloaded = RawConfig::load(&sources, &sections::<F>())
            .and_then(|raw| raw.section::<ConsumerSection>());
        match reloaded {
            Ok(ConsumerSection {
                skip_messages: entries,
            }) => {
                let before = skip.len();
                skip.set(entries);
                info!(before, after = skip.len(), "skip_messages reloaded");
            }
            Err(e) => warn!(error = %e, "config reload failed; keeping the current skip_messages"),
        }
    }
}

/// Starts listening for SIGTERM: from here on a SIGTERM is kept for [`shutdown_signal`]
/// instead of ending the process. `None` (logged) when the handler cannot be installed.
pub(crate) fn listen_for_sigterm() -> Option<tokio::signal::unix::Signal> {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            warn!(error = %e, "cannot listen for SIGTERM");
            None
        }
    }
}

/// Resolves on SIGTERM (received by `term`, possibly before this call) or SIGINT.
pub(crate) async fn shutdown_signal(term: Option<tokio::signal::unix::Signal>) {
    let term = async {
        match term {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
