//! One task per assigned partition: reads its split queue, schedules messages by key
//! ([`KeyedScheduler`]), runs the handler with retries in place, and stores the in-order
//! watermark behind a [`Fence`].

use crate::context::{RuntimeContext, error_code};
use crate::events::{
    ClientError, InFlight, MessageHandled, MessageSkipped, OffsetStoreFailed, PartitionPaused,
    RetriesExhausted, RetryScheduled, TelemetryEvent,
};
use crate::parking::{OPERATOR_ERROR_KIND, ParkReason, Parker};
use crate::status::{ConsumerStatus, TopicPartition};
use crate::tracker::{KeyedScheduler, LaneKey, PushError, Started};
use crate::{RetryPolicy, RuntimeError, SkipList};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rdkafka::Offset;
use rdkafka::consumer::stream_consumer::StreamPartitionQueue;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::topic_partition_list::TopicPartitionList;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thirdparty_core::{DeadLetterReason, Disposition, Payload, PayloadHandler};
use tokio::sync::{mpsc::UnboundedSender, oneshot};
use tracing::{debug, warn};

/// Guards offset stores of one partition: once fenced (revoke finished or drain deadline
/// passed), no store happens any more, even from a completion already under way.
#[derive(Debug, Default)]
pub(crate) struct Fence {
    fenced: Mutex<bool>,
}

impl Fence {
    /// Runs `store` unless fenced; the lock is held during the store, so [`Fence::fence`]
    /// waits for a store in progress and no store starts after it.
    fn guarded<R>(&self, store: impl FnOnce() -> R) -> Option<R> {
        let fenced = self
            .fenced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *fenced { None } else { Some(store()) }
    }

    pub(crate) fn fence(&self) {
        *self
            .fenced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
    }
}

/// A partition task: its split queue, its stop signal, and the rest.
pub(crate) struct PartitionTask {
    pub(crate) ctx: PartitionCtx,
    pub(crate) queue: StreamPartitionQueue<RuntimeContext>,
    pub(crate) stop: oneshot::Receiver<()>,
}

/// What every partition task of one run shares: the consumer, the handler and skip list,
/// the per-partition settings, the status and the channel for fatal errors.
#[derive(Clone)]
pub(crate) struct PartitionShared {
    pub(crate) consumer: Arc<StreamConsumer<RuntimeContext>>,
    pub(crate) handler: Arc<dyn PayloadHandler>,
    pub(crate) skip_list: SkipList,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_in_flight: usize,
    pub(crate) capacity: usize,
    pub(crate) status: ConsumerStatus,
    pub(crate) fatal: UnboundedSender<RuntimeError>,
    /// The dead-letter producer, when a dead-letter topic is configured.
    pub(crate) parker: Option<Arc<Parker>>,
}

/// Everything a partition task needs besides its queue.
pub(crate) struct PartitionCtx {
    pub(crate) tp: TopicPartition,
    pub(crate) shared: PartitionShared,
    pub(crate) fence: Arc<Fence>,
}

/// How a partition task ended.
#[derive(Debug)]
pub(crate) struct PartitionExit {
    pub(crate) tp: TopicPartition,
}

enum JobOutcome {
    Handled,
    Skipped,
    Exhausted {
        attempts: u32,
        reason: String,
    },
    /// The dead-letter topic did not accept the message within the retry budget.
    ParkFailed(RuntimeError),
}

struct JobResult {
    offset: i64,
    lane: LaneKey,
    outcome: JobOutcome,
}

pub(crate) fn payload_of(m: &BorrowedMessage<'_>) -> Payload {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        h.value.map(Bytes::copy_from_slice).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Payload {
        key: m.key().map(Bytes::copy_from_slice),
        value: m.payload().map(Bytes::copy_from_slice).unwrap_or_default(),
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp: m
            .timestamp()
            .to_millis()
            .and_then(chrono::DateTime::from_timestamp_millis),
        headers,
    }
}

/// The error text of a skip-listed message's parked copy.
const SKIP_LISTED_ERROR: &str = "listed in [dd.kafka.consumer] skip_messages by an operator";

/// Parks `payload` when a dead-letter topic is configured: `done` once the broker
/// acknowledged it (or at once without a topic), `ParkFailed` after the retry budget.
async fn park(
    parker: Option<&Parker>,
    payload: &Payload,
    why: ParkReason<'_>,
    done: JobOutcome,
) -> JobOutcome {
    match parker {
        None => done,
        Some(parker) => match parker.park(payload, why).await {
            Ok(()) => done,
            Err(e) => JobOutcome::ParkFailed(e),
        },
    }
}

