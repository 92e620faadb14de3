//! The reader's configuration: an ini file (the seed's consul-template output), overridden by
//! environment variables, overridden by command-line `--set key=value` flags.
//!
//! Every key is declared once in [`KEYS`] (or by the flavor, for its own section): its default,
//! its documentation and how it is parsed. That table drives defaults, environment variable
//! names, unknown-key warnings and the generated documentation.

use kafka_runtime::{MessageCoordinates, SkipEntryError, SkipList};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Exit code for a configuration error (`EX_CONFIG` from sysexits.h).
pub const EXIT_CONFIG: u8 = 78;

/// Default config file path (the seed's consul-template output).
pub const DEFAULT_CONFIG_PATH: &str = "/etc/datadog/case-third-party-reader.ini";

/// How a key's value is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Any text.
    Text,
    /// A secret: never printed (shown as `<redacted>`).
    Secret,
    /// An unsigned integer within `min..=max`.
    Integer {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// `true` or `false`.
    Bool,
    /// `host:port` with a numeric IP.
    SocketAddr,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A list of skip-list coordinates (`topic:partition:offset`, comma-separated).
    SkipList,
    /// A path to an existing file (checked when the config is validated).
    File,
}

impl KeyKind {
    fn expected(&self) -> String {
        match self {
            Self::Text | Self::Secret => "any text".to_owned(),
            Self::Integer { min, max } => format!("a whole number from {min} to {max}"),
            Self::Bool => "true or false".to_owned(),
            Self::SocketAddr => "an address like 127.0.0.1:8125".to_owned(),
            Self::OneOf(words) => format!("one of {}", words.join(", ")),
            Self::SkipList => {
                "`topic:partition:offset` entries separated by commas, e.g. collaboration_integrations_jira:3:1042".to_owned()
            }
            Self::File => "the path of a readable file".to_owned(),
        }
    }
}

/// One configuration key.
#[derive(Clone, Copy, Debug)]
pub struct KeyDef {
    /// `section.name` (the ini section, a dot, the key).
    pub key: &'static str,
    /// Default value; `None` means the key is required or optional without default.
    pub default: Option<&'static str>,
    /// Whether the reader cannot run without it.
    pub required: bool,
    /// How the value is checked.
    pub kind: KeyKind,
    /// One line of documentation.
    pub doc: &'static str,
}

const fn key(
    key: &'static str,
    default: Option<&'static str>,
    kind: KeyKind,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        key,
        default,
        required: false,
        kind,
        doc,
    }
}

const fn required(key: &'static str, kind: KeyKind, doc: &'static str) -> KeyDef {
    KeyDef {
        key,
        default: None,
        required: true,
        kind,
        doc,
    }
}

const fn int(min: u64, max: u64) -> KeyKind {
    KeyKind::Integer { min, max }
}

