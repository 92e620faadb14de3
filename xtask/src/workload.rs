//! What `cargo xtask bench` and `cargo xtask chaos` share to drive the readers beyond
//! [`testkit`]: the `--broker` choice, the async runtime, the lz4 producer both use, and
//! reading/writing the JSON files.

use anyhow::{Context, Result};
use serde_json::Value;
use std::future::Future;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use testkit::broker::{AnyBroker, MockBroker, TansuBroker};
use testkit::produce::{TestProducer, TestProducerBuilder};

/// Which broker a bench or chaos run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BrokerKind {
    /// A Tansu broker process (`TANSU_BIN`, else installed by `cargo xtask tansu`).
    Tansu,
    /// librdkafka's in-process mock cluster: small runs only (it keeps at most 100k
    /// messages or 5 MiB per partition).
    Mock,
}

impl BrokerKind {
    /// Starts a broker of this kind; Tansu advertises `advertised_port` to clients when given
    /// (a proxy in front of it), else its own port.
    pub fn start(self, advertised_port: Option<u16>) -> Result<AnyBroker> {
        Ok(match self {
            Self::Tansu => AnyBroker::Tansu(
                match advertised_port {
                    Some(port) => TansuBroker::start_advertising(port),
                    None => TansuBroker::start(),
                }
                .context("starting Tansu")?,
            ),
            Self::Mock => {
                AnyBroker::Mock(MockBroker::start().context("starting librdkafka's mock cluster")?)
            }
        })
    }
}

/// Runs `work` to completion on a multi-threaded runtime with every driver enabled.
pub fn block_on<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}

/// The producer base of the bench and the chaos runs: [`TestProducer`]'s defaults with lz4
/// compression (the readers' production setting); each adds its own settings.
pub fn lz4_producer(bootstrap: &str) -> TestProducerBuilder {
    TestProducer::builder(bootstrap).with("compression.type", "lz4")
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
