//! The workspace's test harness, one place for every helper the tests, the benchmarks, the
//! chaos scenarios and the demo share: brokers to test against ([`broker`]), Tansu behind a
//! TLS terminator ([`tls`]), the one test producer ([`produce`]), offset probes
//! ([`offsets`]), the dead-letter topic's parked records ([`dead_letter`]), the runtime
//! driven in process ([`runtime`]), reader binaries as child processes ([`reader`],
//! [`reader_config`]), the Case API sandbox ([`sandbox`]), Prometheus text ([`prometheus`]),
//! loopback HTTP ([`net`]), clocks ([`clock`]), shared fixture facts ([`fixtures`]) and the
//! test bodies both reader binaries run ([`scenarios`]).
//!
//! Every helper outside [`scenarios`] returns a [`HarnessError`] that says what to fix; none
//! of them panics.
//!
//! ```no_run
//! use testkit::broker::{MockBroker, TestBroker};
//! use testkit::offsets::{commit_targets, committed_offsets};
//! use testkit::produce::{TestRecord, produce};
//! use testkit::wait::unique_name;
//!
//! # async fn example() -> Result<(), testkit::HarnessError> {
//! let broker = MockBroker::start()?;
//! let topic = unique_name("orders");
//! broker.create_topic(&topic, 3)?;
//! let records: Vec<TestRecord> =
//!     (0..10).map(|i| TestRecord::keyed(format!("k{}", i % 3), format!("v{i}"))).collect();
//! let delivered = produce(&broker.bootstrap_servers(), &topic, &records, "lz4").await?;
//! let targets = commit_targets(&delivered); // what a group must commit to be done
//! let committed = committed_offsets(&broker.bootstrap_servers(), "my-group", &topic, 3).await?;
//! println!("targets {targets:?}, committed {committed:?}");
//! # Ok(())
//! # }
//! ```

pub mod broker;
pub mod clock;
pub mod dead_letter;
mod error;
pub mod fixtures;
pub mod net;
pub mod offsets;
pub mod produce;
pub mod prometheus;
pub mod reader;
pub mod reader_config;
pub mod runtime;
pub mod sandbox;
pub mod scenarios;
pub mod tls;
pub mod wait;

pub use error::{HarnessError, STUNNEL_BIN_ENV, TANSU_BIN_ENV};

/// `Debug` of a handle whose only printable part is one field: `Name { field: …, .. }`.
fn debug_one_field(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    field: &str,
    value: &dyn std::fmt::Debug,
) -> std::fmt::Result {
    f.debug_struct(name)
        .field(field, value)
        .finish_non_exhaustive()
}