/// Every key the service shell understands (flavors add their own section).
pub const KEYS: &[KeyDef] = &[
    required(
        "kafka.brokers",
        KeyKind::Text,
        "Kafka bootstrap servers, comma-separated host:port.",
    ),
    key(
        "kafka.topic",
        None,
        KeyKind::Text,
        "Topic to consume; defaults to the flavor's topic (collaboration_integrations_<flavor>).",
    ),
    key(
        "kafka.group_id",
        Some("case-management"),
        KeyKind::Text,
        "Consumer group.",
    ),
    key(
        "kafka.auto_offset_reset",
        Some("latest"),
        KeyKind::OneOf(&["latest", "earliest"]),
        "Where a partition with no committed offset starts.",
    ),
    key(
        "kafka.max_in_flight",
        Some("64"),
        int(1, 10_000),
        "Messages handled concurrently per partition (different keys only; 1 = strictly sequential, the seed's model).",
    ),
    key(
        "kafka.partition_queue_capacity",
        Some("1024"),
        int(1, 1_000_000),
        "Messages buffered per partition before it is paused.",
    ),
    key(
        "kafka.session_timeout_ms",
        Some("10000"),
        int(1_000, 300_000),
        "Consumer group session timeout.",
    ),
    key(
        "kafka.retry_max_attempts",
        Some("8"),
        int(1, 1_000),
        "Attempts for a message whose handling failed transiently; after the last one the reader exits non-zero without committing it.",
    ),
    key(
        "kafka.retry_initial_backoff_ms",
        Some("100"),
        int(1, 600_000),
        "First retry backoff (exponential, full jitter).",
    ),
    key(
        "kafka.retry_max_backoff_ms",
        Some("10000"),
        int(1, 3_600_000),
        "Retry backoff ceiling.",
    ),
    key(
        "kafka.drain_timeout_ms",
        Some("5000"),
        int(0, 600_000),
        "How long a revoked partition may finish in-flight work (at most half the session timeout).",
    ),
    key(
        "kafka.shutdown_grace_ms",
        Some("25000"),
        int(0, 600_000),
        "How long shutdown may drain in-flight work before the final commit.",
    ),
    key(
        "dd.kafka.consumer.skip_messages",
        Some(""),
        KeyKind::SkipList,
        "Operator skip-list: messages acked without handling; re-read on file change or SIGHUP.",
    ),
    required(
        "case_api.endpoint",
        KeyKind::Text,
        "Case Management gRPC endpoint, e.g. https://case-api:443 (http:// for plaintext).",
    ),
    key(
        "case_api.ca_file",
        None,
        KeyKind::File,
        "PEM CA bundle to verify the Case API server (TLS).",
    ),
    key(
        "case_api.client_cert_file",
        None,
        KeyKind::File,
        "PEM client certificate for mutual TLS.",
    ),
    key(
        "case_api.client_key_file",
        None,
        KeyKind::File,
        "PEM client key for mutual TLS.",
    ),
    key(
        "case_api.tls_domain",
        None,
        KeyKind::Text,
        "Server name to verify, when it differs from the endpoint host.",
    ),
    key(
        "case_api.deadline_ms",
        Some("5000"),
        int(10, 600_000),
        "Per-call deadline.",
    ),
    key(
        "case_api.retry_max_attempts",
        Some("4"),
        int(1, 100),
        "Attempts per call on UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED.",
    ),
    key(
        "case_api.retry_initial_backoff_ms",
        Some("50"),
        int(1, 600_000),
        "First per-call retry backoff (exponential, full jitter).",
    ),
    key(
        "case_api.retry_max_backoff_ms",
        Some("2000"),
        int(1, 600_000),
        "Per-call retry backoff ceiling.",
    ),
    key(
        "case_api.retry_max_elapsed_ms",
        Some("10000"),
        int(1, 3_600_000),
        "Total time budget of one call's retries.",
    ),
    key(
        "cache.settings_ttl_s",
        Some("300"),
        int(0, 86_400),
        "Project settings cache TTL.",
    ),
    key(
        "cache.settings_capacity",
        Some("10000"),
        int(1, 10_000_000),
        "Project settings cache capacity (entries).",
    ),
    key(
        "cache.metadata_ttl_s",
        Some("300"),
        int(0, 86_400),
        "Integration metadata cache TTL (Jira projects, ServiceNow instances).",
    ),
    key(
        "cache.metadata_capacity",
        Some("10000"),
        int(1, 10_000_000),
        "Integration metadata cache capacity (organisations).",
    ),
    key(
        "cache.warm_on_start",
        Some("true"),
        KeyKind::Bool,
        "Load every organisation's metadata before readiness turns true.",
    ),
    key(
        "metrics.statsd_address",
        None,
        KeyKind::SocketAddr,
        "DogStatsD UDP address, e.g. 127.0.0.1:8125; unset = no DogStatsD.",
    ),
    key(
        "metrics.env",
        None,
        KeyKind::Text,
        "`env` tag on every metric (staging, prod…); falls back to the DD_ENV environment variable.",
    ),
    key(
        "metrics.prometheus",
        Some("false"),
        KeyKind::Bool,
        "Serve Prometheus metrics at /metrics on the health port.",
    ),
    key(
        "tracing.otlp",
        Some("false"),
        KeyKind::Bool,
        "Export traces over OTLP (endpoint from the standard OTEL_* variables).",
    ),
    key(
        "tracing.log_level",
        Some("info"),
        KeyKind::Text,
        "Log filter (tracing EnvFilter syntax).",
    ),
    key(
        "health.port",
        Some("8080"),
        int(0, 65_535),
        "Port of the /liveness, /readiness (and /metrics) server; 0 picks a free one.",
    ),
    key(
        "health.bind",
        Some("0.0.0.0"),
        KeyKind::Text,
        "Address the health server binds.",
    ),
    key(
        "health.stall_timeout_s",
        Some("60"),
        int(1, 86_400),
        "Liveness fails when the consume loop made no progress for this long while work is pending.",
    ),
];

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The key's default.
    Default,
    /// The config file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(p) => write!(f, "file {}", p.display()),
            Self::Env(v) => write!(f, "environment variable {v}"),
            Self::Flag => f.write_str("command line"),
        }
    }
}

