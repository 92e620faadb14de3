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

/// Declares telemetry events: for each, its struct (attributes and field docs as written,
/// every field with the struct's visibility) and its [`TelemetryEvent`] impl, whose `emit`
/// runs the block after `|event|` with `event` bound to `&self`. So a log line and a metric
/// are written once, next to the fields they read.
///
/// ```
/// thirdparty_core::telemetry_events! {
///     /// A cache was refreshed.
///     #[derive(Debug)]
///     pub struct CacheRefreshed<'a> {
///         /// Which cache.
///         cache: &'a str,
///         /// Entries it holds now.
///         entries: usize,
///     }
///     |event| { tracing::debug!(cache = event.cache, entries = event.entries, "cache refreshed"); }
/// }
///
/// use thirdparty_core::TelemetryEvent;
/// CacheRefreshed { cache: "metadata", entries: 3 }.emit();
/// ```
#[macro_export]
macro_rules! telemetry_events {
    ($(
        $(#[$meta:meta])*
        $vis:vis struct $name:ident $(<$lt:lifetime>)? {
            $($(#[$field_meta:meta])* $field:ident: $field_type:ty,)+
        }
        |$event:ident| $emit:block
    )+) => {$(
        $(#[$meta])*
        $vis struct $name $(<$lt>)? {
            $($(#[$field_meta])* $vis $field: $field_type,)+
        }

        impl $(<$lt>)? $crate::TelemetryEvent for $name $(<$lt>)? {
            fn emit(&self) {
                let $event = self;
                $emit
            }
        }
    )+};
}
