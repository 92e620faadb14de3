//! Traces: the OTLP tracer provider, W3C `traceparent` extraction from Kafka headers, and
//! two wrappers that complete the previous service's span tree — [`TracedHandler`] (continue the
//! producer's trace) and [`TracedCaseApi`] (`update_case` / `create_timeline_cell` spans).

use crate::{TelemetryConfig, TelemetryError};
use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry::KeyValue;
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use thirdparty_core::{CaseApi, CaseApiWrapper, CaseCall, Disposition, Payload, PayloadHandler};
use tracing::{Span, info_span};

/// Builds a tracer provider exporting spans over OTLP/gRPC in batches. The endpoint,
/// headers, timeout and TLS come from the standard `OTEL_EXPORTER_OTLP_*` variables
/// (default `http://localhost:4317`); the resource from `OTEL_SERVICE_NAME` /
/// `OTEL_RESOURCE_ATTRIBUTES`, with `service.name` = `config.service` when
/// `OTEL_SERVICE_NAME` is unset, plus `flavor`.
///
/// Call it inside a tokio runtime, and keep that runtime running while spans are
/// exported: the gRPC client lives on it.
pub fn build_otlp_tracer_provider(
    config: &TelemetryConfig,
) -> Result<SdkTracerProvider, TelemetryError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::OtlpNeedsTokioRuntime);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|source| TelemetryError::OtlpExporter { source })?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(config.service.clone());
    }
    let resource = resource
        .with_attribute(KeyValue::new("flavor", config.flavor.clone()))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Reads record headers as a W3C trace-context carrier: names compare case-insensitively,
/// values that are not UTF-8 are ignored.
struct HeaderExtractor<'a>(&'a [(String, Bytes)]);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// The remote parent named by a W3C `traceparent` (and `tracestate`) header of a Kafka
/// record, or an empty context when there is none or it is malformed. Run the handling of
/// the record inside it (see [`TracedHandler`]) so `handler_<flavor>` continues the
/// producer's trace.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
/// let headers = vec![(
///     "traceparent".to_owned(),
///     bytes::Bytes::from_static(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
/// )];
/// let cx = observability::extract_trace_context(&headers);
/// let parent = cx.span().span_context().clone();
/// assert!(parent.is_remote());
/// assert_eq!(parent.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(!observability::extract_trace_context(&[]).has_active_span());
/// ```
pub fn extract_trace_context(headers: &[(String, Bytes)]) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// A [`PayloadHandler`] that runs the inner handler inside the trace context of the
/// payload's `traceparent` header, so the pipeline's `handler_<flavor>` span becomes a
/// child of the producer's span. Without a valid header it changes nothing.
///
/// ```
/// # use std::sync::Arc;
/// # fn wrap(pipeline: thirdparty_core::Pipeline) -> Arc<dyn thirdparty_core::PayloadHandler> {
/// Arc::new(observability::TracedHandler::new(pipeline))
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TracedHandler<H> {
    inner: H,
}

impl<H> TracedHandler<H> {
    /// Wraps a handler (usually a [`thirdparty_core::Pipeline`]).
    pub fn new(inner: H) -> Self {
        Self { inner }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }
}

#[async_trait]
impl<H: PayloadHandler> PayloadHandler for TracedHandler<H> {
    async fn handle(&self, payload: &Payload) -> Disposition {
        let cx = extract_trace_context(&payload.headers);
        self.inner.handle(payload).with_context(cx).await
    }
}

/// A [`CaseApi`] whose writes get the previous service's spans: `update_case` and
/// `create_timeline_cell` (and `resolve_user`). Give it to the processor, so they appear
/// under `process_changelog`. Reads pass through untouched: the pipeline already spans its
/// own `get_case` / `get_settings` calls.
#[derive(Debug, Clone)]
pub struct TracedCaseApi<A> {
    inner: A,
}

impl<A> TracedCaseApi<A> {
    /// Wraps a Case API client.
    pub fn new(inner: A) -> Self {
        Self { inner }
    }
}

impl<A: CaseApi> CaseApiWrapper for TracedCaseApi<A> {
    type Inner = A;

    fn inner(&self) -> &A {
        &self.inner
    }

    fn span(&self, call: CaseCall<'_>) -> Span {
        match call {
            CaseCall::UpdateCase(update) => info_span!(
                "update_case",
                org_id = update.org_id.0,
                case_id = update.case_id.as_str(),
                field = update.update.field().as_str(),
                expected_version = update.expected_version.0,
            ),
            CaseCall::CreateTimelineCell(cell) => info_span!(
                "create_timeline_cell",
                org_id = cell.org_id.0,
                case_id = cell.case_id.as_str(),
                internal = cell.internal,
            ),
            CaseCall::ResolveUser { org, .. } => info_span!("resolve_user", org_id = org.0),
            _ => Span::none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    fn header(name: &str, value: &[u8]) -> (String, Bytes) {
        (name.to_owned(), Bytes::copy_from_slice(value))
    }

    #[test]
    fn header_names_are_case_insensitive_and_garbage_is_ignored() {
        let good = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = extract_trace_context(&[header("TraceParent", good)]);
        assert_eq!(
            cx.span().span_context().span_id().to_string(),
            "00f067aa0ba902b7"
        );
        for bad in [
            &b"not a traceparent"[..],
            &b"00-00000000000000000000000000000000-00f067aa0ba902b7-01"[..],
            &[0xff, 0xfe][..],
        ] {
            let cx = extract_trace_context(&[header("traceparent", bad)]);
            assert!(!cx.span().span_context().is_valid(), "{bad:?}");
        }
    }

    #[test]
    fn otlp_needs_a_runtime() {
        let err =
            build_otlp_tracer_provider(&TelemetryConfig::new("jira")).expect_err("no runtime here");
        assert!(matches!(err, TelemetryError::OtlpNeedsTokioRuntime));
    }
}
