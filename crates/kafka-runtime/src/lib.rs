//! The at-least-once Kafka consumer runtime: it feeds every message of one topic to any
//! [`PayloadHandler`] and commits an offset only once that message and every message before
//! it in its partition are finished. It is the only crate of the workspace that touches
//! rdkafka.
//!
//! - **The previous service's defaults**: group `case-management`, `auto.offset.reset=latest`,
//!   `cooperative-sticky` assignment, auto-commit every 5 s of offsets stored only after
//!   handling (`enable.auto.offset.store=false`), plus pass-through librdkafka properties
//!   ([`ConsumerConfig`]). gzip, snappy, lz4 and zstd topics are consumed.
//! - **Concurrency**: one task per assigned partition (split partition queues); inside a
//!   partition, one key runs strictly in order, different keys run concurrently up to
//!   `max_in_flight` (1 = the previous service's one-at-a-time loop). Bounded queues; a full partition
//!   is paused ([`KeyedScheduler`]).
//! - **Offsets**: the stored value is the next offset to read, an in-order watermark that
//!   never passes a message in flight or awaiting a retry ([`OffsetTracker`]).
//! - **Errors**: [`Disposition::Retry`] is retried in place (exponential backoff, full
//!   jitter, [`RetryPolicy`]); after the last attempt the runtime commits the safe watermark
//!   and returns [`RuntimeError::RetriesExhausted`] (the previous service's crash-on-retry). Operators
//!   can skip messages by coordinates at run time ([`SkipList`]).
//! - **Dead-letter topic** ([`dead_letter`], opt-in with [`ConsumerConfig::with_dead_letter`]):
//!   a message acknowledged without being applied ([`Disposition::DeadLetter`]: it did not
//!   decode or hit a permanent error; or skip-listed) is produced to the dead-letter topic
//!   with its key, value and headers plus the [`dead_letter::headers`] (idempotent producer,
//!   `acks=all`, the consumer's TLS/SASL properties); its offset is stored only after the
//!   broker acknowledged it. A record over `message.max.bytes` is parked with its value
//!   truncated (`dead-letter-truncated`). A failed produce is retried with the
//!   [`RetryPolicy`] backoff while the partition waits (the status is not ready); after the
//!   last attempt the runtime commits the safe watermark and returns
//!   [`RuntimeError::DeadLetterUnavailable`], the message uncommitted. At least once: a
//!   crash between the broker's acknowledgement and the commit parks it twice.
//! - **Replays** ([`TopicReplay`]): operators re-read the topic between two times (the
//!   broker's offsets-for-times) or the dead-letter topic from a group of the replay's own
//!   ([`ReplayStart`]); never the live group.
//! - **Rebalance and shutdown**: revoked partitions are drained up to a deadline, committed
//!   synchronously and fenced; shutdown drains within a grace period, commits and closes
//!   within a deadline even when the broker is unreachable.
//! - **TLS and SASL** ([`security`]): librdkafka's `security.protocol`, `ssl.*` and `sasl.*`
//!   properties pass through unchanged; feature `tls` (default) builds librdkafka with
//!   OpenSSL, and [`security::built_in`] says what the linked librdkafka supports.
//! - **Telemetry**: [`events`] (log line + metric per event, [`METRIC_NAMES`]) and a live
//!   [`ConsumerStatus`] for health checks.
//!
//! # A platform team's own handler
//!
//! Nothing here is specific to the case pipeline: implement [`PayloadHandler`] and run it.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use kafka_runtime::{ConsumerConfig, KafkaRuntime, SkipList};
//! use thirdparty_core::{Disposition, Payload, PayloadHandler};
//!
//! /// Counts audit events per team; asks for a retry when its store is down.
//! struct AuditCounter {
//!     seen: AtomicU64,
//! }
//!
//! #[async_trait::async_trait]
//! impl PayloadHandler for AuditCounter {
//!     async fn handle(&self, payload: &Payload) -> Disposition {
//!         if payload.value.is_empty() {
//!             return Disposition::Ack; // nothing to count: acknowledge and move on
//!         }
//!         let store_is_up = true; // e.g. the result of a write to your database
//!         if !store_is_up {
//!             return Disposition::Retry { reason: "audit store unavailable".into() };
//!         }
//!         self.seen.fetch_add(1, Ordering::Relaxed);
//!         Disposition::Ack
//!     }
//! }
//!
//! # async fn example() -> Result<(), kafka_runtime::RuntimeError> {
//! let config = ConsumerConfig::new("kafka-1:9092", "audit_events")
//!     .with_group_id("audit-counter")
//!     .with_max_in_flight(16);
//! let skip = SkipList::parse("audit_events:3:1042")?; // operator's `skip_messages`
//! let handler = Arc::new(AuditCounter { seen: AtomicU64::new(0) });
//! let runtime = KafkaRuntime::new(config, handler, skip.clone())?;
//! let status = runtime.status(); // serve it from your health endpoint
//! let summary = runtime
//!     .run(async { let _ = tokio::signal::ctrl_c().await; })
//!     .await?; // Err(RetriesExhausted) → exit non-zero, the supervisor restarts us
//! println!("handled {}", summary.status.messages_handled);
//! # let _ = status;
//! # Ok(())
//! # }
//! ```
//!
//! The offset bookkeeping is pure and can be driven tick by tick:
//!
//! ```
//! use kafka_runtime::OffsetTracker;
//! let mut tracker = OffsetTracker::new();
//! tracker.begin(7)?;
//! tracker.begin(8)?;
//! tracker.finish(8)?;
//! assert_eq!(tracker.next_offset(), Some(7), "7 is still in flight: commit nothing past it");
//! tracker.finish(7)?;
//! assert_eq!(tracker.next_offset(), Some(9), "the next offset to read");
//! # Ok::<(), kafka_runtime::TrackerError>(())
//! ```

mod config;
mod context;
mod coordinator;
pub mod dead_letter;
mod error;
pub mod events;
mod parking;
mod partition;
mod probe;
mod replay;
mod runtime;
pub mod security;
mod skip;
mod status;
mod tracker;

pub use config::{
    ConsumerConfig, DEFAULT_FETCH_MAX_BYTES, DEFAULT_GROUP_ID, DEFAULT_MAX_PARTITION_FETCH_BYTES,
    DEFAULT_QUEUED_MAX_MESSAGES_KBYTES, DeadLetterConfig, KafkaSection, LIBRDKAFKA_PREFIX,
    PROTECTED_PROPERTIES, RetryPolicy, SHARED_PROPERTY_PREFIXES,
};
pub use error::RuntimeError;
pub use events::METRIC_NAMES;
pub use probe::{ProbeError, TopicProbe, probe_dead_letter_topic, probe_topic, read_range};
pub use replay::{PartitionPlan, ReplayError, ReplayGroup, ReplayReport, ReplayStart, TopicReplay};
pub use runtime::KafkaRuntime;
pub use skip::{MessageCoordinates, SKIP_MESSAGES_SYNTAX, SkipEntry, SkipEntryError, SkipList};
pub use status::{ConsumerStatus, RunSummary, StatusSnapshot, TopicPartition};
pub use thirdparty_core::{Disposition, Payload, PayloadHandler};
pub use tracker::{KeyedScheduler, LaneKey, OffsetTracker, PushError, Started, TrackerError};
