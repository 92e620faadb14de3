//! The librdkafka callbacks ([`RuntimeContext`]): they run on the polling (driver) thread and
//! hand rebalances to the coordinator task, blocking until it has set up or drained the
//! partitions, then commit synchronously.

use crate::RuntimeError;
use crate::events::{ClientError, CommitFailed, ConsumerLag, TelemetryEvent};
use crate::status::{ConsumerStatus, TopicPartition};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;
use std::sync::mpsc::{RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, error, info, warn};

/// What the driver thread asks the coordinator task to do.
pub(crate) enum Callback {
    /// Split the queues of these partitions and start consuming them; drop `done` when set up.
    Assigned {
        partitions: Vec<TopicPartition>,
        done: SyncSender<()>,
    },
    /// Stop these partitions and drain them; send on `progress` after each drained
    /// partition, drop it when all are drained or the deadline passed.
    Revoked {
        partitions: Vec<TopicPartition>,
        progress: SyncSender<()>,
    },
    /// Stop and drain every partition (shutdown or fatal error).
    Shutdown { progress: SyncSender<()> },
}

/// The consumer's librdkafka context.
pub(crate) struct RuntimeContext {
    pub(crate) topic: String,
    pub(crate) brokers: String,
    pub(crate) status: ConsumerStatus,
    pub(crate) callbacks: UnboundedSender<Callback>,
    pub(crate) fatal: UnboundedSender<RuntimeError>,
    /// Upper bound for waiting on the coordinator during a revoke (drain deadline + margin).
    pub(crate) revoke_wait: Duration,
}

/// The short, bounded label of a librdkafka error (its code name).
pub(crate) fn error_code(error: &KafkaError) -> String {
    error
        .rdkafka_error_code()
        .map_or_else(|| "other".to_owned(), |code| format!("{code:?}"))
}

/// Commits the stored offsets synchronously; "nothing to commit" is not an error.
pub(crate) fn commit_stored<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    status: &ConsumerStatus,
    trigger: &'static str,
) {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => debug!(trigger, "stored offsets committed"),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => {
            status.count_commit_failure();
            CommitFailed {
                trigger,
                error_code: &error_code(&e),
                error: &e.to_string(),
            }
            .emit();
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

impl RuntimeContext {
    fn on_assign(&self, tpl: &TopicPartitionList) {
        self.status.set_joined(true);
        let partitions = partitions_of(tpl);
        if partitions.is_empty() {
            return;
        }
        let (done, wait) = std::sync::mpsc::sync_channel(0);
        if self
            .callbacks
            .send(Callback::Assigned { partitions, done })
            .is_err()
        {
            return;
        }
        // The coordinator drops `done` once every queue is split.
        match wait.recv_timeout(self.revoke_wait) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {}
            Err(RecvTimeoutError::Timeout) => {
                warn!(
                    topic = self.topic,
                    "partition set-up took too long; continuing the rebalance"
                );
            }
        }
    }

    fn on_revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let partitions = partitions_of(tpl);
        if partitions.is_empty() {
            return;
        }
        let (progress, drained) = std::sync::mpsc::sync_channel(partitions.len().max(1));
        if self
            .callbacks
            .send(Callback::Revoked {
                partitions,
                progress,
            })
            .is_err()
        {
            // The runtime is closing: its final commit already ran.
            return;
        }
        let deadline = Instant::now() + self.revoke_wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match drained.recv_timeout(left) {
                Ok(()) => commit_stored(consumer, &self.status, "revoke"),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    warn!(
                        topic = self.topic,
                        "revoke drain did not answer in time; committing what is stored"
                    );
                    break;
                }
            }
        }
        if consumer.assignment_lost() {
            warn!(
                topic = self.topic,
                "assignment lost (session timed out): not committing for the revoked partitions"
            );
            return;
        }
        commit_stored(consumer, &self.status, "revoke");
    }
}

impl ClientContext for RuntimeContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                error!(target: "librdkafka", facility = fac, message = log_message, "librdkafka");
            }
            RDKafkaLogLevel::Warning => {
                warn!(target: "librdkafka", facility = fac, message = log_message, "librdkafka");
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                info!(target: "librdkafka", facility = fac, message = log_message, "librdkafka");
            }
            RDKafkaLogLevel::Debug => {
                debug!(target: "librdkafka", facility = fac, message = log_message, "librdkafka");
            }
        }
    }

    fn stats(&self, statistics: Statistics) {
        self.status.mark_poll();
        self.status.set_brokers_down(!any_broker_up(&statistics));
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        for (&partition, stats) in &topic.partitions {
            let tp = (self.topic.clone(), partition);
            if partition < 0 || stats.consumer_lag < 0 || !self.status.is_assigned(&tp) {
                continue;
            }
            self.status.set_lag(tp, stats.consumer_lag);
            ConsumerLag {
                topic: &self.topic,
                partition,
                lag: stats.consumer_lag,
            }
            .emit();
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            // Up again is seen in the next statistics.
            self.status.set_brokers_down(true);
        }
        let fatal = matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::Fatal));
        ClientError {
            error_code: &error_code(&error),
            error: reason,
            fatal,
        }
        .emit();
        if fatal {
            let _ = self.fatal.send(RuntimeError::FatalKafka {
                brokers: self.brokers.clone(),
                topic: self.topic.clone(),
                source: Box::new(error),
            });
        }
    }
}

impl ConsumerContext for RuntimeContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => self.on_assign(tpl),
            Rebalance::Revoke(tpl) => self.on_revoke(consumer, tpl),
            Rebalance::Error(e) => {
                ClientError {
                    error_code: &error_code(e),
                    error: &e.to_string(),
                    fatal: false,
                }
                .emit();
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => {
                self.status.count_commit_failure();
                CommitFailed {
                    trigger: "auto",
                    error_code: &error_code(&e),
                    error: &e.to_string(),
                }
                .emit();
            }
        }
    }
}

/// Whether any real broker connection (configured or learned, not librdkafka's internal
/// and logical ones such as the group coordinator handle) is `UP` in `statistics`.
fn any_broker_up(statistics: &Statistics) -> bool {
    statistics
        .brokers
        .values()
        .any(|b| (b.source == "configured" || b.source == "learned") && b.state == "UP")
}
