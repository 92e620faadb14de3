//! [`ConsumerConfig`] and [`RetryPolicy`]: every knob of the runtime, with the defaults of
//! the `[kafka]` section ([`KafkaSection`], declared once here), and the librdkafka
//! properties derived from them.

use crate::RuntimeError;
use std::collections::BTreeMap;
use std::time::Duration;
use thirdparty_core::config::KeyKind;

/// The previous service's consumer group.
pub const DEFAULT_GROUP_ID: &str = "case-management";

thirdparty_core::config_section! {
    /// The `[kafka]` section of the reader's configuration: the consumer's keys with their
    /// shipped defaults. [`ConsumerConfig::new`] and [`RetryPolicy::default`] take their
    /// defaults from here.
    pub struct KafkaSection in "kafka" {
        /// Kafka bootstrap servers, comma-separated host:port.
        pub brokers: Option<String> = required, KeyKind::Text;
        /// Topic to consume; defaults to the flavor's topic (collaboration_integrations_<flavor>).
        pub topic: Option<String> = unset, KeyKind::Text;
        /// Consumer group.
        pub group_id: String = { DEFAULT_GROUP_ID }, KeyKind::Text;
        /// Where a partition with no committed offset starts.
        pub auto_offset_reset: String = "latest", KeyKind::OneOf(&["latest", "earliest"]);
        /// Messages handled concurrently per partition (different keys only; 1 = strictly sequential, the previous service's model).
        pub max_in_flight: usize = "64", KeyKind::Integer { min: 1, max: 10_000 };
        /// Messages buffered per partition before it is paused.
        pub partition_queue_capacity: usize = "1024", KeyKind::Integer { min: 1, max: 1_000_000 };
        /// Consumer group session timeout.
        pub session_timeout_ms: Duration = "10000", KeyKind::Millis { min: 1_000, max: 300_000 };
        /// Attempts for a message whose handling failed transiently; after the last one the reader exits non-zero without committing it.
        pub retry_max_attempts: u32 = "8", KeyKind::Integer { min: 1, max: 1_000 };
        /// First retry backoff (exponential, full jitter).
        pub retry_initial_backoff_ms: Duration = "100", KeyKind::Millis { min: 1, max: 600_000 };
        /// Retry backoff ceiling.
        pub retry_max_backoff_ms: Duration = "10000", KeyKind::Millis { min: 1, max: 3_600_000 };
        /// How long a revoked partition may finish in-flight work (at most half the session timeout).
        pub drain_timeout_ms: Duration = "5000", KeyKind::Millis { min: 0, max: 600_000 };
        /// How long shutdown may drain in-flight work before the final commit.
        pub shutdown_grace_ms: Duration = "25000", KeyKind::Millis { min: 0, max: 600_000 };
        /// Park every message acknowledged without being applied (it did not decode, hit a permanent error, or is skip-listed) in the dead-letter topic before committing it.
        pub dead_letter: bool = "false", KeyKind::Bool;
        /// The dead-letter topic (with dead_letter = true); defaults to <topic>.dead-letter. It must exist: the reader does not create it.
        pub dead_letter_topic: Option<String> = unset, KeyKind::Text;
    }
}

impl KafkaSection {
    /// The dead-letter topic for `source_topic`: `None` unless `dead_letter` is on; then
    /// `dead_letter_topic`, or [`crate::dead_letter::default_topic`] when unset or blank.
    ///
    /// ```
    /// use kafka_runtime::KafkaSection;
    /// let off = KafkaSection::default();
    /// assert_eq!(off.dead_letter_topic_for("jira"), None);
    /// let on = KafkaSection { dead_letter: true, ..KafkaSection::default() };
    /// assert_eq!(on.dead_letter_topic_for("jira").as_deref(), Some("jira.dead-letter"));
    /// ```
    pub fn dead_letter_topic_for(&self, source_topic: &str) -> Option<String> {
        if !self.dead_letter {
            return None;
        }
        Some(
            self.dead_letter_topic
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map_or_else(
                    || crate::dead_letter::default_topic(source_topic),
                    str::to_owned,
                ),
        )
    }
}