/// A configuration that cannot be used. The message names the key, the bad value and what is
/// accepted; the binary exits with [`EXIT_CONFIG`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value does not parse.
    #[error("config key `{key}` (from {origin}) has invalid value {value:?}: expected {expected}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value (`<redacted>` for secrets).
        value: String,
        /// What is accepted.
        expected: String,
        /// Where it came from.
        origin: Source,
    },
    /// A required key is missing.
    #[error(
        "config key `{key}` is required: set it in the [{section}] section of the config file, with {env}, or with --set {key}=VALUE ({doc})"
    )]
    Missing {
        /// The key.
        key: String,
        /// Its ini section.
        section: String,
        /// Its environment variable.
        env: String,
        /// Its documentation.
        doc: String,
    },
    /// The config file cannot be read.
    #[error("cannot read config file {path}: {message}; pass --config PATH or create the file")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The config file is not valid ini.
    #[error(
        "config file {path} is not valid ini: {message}; fix that line (sections are `[name]`, keys `key = value`)"
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the parser said, with the line.
        message: String,
    },
    /// Two keys contradict each other.
    #[error("config keys `{key}` and `{other}` conflict: {message}")]
    Conflict {
        /// One key.
        key: String,
        /// The other key.
        other: String,
        /// The problem and the fix.
        message: String,
    },
    /// A `--set` flag is not `key=value`.
    #[error("--set {arg:?} is not of the form section.key=value")]
    BadFlag {
        /// The flag's argument.
        arg: String,
    },
}

/// The environment variable that overrides `key`: `CASE_READER_` + the key upper-cased with
/// dots replaced by underscores (`kafka.brokers` → `CASE_READER_KAFKA_BROKERS`).
pub fn env_var_for(key: &str) -> String {
    let mut name = String::from("CASE_READER_");
    for c in key.chars() {
        name.push(match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        });
    }
    name
}

fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once('.').unwrap_or(("", key))
}

/// Parses a `skip_messages` value: `topic:partition:offset` entries separated by commas or
/// white space (the format `kafka_runtime::SkipList` reads).
pub fn parse_skip_list(s: &str) -> Result<Vec<MessageCoordinates>, SkipEntryError> {
    SkipList::parse_entries(s)
}

/// Raw values by key with their sources, before typing.
#[derive(Clone, Debug, Default)]
pub struct RawConfig {
    values: BTreeMap<String, (String, Source)>,
    unknown: Vec<(String, Source)>,
}

/// The layers a [`RawConfig`] is built from.
#[derive(Clone, Debug, Default)]
pub struct ConfigSources {
    /// Config file path; `None` = no file.
    pub file: Option<PathBuf>,
    /// Whether a missing file is an error (true when the path was given explicitly).
    pub file_required: bool,
    /// Environment variables to consult (usually `std::env::vars()`).
    pub env: BTreeMap<String, String>,
    /// `--set key=value` flags, in order.
    pub flags: Vec<String>,
}

impl RawConfig {
    /// Reads the layers: defaults, then the file, then the environment, then flags.
    /// `extra` are the flavor's own keys.
    pub fn load(sources: &ConfigSources, extra: &[KeyDef]) -> Result<Self, ConfigError> {
        let file = match &sources.file {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some((text, path.clone())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !sources.file_required => {
                    None
                }
                Err(e) => {
                    return Err(ConfigError::File {
                        path: path.clone(),
                        message: e.to_string(),
                    });
                }
            },
            None => None,
        };
        Self::load_layers(
            file.as_ref()
                .map(|(text, path)| (text.as_str(), path.as_path())),
            sources,
            extra,
        )
    }

