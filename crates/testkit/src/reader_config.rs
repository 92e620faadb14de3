//! A reader's configuration written in three layers as production does: an ini file,
//! `CASE_READER_*` environment variables and `--set` flags.

use crate::error::{HarnessError, io};
use std::collections::BTreeMap;
use std::path::Path;

/// The three configuration layers of one reader run.
#[derive(Debug, Clone, Default)]
pub struct ReaderConfig {
    /// `section.key = value` pairs for the ini file.
    pub file: BTreeMap<String, String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// `--set key=value` flags.
    pub flags: Vec<String>,
}

impl ReaderConfig {
    /// The configuration of an end-to-end run: small timeouts so a restart rejoins fast,
    /// Prometheus on, the health server on a free loopback port, `earliest` (the topic is
    /// filled before the group first joins), and frequent commits.
    pub fn e2e(brokers: &str, topic: &str, group: &str, case_api: &str) -> Self {
        let file = [
            ("kafka.brokers", brokers),
            ("kafka.topic", topic),
            ("kafka.group_id", group),
            ("kafka.session_timeout_ms", "6000"),
            ("kafka.drain_timeout_ms", "3000"),
            ("kafka.shutdown_grace_ms", "3000"),
            ("kafka.retry_max_attempts", "50"),
            ("kafka.retry_max_backoff_ms", "1000"),
            ("kafka.librdkafka.auto.commit.interval.ms", "500"),
            ("case_api.endpoint", case_api),
            ("case_api.deadline_ms", "2000"),
            ("health.bind", "127.0.0.1"),
            ("metrics.prometheus", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            file,
            env: vec![
                (
                    "CASE_READER_KAFKA_AUTO_OFFSET_RESET".into(),
                    "earliest".into(),
                ),
                ("RUST_BACKTRACE".into(), "1".into()),
            ],
            flags: vec!["--set".into(), "health.port=0".into()],
        }
    }

    /// Sets (or replaces) a key of the file layer.
    pub fn set_file(&mut self, key: &str, value: &str) {
        self.file.insert(key.to_owned(), value.to_owned());
    }

    /// Adds a `--set key=value` flag.
    pub fn set_flag(&mut self, key: &str, value: &str) {
        self.flags.push("--set".into());
        self.flags.push(format!("{key}={value}"));
    }

    /// Writes the ini file `<name>.ini` into `dir` and returns the command line for
    /// `command`.
    pub fn args(&self, dir: &Path, name: &str, command: &str) -> Result<Vec<String>, HarnessError> {
        let path = dir.join(format!("{name}.ini"));
        std::fs::write(&path, ini_text(&self.file))
            .map_err(io(format!("writing {}", path.display())))?;
        let mut args = vec!["--config".to_owned(), path.display().to_string()];
        args.extend(self.flags.iter().cloned());
        args.push(command.to_owned());
        Ok(args)
    }

    /// The environment as `(&str, &str)` pairs.
    pub fn env_pairs(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// Renders `section.key = value` pairs as ini text (the section is everything before the
/// last dot, except that `kafka.librdkafka.*` keys keep their dotted names in
/// `[kafka.librdkafka]`).
///
/// ```
/// let pairs = [
///     ("kafka.brokers".to_owned(), "b:9092".to_owned()),
///     ("kafka.librdkafka.auto.commit.interval.ms".to_owned(), "500".to_owned()),
/// ];
/// assert_eq!(
///     testkit::reader_config::ini_text(&pairs.into_iter().collect()),
///     "[kafka]\nbrokers = b:9092\n\n[kafka.librdkafka]\nauto.commit.interval.ms = 500\n\n"
/// );
/// ```
pub fn ini_text(pairs: &BTreeMap<String, String>) -> String {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (key, value) in pairs {
        let (section, name) = match key.strip_prefix("kafka.librdkafka.") {
            Some(rest) => ("kafka.librdkafka".to_owned(), rest.to_owned()),
            None => match key.rsplit_once('.') {
                Some((s, n)) => (s.to_owned(), n.to_owned()),
                None => (String::new(), key.clone()),
            },
        };
        sections
            .entry(section)
            .or_default()
            .push((name, value.clone()));
    }
    let mut text = String::new();
    for (section, pairs) in sections {
        text.push_str(&format!("[{section}]\n"));
        for (k, v) in pairs {
            text.push_str(&format!("{k} = {v}\n"));
        }
        text.push('\n');
    }
    text
}
