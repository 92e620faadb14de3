//! Driving the runtime in process: a recording, scriptable handler and a background run.

use async_trait::async_trait;
use kafka_runtime::{
    ConsumerConfig, ConsumerStatus, KafkaRuntime, RunSummary, RuntimeError, SkipList,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thirdparty_core::{Disposition, Payload, PayloadHandler};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One handler call that ended in an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandledRecord {
    /// The record value as text (lossy UTF-8).
    pub value: String,
    /// The record key as text.
    pub key: Option<String>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Which attempt acknowledged it (1 = first call).
    pub attempt: u32,
    /// Which consumer handled it (the handler's label).
    pub consumer: String,
}

type Script = dyn Fn(&Payload, u32) -> Disposition + Send + Sync;
type DelayFn = dyn Fn(&Payload) -> Duration + Send + Sync;

/// A handler that records every acknowledged message and answers by a script
/// (acknowledge everything by default). Clones share the record.
#[derive(Clone)]
pub struct RecordingHandler {
    label: String,
    script: Arc<Script>,
    delay: Arc<DelayFn>,
    handled: Arc<Mutex<Vec<HandledRecord>>>,
    attempts: Arc<Mutex<BTreeMap<(i32, i64), u32>>>,
}

impl std::fmt::Debug for RecordingHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::debug_one_field(f, "RecordingHandler", "label", &self.label)
    }
}

impl RecordingHandler {
    /// A handler that acknowledges everything.
    pub fn acking(label: impl Into<String>) -> Self {
        Self::scripted(label, |_, _| Disposition::Ack)
    }

    /// A handler answering `script(payload, attempt)` (attempt is 1-based per message).
    pub fn scripted(
        label: impl Into<String>,
        script: impl Fn(&Payload, u32) -> Disposition + Send + Sync + 'static,
    ) -> Self {
        Self {
            label: label.into(),
            script: Arc::new(script),
            delay: Arc::new(|_: &Payload| Duration::ZERO),
            handled: Arc::new(Mutex::new(Vec::new())),
            attempts: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// A handler answering `Retry { reason }` for every message `failing` holds for (at the
    /// time of the call), acknowledging the others.
    pub fn retrying_while(
        label: impl Into<String>,
        reason: &'static str,
        failing: impl Fn(&Payload) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::scripted(label, move |p, _| {
            if failing(p) {
                Disposition::Retry {
                    reason: reason.into(),
                }
            } else {
                Disposition::Ack
            }
        })
    }

    /// Sleeps this long in every call (simulated work).
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Arc::new(move |_: &Payload| delay);
        self
    }

    /// Sleeps `delay(payload)` in every call: uneven delays make messages of different keys
    /// finish out of order, which is what the offset watermark must cope with.
    #[must_use]
    pub fn with_delay_by(
        mut self,
        delay: impl Fn(&Payload) -> Duration + Send + Sync + 'static,
    ) -> Self {
        self.delay = Arc::new(delay);
        self
    }

    /// The same recording, under another consumer label (for a second consumer).
    #[must_use]
    pub fn relabeled(&self, label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            ..self.clone()
        }
    }

    /// Every acknowledged message so far, in acknowledgement order.
    pub fn handled(&self) -> Vec<HandledRecord> {
        self.handled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Number of acknowledged messages.
    pub fn handled_count(&self) -> usize {
        self.handled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Number of distinct values acknowledged (redeliveries counted once).
    pub fn distinct_count(&self) -> usize {
        self.handled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|h| h.value.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }

    /// Waits (polling, at most `limit`) until every one of `records` was acknowledged (as
    /// many distinct messages as there are records).
    pub async fn wait_all(
        &self,
        records: &[crate::produce::TestRecord],
        limit: Duration,
    ) -> Result<(), crate::HarnessError> {
        let what = format!("all {} records handled", records.len());
        self.wait_distinct(records.len(), &what, limit).await
    }

    /// Waits (polling, at most `limit`) until at least `at_least` distinct messages were
    /// acknowledged; the error names `what`.
    pub async fn wait_distinct(
        &self,
        at_least: usize,
        what: &str,
        limit: Duration,
    ) -> Result<(), crate::HarnessError> {
        crate::wait::wait_until(limit, what, || self.distinct_count() >= at_least).await
    }

    /// Handler calls made for the message at `partition`/`offset`.
    pub fn attempts(&self, partition: i32, offset: i64) -> u32 {
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(partition, offset))
            .copied()
            .unwrap_or(0)
    }
}

#[async_trait]
impl PayloadHandler for RecordingHandler {
    async fn handle(&self, payload: &Payload) -> Disposition {
        let attempt = {
            let mut attempts = self
                .attempts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = attempts
                .entry((payload.partition, payload.offset))
                .or_insert(0);
            *n += 1;
            *n
        };
        let delay = (self.delay)(payload);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let disposition = (self.script)(payload, attempt);
        if disposition == Disposition::Ack {
            self.handled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(HandledRecord {
                    value: String::from_utf8_lossy(&payload.value).into_owned(),
                    key: payload.key_str().map(str::to_owned),
                    partition: payload.partition,
                    offset: payload.offset,
                    attempt,
                    consumer: self.label.clone(),
                });
        }
        disposition
    }
}

/// A runtime running in the background.
pub struct RunningRuntime {
    join: JoinHandle<Result<RunSummary, RuntimeError>>,
    stop: Option<oneshot::Sender<()>>,
    status: ConsumerStatus,
}

impl RunningRuntime {
    /// Starts `runtime.run` on the current tokio runtime.
    pub fn spawn(runtime: KafkaRuntime) -> Self {
        let status = runtime.status();
        let (stop, stopped) = oneshot::channel::<()>();
        let join = tokio::spawn(runtime.run(async move {
            let _ = stopped.await;
        }));
        Self {
            join,
            stop: Some(stop),
            status,
        }
    }

    /// Builds the runtime for `config` with `handler` (a clone: the caller keeps reading
    /// what it records) and `skip_list`, and starts it in the background. Fails when the
    /// configuration is invalid (the error names the key).
    pub fn start(
        config: ConsumerConfig,
        handler: &RecordingHandler,
        skip_list: SkipList,
    ) -> Result<Self, RuntimeError> {
        let runtime = KafkaRuntime::new(config, Arc::new(handler.clone()), skip_list)?;
        Ok(Self::spawn(runtime))
    }

    /// The runtime's status.
    pub fn status(&self) -> &ConsumerStatus {
        &self.status
    }

    /// Whether `run` returned.
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Requests shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> Result<RunSummary, RuntimeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join().await
    }

    /// Waits for `run` to return on its own (e.g. a fatal error).
    pub async fn join(self) -> Result<RunSummary, RuntimeError> {
        let _keep_running = self.stop;
        match self.join.await {
            Ok(result) => result,
            Err(e) => Err(RuntimeError::DriverFailed {
                topic: String::new(),
                detail: format!("the run task failed: {e}"),
            }),
        }
    }
}
