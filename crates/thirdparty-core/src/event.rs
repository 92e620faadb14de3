//! [`TelemetryEvent`]: one struct per telemetry event, its log line and its metrics emitted
//! together.

/// A telemetry event: emitting it writes its structured log line and records its metrics in
/// one place, so a metric name, a tag and a log field cannot drift apart. `kafka-runtime`
/// (consumer events) and `observability` (pipeline events) both implement it.
///
/// ```
/// use thirdparty_core::TelemetryEvent;
///
/// /// A cache was refreshed.
/// struct CacheRefreshed<'a> {
///     cache: &'a str,
/// }
///
/// impl TelemetryEvent for CacheRefreshed<'_> {
///     fn emit(&self) {
///         tracing::debug!(cache = self.cache, "cache refreshed");
///     }
/// }
///
/// CacheRefreshed { cache: "metadata" }.emit();
/// ```
pub trait TelemetryEvent {
    /// Writes the log line and records the metrics of this event.
    fn emit(&self);
}