/// Where and as whom the runtime parks messages it acknowledges without applying them
/// (see [`crate::dead_letter`]).
///
/// ```
/// use kafka_runtime::{ConsumerConfig, DeadLetterConfig};
/// let config = ConsumerConfig::new("kafka-1:9092", "collaboration_integrations_jira")
///     .with_dead_letter(DeadLetterConfig::new("collaboration_integrations_jira.dead-letter", "jira", "0.2.0"));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterConfig {
    /// The dead-letter topic (it must exist).
    pub topic: String,
    /// The reader flavor, written in every parked record's `dead-letter-flavor` header.
    pub flavor: String,
    /// The reader's version, written in the `dead-letter-reader-version` header.
    pub reader_version: String,
    /// `message.timeout.ms` of one produce attempt: how long librdkafka may try to deliver
    /// it before the runtime backs off and tries again (10 s by default).
    pub produce_timeout: Duration,
}

impl DeadLetterConfig {
    /// Parks in `topic`, tagging records with `flavor` and `reader_version`.
    pub fn new(
        topic: impl Into<String>,
        flavor: impl Into<String>,
        reader_version: impl Into<String>,
    ) -> Self {
        Self {
            topic: topic.into(),
            flavor: flavor.into(),
            reader_version: reader_version.into(),
            produce_timeout: Duration::from_secs(10),
        }
    }

    /// Sets the timeout of one produce attempt.
    #[must_use]
    pub fn with_produce_timeout(mut self, timeout: Duration) -> Self {
        self.produce_timeout = timeout;
        self
    }
}

/// Prefixes of the pass-through librdkafka properties the dead-letter producer shares with
/// the consumer: how to reach and authenticate to the brokers (TLS, SASL, client id,
/// address family), so both clients connect the same way.
pub const SHARED_PROPERTY_PREFIXES: &[&str] = &[
    "security.",
    "ssl.",
    "sasl.",
    "client.id",
    "broker.address.family",
    "socket.",
    "message.max.bytes",
];

/// Prefix of the pass-through librdkafka properties in the reader's configuration (the
/// `[kafka.librdkafka]` section, e.g. `security.protocol = ssl`).
pub const LIBRDKAFKA_PREFIX: &str = "kafka.librdkafka.";

/// librdkafka properties the runtime owns: an override of one of them would break the
/// at-least-once contract (`enable.auto.offset.store`) or duplicate a dedicated field.
pub const PROTECTED_PROPERTIES: &[&str] =
    &["enable.auto.offset.store", "group.id", "bootstrap.servers"];

/// Default `queued.max.messages.kbytes`: prefetched messages librdkafka keeps per partition
/// queue (the runtime reads each partition from its own queue), in KiB, counted
/// decompressed. librdkafka's own default (64 MiB per queue) let a reader draining a backlog
/// hold hundreds of MiB.
pub const DEFAULT_QUEUED_MAX_MESSAGES_KBYTES: u32 = 4 * 1024;

/// Default `fetch.max.bytes`: the most one fetch response may carry, compressed (librdkafka's
/// default is 50 MiB). It must stay at least `message.max.bytes` (1 MB by default).
pub const DEFAULT_FETCH_MAX_BYTES: u32 = 1024 * 1024;

/// Default `max.partition.fetch.bytes`: the most one fetch may carry for one partition,
/// compressed (librdkafka's default is 1 MiB). Kafka honours it; some brokers (Tansu) return
/// up to `fetch.max.bytes` for one partition anyway.
pub const DEFAULT_MAX_PARTITION_FETCH_BYTES: u32 = 256 * 1024;