    /// Parses ini text as if it were the config file (no environment, no flags): what the
    /// config fuzz target drives.
    pub fn parse_ini(text: &str, extra: &[KeyDef]) -> Result<Self, ConfigError> {
        Self::load_layers(
            Some((text, std::path::Path::new("<input>"))),
            &ConfigSources::default(),
            extra,
        )
    }

    fn load_layers(
        file: Option<(&str, &std::path::Path)>,
        sources: &ConfigSources,
        extra: &[KeyDef],
    ) -> Result<Self, ConfigError> {
        let known: Vec<&KeyDef> = KEYS.iter().chain(extra.iter()).collect();
        let mut raw = RawConfig::default();
        for def in &known {
            if let Some(d) = def.default {
                raw.values
                    .insert(def.key.to_owned(), (d.to_owned(), Source::Default));
            }
        }
        if let Some((text, path)) = file {
            raw.read_ini(text, path, &known)?;
        }
        for def in &known {
            let var = env_var_for(def.key);
            if let Some(v) = sources.env.get(&var) {
                raw.values
                    .insert(def.key.to_owned(), (v.clone(), Source::Env(var)));
            }
        }
        for flag in &sources.flags {
            let Some((k, v)) = flag.split_once('=') else {
                return Err(ConfigError::BadFlag { arg: flag.clone() });
            };
            let k = k.trim();
            if known.iter().any(|d| d.key == k) || is_pass_through(k) {
                raw.values
                    .insert(k.to_owned(), (v.trim().to_owned(), Source::Flag));
            } else {
                raw.unknown.push((k.to_owned(), Source::Flag));
            }
        }
        for def in &known {
            if let Some((value, source)) = raw.values.get(def.key) {
                check(def, value, source)?;
            }
        }
        Ok(raw)
    }

    fn read_ini(
        &mut self,
        text: &str,
        path: &std::path::Path,
        known: &[&KeyDef],
    ) -> Result<(), ConfigError> {
        let ini = ini::Ini::load_from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (section, props) in ini.iter() {
            for (k, v) in props.iter() {
                let full = match section {
                    Some(s) => format!("{s}.{k}"),
                    None => k.to_owned(),
                };
                if known.iter().any(|d| d.key == full) || is_pass_through(&full) {
                    self.values
                        .insert(full, (v.to_owned(), Source::File(path.to_path_buf())));
                } else {
                    self.unknown.push((full, Source::File(path.to_path_buf())));
                }
            }
        }
        Ok(())
    }

