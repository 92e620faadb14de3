//! The defaults the READMEs document are the ones the code uses: every shell key's default in
//! the generated table of each reader's `bins/<reader>/README.md` (between the
//! `<!-- config-keys:start -->` markers; every bin folder holding them is checked) is read back into
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

/// The generated key table of a reader's README: key → default as shown (`None` for
/// `**required**` and `unset`).
fn readme_defaults(name: &str, readme: &str) -> BTreeMap<String, Option<String>> {
    let (start, end) = ("<!-- config-keys:start -->", "<!-- config-keys:end -->");
    let a = readme.find(start).expect("start marker") + start.len();
    let b = readme.find(end).expect("end marker");
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
                    .unwrap_or_else(|| panic!("{name} {key}: default cell {shown:?}"))
                    .to_owned(),
            ),
        };
        rows.insert(key.to_owned(), default);
    }
    assert!(
        !rows.is_empty(),
        "no key rows between the markers of {name}"
    );
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

/// Every reader's README with a generated key table: (bin folder name, text), from the
/// `bins/*/README.md` files holding the markers.
fn reader_readmes() -> Vec<(String, String)> {
    let bins = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bins");
    let mut found: Vec<(String, String)> = std::fs::read_dir(bins)
        .unwrap()
        .filter_map(|entry| {
            let dir = entry.ok()?.path();
            let text = std::fs::read_to_string(dir.join("README.md")).ok()?;
            let name = dir.file_name()?.to_string_lossy().into_owned();
            text.contains("<!-- config-keys:start -->")
                .then_some((name, text))
        })
        .collect();
    found.sort();
    found
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
    let readmes = reader_readmes();
    assert!(
        readmes.len() >= 2,
        "bins/*/README.md with key tables: {:?}; expected one per reader binary",
        readmes.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    for (name, readme) in &readmes {
        let flavor = name.strip_prefix("reader-").unwrap_or(name);
        let rows = readme_defaults(name, readme);
        assert_rows_are_the_declared_keys(&rows, flavor);
        assert_shell_defaults_are_the_libraries(&rows);
        let _: CacheSection = documented(&rows);
    }
}
