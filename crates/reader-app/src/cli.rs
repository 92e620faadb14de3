//! The command line shared by every flavor's binary.

use crate::config::DEFAULT_CONFIG_PATH;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Run recorded messages through the same pipeline (files, or a topic offset range).
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
