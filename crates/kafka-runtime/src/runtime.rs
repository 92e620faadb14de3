//! [`KafkaRuntime`]: creates the consumer, runs the driver thread (polls librdkafka, serves
//! rebalance callbacks, commits) and the coordinator task (partition tasks), and shuts
//! everything down within its deadlines.

use crate::context::{Callback, RuntimeContext, commit_stored};
use crate::coordinator::{Coordinator, CoordinatorExit, CoordinatorSettings};
use crate::events::{ClientError, TelemetryEvent};
use crate::parking::Parker;
use crate::partition::PartitionShared;
use crate::status::{ConsumerStatus, RunSummary};
use crate::{ConsumerConfig, RuntimeError, SkipList};
use futures::future::{Either, select};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};
use thirdparty_core::PayloadHandler;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

/// Slack added to every internal wait on top of the configured deadlines.
const MARGIN: Duration = Duration::from_secs(2);

/// The at-least-once consumer runtime for one topic. See the crate docs.
pub struct KafkaRuntime {
    config: ConsumerConfig,
    handler: Arc<dyn PayloadHandler>,
    skip_list: SkipList,
    status: ConsumerStatus,
}

impl std::fmt::Debug for KafkaRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaRuntime")
            .field("config", &self.config)
            .field("skip_list", &self.skip_list)
            .finish_non_exhaustive()
    }
}

impl KafkaRuntime {
    /// A runtime that hands every message of `config.topic` to `handler`, except those in
    /// `skip_list`. Fails on an invalid configuration.
    pub fn new(
        config: ConsumerConfig,
        handler: Arc<dyn PayloadHandler>,
        skip_list: SkipList,
    ) -> Result<Self, RuntimeError> {
        config.validate()?;
        Ok(Self {
            config,
            handler,
            skip_list,
            status: ConsumerStatus::new(),
        })
    }

    /// A live view for health checks and metrics; clone it before `run` consumes the runtime.
    pub fn status(&self) -> ConsumerStatus {
        self.status.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// Consumes until `shutdown` resolves or a fatal error occurs, then drains in-flight
    /// work (up to `shutdown_grace`), commits the safe watermark synchronously and closes
    /// the consumer (giving up after `close_timeout`, e.g. when the broker is unreachable).
    ///
    /// `Err(RuntimeError::RetriesExhausted { .. })` is the previous service's crash-on-retry path: exit
    /// non-zero and let the supervisor restart the process; the failed message was not
    /// committed and is redelivered.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<RunSummary, RuntimeError> {
        let Self {
            config,
            handler,
            skip_list,
            status,
        } = self;
        let (callbacks_tx, callbacks_rx) = mpsc::unbounded_channel();
        let (fatal_tx, fatal_rx) = mpsc::unbounded_channel();
        let context = RuntimeContext {
            topic: config.topic.clone(),
            brokers: config.brokers.clone(),
            status: status.clone(),
            callbacks: callbacks_tx.clone(),
            fatal: fatal_tx.clone(),
            revoke_wait: config.drain_timeout + MARGIN,
        };
        let mut client_config = ClientConfig::new();
        for (k, v) in config.librdkafka_properties() {
            client_config.set(k, v);
        }
        let consumer: StreamConsumer<RuntimeContext> =
            client_config
                .create_with_context(context)
                .map_err(|source| RuntimeError::ClientCreation {
                    brokers: config.brokers.clone(),
                    group_id: config.group_id.clone(),
                    source: Box::new(crate::error::without_config_value(source)),
                })?;
        let consumer = Arc::new(consumer);
        let parker = Parker::create(&config, &status)?.map(Arc::new);
        consumer
            .subscribe(&[config.topic.as_str()])
            .map_err(|source| RuntimeError::Subscribe {
                topic: config.topic.clone(),
                brokers: config.brokers.clone(),
                source: Box::new(source),
            })?;
        info!(
            topic = config.topic,
            group_id = config.group_id,
            max_in_flight = config.max_in_flight,
            dead_letter_topic = config.dead_letter.as_ref().map(|d| d.topic.as_str()),
            "kafka consumer started"
        );
        status.set_running(true);

        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let (coordinator_done_tx, coordinator_done_rx) = std::sync::mpsc::channel();
        let coordinator = Coordinator {
            topic: config.topic.clone(),
            partitions: PartitionShared {
                consumer: consumer.clone(),
                handler,
                skip_list,
                retry: config.retry,
                max_in_flight: config.max_in_flight,
                capacity: config.partition_queue_capacity,
                status: status.clone(),
                fatal: fatal_tx,
                parker,
            },
            settings: CoordinatorSettings {
                drain_timeout: config.drain_timeout,
                shutdown_grace: config.shutdown_grace,
            },
            callbacks: callbacks_rx,
            fatal_rx,
            stop: stop_tx.clone(),
        };
        let mut coordinator = tokio::spawn(coordinator.run(coordinator_done_tx));

        let (driver_done_tx, mut driver_done_rx) = oneshot::channel::<()>();
        let driver = Driver {
            consumer,
            callbacks: callbacks_tx,
            stop: stop_rx.clone(),
            coordinator_done: coordinator_done_rx,
            status: status.clone(),
            shutdown_wait: config.shutdown_grace + MARGIN,
        };
        let spawned = std::thread::Builder::new()
            .name("kafka-consumer-driver".to_owned())
            .spawn(move || {
                driver.run();
                let _ = driver_done_tx.send(());
            });
        if let Err(e) = spawned {
            stop_tx.send_replace(true);
            coordinator.abort();
            status.set_running(false);
            return Err(RuntimeError::DriverFailed {
                topic: config.topic.clone(),
                detail: format!("cannot start the polling thread: {e}"),
            });
        }

        let mut driver_result: Option<Result<(), oneshot::error::RecvError>> = None;
        {
            let mut stop_watch = stop_rx;
            let mut shutdown = pin!(shutdown);
            tokio::select! {
                () = &mut shutdown => info!(topic = config.topic, "shutdown requested; draining"),
                _ = stop_watch.wait_for(|stop| *stop) => {}
                r = &mut driver_done_rx => driver_result = Some(r),
            }
        }
        stop_tx.send_replace(true);

        let closed_cleanly = match driver_result {
            Some(ref r) => r.is_ok(),
            None => {
                let limit = config.shutdown_grace + config.close_timeout + MARGIN;
                match tokio::time::timeout(limit, &mut driver_done_rx).await {
                    Ok(Ok(())) => true,
                    Ok(Err(_)) => false,
                    Err(_) => {
                        warn!(
                            topic = config.topic,
                            limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                            "final commit and close did not finish in time; returning anyway"
                        );
                        false
                    }
                }
            }
        };
        let driver_panicked = matches!(driver_result, Some(Err(_)));

        let exit = match tokio::time::timeout(MARGIN, &mut coordinator).await {
            Ok(Ok(exit)) => exit,
            Ok(Err(e)) => CoordinatorExit {
                fatal: Some(RuntimeError::DriverFailed {
                    topic: config.topic.clone(),
                    detail: format!("the coordinator task failed: {e}"),
                }),
            },
            Err(_) => {
                coordinator.abort();
                CoordinatorExit { fatal: None }
            }
        };
        status.set_running(false);
        status.clear_assignment();
        if let Some(fatal) = exit.fatal {
            error!(error = %fatal, kind = fatal.kind(), "kafka consumer stopped on a fatal error");
            return Err(fatal);
        }
        if driver_panicked {
            return Err(RuntimeError::DriverFailed {
                topic: config.topic.clone(),
                detail: "the polling thread panicked".to_owned(),
            });
        }
        info!(
            topic = config.topic,
            closed_cleanly, "kafka consumer stopped"
        );
        Ok(RunSummary {
            status: status.snapshot(),
            closed_cleanly,
        })
    }
}

