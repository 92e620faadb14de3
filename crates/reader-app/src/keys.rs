//! The configuration keys the reader knows: the shell's sections, each declared by the crate
//! that uses its values, plus the flavor's own section; and what is generated from their
//! union (each bin's README table and `bins/reader-<flavor>/config.example.ini`).

use crate::flavor::Flavor;
use case_client::config::CaseApiSection;
use kafka_runtime::{KafkaSection, LIBRDKAFKA_PREFIX, SKIP_MESSAGES_SYNTAX, SkipEntry};
use observability::config::{HealthSection, MetricsSection, TracingSection};
use std::time::Duration;
use thirdparty_core::config::{ConfigSection, KeyDef, KeyKind, SectionDeclaration};

thirdparty_core::config_section! {
    /// The `[dd.kafka.consumer]` section (the previous service's name for it).
    pub(crate) struct ConsumerSection in "dd.kafka.consumer" {
        /// Operator skip-list: messages acked without handling; re-read on file change or SIGHUP.
        pub(crate) skip_messages: Vec<SkipEntry> = "", KeyKind::List(SKIP_MESSAGES_SYNTAX);
    }
}

thirdparty_core::config_section! {
    /// The `[cache]` section: the Case API client's project settings cache and the flavor's
    /// metadata cache.
    pub(crate) struct CacheSection in "cache" {
        /// Project settings cache TTL.
        pub(crate) settings_ttl_s: Duration = "300", KeyKind::Seconds { min: 0, max: 86_400 };
        /// Project settings cache capacity (entries).
        pub(crate) settings_capacity: usize = "10000", KeyKind::Integer { min: 1, max: 10_000_000 };
        /// Integration metadata cache TTL (Jira projects, ServiceNow instances).
        pub(crate) metadata_ttl_s: Duration = "300", KeyKind::Seconds { min: 0, max: 86_400 };
        /// Integration metadata cache capacity (organisations).
        pub(crate) metadata_capacity: usize = "10000", KeyKind::Integer { min: 1, max: 10_000_000 };
        /// Load every organisation's metadata before readiness turns true.
        pub(crate) warm_on_start: bool = "true", KeyKind::Bool;
    }
}

/// The service shell's sections, in documentation order.
pub(crate) const SHELL_SECTIONS: &[SectionDeclaration] = &[
    KafkaSection::DECLARATION,
    ConsumerSection::DECLARATION,
    CaseApiSection::DECLARATION,
    CacheSection::DECLARATION,
    MetricsSection::DECLARATION,
    TracingSection::DECLARATION,
    HealthSection::DECLARATION,
];

/// Every section flavor `F` reads: the shell's, then the flavor's own.
pub(crate) fn sections<F: Flavor>() -> Vec<SectionDeclaration> {
    SHELL_SECTIONS
        .iter()
        .copied()
        .chain(std::iter::once(F::Section::DECLARATION))
        .collect()
}

/// Sections whose keys are passed through unchecked: `[kafka.librdkafka]` holds librdkafka
/// properties (e.g. `security.protocol = ssl`).
const PASS_THROUGH_PREFIXES: &[&str] = &[LIBRDKAFKA_PREFIX];

/// Whether `key` is a pass-through property (`kafka.librdkafka.<property>`).
pub(crate) fn is_pass_through(key: &str) -> bool {
    PASS_THROUGH_PREFIXES
        .iter()
        .any(|p| key.len() > p.len() && key.starts_with(p))
}

/// Whether a key's value must never be printed: declared [`KeyKind::Secret`], or a
/// pass-through property whose name says it holds a credential (`sasl.password`,
/// `ssl.key.password`, `ssl.key.pem`…).
pub(crate) fn is_secret(key: &str, keys: &[KeyDef]) -> bool {
    let declared = keys
        .iter()
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

fn all_keys(sections: &[SectionDeclaration]) -> impl Iterator<Item = &KeyDef> {
    sections.iter().flat_map(|s| s.keys.iter())
}

/// Renders the key table as Markdown (for the README and `config-keys`).
pub(crate) fn markdown_table(sections: &[SectionDeclaration]) -> String {
    let mut out =
        String::from("| key | default | environment variable | meaning |\n|---|---|---|---|\n");
    for def in all_keys(sections) {
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            def.key,
            shown_default(def),
            def.env_var(),
            def.doc
        ));
    }
    out
}

/// A key's default as the Markdown table shows it: `**required**`, `unset` or `` `value` ``.
pub(crate) fn shown_default(def: &KeyDef) -> String {
    match (def.required, def.default) {
        (true, _) => "**required**".to_owned(),
        (false, Some("")) | (false, None) => "unset".to_owned(),
        (false, Some(d)) => format!("`{d}`"),
    }
}

/// Renders an annotated example ini with every key: required keys with a placeholder,
/// others commented out at their default. `bins/reader-<flavor>/config.example.ini` are
/// generated from it (`cargo xtask codegen`).
pub(crate) fn example_ini(flavor: &str, sections: &[SectionDeclaration]) -> String {
    let mut out = format!(
        "; Example configuration of reader-{flavor}, generated by `cargo xtask codegen`.\n\
         ; Every key can also be set with its environment variable (CASE_READER_<SECTION>_<KEY>)\n\
         ; or with --set section.key=value; flags beat the environment, which beats this file.\n"
    );
    for section in sections {
        out.push_str(&format!("\n[{}]\n", section.section));
        for def in section.keys {
            let name = def.name();
            out.push_str(&format!("; {}\n", def.doc));
            match (def.required, def.default) {
                (true, _) => out.push_str(&format!("{name} = {}\n", placeholder(def.key))),
                (false, Some(d)) => out.push_str(&format!(";{name} = {d}\n")),
                (false, None) => out.push_str(&format!(";{name} =\n")),
            }
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
mod example_tests {
    use super::*;
    use crate::config::{ConfigSources, RawConfig};

    #[test]
    fn the_example_ini_loads_and_covers_every_key() {
        let text = example_ini("test", SHELL_SECTIONS);
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
            SHELL_SECTIONS,
        )
        .unwrap();
        assert!(raw.unknown_keys().is_empty(), "{:?}", raw.unknown_keys());
        for def in all_keys(SHELL_SECTIONS) {
            assert!(
                text.contains(&format!("{} =", def.name())),
                "{} missing",
                def.key
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn every_key_is_declared_once() {
        let mut keys: Vec<&str> = all_keys(SHELL_SECTIONS).map(|d| d.key).collect();
        let total = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), total);
    }
}
