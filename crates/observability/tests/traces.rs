//! The span tree of one processed event, as exported through OpenTelemetry (in memory), and
//! the continuation of a W3C `traceparent` found in the record headers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{changes, pipeline};
use observability::{TelemetryConfig, TracedHandler, build_subscriber};
use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use thirdparty_core::{Disposition, PayloadHandler};

fn tracing_to_memory() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    impl tracing::Subscriber + Send + Sync,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = build_subscriber(
        &TelemetryConfig::new("jira"),
        std::io::sink,
        Some(provider.tracer("observability-test")),
    )
    .unwrap();
    (exporter, provider, subscriber)
}

/// The tree as indented names; siblings sorted by their rendered subtree (start times may
/// tie), so the rendering is deterministic.
fn render(spans: &[SpanData], parent: SpanId, depth: usize) -> String {
    let mut children: Vec<String> = spans
        .iter()
        .filter(|s| s.parent_span_id == parent)
        .map(|child| {
            format!(
                "{}{}\n{}",
                "  ".repeat(depth),
                child.name,
                render(spans, child.span_context.span_id(), depth + 1)
            )
        })
        .collect();
    children.sort();
    children.concat()
}

#[tokio::test]
async fn one_processed_event_exports_the_seed_span_tree() {
    let (exporter, provider, subscriber) = tracing_to_memory();
    let _subscriber = tracing::subscriber::set_default(subscriber);

    // One webhook event with a field change and a comment, both applied.
    let report = pipeline("plain")
        .run(&changes(
            "plain",
            0,
            &[("apply", "status"), ("apply", "comment")],
        ))
        .await;
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| o.outcome.label() == "processed"),
        "{report:?}"
    );
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();

    let roots: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.parent_span_id == SpanId::INVALID)
        .collect();
    assert_eq!(roots.len(), 1, "one root span: {spans:#?}");
    assert!(
        spans
            .iter()
            .all(|s| s.span_context.trace_id() == roots[0].span_context.trace_id()),
        "one trace"
    );

    assert_eq!(
        render(&spans, SpanId::INVALID, 0),
        "\
handler_jira
  decode_event
  filter_third_party_changelog
    get_case
    get_settings
  filter_third_party_changelog
    get_case
    get_settings
  prefilter_third_party_changelog
  prefilter_third_party_changelog
  process_changelog
    create_timeline_cell
  process_changelog
    update_case
"
    );
}

#[tokio::test]
async fn a_traceparent_header_makes_the_handler_span_its_child() {
    let (exporter, provider, subscriber) = tracing_to_memory();
    let _subscriber = tracing::subscriber::set_default(subscriber);

    let mut payload = changes("plain", 0, &[("apply", "status")]);
    payload.headers.push((
        "traceparent".into(),
        bytes::Bytes::from_static(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ));
    let handler = TracedHandler::new(pipeline("plain"));
    assert_eq!(handler.handle(&payload).await, Disposition::Ack);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();

    let handler_span = spans
        .iter()
        .find(|s| s.name == "handler_jira")
        .expect("handler span exported");
    assert_eq!(
        handler_span.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(handler_span.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(handler_span.parent_span_is_remote);
    assert!(
        spans
            .iter()
            .all(|s| s.span_context.trace_id() == handler_span.span_context.trace_id()),
        "children stay in the producer's trace"
    );

    // Without the header the next handler span starts its own trace.
    exporter.reset();
    let plain = changes("plain", 0, &[("apply", "status")]);
    assert_eq!(handler.handle(&plain).await, Disposition::Ack);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let root = spans.iter().find(|s| s.name == "handler_jira").unwrap();
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    assert_ne!(
        root.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
}

#[tokio::test]
async fn the_integrations_log_field_spans_are_not_exported() {
    let (exporter, provider, subscriber) = tracing_to_memory();
    let _subscriber = tracing::subscriber::set_default(subscriber);
    // With the telemetry on, every outcome's log line is emitted inside the integration's
    // item-key span (common::JIRA declares one).
    let pipeline = pipeline("plain").with_telemetry(std::sync::Arc::new(
        observability::PipelineTelemetry::new(common::JIRA),
    ));
    let report = pipeline
        .run(&changes("plain", 0, &[("apply", "status")]))
        .await;
    assert_eq!(report.outcomes[0].outcome.label(), "processed");
    assert!(
        report.outcomes[0].item_key.is_some(),
        "the outcome has an item key, so its line gets the span"
    );
    provider.force_flush().unwrap();
    let names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert!(names.contains(&"handler_jira".to_owned()), "{names:?}");
    assert!(
        !names.contains(&"item_key".to_owned()),
        "a log-field span was exported: {names:?}"
    );
}
