//! The reader's configuration: an ini file (the previous service's consul-template output),
//! overridden by environment variables, overridden by command-line `--set key=value` flags.
//!
//! The keys are declared once, one typed section per crate that uses them
//! ([`thirdparty_core::config_section!`]); the shell's own sections are in its `keys` module. This
//! module layers the raw values and checks them against the union of the sections.
//!
//! To validate a config text without running a reader, parse it with
//! [`RawConfig::parse_ini`] (the shell's sections plus a flavor section), type a section
//! with [`RawConfig::section`] and list what is set with [`RawConfig::report`]:
//!
//! ```
//! use kafka_runtime::KafkaSection;
//! use reader_app::config::RawConfig;
//! use thirdparty_core::config::KeyKind;
//!
//! thirdparty_core::config_section! {
//!     /// A flavor's section.
//!     pub struct LinearSection in "linear" {
//!         /// Linear API key.
//!         pub api_key: String = unset, KeyKind::Secret;
//!     }
//! }
//!
//! let raw = RawConfig::parse_ini::<LinearSection>(
//!     "[kafka]\nbrokers = b:9092\nmax_in_flight = 8\n[linear]\napi_key = hunter2\n",
//! )?;
//! assert_eq!(raw.section::<KafkaSection>()?.max_in_flight, 8);
//! assert!(raw.report().iter().all(|(_, shown, _)| shown != "hunter2"));
//! # Ok::<(), reader_app::config::ConfigError>(())
//! ```

use crate::keys::{SHELL_SECTIONS, is_pass_through, is_secret};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use thirdparty_core::config::{ConfigSection, InvalidValue, KeyDef, SectionDeclaration};

/// Exit code for a configuration error (`EX_CONFIG` from sysexits.h).
pub(crate) const EXIT_CONFIG: u8 = 78;

/// Default config file path (the previous service's consul-template output).
pub(crate) const DEFAULT_CONFIG_PATH: &str = "/etc/datadog/case-third-party-reader.ini";

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
/// accepted; the binary exits with 78 (`EX_CONFIG`).
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

/// A configuration's raw values by key with their sources, checked against its sections:
/// [`RawConfig::parse_ini`] builds one from a config text, [`RawConfig::section`] types a
/// section from it, [`RawConfig::report`] lists it with secrets redacted.
#[derive(Clone, Debug, Default)]
pub struct RawConfig {
    values: BTreeMap<String, (String, Source)>,
    unknown: Vec<(String, Source)>,
    keys: Vec<KeyDef>,
}

/// The layers a [`RawConfig`] is built from.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConfigSources {
    /// Config file path; `None` = no file.
    pub(crate) file: Option<PathBuf>,
    /// Whether a missing file is an error (true when the path was given explicitly).
    pub(crate) file_required: bool,
    /// Environment variables to consult (usually `std::env::vars()`).
    pub(crate) env: BTreeMap<String, String>,
    /// `--set key=value` flags, in order.
    pub(crate) flags: Vec<String>,
}