/// How a message whose handler answered [`thirdparty_core::Disposition::Retry`] is retried
/// in place: exponential backoff with full jitter, at most `max_attempts` handler calls.
///
/// Attempt `n` (1-based) that fails waits a uniformly random time in
/// `[0, min(max_backoff, initial_backoff × 2^(n-1))]` before attempt `n + 1`. After the
/// `max_attempts`-th failure the runtime stops with [`RuntimeError::RetriesExhausted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total handler calls for one message, the first included (≥ 1).
    pub max_attempts: u32,
    /// Backoff ceiling after the first failure.
    pub initial_backoff: Duration,
    /// Backoff ceiling for any later failure.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// The `[kafka]` section's defaults: 8 attempts, waits capped at 100 ms doubling to 10 s.
    fn default() -> Self {
        Self::from(&KafkaSection::default())
    }
}

impl From<&KafkaSection> for RetryPolicy {
    fn from(section: &KafkaSection) -> Self {
        Self {
            max_attempts: section.retry_max_attempts,
            initial_backoff: section.retry_initial_backoff_ms,
            max_backoff: section.retry_max_backoff_ms,
        }
    }
}

impl RetryPolicy {
    /// The backoff of in-place retries (thirdparty-core's one full-jitter [`Backoff`]),
    /// bounded by attempts only: the wait after failed attempt `n` is uniform in
    /// `[0, min(max_backoff, initial_backoff × 2^(n-1))]`.
    ///
    /// ```
    /// use kafka_runtime::RetryPolicy;
    /// use std::time::Duration;
    /// let p = RetryPolicy { max_attempts: 5, initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_millis(350) };
    /// let backoff = p.backoff();
    /// assert_eq!(backoff.ceiling(1), Duration::from_millis(100));
    /// assert_eq!(backoff.ceiling(2), Duration::from_millis(200));
    /// assert_eq!(backoff.ceiling(3), Duration::from_millis(350));
    /// assert_eq!(backoff.ceiling(200), Duration::from_millis(350));
    /// assert_eq!(backoff.next_delay(5, Duration::ZERO, 7), None, "no retry after the last attempt");
    /// ```
    ///
    /// [`Backoff`]: thirdparty_core::Backoff
    pub fn backoff(&self) -> thirdparty_core::Backoff {
        thirdparty_core::Backoff::new(self.max_attempts, self.initial_backoff, self.max_backoff)
    }
}

/// Everything the runtime needs to consume one topic.
///
/// Build it with [`ConsumerConfig::new`] (the [`KafkaSection`] defaults) or
/// [`ConsumerConfig::from_section`] and adjust with the
/// `with_*` methods or the public fields; [`crate::KafkaRuntime::new`] validates it.
///
/// ```
/// use kafka_runtime::ConsumerConfig;
/// use std::time::Duration;
/// let config = ConsumerConfig::new("kafka-1:9092", "collaboration_integrations_jira")
///     .with_max_in_flight(8)
///     .with_librdkafka_override("fetch.wait.max.ms", "50");
/// let props = config.librdkafka_properties();
/// assert_eq!(props["group.id"], "case-management");
/// assert_eq!(props["auto.offset.reset"], "latest");
/// assert_eq!(props["partition.assignment.strategy"], "cooperative-sticky");
/// assert_eq!(props["enable.auto.commit"], "true");
/// assert_eq!(props["auto.commit.interval.ms"], "5000");
/// assert_eq!(props["enable.auto.offset.store"], "false");
/// assert_eq!(props["fetch.wait.max.ms"], "50");
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub brokers: String,
    /// The topic to consume.
    pub topic: String,
    /// Consumer group (`case-management` in the previous service).
    pub group_id: String,
    /// Messages handled at once inside one partition (different keys only; one key is
    /// always strictly sequential). `1` reproduces the previous service's one-at-a-time loop.
    pub max_in_flight: usize,
    /// Messages held per partition (in flight plus waiting behind a busy key). When full,
    /// the partition is paused until room frees up. At least `max_in_flight`.
    pub partition_queue_capacity: usize,
    /// Retries in place for [`thirdparty_core::Disposition::Retry`].
    pub retry: RetryPolicy,
    /// On a revoke, how long in-flight work of the revoked partitions may take before it is
    /// abandoned (and fenced). At most half of `session_timeout`.
    pub drain_timeout: Duration,
    /// On shutdown (or after a fatal error), how long in-flight work may take before it is
    /// abandoned.
    pub shutdown_grace: Duration,
    /// After the drain, how long the final commit and the consumer close may take; past it
    /// [`crate::KafkaRuntime::run`] returns anyway (e.g. the broker is unreachable).
    pub close_timeout: Duration,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `auto.offset.reset` (`latest` in the previous service; `earliest` replays the topic for a new group).
    pub auto_offset_reset: String,
    /// `auto.commit.interval.ms` (5 s in the previous service).
    pub auto_commit_interval: Duration,
    /// `statistics.interval.ms`: how often librdkafka reports statistics (consumer lag).
    /// Zero disables statistics.
    pub statistics_interval: Duration,
    /// Any other librdkafka property, applied last (TLS, SASL, fetch sizes…). The
    /// [`PROTECTED_PROPERTIES`] are refused.
    pub librdkafka_overrides: BTreeMap<String, String>,
    /// The dead-letter topic and its static headers; `None`: messages acknowledged without
    /// being applied are only logged and counted.
    pub dead_letter: Option<DeadLetterConfig>,
}

