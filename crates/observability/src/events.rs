//! One struct per telemetry event. Each event's [`TelemetryEvent::emit`] writes its log line
//! and its metrics together, so a name, a tag or a log field is defined in one place.
//!
//! Logs are structural: an event logs only fields it picks from typed values (ids, tags,
//! times, error kinds). Nothing here formats a [`thirdparty_core::Text`], a
//! [`thirdparty_core::Changelog`] or an error message that could quote a payload, so comment,
//! description and title text never reach a log line, whatever the payload holds.
//!
//! ```
//! use observability::events::{ChangelogFields, ChangelogFiltered, TelemetryEvent};
//! use thirdparty_core::{FilteredReason, Integration, OrgId};
//!
//! let fields = ChangelogFields {
//!     org_id: Some(OrgId(7)),
//!     ..ChangelogFields::new(Integration::new("jira"))
//! };
//! // Logs "changelog filtered" and counts `dd.case_third_party_reader.jira.filtered` (the
//! // filtered count of every flavor, tagged `flavor:jira` here).
//! ChangelogFiltered { changelog: fields, reason: FilteredReason::StateConflict }.emit();
//! ```

use crate::names;
use chrono::{DateTime, SecondsFormat, Utc};
use metrics::Label;
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use thirdparty_core::{
    CacheStats, CaseApiError, ChangelogOutcome, ChangelogType, DecodeError, FilteredReason,
    Integration, OrgId, Outcome, SyncError,
};

pub use thirdparty_core::TelemetryEvent;

/// What is known about one changelog, as logged and tagged by the changelog events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangelogFields<'a> {
    /// The integration (`flavor` tag, `third_party_type` log field).
    pub flavor: Integration,
    /// Organisation, when decoding got that far.
    pub org_id: Option<OrgId>,
    /// Change type, when decoding got that far.
    pub changelog_type: Option<&'a ChangelogType>,
    /// Stable change id.
    pub event_id: Option<&'a str>,
    /// Third-party item key (`PROJ-12`), logged as `item_key`, and under the integration's
    /// own field when it declares one ([`thirdparty_core::IntegrationTelemetry`]; Jira:
    /// `jira_issue_key`).
    pub item_key: Option<&'a str>,
    /// Third-party event time (`evt_timestamp`).
    pub event_time: Option<DateTime<Utc>>,
    /// Third-party author account id, when known.
    pub author: Option<&'a str>,
    /// Third-party account (Jira site id, ServiceNow instance), when known; a latency tag
    /// when the integration declares an account tag.
    pub account_id: Option<&'a str>,
    /// Third-party project id (Jira), when known; a latency tag when the integration
    /// declares a project tag.
    pub project_id: Option<&'a str>,
    /// Whether the change is our own write echoing back, when known.
    pub is_from_datadog: Option<bool>,
}

impl<'a> ChangelogFields<'a> {
    /// Fields with only the flavor known.
    pub fn new(flavor: Integration) -> Self {
        Self {
            flavor,
            org_id: None,
            changelog_type: None,
            event_id: None,
            item_key: None,
            event_time: None,
            author: None,
            account_id: None,
            project_id: None,
            is_from_datadog: None,
        }
    }

    /// The fields of one pipeline outcome.
    ///
    /// `is_from_datadog` is known when the filters decided it: `true` for
    /// `break_synchronization_cycle`, `false` for a change that passed them. The author is
    /// not carried by [`ChangelogOutcome`] today, so it stays unknown.
    pub fn from_outcome(flavor: Integration, outcome: &'a ChangelogOutcome) -> Self {
        let is_from_datadog = match &outcome.outcome {
            Outcome::Filtered(FilteredReason::BreakSynchronizationCycle) => Some(true),
            Outcome::Processed { .. } | Outcome::WouldApply { .. } => Some(false),
            _ => None,
        };
        Self {
            flavor,
            org_id: outcome.org_id,
            changelog_type: outcome.changelog_type.as_ref(),
            event_id: outcome.event_id.as_deref(),
            item_key: outcome.item_key.as_deref(),
            event_time: outcome.event_time,
            author: outcome.author_id.as_deref(),
            account_id: outcome.account_id.as_deref(),
            project_id: outcome.project_id.as_deref(),
            is_from_datadog,
        }
    }

