//! [`Flavor`]: what an integration's binary supplies to the shared service shell.

use crate::config::ConfigError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::config::ConfigSection;
use thirdparty_core::{CacheStats, CaseApi, DecodeError, MetadataCache, Pipeline, SyncError};

/// What the shell hands a flavor to build its pipeline.
pub struct FlavorSetup<'a, S> {
    /// The flavor's own section, typed and checked.
    pub section: &'a S,
    /// The Case Management API.
    pub api: Arc<dyn CaseApi>,
    /// `cache.metadata_ttl_s`.
    pub metadata_ttl: Duration,
    /// `cache.metadata_capacity`.
    pub metadata_capacity: usize,
}

/// The flavor's prefilter caches, as the shell sees them.
#[async_trait]
pub trait FlavorCaches: Send + Sync {
    /// Loads every organisation's metadata (before readiness turns true). Returns how many
    /// organisations were loaded.
    async fn warm(&self) -> Result<usize, SyncError>;

    /// Hit/miss counts per cache name, for the cache gauges.
    fn stats(&self) -> Vec<(&'static str, CacheStats)>;
}

/// The [`FlavorCaches`] of a flavor whose prefilter state is one [`MetadataCache`] inside its
/// filterer, reported under one cache name: what every flavor so far needs. A bin's
/// `Flavor::build` writes (the integration crates are not dependencies of this one, hence
/// text):
///
/// ```text
/// let caches = MetadataCaches::new("jira_metadata", filterer, JiraFilterer::metadata_cache);
/// Ok(FlavorParts { pipeline, caches: Arc::new(caches) })
/// ```
pub struct MetadataCaches<F> {
    name: &'static str,
    filterer: Arc<F>,
    cache: fn(&F) -> &MetadataCache,
}

impl<F> MetadataCaches<F> {
    /// The cache `cache` returns from `filterer`, named `name` in the cache gauges.
    pub fn new(name: &'static str, filterer: Arc<F>, cache: fn(&F) -> &MetadataCache) -> Self {
        Self {
            name,
            filterer,
            cache,
        }
    }
}

#[async_trait]
impl<F: Send + Sync> FlavorCaches for MetadataCaches<F> {
    async fn warm(&self) -> Result<usize, SyncError> {
        // The shell logs the count (`metadata caches warmed`).
        Ok((self.cache)(&self.filterer).warm().await?)
    }

    fn stats(&self) -> Vec<(&'static str, CacheStats)> {
        vec![(self.name, (self.cache)(&self.filterer).stats())]
    }
}

/// What a flavor builds.
pub struct FlavorParts {
    /// The pipeline (without telemetry; the shell adds it).
    pub pipeline: Pipeline,
    /// Its caches.
    pub caches: Arc<dyn FlavorCaches>,
}

/// One integration's binary: its name, its config section, how to build its pipeline and how
/// to wrap a raw webhook body into its Kafka envelope for `replay --file`.
pub trait Flavor: 'static {
    /// Integration name (`jira`); the default topic is `collaboration_integrations_<NAME>`.
    const NAME: &'static str;

    /// Extra `replay` flags naming the integration's ids for raw webhook bodies
    /// (e.g. `--jira-account-id`).
    type RawArgs: clap::Args + Clone + Send + Sync + 'static;

    /// The flavor's own config section (`[<NAME>]`), declared by the integration's crate with
    /// [`thirdparty_core::config_section!`]; its keys are documented, loaded and checked
    /// with the shell's.
    type Section: ConfigSection;

    /// Builds the pipeline and caches.
    fn build(setup: FlavorSetup<'_, Self::Section>) -> Result<FlavorParts, ConfigError>;

    /// Wraps a raw webhook body, as the third party sends it, into the Kafka envelope.
    /// `None` when the raw arguments were not given (the input is then taken as enveloped).
    fn envelope_raw(
        args: &Self::RawArgs,
        org_id: u64,
        raw: &[u8],
    ) -> Option<Result<Vec<u8>, DecodeError>>;
}

/// The default topic of a flavor.
pub(crate) fn default_topic(name: &str) -> String {
    format!("collaboration_integrations_{name}")
}

/// `RawArgs` for a flavor that takes no extra replay flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NoRawArgs {}