/// Builder setters: `name => field: Type;` makes `pub fn name(self, field: Type) -> Self`
/// that replaces the field, with the doc comment given.
macro_rules! setters {
    ($($(#[doc = $doc:literal])+ $name:ident => $field:ident: $ty:ty;)*) => {
        $(
            $(#[doc = $doc])+
            #[must_use]
            pub fn $name(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}

impl ConsumerConfig {
    /// A configuration with the [`KafkaSection`] defaults for `topic` on `brokers`.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> Self {
        Self::from_section(brokers, topic, &KafkaSection::default())
    }

    /// A configuration for `topic` on `brokers` with the `[kafka]` section's values; the
    /// knobs without a key (close timeout, commit and statistics intervals) are 5 s.
    pub fn from_section(
        brokers: impl Into<String>,
        topic: impl Into<String>,
        section: &KafkaSection,
    ) -> Self {
        Self {
            brokers: brokers.into(),
            topic: topic.into(),
            // Set but empty means the default group, as the previous service read it.
            group_id: if section.group_id.trim().is_empty() {
                DEFAULT_GROUP_ID.to_owned()
            } else {
                section.group_id.clone()
            },
            max_in_flight: section.max_in_flight,
            partition_queue_capacity: section.partition_queue_capacity,
            retry: RetryPolicy::from(section),
            drain_timeout: section.drain_timeout_ms,
            shutdown_grace: section.shutdown_grace_ms,
            close_timeout: Duration::from_secs(5),
            session_timeout: section.session_timeout_ms,
            auto_offset_reset: section.auto_offset_reset.clone(),
            auto_commit_interval: Duration::from_secs(5),
            statistics_interval: Duration::from_secs(5),
            librdkafka_overrides: BTreeMap::new(),
            dead_letter: None,
        }
    }

    /// Parks every message acknowledged without being applied in `dead_letter.topic`.
    #[must_use]
    pub fn with_dead_letter(mut self, dead_letter: DeadLetterConfig) -> Self {
        self.dead_letter = Some(dead_letter);
        self
    }

    /// Sets the consumer group.
    #[must_use]
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = group_id.into();
        self
    }

    setters! {
        /// Sets the per-partition concurrency (different keys only).
        with_max_in_flight => max_in_flight: usize;
        /// Sets the per-partition queue capacity.
        with_partition_queue_capacity => partition_queue_capacity: usize;
        /// Sets the retry policy.
        with_retry => retry: RetryPolicy;
        /// Sets the revoke drain deadline.
        with_drain_timeout => drain_timeout: Duration;
        /// Sets the shutdown grace period.
        with_shutdown_grace => shutdown_grace: Duration;
        /// Sets the final commit + close deadline.
        with_close_timeout => close_timeout: Duration;
        /// Sets `session.timeout.ms`.
        with_session_timeout => session_timeout: Duration;
        /// Sets `auto.commit.interval.ms`.
        with_auto_commit_interval => auto_commit_interval: Duration;
        /// Sets `statistics.interval.ms` (zero disables statistics).
        with_statistics_interval => statistics_interval: Duration;
    }

    /// Sets `auto.offset.reset` (`latest`, `earliest`, …).
    #[must_use]
    pub fn with_auto_offset_reset(mut self, reset: impl Into<String>) -> Self {
        self.auto_offset_reset = reset.into();
        self
    }

    /// Adds a pass-through librdkafka property.
    #[must_use]
    pub fn with_librdkafka_override(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.librdkafka_overrides.insert(key.into(), value.into());
        self
    }

    /// Checks the configuration; the error names the field and how to fix it.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        let invalid = |field: &'static str, message: String| {
            Err(RuntimeError::InvalidConfig { field, message })
        };
        if self.brokers.trim().is_empty() {
            return invalid(
                "brokers",
                "is empty; set it to the bootstrap servers, e.g. `kafka-1:9092,kafka-2:9092`"
                    .into(),
            );
        }
        if self.topic.trim().is_empty() {
            return invalid("topic", "is empty; set the topic to consume".into());
        }
        if self.group_id.trim().is_empty() {
            return invalid(
                "group_id",
                format!("is empty; the previous service uses `{DEFAULT_GROUP_ID}`"),
            );
        }
        if self.max_in_flight == 0 {
            return invalid(
                "max_in_flight",
                "is 0; use at least 1 (1 = one message at a time per partition)".into(),
            );
        }
        if self.partition_queue_capacity < self.max_in_flight {
            return invalid(
                "partition_queue_capacity",
                format!(
                    "is {} but max_in_flight is {}; make the capacity at least max_in_flight",
                    self.partition_queue_capacity, self.max_in_flight
                ),
            );
        }
        if self.retry.max_attempts == 0 {
            return invalid(
                "retry.max_attempts",
                "is 0; use at least 1 (1 = no retry: the first failure is fatal)".into(),
            );
        }
        if self.retry.initial_backoff > self.retry.max_backoff {
            return invalid(
                "retry.initial_backoff",
                format!(
                    "({:?}) exceeds retry.max_backoff ({:?}); raise max_backoff or lower initial_backoff",
                    self.retry.initial_backoff, self.retry.max_backoff
                ),
            );
        }
        if self.session_timeout.is_zero() {
            return invalid(
                "session_timeout",
                "is zero; use librdkafka's range (e.g. 6 s – 45 s)".into(),
            );
        }
        if self.drain_timeout > self.session_timeout / 2 {
            return invalid(
                "drain_timeout",
                format!(
                    "({:?}) exceeds half the session timeout ({:?}); a revoke drain must end well before the group evicts this member: lower drain_timeout or raise session_timeout",
                    self.drain_timeout, self.session_timeout
                ),
            );
        }
        if let Some(dead_letter) = &self.dead_letter {
            if dead_letter.topic.trim().is_empty() {
                return invalid(
                    "dead_letter_topic",
                    "is empty; unset it for the default `<topic>.dead-letter` or name an existing topic".into(),
                );
            }
            if dead_letter.topic.trim() == self.topic.trim() {
                return invalid(
                    "dead_letter_topic",
                    format!(
                        "is the consumed topic `{}`: parked messages would be consumed again; use another topic, e.g. `{}`",
                        self.topic,
                        crate::dead_letter::default_topic(&self.topic)
                    ),
                );
            }
        }
        if let Some(key) = self
            .librdkafka_overrides
            .keys()
            .find(|k| PROTECTED_PROPERTIES.contains(&k.as_str()))
        {
            return invalid(
                "librdkafka_overrides",
                format!(
                    "sets `{key}`, which the runtime owns; use the dedicated field (brokers, group_id) or drop it (offsets are stored only after handling)"
                ),
            );
        }
        Ok(())
    }

    /// The librdkafka properties the consumer is created with: the previous service's defaults, the
    /// fields above, then the overrides.
    pub fn librdkafka_properties(&self) -> BTreeMap<String, String> {
        let mut props = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            props.insert(k.to_owned(), v);
        };
        set("bootstrap.servers", self.brokers.clone());
        set("group.id", self.group_id.clone());
        set("auto.offset.reset", self.auto_offset_reset.clone());
        set(
            "partition.assignment.strategy",
            "cooperative-sticky".to_owned(),
        );
        set("enable.auto.commit", "true".to_owned());
        set(
            "auto.commit.interval.ms",
            millis(self.auto_commit_interval).to_string(),
        );
        set("enable.auto.offset.store", "false".to_owned());
        set("enable.partition.eof", "false".to_owned());
        set(
            "session.timeout.ms",
            millis(self.session_timeout).to_string(),
        );
        set(
            "statistics.interval.ms",
            millis(self.statistics_interval).to_string(),
        );
        // Bound librdkafka's prefetch: with its defaults (64 MiB per queue, 50 MiB fetches)
        // memory grows with the backlog. A partition's queue is refilled only below its
        // limit, but one fetch lands whole, decompressed: prefetch memory is at most about
        // partitions × (queued.max.messages.kbytes + one fetch × compression ratio), one
        // fetch being max.partition.fetch.bytes (fetch.max.bytes on brokers that ignore the
        // per-partition limit). Overrides may raise them again.
        set(
            "queued.max.messages.kbytes",
            DEFAULT_QUEUED_MAX_MESSAGES_KBYTES.to_string(),
        );
        set("fetch.max.bytes", DEFAULT_FETCH_MAX_BYTES.to_string());
        set(
            "max.partition.fetch.bytes",
            DEFAULT_MAX_PARTITION_FETCH_BYTES.to_string(),
        );
        for (k, v) in &self.librdkafka_overrides {
            props.insert(k.clone(), v.clone());
        }
        props
    }
}

impl ConsumerConfig {
    /// The librdkafka properties of the dead-letter producer: the brokers, the
    /// overrides shared with the consumer ([`SHARED_PROPERTY_PREFIXES`]: TLS, SASL…), then
    /// what the at-least-once parking needs (`enable.idempotence=true`, `acks=all`) and the
    /// produce timeout. `None` without a dead-letter topic.
    ///
    /// ```
    /// use kafka_runtime::{ConsumerConfig, DeadLetterConfig};
    /// let config = ConsumerConfig::new("b:9092", "t")
    ///     .with_librdkafka_override("security.protocol", "ssl")
    ///     .with_librdkafka_override("fetch.wait.max.ms", "50")
    ///     .with_dead_letter(DeadLetterConfig::new("t.dead-letter", "jira", "1.0.0"));
    /// let props = config.dead_letter_producer_properties().unwrap_or_default();
    /// assert_eq!(props["security.protocol"], "ssl");
    /// assert_eq!(props["enable.idempotence"], "true");
    /// assert_eq!(props["acks"], "all");
    /// assert!(!props.contains_key("fetch.wait.max.ms"), "consumer-only properties stay with the consumer");
    /// ```
    pub fn dead_letter_producer_properties(&self) -> Option<BTreeMap<String, String>> {
        let dead_letter = self.dead_letter.as_ref()?;
        let mut props = BTreeMap::new();
        props.insert("bootstrap.servers".to_owned(), self.brokers.clone());
        for (k, v) in &self.librdkafka_overrides {
            if SHARED_PROPERTY_PREFIXES.iter().any(|p| k.starts_with(p)) {
                props.insert(k.clone(), v.clone());
            }
        }
        props.insert("enable.idempotence".to_owned(), "true".to_owned());
        props.insert("acks".to_owned(), "all".to_owned());
        props.insert(
            "message.timeout.ms".to_owned(),
            millis(dead_letter.produce_timeout).max(1).to_string(),
        );
        Some(props)
    }
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetch_is_bounded_by_default_and_overridable() {
        let p = ConsumerConfig::new("b:9092", "t").librdkafka_properties();
        assert_eq!(p["queued.max.messages.kbytes"], "4096");
        assert_eq!(p["fetch.max.bytes"], "1048576");
        assert_eq!(p["max.partition.fetch.bytes"], "262144");
        let p = ConsumerConfig::new("b:9092", "t")
            .with_librdkafka_override("queued.max.messages.kbytes", "65536")
            .librdkafka_properties();
        assert_eq!(p["queued.max.messages.kbytes"], "65536");
    }

    #[test]
    fn defaults_are_the_seed_defaults() {
        let c = ConsumerConfig::new("b:9092", "t");
        let p = c.librdkafka_properties();
        assert_eq!(p["group.id"], "case-management");
        assert_eq!(p["auto.offset.reset"], "latest");
        assert_eq!(p["partition.assignment.strategy"], "cooperative-sticky");
        assert_eq!(p["enable.auto.commit"], "true");
        assert_eq!(p["auto.commit.interval.ms"], "5000");
        assert_eq!(p["enable.auto.offset.store"], "false");
        assert_eq!(
            c,
            ConsumerConfig::from_section("b:9092", "t", &KafkaSection::default()),
            "the defaults are the [kafka] section's"
        );
        assert_eq!(c.max_in_flight, KafkaSection::default().max_in_flight);
        c.validate().unwrap();
        let empty_group = KafkaSection {
            group_id: String::new(),
            ..KafkaSection::default()
        };
        assert_eq!(
            ConsumerConfig::from_section("b:9092", "t", &empty_group).group_id,
            DEFAULT_GROUP_ID
        );
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let base = ConsumerConfig::new("b:9092", "t");
        let cases: Vec<(ConsumerConfig, &str)> = vec![
            (ConsumerConfig::new("", "t"), "brokers"),
            (ConsumerConfig::new("b", " "), "topic"),
            (base.clone().with_group_id(""), "group_id"),
            (base.clone().with_max_in_flight(0), "max_in_flight"),
            (
                base.clone()
                    .with_max_in_flight(10)
                    .with_partition_queue_capacity(5),
                "partition_queue_capacity",
            ),
            (
                base.clone().with_retry(RetryPolicy {
                    max_attempts: 0,
                    ..RetryPolicy::default()
                }),
                "retry.max_attempts",
            ),
            (
                base.clone().with_retry(RetryPolicy {
                    max_attempts: 2,
                    initial_backoff: Duration::from_secs(5),
                    max_backoff: Duration::from_secs(1),
                }),
                "retry.initial_backoff",
            ),
            (
                base.clone()
                    .with_session_timeout(Duration::from_secs(10))
                    .with_drain_timeout(Duration::from_secs(6)),
                "drain_timeout",
            ),
            (
                base.clone()
                    .with_librdkafka_override("enable.auto.offset.store", "true"),
                "librdkafka_overrides",
            ),
            (
                base.clone()
                    .with_dead_letter(DeadLetterConfig::new(" t ", "jira", "1")),
                "dead_letter_topic",
            ),
            (
                base.clone()
                    .with_dead_letter(DeadLetterConfig::new("", "jira", "1")),
                "dead_letter_topic",
            ),
        ];
        for (config, field) in cases {
            match config.validate() {
                Err(RuntimeError::InvalidConfig { field: f, message }) => {
                    assert_eq!(f, field, "{message}");
                    assert!(!message.is_empty());
                }
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }

    #[test]
    fn overrides_are_applied_last() {
        let c = ConsumerConfig::new("b:9092", "t")
            .with_librdkafka_override("auto.commit.interval.ms", "100")
            .with_librdkafka_override("security.protocol", "ssl");
        let p = c.librdkafka_properties();
        assert_eq!(p["auto.commit.interval.ms"], "100");
        assert_eq!(p["security.protocol"], "ssl");
    }

    #[test]
    fn jitter_stays_under_the_ceiling() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        };
        let backoff = p.backoff();
        for attempt in 1..12 {
            for _ in 0..50 {
                assert!(backoff.delay(attempt, rand::random()) <= backoff.ceiling(attempt));
            }
        }
        let zero = RetryPolicy {
            max_attempts: 1,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        };
        assert_eq!(zero.backoff().delay(3, rand::random()), Duration::ZERO);
    }
}
