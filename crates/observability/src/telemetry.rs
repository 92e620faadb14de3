//! [`PipelineTelemetry`] (the pipeline's [`Telemetry`]) and [`CacheStatsReporter`].

use crate::events::{
    CacheStatsReported, ChangelogFields, ChangelogFiltered, ChangelogProcessed,
    ChangelogWouldApply, ConfigurationFault, DecodingFailed, EndToEndLatency,
    PermanentErrorDropped, RetryNeeded, StateConflictOverridden, TelemetryEvent,
};
use chrono::Utc;
use thirdparty_core::{CacheStats, ChangelogOutcome, Integration, Outcome, Payload, Telemetry};

/// Turns every pipeline outcome into its events: the per-outcome log line, the previous service's
/// counters and the end-to-end latency. Hand it to
/// [`thirdparty_core::Pipeline::with_telemetry`].
///
/// Metrics go to whatever recorder is installed (see [`crate::init`]), logs to the
/// current tracing subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineTelemetry {
    flavor: Integration,
}

impl PipelineTelemetry {
    /// Telemetry for one flavor (`jira`, `servicenow`).
    pub fn new(flavor: Integration) -> Self {
        Self { flavor }
    }

    /// The flavor this telemetry was built for.
    pub fn flavor(&self) -> Integration {
        self.flavor
    }
}

impl Telemetry for PipelineTelemetry {
    fn record(&self, integration: Integration, payload: &Payload, outcome: &ChangelogOutcome) {
        let changelog = ChangelogFields::from_outcome(integration, outcome);
        let done = match &outcome.outcome {
            Outcome::Processed {
                overridden_conflict,
            } => {
                ChangelogProcessed { changelog }.emit();
                if *overridden_conflict {
                    StateConflictOverridden { changelog }.emit();
                }
                true
            }
            Outcome::WouldApply {
                overridden_conflict,
            } => {
                ChangelogWouldApply {
                    changelog,
                    overridden_conflict: *overridden_conflict,
                }
                .emit();
                true
            }
            Outcome::Filtered(reason) => {
                ChangelogFiltered {
                    changelog,
                    reason: *reason,
                }
                .emit();
                true
            }
            Outcome::DecodeFailed(error) => {
                DecodingFailed {
                    flavor: integration,
                    error,
                    topic: &payload.topic,
                    partition: payload.partition,
                    offset: payload.offset,
                }
                .emit();
                false
            }
            Outcome::PermanentError(error) => {
                PermanentErrorDropped { changelog, error }.emit();
                true
            }
            Outcome::RetryNeeded(error) if error.is_configuration_fault() => {
                ConfigurationFault { changelog, error }.emit();
                false
            }
            Outcome::RetryNeeded(error) => {
                RetryNeeded { changelog, error }.emit();
                false
            }
        };
        // Latency is measured when handling is over (acknowledged), as in the previous service; a
        // retried payload is measured when it finally goes through.
        if done && let Some(latency) = EndToEndLatency::at(changelog, Utc::now()) {
            latency.emit();
        }
    }
}

type StatsSource = Box<dyn Fn() -> CacheStats + Send + Sync>;

/// Reports the hit/miss counts of named caches as gauges
/// (`dd.case_third_party_reader.cache.*`, tag `cache`). Call [`CacheStatsReporter::report`]
/// periodically (every 10–60 s), e.g. from a tokio interval in the binary.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use observability::CacheStatsReporter;
/// use thirdparty_core::{ExpiringCache, Integration};
///
/// let settings: Arc<ExpiringCache<u64, String>> =
///     Arc::new(ExpiringCache::new(100, Duration::from_secs(300)));
/// let reporter = CacheStatsReporter::new(Integration::new("jira"))
///     .with_cache("project_settings", { let c = settings.clone(); move || c.stats() });
/// reporter.report(); // from a periodic task in the binary
/// ```
pub struct CacheStatsReporter {
    flavor: Integration,
    caches: Vec<(&'static str, StatsSource)>,
}

impl CacheStatsReporter {
    /// A reporter with no cache yet.
    pub fn new(flavor: Integration) -> Self {
        Self {
            flavor,
            caches: Vec::new(),
        }
    }

    /// Adds a cache: `stats` is called at each report.
    #[must_use]
    pub fn with_cache(
        mut self,
        name: &'static str,
        stats: impl Fn() -> CacheStats + Send + Sync + 'static,
    ) -> Self {
        self.caches.push((name, Box::new(stats)));
        self
    }

    /// Emits one [`CacheStatsReported`] per cache.
    pub fn report(&self) {
        for (cache, stats) in &self.caches {
            CacheStatsReported {
                flavor: self.flavor,
                cache,
                stats: stats(),
            }
            .emit();
        }
    }
}

impl std::fmt::Debug for CacheStatsReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheStatsReporter")
            .field("flavor", &self.flavor)
            .field(
                "caches",
                &self.caches.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish()
    }
}