    /// The span carrying the item key under the integration's own log field, when the
    /// integration declares one and the key is known. Changelog log lines are emitted inside
    /// it, so the JSON log layer prints the field in the line's `"span"` object: a `tracing`
    /// field's name is fixed at its callsite, so the integration's crate names it there
    /// ([`thirdparty_core::item_key_field!`]).
    pub fn item_key_span(&self) -> Option<tracing::Span> {
        let field = self.flavor.telemetry().item_key_field()?;
        Some(field.span(self.item_key?))
    }

    /// Tags `org_id` (when known), `flavor`, `changelog_type` (bounded, when known).
    fn labels(&self) -> Vec<Label> {
        let mut labels = Vec::with_capacity(6);
        if let Some(org) = self.org_id {
            labels.push(Label::new("org_id", org.0.to_string()));
        }
        labels.push(Label::new("flavor", self.flavor.as_str()));
        if let Some(t) = self.changelog_type {
            labels.push(Label::new("changelog_type", changelog_type_tag(t)));
        }
        labels
    }
}

/// How many distinct `unsupported_<field id>` `changelog_type` tags one process emits; later
/// field ids (and ids that are not plain tag text) fold into `unsupported_other`, so the
/// tag's cardinality stays bounded whatever the third party sends.
pub const UNSUPPORTED_TAG_CAP: usize = 64;

/// The `changelog_type` metric tag: the type's tag, and for an unsupported field the
/// previous service's `unsupported_<field id>` while under [`UNSUPPORTED_TAG_CAP`].
fn changelog_type_tag(t: &ChangelogType) -> String {
    static SEEN: std::sync::OnceLock<Mutex<HashSet<String>>> = std::sync::OnceLock::new();
    match t {
        ChangelogType::Unsupported(field) => {
            let seen = SEEN.get_or_init(Mutex::default);
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            unsupported_tag(&mut seen, UNSUPPORTED_TAG_CAP, field)
        }
        other => other.bounded_tag().to_owned(),
    }
}

/// `unsupported_<field>` when `field` is plain tag text and already `seen` or there is room
/// under `cap` (it is then remembered); `unsupported_other` otherwise.
fn unsupported_tag(seen: &mut HashSet<String>, cap: usize, field: &str) -> String {
    let plain = !field.is_empty()
        && field.len() <= 64
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain && (seen.contains(field) || seen.len() < cap) {
        seen.insert(field.to_owned());
        format!("unsupported_{field}")
    } else {
        "unsupported_other".to_owned()
    }
}

/// Logs one changelog event with the key fields every changelog log line carries.
macro_rules! changelog_log {
    ($level:expr, $fields:expr, $($rest:tt)+) => {{
        let f: &ChangelogFields<'_> = $fields;
        let _item_key_span = f.item_key_span().map(tracing::Span::entered);
        let changelog_type = f.changelog_type.map(|t| t.as_tag());
        let evt_timestamp = f
            .event_time
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true));
        tracing::event!(
            $level,
            third_party_type = f.flavor.as_str(),
            org_id = f.org_id.map(|o| o.0),
            changelog_type = changelog_type.as_deref(),
            evt_timestamp = evt_timestamp.as_deref(),
            event_id = f.event_id,
            item_key = f.item_key,
            author = f.author,
            is_from_datadog = f.is_from_datadog,
            $($rest)+
        );
    }};
}

/// Counts one changelog event under `name`, tagged as [`ChangelogFields::labels`] plus
/// `extra`.
fn count_changelog(
    name: impl Into<metrics::SharedString>,
    changelog: &ChangelogFields<'_>,
    extra: Option<Label>,
) {
    let mut labels = changelog.labels();
    labels.extend(extra);
    metrics::counter!(name.into(), labels).increment(1);
}