impl RawConfig {
    /// Reads the layers: defaults, then the file, then the environment, then flags, and
    /// checks every value against its section.
    pub(crate) fn load(
        sources: &ConfigSources,
        sections: &[SectionDeclaration],
    ) -> Result<Self, ConfigError> {
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
            sections,
        )
    }

    /// Parses and checks ini text as the config file of a reader whose flavor section is
    /// `F` (no environment, no flags): the shell's sections and `F`, with their defaults.
    /// This is how to validate a config text. The error names the bad key and value
    /// ([`ConfigError::Syntax`] for text that is not ini, [`ConfigError::InvalidValue`] for
    /// a value its section refuses, a secret shown as `<redacted>`); retrying does not
    /// help, fix the text. Required keys are not checked here (the commands that need them
    /// do).
    pub fn parse_ini<F: ConfigSection>(text: &str) -> Result<Self, ConfigError> {
        let sections: Vec<SectionDeclaration> = SHELL_SECTIONS
            .iter()
            .copied()
            .chain(std::iter::once(F::DECLARATION))
            .collect();
        Self::load_layers(
            Some((text, std::path::Path::new("<input>"))),
            &ConfigSources::default(),
            &sections,
        )
    }

    fn load_layers(
        file: Option<(&str, &std::path::Path)>,
        sources: &ConfigSources,
        sections: &[SectionDeclaration],
    ) -> Result<Self, ConfigError> {
        let mut raw = RawConfig {
            keys: sections
                .iter()
                .flat_map(|s| s.keys.iter().copied())
                .collect(),
            ..RawConfig::default()
        };
        for def in &raw.keys {
            if let Some(d) = def.default {
                raw.values
                    .insert(def.key.to_owned(), (d.to_owned(), Source::Default));
            }
        }
        if let Some((text, path)) = file {
            raw.read_ini(text, path)?;
        }
        for def in &raw.keys {
            let var = def.env_var();
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
            if raw.is_known(k) {
                raw.values
                    .insert(k.to_owned(), (v.trim().to_owned(), Source::Flag));
            } else {
                raw.unknown.push((k.to_owned(), Source::Flag));
            }
        }
        for section in sections {
            (section.check)(&|key| raw.lookup(key)).map_err(|e| raw.invalid(e))?;
        }
        Ok(raw)
    }

    fn is_known(&self, key: &str) -> bool {
        self.keys.iter().any(|d| d.key == key) || is_pass_through(key)
    }

    fn read_ini(&mut self, text: &str, path: &std::path::Path) -> Result<(), ConfigError> {
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
                let source = Source::File(path.to_path_buf());
                if self.is_known(&full) {
                    self.values.insert(full, (v.to_owned(), source));
                } else {
                    self.unknown.push((full, source));
                }
            }
        }
        Ok(())
    }

    /// Types section `S` from the values (defaults included). A section the config was
    /// parsed with was checked then, so typing it succeeds; for any other section a value it
    /// refuses gives [`ConfigError::InvalidValue`] naming the key and value.
    pub fn section<S: ConfigSection>(&self) -> Result<S, ConfigError> {
        S::from_lookup(&|key| self.lookup(key)).map_err(|e| self.invalid(e))
    }

    /// A value a section refused, as a [`ConfigError`] naming where it came from.
    pub(crate) fn invalid(&self, e: InvalidValue) -> ConfigError {
        ConfigError::InvalidValue {
            origin: self.source(e.key).cloned().unwrap_or(Source::Default),
            key: e.key.to_owned(),
            value: e.value,
            expected: e.expected,
        }
    }

    /// The value of a key as set (possibly empty), defaults included.
    fn lookup(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    /// Every set key under `prefix` (pass-through sections such as `[kafka.librdkafka]`),
    /// with the prefix removed.
    pub(crate) fn with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter_map(|(k, (v, _))| {
                k.strip_prefix(prefix)
                    .map(|rest| (rest.to_owned(), v.clone()))
            })
            .collect()
    }

    /// `value` of a required key, or [`ConfigError::Missing`] saying how to set it.
    /// (Required keys are checked by the commands that need them: `replay --file` runs
    /// without a broker.)
    pub(crate) fn require<T>(&self, key: &str, value: Option<T>) -> Result<T, ConfigError> {
        value.ok_or_else(|| {
            let def = self.keys.iter().find(|d| d.key == key);
            ConfigError::Missing {
                key: key.to_owned(),
                section: def.map_or("", KeyDef::section).to_owned(),
                env: thirdparty_core::config::env_var_for(key),
                doc: def.map_or("", |d| d.doc).to_owned(),
            }
        })
    }

    /// Keys that were set but are not known, with where they came from (warn about them).
    pub(crate) fn unknown_keys(&self) -> &[(String, Source)] {
        &self.unknown
    }

    /// The value of a key, trimmed, if set to something (defaults included).
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.lookup(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Where a key's value came from.
    pub(crate) fn source(&self, key: &str) -> Option<&Source> {
        self.values.get(key).map(|(_, s)| s)
    }

    /// Every set key (defaults included) with its printable value and where it came from:
    /// `(key, value, source)`. A secret (a [`KeyKind::Secret`] key, or a pass-through
    /// librdkafka property holding a credential such as `sasl.password`) shows as
    /// `<redacted>`.
    ///
    /// [`KeyKind::Secret`]: thirdparty_core::config::KeyKind::Secret
    pub fn report(&self) -> Vec<(String, String, String)> {
        self.values
            .iter()
            .map(|(k, (v, s))| {
                let shown = if is_secret(k, &self.keys) {
                    "<redacted>".to_owned()
                } else {
                    v.clone()
                };
                (k.clone(), shown, s.to_string())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{ConsumerSection, SHELL_SECTIONS};
    use kafka_runtime::KafkaSection;
    use observability::config::MetricsSection;
    use thirdparty_core::config::env_var_for;

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

    thirdparty_core::config_section! {
        /// A flavor section without keys: parse with the shell's sections alone.
        struct NoFlavorKeys in "no_flavor" {}
    }

    const MINIMAL: &str = "[kafka]\nbrokers = b:9092\n[case_api]\nendpoint = http://c:1\n";

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let (_d, path) = write(&format!("{MINIMAL}[kafka]\nmax_in_flight = 8\n"));
        let raw = RawConfig::load(&sources(Some(path.clone()), &[], &[]), SHELL_SECTIONS).unwrap();
        assert_eq!(raw.get("kafka.max_in_flight"), Some("8"));
        assert_eq!(raw.get("kafka.group_id"), Some("case-management"));
        let raw = RawConfig::load(
            &sources(
                Some(path.clone()),
                &[("CASE_READER_KAFKA_MAX_IN_FLIGHT", "16")],
                &[],
            ),
            SHELL_SECTIONS,
        )
        .unwrap();
        assert_eq!(raw.get("kafka.max_in_flight"), Some("16"));
        let raw = RawConfig::load(
            &sources(
                Some(path),
                &[("CASE_READER_KAFKA_MAX_IN_FLIGHT", "16")],
                &["kafka.max_in_flight=32"],
            ),
            SHELL_SECTIONS,
        )
        .unwrap();
        assert_eq!(raw.get("kafka.max_in_flight"), Some("32"));
        assert_eq!(raw.source("kafka.max_in_flight"), Some(&Source::Flag));
    }

    #[test]
    fn bad_value_names_key_value_and_expectation() {
        let (_d, path) = write(&format!("{MINIMAL}[kafka]\nmax_in_flight = lots\n"));
        let err = RawConfig::load(&sources(Some(path), &[], &[]), SHELL_SECTIONS).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("kafka.max_in_flight"), "{msg}");
        assert!(msg.contains("\"lots\""), "{msg}");
        assert!(msg.contains("a whole number from 1 to 10000"), "{msg}");
    }

    #[test]
    fn missing_required_key_says_how_to_set_it() {
        let raw = RawConfig::load(
            &sources(None, &[], &["case_api.endpoint=http://x:1"]),
            SHELL_SECTIONS,
        )
        .unwrap();
        let case_api: case_client::config::CaseApiSection = raw.section().unwrap();
        assert_eq!(
            raw.require("case_api.endpoint", case_api.endpoint).unwrap(),
            "http://x:1"
        );
        let kafka: KafkaSection = raw.section().unwrap();
        let err = raw.require("kafka.brokers", kafka.brokers).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("kafka.brokers"), "{msg}");
        assert!(msg.contains("CASE_READER_KAFKA_BROKERS"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let (_d, path) = write(&format!("{MINIMAL}[kafka]\nbrokerz = x\n"));
        let raw = RawConfig::load(&sources(Some(path), &[], &[]), SHELL_SECTIONS).unwrap();
        assert_eq!(raw.unknown_keys().len(), 1);
        assert_eq!(raw.unknown_keys()[0].0, "kafka.brokerz");
    }

    #[test]
    fn secrets_are_redacted_in_reports_and_errors() {
        let (_d, path) = write(&format!(
            "{MINIMAL}[kafka.librdkafka]\nsasl.password = hunter2\nsecurity.protocol = sasl_ssl\n"
        ));
        let raw = RawConfig::load(&sources(Some(path), &[], &[]), SHELL_SECTIONS).unwrap();
        let report = format!("{:?}", raw.report());
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
        let err = RawConfig::load(&sources(Some(path), &[], &[]), SHELL_SECTIONS).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"jira:x:3\""), "{msg}");
        assert!(!msg.contains("jira:0:17"), "{msg}");
        let raw = RawConfig::parse_ini::<NoFlavorKeys>(&format!(
            "{MINIMAL}[dd.kafka.consumer]\nskip_messages = jira:0:17, jira:2:5\n"
        ))
        .unwrap();
        let consumer: ConsumerSection = raw.section().unwrap();
        assert_eq!(consumer.skip_messages.len(), 2);
        // The previous service's form: bare offsets (every partition), and partition:offset.
        let raw = RawConfig::parse_ini::<NoFlavorKeys>(&format!(
            "{MINIMAL}[dd.kafka.consumer]\nskip_messages = 1042,1043, 2:5\n"
        ))
        .unwrap();
        let consumer: ConsumerSection = raw.section().unwrap();
        let skip = kafka_runtime::SkipList::from_entries(consumer.skip_messages);
        assert!(skip.contains("collaboration_integrations_jira", 0, 1042));
        assert!(skip.contains("collaboration_integrations_jira", 7, 1043));
        assert!(skip.contains("collaboration_integrations_jira", 2, 5));
        assert!(!skip.contains("collaboration_integrations_jira", 1, 5));
    }

    #[test]
    fn values_read_back_as_validated_even_with_surrounding_space() {
        // Found by the config_ini fuzz target (fixtures/fuzz/config_ini/).
        let raw = RawConfig::parse_ini::<NoFlavorKeys>(
            &format!("{MINIMAL}[kafka]\nmax_in_flight = \" 8\"\n[metrics]\nstatsd_address = \" 127.0.0.1:8125\"\n"),
        )
        .unwrap();
        assert_eq!(raw.section::<KafkaSection>().unwrap().max_in_flight, 8);
        assert_eq!(
            raw.section::<MetricsSection>().unwrap().statsd_address,
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
            let _ = RawConfig::load(&sources(Some(path), &[], &[]), SHELL_SECTIONS);
        }
    }
}
