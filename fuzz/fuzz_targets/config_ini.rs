//! `config_ini`: arbitrary text as the reader's ini config file
//! (`reader_app::config::RawConfig::parse_ini`) and as a skip list
//! (`kafka_runtime::SkipList::parse`).
//!
//! Seeds: `bins/*/config.example.ini` (as they are and with every key uncommented) and
//! hand-written configs. The text is parsed with the shell's sections plus a `[fuzz]` flavor
//! section (declared with `config_section!`) holding one key of every `KeyKind`. Checks: no
//! panic; a config that passed validation types every section (`section::<S>()` is Ok) and
//! each `[fuzz]` value is in its declared range and equal to what the text says; a secret (a
//! `Secret` key, or a pass-through `…password` librdkafka property) is never shown by
//! `report`, nor by an invalid-value error.
#![no_main]

use case_client::config::CaseApiSection;
use kafka_runtime::{KafkaSection, LIBRDKAFKA_PREFIX, SKIP_MESSAGES_SYNTAX, SkipEntry, SkipList};
use libfuzzer_sys::fuzz_target;
use observability::config::{HealthSection, MetricsSection, TracingSection};
use reader_app::config::{ConfigError, RawConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thirdparty_core::config::{ConfigSection, KeyDef, KeyKind, parse_bool};

thirdparty_core::config_section! {
    /// A flavor section with one key of every kind.
    struct FuzzSection in "fuzz" {
        /// Any text.
        text: Option<String> = unset, KeyKind::Text;
        /// A secret.
        secret: Option<String> = unset, KeyKind::Secret;
        /// A bounded count.
        count: u64 = "3", KeyKind::Integer { min: 1, max: 10 };
        /// A bounded wait in milliseconds.
        wait_ms: Duration = "250", KeyKind::Millis { min: 0, max: 1000 };
        /// A bounded period in seconds.
        period_s: Duration = "2", KeyKind::Seconds { min: 1, max: 60 };
        /// A switch.
        switch: bool = "false", KeyKind::Bool;
        /// An address.
        address: Option<SocketAddr> = unset, KeyKind::SocketAddr;
        /// A mode.
        mode: String = "a", KeyKind::OneOf(&["a", "b"]);
        /// A skip list.
        skip: Vec<SkipEntry> = "", KeyKind::List(SKIP_MESSAGES_SYNTAX);
        /// A file.
        file: Option<PathBuf> = unset, KeyKind::File;
    }
}

/// The keys of every section the target can name (the shell's `[dd.kafka.consumer]` and
/// `[cache]` are private to reader-app and hold no secret).
fn known_keys() -> impl Iterator<Item = &'static KeyDef> {
    [
        KafkaSection::KEYS,
        CaseApiSection::KEYS,
        MetricsSection::KEYS,
        TracingSection::KEYS,
        HealthSection::KEYS,
        FuzzSection::KEYS,
    ]
    .into_iter()
    .flatten()
}

fn is_declared_secret(key: &str) -> bool {
    known_keys().any(|d| d.key == key && d.kind == KeyKind::Secret)
}

/// Every section types from a config that passed validation.
fn check_sections(raw: &RawConfig) -> FuzzSection {
    fn typed<S: ConfigSection + std::fmt::Debug>(raw: &RawConfig) -> Option<S> {
        let section = raw.section::<S>();
        assert!(
            section.is_ok(),
            "[{}] passed validation but does not type: {section:?}",
            S::SECTION
        );
        section.ok()
    }
    typed::<KafkaSection>(raw);
    typed::<CaseApiSection>(raw);
    typed::<MetricsSection>(raw);
    typed::<TracingSection>(raw);
    typed::<HealthSection>(raw);
    typed::<FuzzSection>(raw).unwrap_or_default()
}

/// Each `[fuzz]` value is in range and is what the text (`set`, untrimmed) says.
fn check_fuzz_value(fuzz: &FuzzSection, key: &str, set: &str) {
    let text = set.trim();
    let number = text.parse::<u64>().ok();
    match key {
        "fuzz.count" => assert!(
            (1..=10).contains(&fuzz.count) && number == Some(fuzz.count),
            "`{key}` = {set:?} passed validation but reads as {}",
            fuzz.count
        ),
        "fuzz.wait_ms" => assert!(
            fuzz.wait_ms <= Duration::from_millis(1000)
                && number.map(Duration::from_millis) == Some(fuzz.wait_ms),
            "`{key}` = {set:?} passed validation but reads as {:?}",
            fuzz.wait_ms
        ),
        "fuzz.period_s" => assert!(
            (Duration::from_secs(1)..=Duration::from_secs(60)).contains(&fuzz.period_s)
                && number.map(Duration::from_secs) == Some(fuzz.period_s),
            "`{key}` = {set:?} passed validation but reads as {:?}",
            fuzz.period_s
        ),
        "fuzz.switch" => assert_eq!(
            parse_bool(text),
            Some(fuzz.switch),
            "`{key}` = {set:?} passed validation but reads as {}",
            fuzz.switch
        ),
        "fuzz.address" => assert_eq!(
            text.parse::<SocketAddr>().ok(),
            fuzz.address,
            "`{key}` = {set:?} passed validation but reads differently"
        ),
        "fuzz.mode" => assert!(
            ["a", "b"].contains(&fuzz.mode.as_str()) && fuzz.mode == text,
            "`{key}` = {set:?} passed validation but reads as {:?}",
            fuzz.mode
        ),
        "fuzz.skip" => {
            let parsed = SkipList::parse(set).map(|list| list.entries());
            let mut typed = fuzz.skip.clone();
            typed.sort();
            typed.dedup();
            assert!(
                parsed.as_ref() == Ok(&typed),
                "`{key}` = {set:?} passed validation as {typed:?} but SkipList::parse gives \
                 {parsed:?}"
            );
        }
        _ => {}
    }
}

fn check_loaded(raw: &RawConfig) {
    let fuzz = check_sections(raw);
    for (key, shown, _source) in raw.report() {
        let credential = key.starts_with(LIBRDKAFKA_PREFIX) && key.contains("password");
        if is_declared_secret(&key) || credential {
            assert_eq!(shown, "<redacted>", "report shows the secret `{key}`");
        } else {
            check_fuzz_value(&fuzz, &key, &shown);
        }
    }
}

fn check_error(err: &ConfigError) {
    let _ = err.to_string();
    if let ConfigError::InvalidValue { key, value, .. } = err {
        assert!(
            !is_declared_secret(key) || value == "<redacted>",
            "error shows the secret `{key}`"
        );
    }
}

fuzz_target!(|text: &str| {
    let _ = SkipList::parse(text);
    match RawConfig::parse_ini::<FuzzSection>(text) {
        Ok(raw) => check_loaded(&raw),
        Err(err) => check_error(&err),
    }
});
