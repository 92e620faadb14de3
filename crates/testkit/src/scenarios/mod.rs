//! Test bodies both reader binaries run against themselves (`reader-jira`,
//! `reader-servicenow`): each takes the binary's path (`env!("CARGO_BIN_EXE_…")`) and its
//! flavor, and fails like a test, by panicking with what went wrong and the reader's last log
//! lines. Nothing here sleeps for a fixed time to "let things happen": every wait polls a
//! condition with a generous limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test bodies: a failed check panics with what went wrong, as a test does

pub mod cli;
pub mod docs;
pub mod e2e;
pub mod sequence;
pub mod store;

use crate::reader::{ReaderProcess, ReaderSpec};

/// Starts `bin args…` as `label` with a clean environment plus `env`, logs in memory;
/// fails the test when it cannot start.
pub fn spawn_reader(
    label: &str,
    bin: &str,
    args: &[String],
    env: &[(String, String)],
) -> ReaderProcess {
    env.iter()
        .fold(
            ReaderSpec::new(label, bin)
                .args(args.iter().cloned())
                .clean_env(),
            |spec, (k, v)| spec.env(k.clone(), v.clone()),
        )
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Fails the test (with the log tail) if `reader` exited while doing `what`.
pub fn assert_running(reader: &mut ReaderProcess, what: &str) {
    if let Err(e) = reader.check_running(what) {
        panic!("{e}");
    }
}