    /// Every set key under `prefix` (pass-through sections such as `[kafka.librdkafka]`),
    /// with the prefix removed.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter_map(|(k, (v, _))| {
                k.strip_prefix(prefix)
                    .map(|rest| (rest.to_owned(), v.clone()))
            })
            .collect()
    }

    /// The value of a required key, or [`ConfigError::Missing`] saying how to set it.
    /// (Required keys are checked by the commands that need them: `replay --file` runs
    /// without a broker.)
    pub fn require(&self, key: &str) -> Result<&str, ConfigError> {
        self.get(key).ok_or_else(|| {
            let (section, _) = split_key(key);
            ConfigError::Missing {
                key: key.to_owned(),
                section: section.to_owned(),
                env: env_var_for(key),
                doc: KEYS
                    .iter()
                    .find(|d| d.key == key)
                    .map_or("", |d| d.doc)
                    .to_owned(),
            }
        })
    }

    /// Keys that were set but are not known, with where they came from (warn about them).
    pub fn unknown_keys(&self) -> &[(String, Source)] {
        &self.unknown
    }

    /// The value of a key, if set (defaults included).
    pub fn get(&self, key: &str) -> Option<&str> {
        // Trimmed, as `check` validated it: a value that passed validation always reads back.
        self.values
            .get(key)
            .map(|(v, _)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of a key as an owned string, empty when unset.
    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_owned()
    }

    /// A comma-separated list key, trimmed, empty entries dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Where a key's value came from.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.values.get(key).map(|(_, s)| s)
    }

    /// Every set key with its printable value (secrets redacted) and source.
    pub fn report(&self, extra: &[KeyDef]) -> Vec<(String, String, String)> {
        self.values
            .iter()
            .map(|(k, (v, s))| {
                let secret = is_secret(k, extra);
                let shown = if secret {
                    "<redacted>".to_owned()
                } else {
                    v.clone()
                };
                (k.clone(), shown, s.to_string())
            })
            .collect()
    }

    /// A typed integer (already range-checked by `load`).
    pub fn u64(&self, key: &str) -> Result<u64, ConfigError> {
        let v = self.get(key).unwrap_or("0");
        v.parse()
            .map_err(|_| self.invalid(key, v, "a whole number"))
    }

    /// A duration from an integer key in milliseconds.
    pub fn millis(&self, key: &str) -> Result<Duration, ConfigError> {
        self.u64(key).map(Duration::from_millis)
    }

    /// A duration from an integer key in seconds.
    pub fn secs(&self, key: &str) -> Result<Duration, ConfigError> {
        self.u64(key).map(Duration::from_secs)
    }

    /// A boolean key.
    pub fn bool(&self, key: &str) -> Result<bool, ConfigError> {
        match self.get(key) {
            Some(v) => parse_bool(v).ok_or_else(|| self.invalid(key, v, "true or false")),
            None => Ok(false),
        }
    }

    /// An optional socket address key.
    pub fn socket_addr(&self, key: &str) -> Result<Option<SocketAddr>, ConfigError> {
        self.get(key)
            .map(|v| v.parse().map_err(|_| self.invalid(key, v, "host:port")))
            .transpose()
    }

    fn invalid(&self, key: &str, value: &str, expected: &str) -> ConfigError {
        ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: expected.to_owned(),
            origin: self.source(key).cloned().unwrap_or(Source::Default),
        }
    }
}

/// Sections whose keys are passed through unchecked: `[kafka.librdkafka]` holds librdkafka
/// properties (e.g. `security.protocol = ssl`).
pub const PASS_THROUGH_PREFIXES: &[&str] = &["kafka.librdkafka."];

/// Whether a key's value must never be printed: declared [`KeyKind::Secret`], or a
/// pass-through property whose name says it holds a credential (`sasl.password`,
/// `ssl.key.password`, `ssl.key.pem`…).
pub fn is_secret(key: &str, extra: &[KeyDef]) -> bool {
    let declared = KEYS
        .iter()
        .chain(extra.iter())
        .any(|d| d.key == key && d.kind == KeyKind::Secret);
    declared
        || (is_pass_through(key)
            && [
                "password",
                "secret",
                "token",
                "key.pem",
                "credential",
                "sasl.oauthbearer.config",
            ]
            .iter()
            .any(|w| key.contains(w)))
}

fn is_pass_through(key: &str) -> bool {
    PASS_THROUGH_PREFIXES
        .iter()
        .any(|p| key.len() > p.len() && key.starts_with(p))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn check(def: &KeyDef, value: &str, source: &Source) -> Result<(), ConfigError> {
    if def.kind == KeyKind::SkipList {
        // Name the bad entry, not the whole list.
        return parse_skip_list(value)
            .map(|_| ())
            .map_err(|e| ConfigError::InvalidValue {
                key: def.key.to_owned(),
                value: e.entry,
                expected: format!("{} ({})", def.kind.expected(), e.problem),
                origin: source.clone(),
            });
    }
    let ok = match def.kind {
        KeyKind::Text | KeyKind::Secret => true,
        KeyKind::Integer { min, max } => value
            .trim()
            .parse::<u64>()
            .is_ok_and(|n| (min..=max).contains(&n)),
        KeyKind::Bool => parse_bool(value).is_some(),
        KeyKind::SocketAddr => value.is_empty() || value.trim().parse::<SocketAddr>().is_ok(),
        KeyKind::OneOf(words) => words.contains(&value.trim()),
        KeyKind::SkipList => true,
        KeyKind::File => value.is_empty() || std::path::Path::new(value).is_file(),
    };
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidValue {
            key: def.key.to_owned(),
            value: if def.kind == KeyKind::Secret {
                "<redacted>".to_owned()
            } else {
                value.to_owned()
            },
            expected: def.kind.expected(),
            origin: source.clone(),
        })
    }
}