/// Handles one message: skip-list check before every attempt, retries in place with
/// full-jitter backoff; a skip-listed message or a [`Disposition::DeadLetter`] is parked
/// before it finishes (see [`park`]).
async fn handle_message(
    handler: Arc<dyn PayloadHandler>,
    skip_list: SkipList,
    retry: RetryPolicy,
    status: ConsumerStatus,
    parker: Option<Arc<Parker>>,
    started: Started<Payload>,
) -> JobResult {
    let Started {
        offset,
        lane,
        item: payload,
    } = started;
    // Attempts only: a message is retried in place until it succeeds or runs out of them.
    let backoff = retry.backoff();
    let mut attempt: u32 = 0;
    loop {
        if skip_list.contains(&payload.topic, payload.partition, payload.offset) {
            status.count_skipped();
            MessageSkipped {
                topic: &payload.topic,
                partition: payload.partition,
                offset: payload.offset,
                payload: &payload,
            }
            .emit();
            let why = ParkReason {
                reason: DeadLetterReason::SkipListed,
                error_kind: OPERATOR_ERROR_KIND,
                error: SKIP_LISTED_ERROR,
            };
            let outcome = park(parker.as_deref(), &payload, why, JobOutcome::Skipped).await;
            return JobResult {
                offset,
                lane,
                outcome,
            };
        }
        attempt = attempt.saturating_add(1);
        match handler.handle(&payload).await {
            Disposition::Ack => {
                return JobResult {
                    offset,
                    lane,
                    outcome: JobOutcome::Handled,
                };
            }
            Disposition::DeadLetter {
                reason,
                error_kind,
                error,
            } => {
                let why = ParkReason {
                    reason,
                    error_kind: &error_kind,
                    error: &error,
                };
                let outcome = park(parker.as_deref(), &payload, why, JobOutcome::Handled).await;
                return JobResult {
                    offset,
                    lane,
                    outcome,
                };
            }
            Disposition::Retry { reason } => {
                let Some(wait) = backoff.next_delay(attempt, Duration::ZERO, rand::random()) else {
                    RetriesExhausted {
                        topic: &payload.topic,
                        partition: payload.partition,
                        offset: payload.offset,
                        attempts: attempt,
                        reason: &reason,
                    }
                    .emit();
                    return JobResult {
                        offset,
                        lane,
                        outcome: JobOutcome::Exhausted {
                            attempts: attempt,
                            reason,
                        },
                    };
                };
                status.count_retry();
                RetryScheduled {
                    topic: &payload.topic,
                    partition: payload.partition,
                    offset: payload.offset,
                    attempt,
                    max_attempts: retry.max_attempts,
                    backoff: wait,
                    reason: &reason,
                }
                .emit();
                tokio::time::sleep(wait).await;
            }
        }
    }
}

impl PartitionCtx {
    fn tpl(&self, offset: Option<i64>) -> Option<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        match offset {
            Some(o) => tpl
                .add_partition_offset(&self.tp.0, self.tp.1, Offset::Offset(o))
                .ok()?,
            None => {
                tpl.add_partition(&self.tp.0, self.tp.1);
            }
        }
        Some(tpl)
    }

    /// Stores `offset` (the next offset to read) unless fenced. True when stored.
    fn store(&self, offset: i64) -> bool {
        let Some(tpl) = self.tpl(Some(offset)) else {
            return false;
        };
        match self
            .fence
            .guarded(|| self.shared.consumer.store_offsets(&tpl))
        {
            Some(Ok(())) => {
                self.shared.status.set_stored(&self.tp, offset);
                true
            }
            Some(Err(e)) => {
                OffsetStoreFailed {
                    topic: &self.tp.0,
                    partition: self.tp.1,
                    offset,
                    error: &e.to_string(),
                }
                .emit();
                false
            }
            None => false,
        }
    }

    fn set_paused(&self, pause: bool) {
        let Some(tpl) = self.tpl(None) else { return };
        let result = if pause {
            self.shared.consumer.pause(&tpl)
        } else {
            self.shared.consumer.resume(&tpl)
        };
        if let Err(e) = result {
            warn!(
                topic = self.tp.0,
                partition = self.tp.1,
                pause,
                error = %e,
                "pausing or resuming the partition failed"
            );
        }
    }

    fn report_load(&self, scheduler: &KeyedScheduler<Payload>) {
        self.shared
            .status
            .set_load(&self.tp, scheduler.in_flight(), scheduler.held());
        InFlight {
            topic: &self.tp.0,
            partition: self.tp.1,
            count: scheduler.in_flight(),
        }
        .emit();
    }

    fn job(&self, started: Started<Payload>) -> BoxFuture<'static, JobResult> {
        Box::pin(handle_message(
            self.shared.handler.clone(),
            self.shared.skip_list.clone(),
            self.shared.retry,
            self.shared.status.clone(),
            self.shared.parker.clone(),
            started,
        ))
    }

    fn internal_failure(&self, scheduler: &mut KeyedScheduler<Payload>, detail: String) {
        scheduler.stop_taking();
        let _ = self.shared.fatal.send(RuntimeError::PartitionTaskFailed {
            topic: self.tp.0.clone(),
            partition: self.tp.1,
            detail,
        });
    }

    fn finish(&self, scheduler: &mut KeyedScheduler<Payload>, result: JobResult) {
        self.shared.status.mark_progress();
        match result.outcome {
            JobOutcome::Handled | JobOutcome::Skipped => {
                if matches!(result.outcome, JobOutcome::Handled) {
                    self.shared.status.count_handled();
                    MessageHandled {
                        topic: &self.tp.0,
                        partition: self.tp.1,
                    }
                    .emit();
                }
                if let Err(e) = scheduler.complete(result.offset, &result.lane) {
                    self.internal_failure(scheduler, e.to_string());
                }
            }
            JobOutcome::Exhausted { attempts, reason } => {
                if let Err(e) = scheduler.fail(result.offset, &result.lane) {
                    self.internal_failure(scheduler, e.to_string());
                }
                let _ = self.shared.fatal.send(RuntimeError::RetriesExhausted {
                    topic: self.tp.0.clone(),
                    partition: self.tp.1,
                    offset: result.offset,
                    attempts,
                    reason,
                });
            }
            JobOutcome::ParkFailed(error) => {
                // Not stored: the watermark stays before it and the message is redelivered.
                if let Err(e) = scheduler.fail(result.offset, &result.lane) {
                    self.internal_failure(scheduler, e.to_string());
                }
                let _ = self.shared.fatal.send(error);
            }
        }
    }

    fn take(&self, scheduler: &mut KeyedScheduler<Payload>, message: &BorrowedMessage<'_>) {
        self.shared.status.mark_progress();
        let payload = payload_of(message);
        let offset = payload.offset;
        let lane = LaneKey::of(payload.key.as_ref());
        match scheduler.push(offset, lane, payload) {
            Ok(()) => {}
            Err(PushError::AlreadyTaken { last_taken, .. }) => {
                debug!(
                    topic = self.tp.0,
                    partition = self.tp.1,
                    offset,
                    last_taken,
                    "redelivered message already taken; ignoring it"
                );
            }
            // `take` is only called with room and before stopping.
            Err(PushError::Full(_) | PushError::Stopped(_)) => {
                self.internal_failure(
                    scheduler,
                    format!("message at offset {offset} arrived while the queue was full"),
                );
            }
            Err(PushError::Invalid(e)) => self.internal_failure(scheduler, e.to_string()),
        }
    }
}

