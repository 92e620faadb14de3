//! Every metric that the dashboards, monitors and Prometheus rules under `deploy/monitoring/`
//! name is one the code emits (`observability::METRIC_NAMES`, `kafka_runtime::METRIC_NAMES`),
//! and none selects a flavor by name (flavors are discovered from `bins/reader-<flavor>`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Every metric name the code emits. No name depends on the flavor: the filtered count of
/// every flavor is `observability::names::FILTERED`, tagged `flavor`.
fn emitted() -> BTreeSet<String> {
    observability::METRIC_NAMES
        .iter()
        .chain(kafka_runtime::METRIC_NAMES)
        .map(|name| (*name).to_owned())
        .collect()
}

/// The flavors, discovered as the workspace does: `bins/reader-<flavor>/Cargo.toml`.
fn flavors() -> Vec<String> {
    let bins = Path::new(WORKSPACE).join("bins");
    let mut found: Vec<String> = std::fs::read_dir(&bins)
        .unwrap_or_else(|e| panic!("reading {}: {e}", bins.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            Some(name.strip_prefix("reader-")?.to_owned())
        })
        .collect();
    found.sort();
    found
}

/// Every file under deploy/monitoring except the metric lists, recursively.
fn monitoring_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_none_or(|e| e != "txt") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(WORKSPACE).join("deploy/monitoring"), &mut files);
    files.sort();
    files
}

fn listed(file: &str) -> Vec<String> {
    let path = format!("{WORKSPACE}/deploy/monitoring/{file}");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_monitored_metric_is_emitted() {
    let emitted = emitted();
    let used = listed("metrics-used.txt");
    assert!(
        used.len() >= 10,
        "metrics-used.txt lists too little: {used:?}"
    );
    let missing: Vec<&String> = used.iter().filter(|m| !emitted.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "deploy/monitoring names metrics the code does not emit: {missing:?}\nemitted: {emitted:?}"
    );
}

#[test]
fn the_monitoring_files_name_only_listed_metrics() {
    // Every `dd.`/`case.` metric name appearing in a dashboard, monitor or rule file is listed
    // in metrics-used.txt, so the first test covers them all.
    let used: BTreeSet<String> = listed("metrics-used.txt").into_iter().collect();
    let files = monitoring_files();
    assert!(
        files.len() >= 7,
        "expected the dashboard, four monitors, the rules and their tests: {files:?}"
    );
    let mut unlisted = BTreeSet::new();
    let mut seen = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')) {
            let dotted =
                token.starts_with("dd.case") || token.starts_with("case.case_third_party_reader");
            let underscored =
                token.starts_with("dd_case") || token.starts_with("case_case_third_party_reader");
            if !(dotted || underscored) {
                continue;
            }
            seen += 1;
            let name = if underscored {
                // Prometheus form: map back through the listed names.
                match used.iter().find(|u| {
                    let p = u.replace('.', "_");
                    token == p
                        || token
                            .strip_prefix(&p)
                            .is_some_and(|s| ["_bucket", "_sum", "_count", "_total"].contains(&s))
                }) {
                    Some(u) => u.clone(),
                    None => token.to_owned(),
                }
            } else {
                token.to_owned()
            };
            if !used.contains(&name) {
                unlisted.insert(format!("{}: {token}", path.display()));
            }
        }
    }
    assert!(seen >= 20, "only {seen} metric names found in {files:?}");
    assert!(
        unlisted.is_empty(),
        "names not in metrics-used.txt: {unlisted:?}"
    );
}

#[test]
fn the_monitoring_is_written_once_over_the_flavor_tag() {
    // A new flavor is monitored with no edit: no definition selects a flavor by name (the
    // rules' unit tests, `*.test.yaml`, use flavors as sample data).
    let flavors = flavors();
    assert!(!flavors.is_empty(), "no bins/reader-<flavor> found");
    let mut selecting = Vec::new();
    for path in monitoring_files() {
        if path.to_string_lossy().ends_with(".test.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for flavor in &flavors {
            for selector in [
                format!("flavor:{flavor}"),
                format!("flavor=\"{flavor}\""),
                format!("flavor=\\\"{flavor}\\\""),
            ] {
                if text.contains(&selector) {
                    selecting.push(format!("{}: {selector}", path.display()));
                }
            }
        }
    }
    assert!(
        selecting.is_empty(),
        "monitoring selects flavors by name: {selecting:?}"
    );
}

/// The README's metric table lists exactly the metrics the code emits.
#[test]
fn the_readme_metric_table_lists_every_emitted_metric_and_nothing_else() {
    let readme = std::fs::read_to_string(Path::new(WORKSPACE).join("README.md")).unwrap();
    let section = readme
        .split("\n## Metrics\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has a `## Metrics` section");
    let listed: BTreeSet<String> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect();
    let emitted = emitted();
    let missing: Vec<_> = emitted.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&emitted).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README.md `## Metrics`: missing {missing:?}, not emitted {extra:?}"
    );
}
