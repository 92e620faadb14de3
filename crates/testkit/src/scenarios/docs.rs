//! Freshness of the files `cargo xtask codegen` derives from a reader binary's
//! `config-keys` output: the example ini and the README key table.

use crate::fixtures::repo_root;
use std::process::Command;

fn config_keys(bin: &str, format: &str) -> String {
    let out = Command::new(bin)
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
    let full = repo_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// `fixtures/config/reader-<flavor>.ini` equals `bin config-keys --format ini`.
pub fn assert_example_ini_is_fresh(bin: &str, flavor: &str) {
    let path = format!("fixtures/config/reader-{flavor}.ini");
    assert!(
        repo_file(&path) == config_keys(bin, "ini"),
        "{path} is stale: run `cargo xtask codegen`"
    );
}

/// README.md's table between the flavor's markers equals `bin config-keys`.
pub fn assert_readme_table_is_fresh(bin: &str, flavor: &str) {
    let readme = repo_file("README.md");
    let start = format!("<!-- config-keys:{flavor}:start -->\n");
    let end = format!("<!-- config-keys:{flavor}:end -->");
    let a = readme.find(&start).expect("README start marker") + start.len();
    let b = readme.find(&end).expect("README end marker");
    assert!(
        readme[a..b] == config_keys(bin, "markdown"),
        "README.md's reader-{flavor} key table is stale: run `cargo xtask codegen`"
    );
}
