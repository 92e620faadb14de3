//! The `reader-jira` command line, no broker needed: `--help` of every subcommand,
//! `check-config` on the bad configurations of `fixtures/e2e/check-config/` (exit 78
//! naming the key), the config layers, and `replay --dry-run` of raw Jira webhooks against
//! the case sandbox (in process, real loopback gRPC): one decision per changelog, exit 0
//! even when some inputs do not decode, nothing applied.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use testkit::fixtures::fixtures_dir;
use testkit::reader::args;
use testkit::sandbox::Sandbox;
use testkit::scenarios::cli::*;
use testkit::scenarios::store::assert_nothing_applied;

const BIN: &str = env!("CARGO_BIN_EXE_reader-jira");
const CLOUD_SITE: &str = "4f9c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f";

#[tokio::test]
async fn every_subcommand_has_help() {
    help_of_every_subcommand(BIN, &["--jira-account-id"]).await;
}

#[tokio::test]
async fn check_config_of_a_bad_config_exits_78_naming_the_key() {
    bad_configs_exit_78(BIN).await;
}

#[tokio::test]
async fn flags_beat_the_environment_which_beats_the_file() {
    config_layers_and_unknown_keys(BIN, "jira").await;
}

#[tokio::test]
async fn sigterm_while_starting_drains_and_exits_0() {
    sigterm_during_start_up_exits_0(BIN).await;
}

#[tokio::test]
async fn config_secrets_never_reach_check_config_or_the_logs() {
    config_secrets_stay_out_of_output(BIN, &fixtures_dir().join("jira/seed.json")).await;
}

#[tokio::test]
async fn config_keys_lists_the_flavor_keys_with_their_environment_variables() {
    config_keys_lists(
        BIN,
        &[
            "jira.integration_users",
            "CASE_READER_JIRA_INTEGRATION_USERS",
            "jira.sync_marker",
        ],
    )
    .await;
}

/// The webhook body of a fixture payload, as Jira sends it (the envelope's `webhook`).
fn raw_webhook(payload: &str) -> Value {
    let path = fixtures_dir().join("jira/payloads").join(payload);
    let envelope: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    envelope["webhook"].clone()
}

/// Raw webhook files: two single bodies, a truncated body, and JSON lines mixing a body,
/// an unsupported event and a line that is not JSON.
fn raw_files(dir: &Path) -> Vec<PathBuf> {
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap();
    let compact = |v: &Value| serde_json::to_string(v).unwrap();
    vec![
        write("priority.json", pretty(&raw_webhook("update_priority.json"))),
        write(
            "resolved.json",
            pretty(&raw_webhook("multi_item_status_resolution_labels.json")),
        ),
        write(
            "truncated.json",
            br#"{"timestamp": 1772445600000, "webhookEvent": "jira:issue_updated", "issue": {"id": "101"#
                .to_vec(),
        ),
        write(
            "mixed.jsonl",
            format!(
                "{}\n{}\nnot json at all\n",
                compact(&raw_webhook("update_title.json")),
                compact(&raw_webhook("unsupported_event_type_issue_deleted.json")),
            )
            .into_bytes(),
        ),
    ]
}

fn replay_args(files: &[PathBuf], site: &str, endpoint: &str, json: bool) -> Vec<String> {
    let mut a = args(&["replay", "--dry-run"]);
    if json {
        a.extend(args(&["--output", "json"]));
    }
    for f in files {
        a.push("--file".into());
        a.push(f.display().to_string());
    }
    a.extend(args(&["--org-id", "1", "--jira-account-id", site, "--set"]));
    a.push(format!("case_api.endpoint={endpoint}"));
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_of_raw_webhooks_prints_a_decision_per_changelog_and_applies_nothing() {
    let sandbox = Sandbox::start(&fixtures_dir().join("jira/seed.json"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = raw_files(dir.path());

    replay_dry_run_prints_decisions_and_applies_nothing(
        BIN,
        &sandbox,
        &replay_args(&files, CLOUD_SITE, &sandbox.url, true),
        &replay_args(&files, CLOUD_SITE, &sandbox.url, false),
        &[
            ("priority.json", "update_priority", "would_apply", ""),
            (
                "resolved.json",
                "unsupported_resolution",
                "filtered",
                "unsupported_changelog_type",
            ),
            ("resolved.json", "update_status", "would_apply", ""),
            (
                "resolved.json",
                "unsupported_labels",
                "filtered",
                "unsupported_changelog_type",
            ),
            ("truncated.json", "", "decode_error", "not_json"),
            ("mixed.jsonl:1", "update_title", "would_apply", ""),
            ("mixed.jsonl:2", "", "filtered", "unsupported_event_type"),
            ("mixed.jsonl:3", "", "decode_error", "not_json"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_for_an_unknown_jira_site_filters_every_changelog() {
    let sandbox = Sandbox::start(&fixtures_dir().join("jira/seed.json"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = raw_files(dir.path());
    let out = run_cli(BIN, &replay_args(&files[..2], "X", &sandbox.url, true), &[]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_decisions(
        &decisions(&out.stdout),
        &[
            (
                "priority.json",
                "update_priority",
                "filtered",
                "no_matching_metadata",
            ),
            (
                "resolved.json",
                "unsupported_resolution",
                "filtered",
                "no_matching_metadata",
            ),
            (
                "resolved.json",
                "update_status",
                "filtered",
                "no_matching_metadata",
            ),
            (
                "resolved.json",
                "unsupported_labels",
                "filtered",
                "no_matching_metadata",
            ),
        ],
    );
    assert_nothing_applied(&sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_raw_bodies_without_the_site_id_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let files = raw_files(dir.path());
    replay_without_the_source_flag_is_a_usage_error(BIN, &files[0], "1").await;
}
