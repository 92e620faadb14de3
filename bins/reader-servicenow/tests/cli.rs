//! The `reader-servicenow` command line, no broker needed: `--help` of every subcommand,
//! `check-config` on the bad configurations of `fixtures/e2e/check-config/` (exit 78
//! naming the key), the config layers, and `replay --dry-run` of raw ServiceNow records
//! against the case sandbox (in process, real loopback gRPC): one decision per changelog,
//! exit 0 even when some inputs do not decode, nothing applied.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use testkit::fixtures::fixtures_dir;
use testkit::reader::args;
use testkit::sandbox::Sandbox;
use testkit::scenarios::cli::*;
use testkit::scenarios::store::assert_nothing_applied;

const BIN: &str = env!("CARGO_BIN_EXE_reader-servicenow");

#[tokio::test]
async fn every_subcommand_has_help() {
    help_of_every_subcommand(BIN, &["--instance-name"]).await;
}

#[tokio::test]
async fn check_config_of_a_bad_config_exits_78_naming_the_key() {
    bad_configs_exit_78(BIN).await;
}

#[tokio::test]
async fn flags_beat_the_environment_which_beats_the_file() {
    config_layers_and_unknown_keys(BIN, "servicenow").await;
}

#[tokio::test]
async fn sigterm_while_starting_drains_and_exits_0() {
    sigterm_during_start_up_exits_0(BIN).await;
}

#[tokio::test]
async fn config_secrets_never_reach_check_config_or_the_logs() {
    config_secrets_stay_out_of_output(BIN, &fixtures_dir().join("servicenow/seed.json")).await;
}

#[tokio::test]
async fn config_keys_lists_the_flavor_keys_with_their_environment_variables() {
    config_keys_lists(
        BIN,
        &[
            "servicenow.integration_user",
            "CASE_READER_SERVICENOW_INTEGRATION_USER",
            "servicenow.sync_marker",
        ],
    )
    .await;
}

/// Raw ServiceNow inputs: a contract diff without the envelope fields, a Table-API record
/// (display-value pairs, updated by our integration user), and JSON lines mixing a journal
/// row, a truncated line and an array.
fn raw_files(dir: &Path) -> Vec<PathBuf> {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    vec![
        write(
            "diff.json",
            r#"{"sysId": "be5fc89a31cc968c758ec576a4ba3425", "updatedTime": "2024-03-04T10:15:00Z",
                "updatedBy": "jane.roe", "data": {"correlationId": "5e1f0c0a-9b1e-4c0a-8d2e-000000000001",
                "state": "7", "comment": "Closing, the relay is fixed.", "sysModCount": "4"}}"#,
        ),
        write(
            "record.json",
            r#"{"result": {"sys_id": "be5fc89a31cc968c758ec576a4ba3425", "number": "INC0010001",
                "state": {"display_value": "In Progress", "value": "2"},
                "sys_updated_on": {"display_value": "03/04/2024 11:15:00", "value": "2024-03-04 10:15:00"},
                "sys_updated_by": "datadog", "sys_mod_count": "5",
                "correlation_id": "5e1f0c0a-9b1e-4c0a-8d2e-000000000001"}}"#,
        ),
        write(
            "journal.jsonl",
            concat!(
                r#"{"element": "work_notes", "element_id": "be5fc89a31cc968c758ec576a4ba3425", "sys_created_on": "2024-03-04 10:20:00", "sys_created_by": "ops.engineer", "value": "Relay restarted."}"#,
                "\n",
                r#"{"sysId": "be5fc89a31cc"#,
                "\n[1, 2]\n"
            ),
        ),
    ]
}

fn replay_args(files: &[PathBuf], instance: &str, endpoint: &str, json: bool) -> Vec<String> {
    let mut a = args(&["replay", "--dry-run"]);
    if json {
        a.extend(args(&["--output", "json"]));
    }
    for f in files {
        a.push("--file".into());
        a.push(f.display().to_string());
    }
    a.extend(args(&[
        "--org-id",
        "1001",
        "--instance-name",
        instance,
        "--set",
    ]));
    a.push(format!("case_api.endpoint={endpoint}"));
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_of_raw_records_prints_a_decision_per_changelog_and_applies_nothing() {
    let sandbox = Sandbox::start(&fixtures_dir().join("servicenow/seed.json"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = raw_files(dir.path());

    replay_dry_run_prints_decisions_and_applies_nothing(
        BIN,
        &sandbox,
        &replay_args(&files, "acme", &sandbox.url, true),
        &replay_args(&files, "acme", &sandbox.url, false),
        &[
            ("diff.json", "update_status", "would_apply", ""),
            ("diff.json", "create_comment", "would_apply", ""),
            (
                "record.json",
                "update_status",
                "filtered",
                "break_synchronization_cycle",
            ),
            ("journal.jsonl:1", "create_comment", "would_apply", ""),
            ("journal.jsonl:2", "", "decode_error", "not_json"),
            ("journal.jsonl:3", "", "decode_error", "wrong_type"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_for_an_unknown_instance_filters_every_changelog() {
    let sandbox = Sandbox::start(&fixtures_dir().join("servicenow/seed.json"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = raw_files(dir.path());
    let out = run_cli(
        BIN,
        &replay_args(&files[..1], "globex", &sandbox.url, true),
        &[],
    )
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_decisions(
        &decisions(&out.stdout),
        &[
            (
                "diff.json",
                "update_status",
                "filtered",
                "instance_not_configured",
            ),
            (
                "diff.json",
                "create_comment",
                "filtered",
                "instance_not_configured",
            ),
        ],
    );
    assert_nothing_applied(&sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_raw_records_without_the_instance_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let files = raw_files(dir.path());
    replay_without_the_source_flag_is_a_usage_error(BIN, &files[0], "1001").await;
}
