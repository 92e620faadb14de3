//! The command line shared by every flavor's binary.

use crate::config::DEFAULT_CONFIG_PATH;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use thirdparty_core::DeadLetterReason;

/// `reader-<flavor> [--config PATH] [--set KEY=VALUE]… [COMMAND]`
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Syncs third-party ticket changes from Kafka into Case Management"
)]
pub(crate) struct Cli<R: Args> {
    /// Config file (ini). Missing is fine when every required key comes from the
    /// environment or --set, unless the path was given explicitly.
    #[arg(long, global = true, env = "CASE_READER_CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// Override one config key, e.g. `--set kafka.brokers=localhost:9092` (repeatable; beats
    /// the file and the environment).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    pub(crate) set: Vec<String>,

    /// What to do (default: run).
    #[command(subcommand)]
    pub(crate) command: Option<Command<R>>,
}

impl<R: Args> Cli<R> {
    /// The config path and whether it must exist.
    pub(crate) fn config_path(&self) -> (PathBuf, bool) {
        match &self.config {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command<R: Args> {
    /// Run the service: consume, filter, apply, until SIGTERM/SIGINT (the default).
    Run,
    /// Parse and validate the config, try the broker and the Case API, print a report.
    /// Exits 0 when everything is usable, 1 when something is unreachable, 78 on bad config.
    CheckConfig {
        /// Only validate the config; do not contact the broker or the Case API.
        #[arg(long)]
        offline: bool,
    },
    /// Run recorded messages through the same pipeline: files, a partition's offset range, a
    /// time range of the topic, or the dead-letter topic.
    Replay(ReplayArgs<R>),
    /// Print every config key with its default and environment variable.
    ConfigKeys {
        /// `markdown` (a table) or `ini` (an annotated example config file).
        #[arg(long, value_enum, default_value_t = KeysFormat::Markdown)]
        format: KeysFormat,
    },
}

/// `replay` arguments.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs<R: Args> {
    /// A file holding one message (JSON) or one message per line (JSON lines). Repeatable.
    #[arg(long = "file", value_name = "PATH", conflicts_with = "partition")]
    pub(crate) files: Vec<PathBuf>,

    /// Partition to re-read from the topic.
    #[arg(long, requires_all = ["from_offset", "to_offset"])]
    pub(crate) partition: Option<i32>,

    /// First offset to re-read (inclusive).
    #[arg(long, requires = "partition")]
    pub(crate) from_offset: Option<i64>,

    /// Last offset to re-read (inclusive).
    #[arg(long, requires = "partition")]
    pub(crate) to_offset: Option<i64>,

    /// Re-read every partition of the topic from this time (RFC 3339, e.g.
    /// `2026-12-01T09:00:00Z`), resolved with the broker's offsets-for-times.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time, conflicts_with_all = ["files", "partition", "from_dead_letter"])]
    pub(crate) since: Option<DateTime<Utc>>,

    /// With --since: stop before the first record at or after this time (default: the end).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time, requires = "since")]
    pub(crate) until: Option<DateTime<Utc>>,

    /// Re-run the records parked in the dead-letter topic (`kafka.dead_letter_topic`), from
    /// where the replay group stopped (its beginning on a first run).
    #[arg(long, conflicts_with_all = ["files", "partition"])]
    pub(crate) from_dead_letter: bool,

    /// With --from-dead-letter: only the records parked for this reason (the others are
    /// passed over, and counted).
    #[arg(long, value_name = "KIND", value_parser = parse_reason, requires = "from_dead_letter")]
    pub(crate) reason: Option<DeadLetterReason>,

    /// With --from-dead-letter: record progress in the replay's consumer group
    /// (`<kafka.group_id>.dead-letter-replay`, `….<reason>` with --reason), so a second run
    /// continues where this one stopped.
    #[arg(long, requires = "from_dead_letter", conflicts_with = "dry_run")]
    pub(crate) commit: bool,

    /// The consumer group a topic replay reads as (default `<kafka.group_id>.replay`, or
    /// `<kafka.group_id>.dead-letter-replay[.<reason>]` with --from-dead-letter). The live
    /// group is refused: a replay never moves the service's offsets.
    #[arg(long, value_name = "GROUP")]
    pub(crate) group_id: Option<String>,

    /// Apply nothing: print the decision for each changelog.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,

    /// Treat the files as raw webhook bodies of this organisation (as the third party sends
    /// them) and wrap them in the Kafka envelope; needs the integration's ids below.
    #[arg(long)]
    pub(crate) org_id: Option<u64>,

    /// The integration's ids for raw bodies.
    #[command(flatten)]
    pub(crate) raw: R,
}

/// How `config-keys` prints the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeysFormat {
    /// A Markdown table.
    Markdown,
    /// An annotated example ini file.
    Ini,
}

/// How `replay` prints decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// An aligned table.
    Table,
    /// One JSON object per line.
    Json,
}

/// Parses an RFC 3339 time (`2026-12-01T09:00:00Z`, `2026-12-01T10:00:00+01:00`).
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time ({e}); e.g. 2026-12-01T09:00:00Z"))
}

/// Parses a dead-letter reason label.
fn parse_reason(text: &str) -> Result<DeadLetterReason, String> {
    DeadLetterReason::parse(text).ok_or_else(|| {
        let known: Vec<&str> = DeadLetterReason::ALL.iter().map(|r| r.as_str()).collect();
        format!(
            "`{text}` is not a dead-letter reason; one of: {}",
            known.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_reasons_parse_or_say_what_is_expected() {
        assert_eq!(
            parse_time("2026-12-01T10:00:00+01:00").map(|t| t.to_rfc3339()),
            Ok("2026-12-01T09:00:00+00:00".to_owned())
        );
        let bad = parse_time("yesterday").unwrap_err();
        assert!(
            bad.contains("RFC 3339") && bad.contains("2026-12-01T09:00:00Z"),
            "{bad}"
        );
        assert_eq!(
            parse_reason("skip_listed"),
            Ok(DeadLetterReason::SkipListed)
        );
        let bad = parse_reason("filtered").unwrap_err();
        assert!(
            bad.contains("decode_failed, permanent_error, skip_listed"),
            "{bad}"
        );
    }
}