/// The polling thread: serves librdkafka's consumer queue (rebalance callbacks, statistics,
/// errors) until stopped, then runs the shutdown drain, commits and closes the consumer.
struct Driver {
    consumer: Arc<StreamConsumer<RuntimeContext>>,
    callbacks: mpsc::UnboundedSender<Callback>,
    stop: watch::Receiver<bool>,
    coordinator_done: std::sync::mpsc::Receiver<Arc<StreamConsumer<RuntimeContext>>>,
    status: ConsumerStatus,
    shutdown_wait: Duration,
}

impl Driver {
    fn run(self) {
        let Self {
            consumer,
            callbacks,
            mut stop,
            coordinator_done,
            status,
            shutdown_wait,
        } = self;
        futures::executor::block_on(async {
            loop {
                let message = pin!(consumer.recv());
                let stopped = pin!(stop.wait_for(|s| *s));
                match select(message, stopped).await {
                    Either::Left((Ok(message), _)) => {
                        // Every assigned partition has its own queue; a message here was not
                        // split off and is left uncommitted (redelivered after a restart).
                        warn!(
                            topic = message.topic(),
                            partition = message.partition(),
                            offset = message.offset(),
                            "message arrived on the main queue; it is not handled here"
                        );
                    }
                    Either::Left((Err(e), _)) => {
                        ClientError {
                            error_code: &crate::context::error_code(&e),
                            error: &e.to_string(),
                            fatal: false,
                        }
                        .emit();
                    }
                    Either::Right(_) => break,
                }
            }
        });

        // Drain every partition, committing as each one finishes.
        let (progress, drained) = std::sync::mpsc::sync_channel(1024);
        if callbacks.send(Callback::Shutdown { progress }).is_ok() {
            let deadline = Instant::now() + shutdown_wait;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match drained.recv_timeout(left) {
                    Ok(()) => commit_stored(consumer.as_ref(), &status, "shutdown"),
                    Err(RecvTimeoutError::Disconnected | RecvTimeoutError::Timeout) => break,
                }
            }
        }
        drop(callbacks);
        commit_stored(consumer.as_ref(), &status, "shutdown");
        let coordinator_handle = coordinator_done.recv_timeout(MARGIN).ok();
        status.set_joined(false);
        // The last handle closes the consumer here (leave the group), not on a runtime worker.
        drop(coordinator_handle);
        drop(consumer);
    }
}
