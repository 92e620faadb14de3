//! The `reader-github` command line, no broker needed: `--help` of every subcommand,
//! `check-config` on the bad configurations of `fixtures/e2e/check-config/` (exit 78
//! naming the key), the config layers, and `replay --dry-run` of raw GitHub webhook bodies
//! (the vendored `@octokit/webhooks-examples` payloads) against the case sandbox (in
//! process, real loopback gRPC): one decision per changelog, exit 0 even when some inputs do
//! not decode, nothing applied.

use std::error::Error;
use std::path::PathBuf;
use testkit::scenarios::replay::{RawInputFiles, RawReplay};

const BIN: &str = env!("CARGO_BIN_EXE_reader-github");

testkit::reader_cli_tests! {
    bin: BIN,
    flavor: "github",
    source_flag: "--installation-id",
    config_keys: [
        "github.integration_users",
        "CASE_READER_GITHUB_INTEGRATION_USERS",
        "github.sync_marker",
    ],
}

const REPLAY: RawReplay = RawReplay {
    bin: BIN,
    flavor: "github",
    org_id: "1",
    source_flag: "--installation-id",
    inputs: raw_files,
};

/// Raw GitHub bodies: a reopen (the case is open already), an assignment, a new comment and a `bug` label (no priority) as GitHub
/// sent them, and JSON lines mixing a truncated body and an array.
fn raw_files() -> Result<RawInputFiles, Box<dyn Error>> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/github/webhooks"
    ));
    let mut files: RawInputFiles = Vec::new();
    for name in [
        "issues.reopened.1.json",
        "issues.assigned.1.json",
        "issue_comment.created.1.json",
        "issues.labeled.1.json",
    ] {
        files.push((name, std::fs::read(dir.join(name))?));
    }
    files.push((
        "broken.jsonl",
        b"{\"action\": \"closed\", \"iss\n[1, 2]\n".to_vec(),
    ));
    Ok(files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_of_raw_bodies_prints_a_decision_per_changelog_and_applies_nothing() {
    REPLAY
        .prints_decisions_and_applies_nothing(
            "5501",
            &[
                (
                    "issues.reopened.1.json",
                    "update_status",
                    "filtered",
                    "no_change",
                ),
                (
                    "issues.assigned.1.json",
                    "update_assignee",
                    "would_apply",
                    "",
                ),
                (
                    "issue_comment.created.1.json",
                    "create_comment",
                    "would_apply",
                    "",
                ),
                (
                    "issues.labeled.1.json",
                    "update_priority",
                    "filtered",
                    "field_value_not_mapped",
                ),
                ("broken.jsonl:1", "", "decode_error", "not_json"),
                ("broken.jsonl:2", "", "decode_error", "wrong_type"),
            ],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_for_an_unknown_installation_filters_every_changelog() {
    REPLAY
        .for_an_unknown_source_prints(
            "9999",
            1,
            &[(
                "issues.reopened.1.json",
                "update_status",
                "filtered",
                "no_matching_metadata",
            )],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_raw_bodies_without_the_installation_is_a_usage_error() {
    REPLAY.without_the_source_flag_is_a_usage_error().await;
}
