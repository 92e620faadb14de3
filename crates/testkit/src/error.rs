//! The one error of the harness: every variant says what failed and what to fix.

use rdkafka::error::KafkaError;
use std::time::Duration;

/// Environment variable naming the Tansu binary.
pub const TANSU_BIN_ENV: &str = "TANSU_BIN";

/// Environment variable naming the stunnel binary (else `stunnel` or `stunnel4` on `PATH`).
pub const STUNNEL_BIN_ENV: &str = "STUNNEL_BIN";

/// A harness step that failed; the message says what to fix. Retrying helps only for
/// [`HarnessError::Timeout`] on a loaded machine; every other variant needs the fix it names.
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
        "cannot find Tansu: {detail}; set {TANSU_BIN_ENV} to the tansu binary (`cargo xtask tansu` installs it and prints its path)"
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
    /// No stunnel binary: `STUNNEL_BIN` is unset and none is on `PATH`.
    #[error(
        "cannot find stunnel: {detail}; install Debian's stunnel4 (`cargo xtask test` installs it when missing) or set {STUNNEL_BIN_ENV} to a stunnel binary"
    )]
    StunnelMissing {
        /// What is wrong.
        detail: String,
    },
    /// stunnel did not start, or a test certificate could not be made.
    #[error("TLS terminator {action} failed: {detail}")]
    Tls {
        /// What the harness was doing.
        action: String,
        /// What happened (exit status, log tail, rcgen's error).
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
    /// A reader child process exited or misbehaved; `detail` carries its log tail.
    #[error("{reader}: {detail}")]
    Reader {
        /// The reader's label.
        reader: String,
        /// What happened, with the last log lines.
        detail: String,
    },
    /// A fixture or seed file is missing or malformed.
    #[error("fixture {what}: {detail}; fix the file or the builder that makes it")]
    Fixture {
        /// Which fixture.
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// The case sandbox did not start.
    #[error("the case sandbox did not start: {detail}")]
    Sandbox {
        /// What happened.
        detail: String,
    },
}

pub(crate) fn kafka(action: impl Into<String>) -> impl FnOnce(KafkaError) -> HarnessError {
    let action = action.into();
    move |source| HarnessError::Kafka { action, source }
}

pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let action = action.into();
    move |source| HarnessError::Io { action, source }
}

pub(crate) fn joined(action: &str) -> impl FnOnce(tokio::task::JoinError) -> HarnessError + '_ {
    move |e| HarnessError::Io {
        action: action.to_owned(),
        source: std::io::Error::other(e.to_string()),
    }
}
