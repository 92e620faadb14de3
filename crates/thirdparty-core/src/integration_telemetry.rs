//! [`IntegrationTelemetry`]: the log field and metric tags an integration adds to the shared
//! telemetry, declared as data on its [`crate::Integration`] so the telemetry crate never
//! matches on a flavor name.
//!
//! A `tracing` field's name is fixed at its callsite, so a log field whose name comes from
//! data cannot be added to a shared `tracing::event!`. The integration therefore supplies a
//! span, built in its own crate by [`item_key_field!`](crate::item_key_field!) with its field
//! statically named; the telemetry crate enters that span around each changelog log line,
//! and the JSON log layer prints the span's fields under `"span"` (`{"span":
//! {"jira_issue_key": "PROJ-7", "name": "item_key"}}`). These spans have the target
//! [`LOG_FIELDS_TARGET`], which the trace exporter leaves out: they carry log fields, they
//! are not units of work.

/// Target of the spans that carry an integration's own log fields
/// ([`item_key_field!`](crate::item_key_field!)). The JSON log layer prints them; the trace
/// exporter must leave them out.
pub const LOG_FIELDS_TARGET: &str = "case_reader_log_fields";

/// The integration's own log field for the third-party item key (`jira_issue_key`) and the
/// span that carries it. Build it with [`item_key_field!`](crate::item_key_field!), which
/// names the field once.
#[derive(Clone, Copy, Debug)]
pub struct ItemKeyField {
    name: &'static str,
    span: fn(&str) -> tracing::Span,
}

impl ItemKeyField {
    /// A field `name` carried by the span `span` returns for a key. `span` must record the
    /// key under `name`, on a span with the target [`LOG_FIELDS_TARGET`];
    /// [`item_key_field!`](crate::item_key_field!) writes both from one identifier.
    pub const fn new(name: &'static str, span: fn(&str) -> tracing::Span) -> Self {
        Self { name, span }
    }

    /// The field's name, e.g. `jira_issue_key`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The span carrying `key` under [`ItemKeyField::name`] (disabled when no subscriber
    /// wants it).
    pub fn span(&self, key: &str) -> tracing::Span {
        (self.span)(key)
    }
}

/// What an integration adds to the shared telemetry. Every part is optional; an integration
/// that adds nothing declares nothing (its [`crate::Integration::telemetry`] is
/// [`IntegrationTelemetry::NONE`]). Names are DogStatsD/Prometheus-safe snake_case.
///
/// ```
/// use thirdparty_core::{Integration, IntegrationTelemetry, item_key_field};
///
/// static TELEMETRY: IntegrationTelemetry = IntegrationTelemetry::new()
///     .with_item_key_field(item_key_field!(acme_ticket_key))
///     .with_account_tag("acme_site_id")
///     .with_project_tag("acme_board_id");
/// pub const INTEGRATION: Integration = Integration::new("acme").with_telemetry(&TELEMETRY);
///
/// let telemetry = INTEGRATION.telemetry();
/// assert_eq!(telemetry.item_key_field().map(|f| f.name()), Some("acme_ticket_key"));
/// assert_eq!(telemetry.project_tag(), Some("acme_board_id"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct IntegrationTelemetry {
    item_key_field: Option<ItemKeyField>,
    account_tag: Option<&'static str>,
    project_tag: Option<&'static str>,
}

impl IntegrationTelemetry {
    /// Nothing added.
    pub const NONE: Self = Self::new();

    /// Nothing added yet; add parts with the `with_*` methods.
    pub const fn new() -> Self {
        Self {
            item_key_field: None,
            account_tag: None,
            project_tag: None,
        }
    }

    /// Every changelog log line with a known item key carries it under this field (besides
    /// the shared `item_key`).
    #[must_use]
    pub const fn with_item_key_field(mut self, field: ItemKeyField) -> Self {
        self.item_key_field = Some(field);
        self
    }

    /// The end-to-end latency distribution is tagged with the third-party account id
    /// (Jira site, …) under this tag, when known.
    #[must_use]
    pub const fn with_account_tag(mut self, tag: &'static str) -> Self {
        self.account_tag = Some(tag);
        self
    }

    /// The end-to-end latency distribution is tagged with the third-party project id under
    /// this tag, when known.
    #[must_use]
    pub const fn with_project_tag(mut self, tag: &'static str) -> Self {
        self.project_tag = Some(tag);
        self
    }

    /// The item-key log field, if declared.
    pub const fn item_key_field(&self) -> Option<ItemKeyField> {
        self.item_key_field
    }

    /// The account tag of the latency distribution, if declared.
    pub const fn account_tag(&self) -> Option<&'static str> {
        self.account_tag
    }

    /// The project tag of the latency distribution, if declared.
    pub const fn project_tag(&self) -> Option<&'static str> {
        self.project_tag
    }
}

impl Default for IntegrationTelemetry {
    fn default() -> Self {
        Self::NONE
    }
}

/// An [`ItemKeyField`] named by one identifier: the span records the key under that name,
/// with the target [`LOG_FIELDS_TARGET`] at level `ERROR` (a span's level only decides
/// whether it is enabled; `ERROR` keeps the field on every changelog line the log filter
/// lets through, from `INFO` to `ERROR`).
///
/// ```
/// let field = thirdparty_core::item_key_field!(jira_issue_key);
/// assert_eq!(field.name(), "jira_issue_key");
/// ```
#[macro_export]
macro_rules! item_key_field {
    ($field:ident) => {
        $crate::ItemKeyField::new(::core::stringify!($field), |key: &str| {
            $crate::__tracing::span!(
                target: $crate::LOG_FIELDS_TARGET,
                $crate::__tracing::Level::ERROR,
                "item_key",
                $field = key
            )
        })
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Integration;

    static ACME: IntegrationTelemetry = IntegrationTelemetry::new()
        .with_item_key_field(crate::item_key_field!(acme_ticket_key))
        .with_account_tag("acme_site_id");

    #[test]
    fn the_span_names_the_declared_field_under_the_log_fields_target() {
        let field = ACME.item_key_field().unwrap_or_else(|| unreachable!());
        // Spans are disabled without a subscriber: check the span under one that enables
        // everything.
        tracing::subscriber::with_default(tracing_subscriber_free::Everything, || {
            let span = field.span("ACME-1");
            let meta = span.metadata().unwrap_or_else(|| unreachable!());
            assert_eq!(meta.target(), LOG_FIELDS_TARGET);
            assert!(meta.fields().field(field.name()).is_some());
        });
    }

    #[test]
    fn equality_ignores_the_telemetry() {
        let declared = Integration::new("acme").with_telemetry(&ACME);
        assert_eq!(declared, Integration::new("acme"));
        assert_ne!(declared, Integration::new("other"));
        assert_eq!(declared.telemetry().account_tag(), Some("acme_site_id"));
        assert_eq!(Integration::new("acme").telemetry().account_tag(), None);
        assert_eq!(format!("{declared:?}"), "Integration(\"acme\")");
    }

    /// A minimal subscriber enabling every span (thirdparty-core has no tracing-subscriber).
    mod tracing_subscriber_free {
        use tracing::span::{Attributes, Id, Record};
        use tracing::{Event, Metadata, Subscriber};

        pub(super) struct Everything;

        impl Subscriber for Everything {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &Attributes<'_>) -> Id {
                Id::from_u64(1)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, _: &Event<'_>) {}
            fn enter(&self, _: &Id) {}
            fn exit(&self, _: &Id) {}
        }
    }
}
