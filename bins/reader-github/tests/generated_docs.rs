//! The generated documentation of this flavor (FLAVORS.md §3: `config.example.ini` and the
//! key table of `README.md` in this folder) matches what the binary's `config-keys` prints.
//! Until the testkit's `reader_docs_tests!` reads a flavor's own folder, the check is here.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_reader-github");

/// `reader-github config-keys --format <format>`.
fn generated(format: &str) -> String {
    let out = Command::new(BIN)
        .args(["config-keys", "--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn committed(file: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + file;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn the_example_ini_is_what_config_keys_prints() {
    assert!(
        committed("config.example.ini") == generated("ini"),
        "bins/reader-github/config.example.ini is stale: run `cargo xtask codegen` (or `reader-github config-keys --format ini`)"
    );
}

#[test]
fn the_readme_key_table_is_what_config_keys_prints() {
    let readme = committed("README.md");
    let (start, end) = ("<!-- config-keys:start -->\n", "<!-- config-keys:end -->");
    let table = readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(table, _)| table)
        .unwrap_or_else(|| panic!("README.md lacks the {start:?} … {end:?} markers"));
    assert!(
        table == generated("markdown"),
        "the key table of bins/reader-github/README.md is stale: run `cargo xtask codegen`"
    );
}
