//! The defaults the README documents are the ones the code uses: every shell key's default in
//! the generated tables of README.md (one per flavor, between the
//! `<!-- config-keys:<flavor>:start -->` markers, found by their markers) is read back into
//! its typed section and compared with the section's `Default` and with the libraries'
//! configurations built without any key. A library default that drifts from the documented
//! key fails here. A flavor's own section is checked by its integration crate
//! (`<Integration>Config::default()` against the section's defaults) and its README rows by
//! the binary's freshness test, so this shell names no integration.

use crate::keys::{CacheSection, ConsumerSection, SHELL_SECTIONS};
use case_client::config::CaseApiSection;
use case_client::{CaseClientConfig, RetryPolicy as CallRetryPolicy};
use kafka_runtime::{ConsumerConfig, KafkaSection, RetryPolicy as MessageRetryPolicy};
use observability::TelemetryConfig;
use observability::config::{HealthSection, MetricsSection, TracingSection};
use std::collections::BTreeMap;
use std::fmt::Debug;
use thirdparty_core::config::ConfigSection;

/// The README table of `flavor`: key → default as shown (`None` for `**required**` and
/// `unset`).
fn readme_defaults(flavor: &str) -> BTreeMap<String, Option<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = format!("<!-- config-keys:{flavor}:start -->");
    let end = format!("<!-- config-keys:{flavor}:end -->");
    let a = readme.find(&start).expect("start marker") + start.len();
    let b = readme.find(&end).expect("end marker");
    let mut rows = BTreeMap::new();
    for line in readme[a..b].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let key = cells[0].trim_start_matches("| ").trim_matches('`');
        let default = match cells[1] {
            "**required**" | "unset" => None,
            shown => Some(
                shown
                    .strip_prefix('`')
                    .and_then(|d| d.strip_suffix('`'))
                    .unwrap_or_else(|| panic!("{key}: default cell {shown:?}"))
                    .to_owned(),
            ),
        };
        rows.insert(key.to_owned(), default);
    }
    assert!(!rows.is_empty(), "no key rows between the {flavor} markers");
    rows
}

/// Section `S` typed from the README's defaults alone; it must equal `S::default()`.
fn documented<S: ConfigSection + PartialEq + Debug>(rows: &BTreeMap<String, Option<String>>) -> S {
    for def in S::KEYS {
        assert!(rows.contains_key(def.key), "README lacks `{}`", def.key);
    }
    let section = S::from_lookup(&|key| rows.get(key).and_then(|d| d.as_deref()))
        .unwrap_or_else(|e| panic!("README default does not parse: {e}"));
    assert_eq!(section, S::default(), "[{}] README vs Default", S::SECTION);
    section
}

fn assert_shell_defaults_are_the_libraries(rows: &BTreeMap<String, Option<String>>) {
    let kafka: KafkaSection = documented(rows);
    assert_eq!(
        ConsumerConfig::new("b:9092", "t"),
        ConsumerConfig::from_section("b:9092", "t", &kafka),
        "kafka-runtime's ConsumerConfig::new"
    );
    assert_eq!(
        MessageRetryPolicy::default(),
        MessageRetryPolicy::from(&kafka)
    );
    let _: ConsumerSection = documented(rows);

    let case_api: CaseApiSection = documented(rows);
    let cache: CacheSection = documented(rows);
    let client = CaseClientConfig::new("http://case-api:1");
    assert_eq!(client.call_timeout, case_api.deadline_ms);
    assert_eq!(client.retry, CallRetryPolicy::from(&case_api));
    assert_eq!(CallRetryPolicy::default(), client.retry);
    assert_eq!(client.settings_cache_ttl, cache.settings_ttl_s);
    assert_eq!(client.settings_cache_capacity, cache.settings_capacity);

    let metrics: MetricsSection = documented(rows);
    let tracing: TracingSection = documented(rows);
    assert_eq!(
        TelemetryConfig::new("jira"),
        TelemetryConfig::from_sections("jira", &metrics, &tracing),
        "observability's TelemetryConfig::new"
    );
    let _: HealthSection = documented(rows);
}

/// The flavors whose key tables README.md holds, from its `config-keys:<flavor>:start`
/// markers.
fn readme_flavors() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    readme
        .split("<!-- config-keys:")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(":start -->")
                .map(|(flavor, _)| flavor.to_owned())
        })
        .collect()
}

/// Every README row is a shell key or one of the flavor's own section (`<flavor>.…`), and
/// every shell key has a row.
fn assert_rows_are_the_declared_keys(rows: &BTreeMap<String, Option<String>>, flavor: &str) {
    let shell: std::collections::BTreeSet<&str> = SHELL_SECTIONS
        .iter()
        .flat_map(|s| s.keys.iter())
        .map(|d| d.key)
        .collect();
    let own = format!("{flavor}.");
    let shown: std::collections::BTreeSet<&str> = rows
        .keys()
        .map(String::as_str)
        .filter(|key| !key.starts_with(&own))
        .collect();
    assert_eq!(shown, shell, "README table of {flavor}");
}

#[test]
fn every_flavor_table_documents_the_defaults_the_code_uses() {
    let flavors = readme_flavors();
    assert!(
        flavors.len() >= 2,
        "README.md has key tables for {flavors:?}; expected one per reader binary"
    );
    for flavor in &flavors {
        let rows = readme_defaults(flavor);
        assert_rows_are_the_declared_keys(&rows, flavor);
        assert_shell_defaults_are_the_libraries(&rows);
        let _: CacheSection = documented(&rows);
    }
}