thirdparty_core::telemetry_events! {
    /// A changelog was applied to its case.
    #[derive(Clone, Copy, Debug)]
    pub struct ChangelogProcessed<'a> {
        /// The changelog.
        changelog: ChangelogFields<'a>,
    }
    |e| {
        changelog_log!(tracing::Level::INFO, &e.changelog, outcome = "processed", "changelog applied");
        count_changelog(names::CHANGELOG_PROCESSED, &e.changelog, None);
    }

    /// A changelog passed every filter in a dry run; nothing was written.
    #[derive(Clone, Copy, Debug)]
    pub struct ChangelogWouldApply<'a> {
        /// The changelog.
        changelog: ChangelogFields<'a>,
        /// It would have overridden a state conflict.
        overridden_conflict: bool,
    }
    |e| {
        changelog_log!(tracing::Level::INFO, &e.changelog, outcome = "would_apply",
            overridden_conflict = e.overridden_conflict,
            "changelog would apply (dry run, nothing written)");
        count_changelog(names::CHANGELOG_WOULD_APPLY, &e.changelog, None);
    }

    /// A changelog (or a whole event) was skipped for a reason. Emits [`OutOfOrderEvent`] too
    /// when the reason is `out_of_order_event`.
    #[derive(Clone, Copy, Debug)]
    pub struct ChangelogFiltered<'a> {
        /// The changelog.
        changelog: ChangelogFields<'a>,
        /// Why it was skipped.
        reason: FilteredReason,
    }
    |e| {
        changelog_log!(tracing::Level::INFO, &e.changelog, outcome = "filtered",
            reason = e.reason.as_str(), "changelog filtered");
        let reason = Label::new("reason", e.reason.as_str());
        count_changelog(names::FILTERED, &e.changelog, Some(reason));
        if e.reason == FilteredReason::OutOfOrderEvent {
            OutOfOrderEvent { integration: e.changelog.flavor, org_id: e.changelog.org_id }.emit();
        }
    }

    /// An event older than the last change applied to its case field.
    #[derive(Clone, Copy, Debug)]
    pub struct OutOfOrderEvent {
        /// The integration.
        integration: Integration,
        /// Organisation, when known.
        org_id: Option<OrgId>,
    }
    |e| {
        tracing::debug!(integration = e.integration.as_str(), org_id = e.org_id.map(|o| o.0),
            "event older than the last change applied to its case field");
        let mut labels = vec![Label::new("integration", e.integration.as_str())];
        if let Some(org) = e.org_id {
            labels.push(Label::new("org_id", org.0.to_string()));
        }
        metrics::counter!(names::OUT_OF_ORDER_EVENT, labels).increment(1);
    }

    /// A change was applied although the case had moved on (project policy
    /// `third_party_wins`).
    #[derive(Clone, Copy, Debug)]
    pub struct StateConflictOverridden<'a> {
        /// The changelog.
        changelog: ChangelogFields<'a>,
    }
    |e| {
        changelog_log!(tracing::Level::INFO, &e.changelog,
            "state conflict overridden: applied although the case had changed (third_party_wins)");
        count_changelog(names::STATE_CONFLICT_OVERRIDDEN, &e.changelog, None);
    }

    /// A payload did not decode. Logs only the error's kind and location: the message of a
    /// decode error may quote the payload.
    #[derive(Clone, Copy, Debug)]
    pub struct DecodingFailed<'a> {
        /// The integration whose decoder failed.
        flavor: Integration,
        /// The error.
        error: &'a DecodeError,
        /// Topic the payload came from (empty when not from Kafka).
        topic: &'a str,
        /// Partition the payload came from.
        partition: i32,
        /// Offset of the payload.
        offset: i64,
    }
    |e| {
        // Bounded by construction: a `DecodeErrorKind` is snake_case from a closed set.
        let kind = e.error.kind.as_str();
        tracing::warn!(third_party_type = e.flavor.as_str(), outcome = "decode_failed",
            error_kind = kind, error_path = e.error.path.as_str(), topic = e.topic,
            partition = e.partition, offset = e.offset, "payload did not decode; skipped");
        metrics::counter!(names::DECODING_FAILED, "flavor" => e.flavor.as_str(), "error" => kind)
            .increment(1);
        metrics::counter!(names::KAFKA_CONSUMER_DECODE_ERROR, "flavor" => e.flavor.as_str())
            .increment(1);
    }

    /// A changelog was dropped on a permanent error (acknowledged, not retried). Logs the
    /// error's kind and RPC, not its message.
    #[derive(Clone, Copy, Debug)]
    pub struct PermanentErrorDropped<'a> {
        /// The changelog.
        changelog: ChangelogFields<'a>,
        /// The error.
        error: &'a SyncError,
    }
    |e| {
        let kind = sync_error_kind(e.error);
        changelog_log!(tracing::Level::ERROR, &e.changelog, outcome = "permanent_error",
            error_kind = kind, rpc = sync_error_rpc(e.error),
            "changelog dropped on a permanent error");
        count_changelog(names::PERMANENT_ERROR, &e.changelog, Some(Label::new("error", kind)));
    }

    /// A transient error: the payload will be handled again. Log only; the retry count belongs
    /// to the consumer that retries (`dd.case_third_party_reader.retry_attempts`; `…retries`
    /// counts the crashes after the last attempt).
    #[derive(Clone, Copy, Debug)]
    pub struct RetryNeeded<'a> {
        /// The changelog.
        changelog: ChangelogFields<'a>,
        /// The error.
        error: &'a SyncError,
    }
    |e| {
        changelog_log!(tracing::Level::WARN, &e.changelog, outcome = "retry_needed",
            error_kind = sync_error_kind(e.error), rpc = sync_error_rpc(e.error),
            "transient error; the payload will be handled again");
    }

    /// The Case API refused the reader's own setup (its token, its TLS trust): the payload
    /// waits unacknowledged and is retried until the fix, never dropped. Logged (kind and
    /// RPC; the client's own log line names the fix, `the Case API refused the token from
    /// <file> …`) and counted (tag `error`).
    #[derive(Clone, Copy, Debug)]
    pub struct ConfigurationFault<'a> {
        /// The changelog.
        changelog: ChangelogFields<'a>,
        /// The error.
        error: &'a SyncError,
    }
    |e| {
        let kind = sync_error_kind(e.error);
        changelog_log!(tracing::Level::ERROR, &e.changelog, outcome = "configuration_fault",
            error_kind = kind, rpc = sync_error_rpc(e.error),
            "the Case API refused the reader's credentials or TLS settings; the payload waits, unacknowledged, until they are fixed");
        count_changelog(names::CONFIGURATION_FAULT, &e.changelog, Some(Label::new("error", kind)));
    }
}

