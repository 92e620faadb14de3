//! [`build_subscriber`]: JSON logs plus the OpenTelemetry layer, built without being
//! installed so tests can use it with `tracing::subscriber::with_default`.

use crate::{TelemetryConfig, TelemetryError};
use opentelemetry_sdk::trace::Tracer;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Crates whose own spans and events never go to the trace exporter: the exporter's
/// transport would otherwise trace itself.
const TRANSPORT_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
];

/// Builds the subscriber: one JSON object per line on `writer`, filtered by
/// `config.log_filter`, and — when `tracer` is given — spans exported through it at `INFO`
/// and above whatever the log filter says (so `warn` logs keep full traces).
///
/// Log lines are flattened (`{"timestamp", "level", "fields"…, "target", "span"}`) and
/// carry the current span's fields; see [`crate::events`] for the fields of each line (an
/// integration's own item-key field is in `"span"`, see
/// [`crate::events::ChangelogFields::item_key_span`]). Spans with the target
/// [`thirdparty_core::LOG_FIELDS_TARGET`] are never exported as traces.
///
/// ```
/// use observability::{TelemetryConfig, build_subscriber};
/// let subscriber = build_subscriber(&TelemetryConfig::new("jira"), std::io::sink, None)?;
/// tracing::subscriber::with_default(subscriber, || tracing::info!("hello"));
/// # Ok::<(), observability::TelemetryError>(())
/// ```
pub fn build_subscriber<W>(
    config: &TelemetryConfig,
    writer: W,
    tracer: Option<Tracer>,
) -> Result<impl Subscriber + Send + Sync + 'static + use<W>, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let log_filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse(&config.log_filter)
        .map_err(|source| TelemetryError::InvalidLogFilter {
            filter: config.log_filter.clone(),
            source,
        })?;
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer)
        .with_filter(log_filter);
    let otel = tracer.map(|tracer| {
        // The integrations' log-field spans carry fields for log lines; they are not work.
        let targets = TRANSPORT_TARGETS
            .iter()
            .chain([&thirdparty_core::LOG_FIELDS_TARGET])
            .fold(Targets::new().with_default(LevelFilter::INFO), |t, name| {
                t.with_target(*name, LevelFilter::OFF)
            });
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(targets)
    });
    Ok(tracing_subscriber::registry().with(json).with(otel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_filter_is_refused_with_its_text() {
        let config = TelemetryConfig {
            log_filter: "info,=[".into(),
            ..TelemetryConfig::new("jira")
        };
        let err = build_subscriber(&config, std::io::sink, None)
            .err()
            .expect("the filter must be refused");
        assert!(err.to_string().contains("info,=["), "{err}");
        assert!(!err.is_retryable());
    }
}
