//! The generated documentation (example ini, README key table) matches the binary.

use testkit::scenarios::docs;

const BIN: &str = env!("CARGO_BIN_EXE_reader-jira");

#[test]
fn example_ini_is_fresh() {
    docs::assert_example_ini_is_fresh(BIN, "jira");
}

#[test]
fn readme_key_table_is_fresh() {
    docs::assert_readme_table_is_fresh(BIN, "jira");
}