/// Time from the third-party event to the end of its handling. Tagged as the changelog's
/// metrics, plus the account and project ids under the tags the integration declares
/// ([`thirdparty_core::IntegrationTelemetry`]), when known.
#[derive(Clone, Copy, Debug)]
pub struct EndToEndLatency<'a> {
    /// The changelog.
    pub changelog: ChangelogFields<'a>,
    /// The latency.
    pub latency: Duration,
}

impl<'a> EndToEndLatency<'a> {
    /// The latency of a changelog whose event time is known, measured at `now`. An event
    /// time in the future (clock skew) counts as zero.
    pub fn at(changelog: ChangelogFields<'a>, now: DateTime<Utc>) -> Option<Self> {
        let event_time = changelog.event_time?;
        let latency = (now - event_time).to_std().unwrap_or(Duration::ZERO);
        Some(Self { changelog, latency })
    }
}

impl TelemetryEvent for EndToEndLatency<'_> {
    fn emit(&self) {
        let millis = self.latency.as_secs_f64() * 1000.0;
        tracing::trace!(
            third_party_type = self.changelog.flavor.as_str(),
            latency_ms = millis,
            "end-to-end latency"
        );
        let mut labels = self.changelog.labels();
        let declared = self.changelog.flavor.telemetry();
        for (tag, value) in [
            (declared.account_tag(), self.changelog.account_id),
            (declared.project_tag(), self.changelog.project_id),
        ] {
            if let (Some(tag), Some(value)) = (tag, value) {
                labels.push(Label::new(tag, sanitize_tag_value(value)));
            }
        }
        metrics::histogram!(names::END_TO_END_LATENCY, labels).record(millis);
    }
}

/// The hit, miss and load-error counts of one cache, reported as gauges.
#[derive(Clone, Copy, Debug)]
pub struct CacheStatsReported {
    /// The integration whose cache it is.
    pub flavor: Integration,
    /// The cache's name (`cache` tag), e.g. `jira_metadata`, `project_settings`.
    pub cache: &'static str,
    /// The counts since start.
    pub stats: CacheStats,
}

