//! Brokers to test against.
//!
//! - [`MockBroker`]: librdkafka's in-process mock cluster (real protocol, consumer groups,
//!   broker down/up). Its first group join waits about 3 s (initial rebalance delay).
//! - [`TansuBroker`]: a real Kafka-compatible broker process started from `TANSU_BIN`;
//!   stopped by PID when dropped. Its high watermark is unreliable: compare committed
//!   offsets with the offsets actually consumed.
//! - [`AnyBroker`]: one of the two, for tools that let their user choose.

use crate::error::{HarnessError, TANSU_BIN_ENV, io, kafka};
use crate::net::{free_port, wait_listening};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

    fn wait_ready(&mut self, limit: Duration) -> Result<(), HarnessError> {
        wait_listening(&mut self.child, self.port, &self.log, limit).map_err(|detail| {
            HarnessError::Tansu {
                action: "start".into(),
                detail,
            }
        })
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

/// A started broker of either kind, alive as long as this value: what a tool that lets its
/// user choose the broker (`cargo xtask bench --broker`, `chaos --broker`) holds.
pub enum AnyBroker {
    /// A Tansu broker process.
    Tansu(TansuBroker),
    /// librdkafka's in-process mock cluster.
    Mock(MockBroker),
}

impl TestBroker for AnyBroker {
    fn bootstrap_servers(&self) -> String {
        match self {
            Self::Tansu(tansu) => tansu.bootstrap_servers(),
            Self::Mock(mock) => mock.bootstrap_servers(),
        }
    }

    fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), HarnessError> {
        match self {
            Self::Tansu(tansu) => tansu.create_topic(topic, partitions),
            Self::Mock(mock) => mock.create_topic(topic, partitions),
        }
    }
}