impl PartitionTask {
    /// Runs until stopped and drained (or until the work left after a fatal error is
    /// drained).
    pub(crate) async fn run(self) -> PartitionExit {
        let PartitionTask {
            ctx,
            queue,
            mut stop,
        } = self;
        // A partition paused under an earlier assignment would stay paused.
        ctx.set_paused(false);
        let mut scheduler: KeyedScheduler<Payload> =
            KeyedScheduler::new(ctx.shared.max_in_flight, ctx.shared.capacity);
        let mut running: FuturesUnordered<BoxFuture<'static, JobResult>> = FuturesUnordered::new();
        let mut messages = queue.stream();
        let mut paused = false;
        let mut last_attempted_store: Option<i64> = None;
        loop {
            while let Some(started) = scheduler.next_ready() {
                running.push(ctx.job(started));
            }
            ctx.report_load(&scheduler);
            if let Some(watermark) = scheduler.next_offset()
                && last_attempted_store != Some(watermark)
            {
                last_attempted_store = Some(watermark);
                ctx.store(watermark);
            }
            if scheduler.is_stopped() && scheduler.is_drained() {
                break;
            }
            let room = scheduler.has_room();
            if !room && !paused && !scheduler.is_stopped() {
                ctx.set_paused(true);
                paused = true;
                ctx.shared.status.count_pause();
                PartitionPaused {
                    topic: &ctx.tp.0,
                    partition: ctx.tp.1,
                    held: scheduler.held(),
                }
                .emit();
            } else if room && paused {
                ctx.set_paused(false);
                paused = false;
            }
            tokio::select! {
                biased;
                _ = &mut stop, if !scheduler.is_stopped() => scheduler.stop_taking(),
                Some(result) = running.next(), if !running.is_empty() => {
                    ctx.finish(&mut scheduler, result);
                }
                message = messages.next(), if room => match message {
                    Some(Ok(message)) => ctx.take(&mut scheduler, &message),
                    Some(Err(e)) => ClientError {
                        error_code: &error_code(&e),
                        error: &e.to_string(),
                        fatal: false,
                    }
                    .emit(),
                    None => {
                        // librdkafka streams never end; treat it as a stop.
                        scheduler.stop_taking();
                    }
                },
                else => {
                    // Unreachable by the scheduler's invariants (held work always has a
                    // runnable message); leave rather than spin.
                    warn!(topic = ctx.tp.0, partition = ctx.tp.1, "partition task has nothing to wait for; stopping it");
                    break;
                }
            }
        }
        ctx.report_load(&scheduler);
        PartitionExit { tp: ctx.tp }
    }
}