impl TelemetryEvent for CacheStatsReported {
    fn emit(&self) {
        tracing::debug!(
            third_party_type = self.flavor.as_str(),
            cache = self.cache,
            hits = self.stats.hits,
            misses = self.stats.misses,
            load_errors = self.stats.load_errors,
            "cache statistics"
        );
        let cache = sanitize_tag_value(self.cache);
        let flavor = self.flavor.as_str();
        // Counts since start fit an f64 exactly up to 2^53.
        #[allow(clippy::cast_precision_loss)]
        let (hits, misses, errors) = (
            self.stats.hits as f64,
            self.stats.misses as f64,
            self.stats.load_errors as f64,
        );
        metrics::gauge!(names::CACHE_HITS, "cache" => cache.clone(), "flavor" => flavor).set(hits);
        metrics::gauge!(names::CACHE_MISSES, "cache" => cache.clone(), "flavor" => flavor)
            .set(misses);
        metrics::gauge!(names::CACHE_LOAD_ERRORS, "cache" => cache, "flavor" => flavor).set(errors);
    }
}

/// A short, bounded kind for a sync error (metric tag and log field): never its message,
/// which may quote what the server or the payload said.
pub fn sync_error_kind(error: &SyncError) -> &'static str {
    match error {
        SyncError::CaseApi(e) => match e {
            CaseApiError::Unavailable { .. } => "case_api_unavailable",
            CaseApiError::VersionConflict { .. } => "case_api_version_conflict",
            CaseApiError::InvalidArgument { .. } => "case_api_invalid_argument",
            CaseApiError::PermissionDenied { .. } => "case_api_permission_denied",
            CaseApiError::Internal { .. } => "case_api_internal",
            _ => "case_api_other",
        },
        SyncError::Invalid(_) => "invalid_changelog",
        _ => "other",
    }
}

/// The Case API RPC a sync error comes from, when it names one.
pub fn sync_error_rpc(error: &SyncError) -> Option<&'static str> {
    match error {
        SyncError::CaseApi(
            CaseApiError::Unavailable { rpc, .. }
            | CaseApiError::InvalidArgument { rpc, .. }
            | CaseApiError::PermissionDenied { rpc, .. }
            | CaseApiError::Internal { rpc, .. },
        ) => Some(rpc),
        SyncError::CaseApi(CaseApiError::VersionConflict { .. }) => Some("UpdateCase"),
        _ => None,
    }
}

