//! The `reader-jira` command line, no broker needed: `--help` of every subcommand,
//! `check-config` on the bad configurations of `fixtures/e2e/check-config/` (exit 78
//! naming the key), the config layers, and `replay --dry-run` of raw Jira webhooks against
//! the case sandbox (in process, real loopback gRPC): one decision per changelog, exit 0
//! even when some inputs do not decode, nothing applied.

use serde_json::Value;
use std::error::Error;
use testkit::fixtures::{JIRA_ACCOUNT, fixtures_dir};
use testkit::scenarios::replay::{RawInputFiles, RawReplay};

const BIN: &str = env!("CARGO_BIN_EXE_reader-jira");

testkit::reader_cli_tests! {
    bin: BIN,
    flavor: "jira",
    source_flag: "--jira-account-id",
    config_keys: [
        "jira.integration_users",
        "CASE_READER_JIRA_INTEGRATION_USERS",
        "jira.sync_marker",
    ],
}

const REPLAY: RawReplay = RawReplay {
    bin: BIN,
    flavor: "jira",
    org_id: "1",
    source_flag: "--jira-account-id",
    inputs: raw_files,
};

/// The webhook body of a fixture payload, as Jira sends it (the envelope's `webhook`).
fn raw_webhook(payload: &str) -> Result<Value, Box<dyn Error>> {
    let path = fixtures_dir().join("jira/payloads").join(payload);
    let envelope: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    let webhook = envelope
        .get("webhook")
        .ok_or("the envelope has no `webhook`")?;
    Ok(webhook.clone())
}

/// Raw webhook files: two single bodies, a truncated body, and JSON lines mixing a body,
/// an unsupported event and a line that is not JSON.
fn raw_files() -> Result<RawInputFiles, Box<dyn Error>> {
    let pretty =
        |payload: &str| Ok::<_, Box<dyn Error>>(serde_json::to_vec_pretty(&raw_webhook(payload)?)?);
    let compact =
        |payload: &str| Ok::<_, Box<dyn Error>>(serde_json::to_string(&raw_webhook(payload)?)?);
    Ok(vec![
        ("priority.json", pretty("update_priority.json")?),
        (
            "resolved.json",
            pretty("multi_item_status_resolution_labels.json")?,
        ),
        (
            "truncated.json",
            br#"{"timestamp": 1772445600000, "webhookEvent": "jira:issue_updated", "issue": {"id": "101"#
                .to_vec(),
        ),
        (
            "mixed.jsonl",
            format!(
                "{}\n{}\nnot json at all\n",
                compact("update_title.json")?,
                compact("unsupported_event_type_issue_deleted.json")?,
            )
            .into_bytes(),
        ),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_of_raw_webhooks_prints_a_decision_per_changelog_and_applies_nothing() {
    REPLAY
        .prints_decisions_and_applies_nothing(
            JIRA_ACCOUNT,
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
    REPLAY
        .for_an_unknown_source_prints(
            "X",
            2,
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
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_raw_bodies_without_the_site_id_is_a_usage_error() {
    REPLAY.without_the_source_flag_is_a_usage_error().await;
}
