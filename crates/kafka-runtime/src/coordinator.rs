//! The coordinator task: owns the partition tasks. It starts one per assigned partition,
//! stops and drains revoked ones up to the drain deadline (then aborts and fences them),
//! drains everything on shutdown, and collects the first fatal error.
//!
//! Its lifecycle is a small typestate: [`Consuming`] → [`Draining`] → back to
//! [`Consuming`] after a revoke, or to the end after a shutdown.

use crate::RuntimeError;
use crate::context::{Callback, RuntimeContext};
use crate::events::{DrainDeadlineExceeded, PartitionsAssigned, PartitionsRevoked, TelemetryEvent};
use crate::partition::{Fence, PartitionCtx, PartitionExit, PartitionShared, PartitionTask};
use crate::status::TopicPartition;
use rdkafka::consumer::StreamConsumer;
use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, Id, JoinSet};
use tokio::time::Sleep;
use tracing::{debug, warn};

/// Settings the coordinator passes on to partition tasks.
pub(crate) struct CoordinatorSettings {
    pub(crate) drain_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
}

/// The coordinator's inputs.
pub(crate) struct Coordinator {
    pub(crate) topic: String,
    /// What the coordinator and every partition task share (its `fatal` is the sending
    /// side of `fatal_rx`).
    pub(crate) partitions: PartitionShared,
    pub(crate) settings: CoordinatorSettings,
    pub(crate) callbacks: mpsc::UnboundedReceiver<Callback>,
    pub(crate) fatal_rx: mpsc::UnboundedReceiver<RuntimeError>,
    /// Asks the driver thread to stop polling and shut down.
    pub(crate) stop: Arc<watch::Sender<bool>>,
}

/// What the coordinator hands back when it ends.
pub(crate) struct CoordinatorExit {
    pub(crate) fatal: Option<RuntimeError>,
}

struct PartitionHandle {
    stop: Option<oneshot::Sender<()>>,
    fence: Arc<Fence>,
    abort: AbortHandle,
}

/// Consuming: partitions run, assignments start new ones.
struct Consuming;

/// Draining: waiting for `waiting` partitions to finish until `deadline`.
struct Draining {
    waiting: HashSet<TopicPartition>,
    progress: Vec<SyncSender<()>>,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
    trigger: &'static str,
    shutdown: bool,
}

enum Mode {
    Consuming(Consuming),
    Draining(Draining),
    Complete,
}

impl Consuming {
    fn begin_drain(
        self,
        limit: Duration,
        trigger: &'static str,
        shutdown: bool,
        progress: SyncSender<()>,
    ) -> Draining {
        Draining {
            waiting: HashSet::new(),
            progress: vec![progress],
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
            trigger,
            shutdown,
        }
    }
}

impl Draining {
    fn partition_drained(&mut self, tp: &TopicPartition) {
        if self.waiting.remove(tp) {
            for p in &self.progress {
                let _ = p.try_send(());
            }
        }
    }

    /// Ends the drain: dropping the progress senders tells the driver to make its final
    /// commit for this drain.
    fn finish(self) -> Mode {
        if self.shutdown {
            Mode::Complete
        } else {
            Mode::Consuming(Consuming)
        }
    }

    fn next(self) -> Mode {
        if self.waiting.is_empty() {
            self.finish()
        } else {
            Mode::Draining(self)
        }
    }
}

struct Partitions {
    tasks: JoinSet<PartitionExit>,
    ids: HashMap<Id, TopicPartition>,
    handles: HashMap<TopicPartition, PartitionHandle>,
}

impl Partitions {
    /// Asks a partition to stop; returns whether it was running.
    fn stop(&mut self, tp: &TopicPartition) -> bool {
        match self.handles.get_mut(tp) {
            Some(h) => {
                if let Some(stop) = h.stop.take() {
                    let _ = stop.send(());
                }
                true
            }
            None => false,
        }
    }

