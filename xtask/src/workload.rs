//! What `cargo xtask bench` and `cargo xtask chaos` share to drive the readers: the broker
//! choice, the Jira fixture identities their events use, the async runtime, the producer's
//! base configuration and reading/writing the JSON files.

use anyhow::{Context, Result};
use kafka_runtime::testing::{MockBroker, TansuBroker, TestBroker};
use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;
use serde_json::Value;
use std::future::Future;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// The Jira site (account) every configured event comes from (`fixtures/jira/seed.json`).
pub const ACCOUNT: &str = "4f9c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f";
/// A regular Jira user (not an integration user).
pub const HUMAN_USER: &str = "5f1a7c3e9b2d4e0011a2b3c7";
/// Jira project 10000 maps to `proj-support` (bidirectional, conflicts rejected) in the seed.
pub const CONFIGURED_PROJECT: &str = "10000";
/// A Jira project with no metadata row in org 1: its events are filtered
/// `no_matching_metadata`.
pub const UNCONFIGURED_PROJECT: &str = "99999";

/// Which broker a bench or chaos run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BrokerKind {
    /// A Tansu broker process (`TANSU_BIN`, else installed by `cargo xtask tansu`).
    Tansu,
    /// librdkafka's in-process mock cluster: small runs only (it keeps at most 100k
    /// messages or 5 MiB per partition).
    Mock,
}

/// A started broker of either kind, alive as long as this value.
pub enum Broker {
    /// A Tansu broker process.
    Tansu(TansuBroker),
    /// librdkafka's in-process mock cluster.
    Mock(MockBroker),
}

impl Broker {
    /// Starts a broker of `kind`; Tansu advertises `advertised_port` to clients when given
    /// (a proxy in front of it), else its own port.
    pub fn start(kind: BrokerKind, advertised_port: Option<u16>) -> Result<Self> {
        Ok(match kind {
            BrokerKind::Tansu => Self::Tansu(
                match advertised_port {
                    Some(port) => TansuBroker::start_advertising(port),
                    None => TansuBroker::start(),
                }
                .context("starting Tansu")?,
            ),
            BrokerKind::Mock => {
                Self::Mock(MockBroker::start().context("starting librdkafka's mock cluster")?)
            }
        })
    }

    /// The broker, to create topics on and read its address.
    pub fn test_broker(&self) -> &dyn TestBroker {
        match self {
            Self::Tansu(tansu) => tansu,
            Self::Mock(mock) => mock,
        }
    }
}

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs `work` to completion on a multi-threaded runtime with every driver enabled.
pub fn block_on<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}

/// An lz4 producer to `bootstrap` with `settings` on top; `who` names it in the error.
pub fn producer(bootstrap: &str, who: &str, settings: &[(&str, &str)]) -> Result<FutureProducer> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("compression.type", "lz4");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config
        .create()
        .with_context(|| format!("creating the {who} producer"))
}

/// Reads and parses the JSON file at `path`.
pub fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_slice(
        &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    std::fs::write(path, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Locks `m`; `what` names the lock in the error when a panicking holder poisoned it.
pub fn lock<'m, T>(m: &'m Mutex<T>, what: &str) -> Result<MutexGuard<'m, T>> {
    m.lock()
        .map_err(|_| anyhow::anyhow!("{what} lock was poisoned"))
}
