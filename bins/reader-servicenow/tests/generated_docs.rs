//! The generated documentation (example ini, README key table) matches the binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

fn config_keys(format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_reader-servicenow"))
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

fn repo_file(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../../").to_owned() + path;
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {full}: {e}"))
}

#[test]
fn example_ini_is_fresh() {
    assert!(
        repo_file("fixtures/config/reader-servicenow.ini") == config_keys("ini"),
        "fixtures/config/reader-servicenow.ini is stale: run `cargo xtask codegen`"
    );
}

#[test]
fn readme_key_table_is_fresh() {
    let readme = repo_file("README.md");
    let start = "<!-- config-keys:servicenow:start -->\n";
    let end = "<!-- config-keys:servicenow:end -->";
    let a = readme.find(start).expect("README start marker") + start.len();
    let b = readme.find(end).expect("README end marker");
    assert!(
        readme[a..b] == config_keys("markdown"),
        "README.md's reader-servicenow key table is stale: run `cargo xtask codegen`"
    );
}