    fn stop_all(&mut self) -> Vec<TopicPartition> {
        let tps: Vec<_> = self.handles.keys().cloned().collect();
        for tp in &tps {
            self.stop(tp);
        }
        tps
    }

    /// Fences and aborts a partition that missed its drain deadline.
    fn abandon(&mut self, tp: &TopicPartition) {
        if let Some(h) = self.handles.remove(tp) {
            h.fence.fence();
            h.abort.abort();
        }
    }

    /// A task ended: fence it and forget it.
    fn ended(&mut self, id: Id) -> Option<TopicPartition> {
        let tp = self.ids.remove(&id)?;
        if let Some(h) = self.handles.remove(&tp) {
            h.fence.fence();
        }
        Some(tp)
    }
}

impl Coordinator {
    fn spawn_partition(&self, partitions: &mut Partitions, tp: TopicPartition, stopping: bool) {
        if let Some(old) = partitions.handles.remove(&tp) {
            warn!(
                topic = tp.0,
                partition = tp.1,
                "partition assigned again while its task still ran; fencing the old task"
            );
            old.fence.fence();
            old.abort.abort();
        }
        let Some(queue) = self.partitions.consumer.split_partition_queue(&tp.0, tp.1) else {
            warn!(
                topic = tp.0,
                partition = tp.1,
                "cannot split the partition's queue; it will not be consumed until the next rebalance"
            );
            return;
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let fence = Arc::new(Fence::default());
        let task = PartitionTask {
            ctx: PartitionCtx {
                tp: tp.clone(),
                shared: self.partitions.clone(),
                fence: fence.clone(),
            },
            queue,
            stop: stop_rx,
        };
        let abort = partitions.tasks.spawn(task.run());
        partitions.ids.insert(abort.id(), tp.clone());
        let mut handle = PartitionHandle {
            stop: Some(stop_tx),
            fence,
            abort,
        };
        if stopping && let Some(stop) = handle.stop.take() {
            let _ = stop.send(());
        }
        partitions.handles.insert(tp, handle);
    }

    fn record_fatal(&self, fatal: &mut Option<RuntimeError>, error: RuntimeError) {
        warn!(error = %error, "fatal error; stopping the consumer");
        if fatal.is_none() {
            *fatal = Some(error);
        }
        self.stop.send_replace(true);
    }

    /// Runs until a shutdown drain completes (or the driver goes away). Hands its consumer
    /// handle back through `done` so that the driver thread closes the consumer.
    pub(crate) async fn run(
        mut self,
        done: std::sync::mpsc::Sender<Arc<StreamConsumer<RuntimeContext>>>,
    ) -> CoordinatorExit {
        let mut partitions = Partitions {
            tasks: JoinSet::new(),
            ids: HashMap::new(),
            handles: HashMap::new(),
        };
        let mut fatal: Option<RuntimeError> = None;
        let mut mode = Mode::Consuming(Consuming);
        let mut callbacks_open = true;

        loop {
            let draining = matches!(mode, Mode::Draining(_));
            let deadline = async {
                match &mut mode {
                    Mode::Draining(d) => (&mut d.deadline).await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(joined) = partitions.tasks.join_next_with_id(), if !partitions.tasks.is_empty() => {
                    let (id, panicked) = match joined {
                        Ok((id, exit)) => {
                            debug!(topic = exit.tp.0, partition = exit.tp.1, "partition task finished");
                            (id, None)
                        }
                        Err(e) => (e.id(), e.is_panic().then(|| e.to_string())),
                    };
                    let tp = partitions.ended(id);
                    if let (Some(detail), Some(tp)) = (panicked, tp.as_ref()) {
                        let error = RuntimeError::PartitionTaskFailed {
                            topic: tp.0.clone(),
                            partition: tp.1,
                            detail: format!("the task panicked: {detail}"),
                        };
                        self.record_fatal(&mut fatal, error);
                    }
                    if let (Mode::Draining(d), Some(tp)) = (&mut mode, tp.as_ref()) {
                        d.partition_drained(tp);
                    }
                    mode = match mode {
                        Mode::Draining(d) => d.next(),
                        other => other,
                    };
                }
                callback = self.callbacks.recv(), if callbacks_open => match callback {
                    None => {
                        callbacks_open = false;
                        if !draining {
                            break;
                        }
                    }
                    Some(Callback::Assigned { partitions: assigned, done }) => {
                        let stopping = fatal.is_some() || matches!(mode, Mode::Complete)
                            || matches!(&mode, Mode::Draining(d) if d.shutdown);
                        let numbers: Vec<i32> = assigned.iter().map(|tp| tp.1).collect();
                        self.partitions.status.add_assigned(&assigned);
                        PartitionsAssigned { topic: &self.topic, partitions: &numbers }.emit();
                        for tp in assigned {
                            self.spawn_partition(&mut partitions, tp, stopping);
                        }
                        drop(done);
                    }
                    Some(Callback::Revoked { partitions: revoked, progress }) => {
                        let numbers: Vec<i32> = revoked.iter().map(|tp| tp.1).collect();
                        self.partitions.status.remove_assigned(&revoked);
                        PartitionsRevoked { topic: &self.topic, partitions: &numbers }.emit();
                        let mut drain = match mode {
                            Mode::Consuming(c) => c.begin_drain(self.settings.drain_timeout, "revoke", false, progress),
                            Mode::Draining(mut d) => {
                                d.progress.push(progress);
                                d
                            }
                            Mode::Complete => {
                                drop(progress);
                                mode = Mode::Complete;
                                continue;
                            }
                        };
                        for tp in revoked {
                            if partitions.stop(&tp) {
                                drain.waiting.insert(tp);
                            }
                        }
                        mode = drain.next();
                    }
                    Some(Callback::Shutdown { progress }) => {
                        self.partitions.status.set_joined(false);
                        let mut drain = match mode {
                            Mode::Consuming(c) => c.begin_drain(self.settings.shutdown_grace, "shutdown", true, progress),
                            Mode::Draining(mut d) => {
                                d.shutdown = true;
                                d.progress.push(progress);
                                d
                            }
                            Mode::Complete => {
                                drop(progress);
                                mode = Mode::Complete;
                                continue;
                            }
                        };
                        drain.waiting.extend(partitions.stop_all());
                        mode = drain.next();
                    }
                },
                Some(error) = self.fatal_rx.recv() => self.record_fatal(&mut fatal, error),
                () = deadline, if draining => {
                    mode = match mode {
                        Mode::Draining(mut d) => {
                            for tp in d.waiting.drain() {
                                self.partitions.status.count_drain_deadline();
                                DrainDeadlineExceeded {
                                    topic: &tp.0,
                                    partition: tp.1,
                                    trigger: d.trigger,
                                    deadline: d.limit,
                                }
                                .emit();
                                partitions.abandon(&tp);
                            }
                            d.finish()
                        }
                        other => other,
                    };
                }
            }
            if matches!(mode, Mode::Complete)
                || (!callbacks_open && !matches!(mode, Mode::Draining(_)))
            {
                break;
            }
        }

        // Every partition task must be gone (its queue dropped) before the consumer closes.
        for tp in partitions.handles.keys() {
            debug!(
                topic = tp.0,
                partition = tp.1,
                "aborting partition task at exit"
            );
        }
        for h in partitions.handles.values() {
            h.fence.fence();
        }
        partitions.tasks.shutdown().await;
        partitions.handles.clear();
        // A fatal error reported while draining still counts.
        while let Ok(error) = self.fatal_rx.try_recv() {
            if fatal.is_none() {
                fatal = Some(error);
            }
        }
        // Hand the last coordinator-side handle over: the consumer must close on the driver
        // thread, never on a runtime worker.
        let consumer = self.partitions.consumer;
        let _ = done.send(consumer);
        CoordinatorExit { fatal }
    }
}
