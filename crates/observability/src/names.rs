//! Every metric name this crate's [`crate::events`] emit, defined once. The names are the
//! previous service's, so existing Datadog dashboards and monitors keep working.

/// Distribution, milliseconds from the third-party event time to the end of its handling.
/// Tags `org_id`, `flavor`, `changelog_type`, plus the account and project tags the
/// integration declares ([`thirdparty_core::IntegrationTelemetry`]; Jira: `jira_account_id`,
/// `jira_project_id`) when known.
pub const END_TO_END_LATENCY: &str = "case.case_third_party_reader.end_to_end_latency";

/// Count of changelogs applied to a case. Tags `org_id`, `flavor`, `changelog_type`.
pub const CHANGELOG_PROCESSED: &str = "dd.case_third_party_reader.changelog_processed";

/// Count of changelogs that passed every filter in a dry run (nothing written). Tags
/// `org_id`, `flavor`, `changelog_type`. Not in the previous service: dry runs are new.
pub const CHANGELOG_WOULD_APPLY: &str = "dd.case_third_party_reader.changelog_would_apply";

/// Count of payloads that did not decode. Tags `flavor`, `error` (the decode error kind).
pub const DECODING_FAILED: &str = "dd.case_third_party_reader.decoding_failed";

/// Count of payloads that did not decode, under the previous service's Kafka consumer name. Tag
/// `flavor`.
pub const KAFKA_CONSUMER_DECODE_ERROR: &str = "dd.case.kafka_consumer.decode_error";

/// Count of events older than the last change applied to their case field (emitted next to
/// the filtered count with reason `out_of_order_event`). Tags `integration`, `org_id`.
pub const OUT_OF_ORDER_EVENT: &str = "dd.case_third_party_reader.out_of_order_event";

/// Count of changelogs dropped on a permanent error. Tags `org_id`, `flavor`,
/// `changelog_type`, `error` (the error kind).
pub const PERMANENT_ERROR: &str = "dd.case_third_party_reader.permanent_error";

/// Count of changelog attempts the Case API refused for the reader's own setup (token, TLS
/// trust); the payload waits unacknowledged. Tags as the changelog's, plus `error`.
pub const CONFIGURATION_FAULT: &str = "dd.case_third_party_reader.configuration_fault";

/// Count of changes applied although the case had moved on (project policy
/// `third_party_wins`). Tags `org_id`, `flavor`, `changelog_type`.
pub const STATE_CONFLICT_OVERRIDDEN: &str = "dd.case_third_party_reader.state_conflict_overridden";

/// Gauge, lookups answered from a cache since start. Tags `cache`, `flavor`.
pub const CACHE_HITS: &str = "dd.case_third_party_reader.cache.hits";

/// Gauge, lookups that had to load since start. Tags `cache`, `flavor`.
pub const CACHE_MISSES: &str = "dd.case_third_party_reader.cache.misses";

/// Gauge, loads that failed since start. Tags `cache`, `flavor`.
pub const CACHE_LOAD_ERRORS: &str = "dd.case_third_party_reader.cache.load_errors";

/// Count of changelogs (or whole events) skipped for a reason, for every flavor. Tags
/// `org_id`, `flavor`, `changelog_type`, `reason`.
///
/// The name is a compatibility name: the previous service's Jira reader counted its
/// filtered changelogs under it, and its dashboards and monitors read it. Every flavor now
/// counts under this one name and the `flavor` tag tells them apart, so monitoring written
/// once over `flavor` covers a new flavor with no edit.
pub const FILTERED: &str = "dd.case_third_party_reader.jira.filtered";

/// Describes every metric (unit and help text) to the installed recorder, for the
/// Prometheus `# HELP` lines. DogStatsD ignores descriptions.
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        END_TO_END_LATENCY,
        Unit::Milliseconds,
        "Time from the third-party event to the end of its handling"
    );
    describe_counter!(CHANGELOG_PROCESSED, "Changelogs applied to a case");
    describe_counter!(
        CHANGELOG_WOULD_APPLY,
        "Changelogs that passed every filter in a dry run"
    );
    describe_counter!(
        FILTERED,
        "Changelogs skipped for a reason, every flavor (tags flavor, reason)"
    );
    describe_counter!(DECODING_FAILED, "Payloads that did not decode");
    describe_counter!(
        KAFKA_CONSUMER_DECODE_ERROR,
        "Payloads that did not decode (Kafka consumer view)"
    );
    describe_counter!(
        OUT_OF_ORDER_EVENT,
        "Events older than the last change applied to their case field"
    );
    describe_counter!(PERMANENT_ERROR, "Changelogs dropped on a permanent error");
    describe_counter!(
        CONFIGURATION_FAULT,
        "Changelog attempts refused for the reader's credentials or TLS settings (not acknowledged)"
    );
    describe_counter!(
        STATE_CONFLICT_OVERRIDDEN,
        "Changes applied although the case had moved on (third_party_wins)"
    );
    describe_gauge!(
        CACHE_HITS,
        "Cache lookups answered from the cache since start"
    );
    describe_gauge!(CACHE_MISSES, "Cache lookups that had to load since start");
    describe_gauge!(CACHE_LOAD_ERRORS, "Cache loads that failed since start");
}

/// Every metric name the events of this crate emit.
pub const METRIC_NAMES: &[&str] = &[
    END_TO_END_LATENCY,
    CHANGELOG_PROCESSED,
    CHANGELOG_WOULD_APPLY,
    FILTERED,
    DECODING_FAILED,
    KAFKA_CONSUMER_DECODE_ERROR,
    OUT_OF_ORDER_EVENT,
    PERMANENT_ERROR,
    CONFIGURATION_FAULT,
    STATE_CONFLICT_OVERRIDDEN,
    CACHE_HITS,
    CACHE_MISSES,
    CACHE_LOAD_ERRORS,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_distinct_and_statsd_safe() {
        let set: HashSet<&str> = METRIC_NAMES.iter().copied().collect();
        assert_eq!(set.len(), METRIC_NAMES.len(), "duplicate metric name");
        for name in METRIC_NAMES {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
                "{name} has a character DogStatsD or Prometheus would mangle"
            );
        }
    }
}