/// Renders the key table as Markdown (for the README and `--help-config`).
pub fn markdown_table(extra: &[KeyDef]) -> String {
    let mut out =
        String::from("| key | default | environment variable | meaning |\n|---|---|---|---|\n");
    for def in KEYS.iter().chain(extra.iter()) {
        let default = match (def.required, def.default) {
            (true, _) => "**required**".to_owned(),
            (false, Some("")) | (false, None) => "unset".to_owned(),
            (false, Some(d)) => format!("`{d}`"),
        };
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            def.key,
            default,
            env_var_for(def.key),
            def.doc
        ));
    }
    out
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    fn sources(file: Option<PathBuf>, env: &[(&str, &str)], flags: &[&str]) -> ConfigSources {
        ConfigSources {
            file_required: file.is_some(),
            file,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            flags: flags.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn write(text: &str) -> (tempdir::Dir, PathBuf) {
        let dir = tempdir::Dir::new();
        let path = dir.path().join("reader.ini");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir().join(format!(
                    "reader-config-test-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Self(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const MINIMAL: &str = "[kafka]\nbrokers = b:9092\n[case_api]\nendpoint = http://c:1\n";

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let (_d, path) = write(&format!("{MINIMAL}[kafka]\nmax_in_flight = 8\n"));
        let raw = RawConfig::load(&sources(Some(path.clone()), &[], &[]), &[]).unwrap();
        assert_eq!(raw.get("kafka.max_in_flight"), Some("8"));
        assert_eq!(raw.get("kafka.group_id"), Some("case-management"));
        let raw = RawConfig::load(
            &sources(
                Some(path.clone()),
                &[("CASE_READER_KAFKA_MAX_IN_FLIGHT", "16")],
                &[],
            ),
            &[],
        )
        .unwrap();
        assert_eq!(raw.get("kafka.max_in_flight"), Some("16"));
        let raw = RawConfig::load(
            &sources(
                Some(path),
                &[("CASE_READER_KAFKA_MAX_IN_FLIGHT", "16")],
                &["kafka.max_in_flight=32"],
            ),
            &[],
        )
        .unwrap();
        assert_eq!(raw.get("kafka.max_in_flight"), Some("32"));
        assert_eq!(raw.source("kafka.max_in_flight"), Some(&Source::Flag));
    }

    #[test]
    fn bad_value_names_key_value_and_expectation() {
        let (_d, path) = write(&format!("{MINIMAL}[kafka]\nmax_in_flight = lots\n"));
        let err = RawConfig::load(&sources(Some(path), &[], &[]), &[]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("kafka.max_in_flight"), "{msg}");
        assert!(msg.contains("\"lots\""), "{msg}");
        assert!(msg.contains("a whole number from 1 to 10000"), "{msg}");
    }

    #[test]
    fn missing_required_key_says_how_to_set_it() {
        let raw =
            RawConfig::load(&sources(None, &[], &["case_api.endpoint=http://x:1"]), &[]).unwrap();
        assert_eq!(raw.require("case_api.endpoint").unwrap(), "http://x:1");
        let err = raw.require("kafka.brokers").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("kafka.brokers"), "{msg}");
        assert!(msg.contains("CASE_READER_KAFKA_BROKERS"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let (_d, path) = write(&format!("{MINIMAL}[kafka]\nbrokerz = x\n"));
        let raw = RawConfig::load(&sources(Some(path), &[], &[]), &[]).unwrap();
        assert_eq!(raw.unknown_keys().len(), 1);
        assert_eq!(raw.unknown_keys()[0].0, "kafka.brokerz");
    }

    #[test]
    fn secrets_are_redacted_in_reports_and_errors() {
        let (_d, path) = write(&format!(
            "{MINIMAL}[kafka.librdkafka]\nsasl.password = hunter2\nsecurity.protocol = sasl_ssl\n"
        ));
        let raw = RawConfig::load(&sources(Some(path), &[], &[]), &[]).unwrap();
        let report = format!("{:?}", raw.report(&[]));
        assert!(!report.contains("hunter2"), "{report}");
        assert!(report.contains("<redacted>"));
        assert!(
            report.contains("sasl_ssl"),
            "non-secret pass-through shown: {report}"
        );
        assert_eq!(
            raw.with_prefix("kafka.librdkafka."),
            vec![
                ("sasl.password".to_owned(), "hunter2".to_owned()),
                ("security.protocol".to_owned(), "sasl_ssl".to_owned())
            ]
        );
        assert!(raw.unknown_keys().is_empty());
    }

    #[test]
    fn skip_list_errors_name_the_bad_entry() {
        let (_d, path) = write(&format!(
            "{MINIMAL}[dd.kafka.consumer]\nskip_messages = jira:0:17, jira:x:3\n"
        ));
        let err = RawConfig::load(&sources(Some(path), &[], &[]), &[]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"jira:x:3\""), "{msg}");
        assert!(!msg.contains("jira:0:17"), "{msg}");
        assert_eq!(parse_skip_list("jira:0:17, jira:2:5").unwrap().len(), 2);
    }

    #[test]
    fn values_read_back_as_validated_even_with_surrounding_space() {
        // Found by the config_ini fuzz target (fixtures/fuzz/config_ini/).
        let raw = RawConfig::parse_ini(
            &format!("{MINIMAL}[kafka]\nmax_in_flight = \" 8\"\n[metrics]\nstatsd_address = \" 127.0.0.1:8125\"\n"),
            &[],
        )
        .unwrap();
        assert_eq!(raw.u64("kafka.max_in_flight").unwrap(), 8);
        assert_eq!(
            raw.socket_addr("metrics.statsd_address").unwrap(),
            Some("127.0.0.1:8125".parse().unwrap())
        );
    }

    #[test]
    fn env_names() {
        assert_eq!(
            env_var_for("dd.kafka.consumer.skip_messages"),
            "CASE_READER_DD_KAFKA_CONSUMER_SKIP_MESSAGES"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_ini_text_loads_or_errors_without_panicking(text in "\\PC{0,400}") {
            let (_d, path) = write(&text);
            let _ = RawConfig::load(&sources(Some(path), &[], &[]), &[]);
        }
    }
}

/// Renders an annotated example ini with every key: required keys with a placeholder,
/// others commented out at their default. `fixtures/config/reader-<flavor>.ini` are generated
/// from it (`cargo xtask codegen`).
pub fn example_ini(flavor: &str, extra: &[KeyDef]) -> String {
    let mut out = format!(
        "; Example configuration of reader-{flavor}, generated by `cargo xtask codegen`.\n\
         ; Every key can also be set with its environment variable (CASE_READER_<SECTION>_<KEY>)\n\
         ; or with --set section.key=value; flags beat the environment, which beats this file.\n"
    );
    let mut section = "";
    for def in KEYS.iter().chain(extra.iter()) {
        let (sec, name) = split_key(def.key);
        if sec != section {
            out.push_str(&format!("\n[{sec}]\n"));
            section = sec;
        }
        out.push_str(&format!("; {}\n", def.doc));
        match (def.required, def.default) {
            (true, _) => out.push_str(&format!("{name} = {}\n", placeholder(def.key))),
            (false, Some(d)) => out.push_str(&format!(";{name} = {d}\n")),
            (false, None) => out.push_str(&format!(";{name} =\n")),
        }
    }
    out
}

fn placeholder(key: &str) -> &'static str {
    match key {
        "kafka.brokers" => "localhost:9092",
        "case_api.endpoint" => "http://localhost:50051",
        _ => "CHANGE_ME",
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod example_tests {
    use super::*;

    #[test]
    fn the_example_ini_loads_and_covers_every_key() {
        let text = example_ini("test", &[]);
        let dir = std::env::temp_dir().join(format!("reader-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("example.ini");
        std::fs::write(&path, &text).unwrap();
        let raw = RawConfig::load(
            &ConfigSources {
                file: Some(path),
                file_required: true,
                ..ConfigSources::default()
            },
            &[],
        )
        .unwrap();
        assert!(raw.unknown_keys().is_empty(), "{:?}", raw.unknown_keys());
        for def in KEYS {
            let (_, name) = split_key(def.key);
            assert!(text.contains(&format!("{name} =")), "{} missing", def.key);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