/// Makes a string safe as a DogStatsD tag value: characters other than ASCII letters,
/// digits, `_`, `-`, `.`, `/` become `_` (`|`, `,`, `#`, `:` and new lines would break the
/// datagram), and it is cut to 100 characters.
pub fn sanitize_tag_value(value: &str) -> String {
    value
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    type Recorded = (String, Vec<(String, String)>, DebugValue);

    fn snapshot(f: impl FnOnce()) -> Vec<Recorded> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, f);
        let mut out: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let key = key.key().clone();
                let labels = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                (key.name().to_owned(), labels, value)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn out_of_order_filtered_counts_both_metrics() {
        let ty = ChangelogType::UpdateStatus;
        let fields = ChangelogFields {
            org_id: Some(OrgId(9)),
            changelog_type: Some(&ty),
            ..ChangelogFields::new(Integration::new("servicenow"))
        };
        let got = snapshot(|| {
            ChangelogFiltered {
                changelog: fields,
                reason: FilteredReason::OutOfOrderEvent,
            }
            .emit();
        });
        assert_eq!(got.len(), 2, "{got:?}");
        // Sorted by name: the compatibility name sorts first.
        let (filtered, out_of_order) = (&got[0], &got[1]);
        assert_eq!(out_of_order.0, names::OUT_OF_ORDER_EVENT);
        assert_eq!(
            out_of_order.1,
            vec![
                ("integration".to_owned(), "servicenow".to_owned()),
                ("org_id".to_owned(), "9".to_owned())
            ]
        );
        assert_eq!(
            filtered.0,
            names::FILTERED,
            "one filtered name for every flavor"
        );
        assert!(
            filtered
                .1
                .contains(&("flavor".to_owned(), "servicenow".to_owned()))
        );
        assert!(
            filtered
                .1
                .contains(&("reason".to_owned(), "out_of_order_event".to_owned()))
        );
        assert_eq!(filtered.2, DebugValue::Counter(1));
    }

    #[test]
    fn unsupported_field_tags_are_bounded() {
        let mut seen = HashSet::new();
        assert_eq!(
            unsupported_tag(&mut seen, 2, "customfield_1"),
            "unsupported_customfield_1"
        );
        assert_eq!(
            unsupported_tag(&mut seen, 2, "labels"),
            "unsupported_labels"
        );
        assert_eq!(
            unsupported_tag(&mut seen, 2, "customfield_3"),
            "unsupported_other",
            "over the cap"
        );
        assert_eq!(
            unsupported_tag(&mut seen, 2, "customfield_1"),
            "unsupported_customfield_1",
            "seen"
        );
        assert_eq!(
            unsupported_tag(&mut HashSet::new(), 2, "custom:start date"),
            "unsupported_other"
        );
        assert_eq!(
            unsupported_tag(&mut HashSet::new(), 2, ""),
            "unsupported_other"
        );
    }

    #[test]
    fn unsupported_changelog_types_keep_their_field_id() {
        let ty = ChangelogType::Unsupported("customfield_99999".into());
        let fields = ChangelogFields {
            changelog_type: Some(&ty),
            ..ChangelogFields::new(Integration::new("jira"))
        };
        let got = snapshot(|| ChangelogProcessed { changelog: fields }.emit());
        assert_eq!(
            got[0].1,
            vec![
                ("flavor".to_owned(), "jira".to_owned()),
                (
                    "changelog_type".to_owned(),
                    "unsupported_customfield_99999".to_owned()
                )
            ],
            "unknown org is left out, the field id kept (the previous service's tag)"
        );
    }

    #[test]
    fn latency_in_the_future_is_zero_and_unknown_time_is_none() {
        let now = Utc::now();
        let fields = ChangelogFields {
            event_time: Some(now + chrono::Duration::hours(1)),
            ..ChangelogFields::new(Integration::new("jira"))
        };
        let latency = EndToEndLatency::at(fields, now).map(|l| l.latency);
        assert_eq!(latency, Some(Duration::ZERO));
        let unknown = EndToEndLatency::at(ChangelogFields::new(Integration::new("jira")), now);
        assert!(unknown.is_none());
    }

    static ACME_TELEMETRY: thirdparty_core::IntegrationTelemetry =
        thirdparty_core::IntegrationTelemetry::new()
            .with_account_tag("acme_site_id")
            .with_project_tag("acme_board_id");

    #[test]
    fn declared_latency_tags_only_for_the_declaring_integration_and_sanitized() {
        let acme = Integration::new("acme").with_telemetry(&ACME_TELEMETRY);
        let fields = ChangelogFields {
            event_time: Some(Utc::now()),
            account_id: Some("site|1,#x"),
            project_id: Some("10000"),
            ..ChangelogFields::new(acme)
        };
        let got = snapshot(|| {
            EndToEndLatency::at(fields, Utc::now()).unwrap().emit();
            EndToEndLatency::at(
                ChangelogFields {
                    flavor: Integration::new("servicenow"),
                    ..fields
                },
                Utc::now(),
            )
            .unwrap()
            .emit();
        });
        let declaring = got
            .iter()
            .find(|(_, l, _)| l.contains(&("flavor".to_owned(), "acme".to_owned())))
            .unwrap();
        assert!(
            declaring
                .1
                .contains(&("acme_site_id".to_owned(), "site_1__x".to_owned()))
        );
        assert!(
            declaring
                .1
                .contains(&("acme_board_id".to_owned(), "10000".to_owned()))
        );
        let plain = got
            .iter()
            .find(|(_, l, _)| l.contains(&("flavor".to_owned(), "servicenow".to_owned())))
            .unwrap();
        let keys: Vec<&str> = plain.1.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["flavor"], "no declared tags, no extra tags");
    }

    #[test]
    fn error_kinds_never_carry_messages() {
        let e = SyncError::CaseApi(CaseApiError::InvalidArgument {
            rpc: "UpdateCase",
            message: "title too long: SECRET".into(),
        });
        assert_eq!(sync_error_kind(&e), "case_api_invalid_argument");
        assert_eq!(sync_error_rpc(&e), Some("UpdateCase"));
        assert_eq!(
            sync_error_kind(&SyncError::Invalid("SECRET".into())),
            "invalid_changelog"
        );
    }

    #[test]
    fn sanitize_keeps_safe_characters_and_bounds_length() {
        assert_eq!(sanitize_tag_value("abc-1.2/x_y"), "abc-1.2/x_y");
        assert_eq!(sanitize_tag_value("a|b,c#d:e\nf"), "a_b_c_d_e_f");
        assert_eq!(sanitize_tag_value(&"x".repeat(500)).len(), 100);
    }
}
