//! Test bodies both reader binaries run against themselves (`reader-jira`,
//! `reader-servicenow`): each takes the binary's path (`env!("CARGO_BIN_EXE_…")`) and its
//! flavor, and fails like a test, by panicking with what went wrong and the reader's last log
//! lines. Nothing here sleeps for a fixed time to "let things happen": every wait polls a
//! condition with a generous limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test bodies: a failed check panics with what went wrong, as a test does

pub mod cli;
pub mod docs;
pub mod e2e;
pub mod replay;
pub mod sequence;
pub mod store;

use crate::reader::{ReaderProcess, ReaderSpec};

/// Starts `bin args…` as `label` with a clean environment plus `env`, logs in memory;
/// fails the test when it cannot start.
pub fn spawn_reader(
    label: &str,
    bin: &str,
    args: &[String],
    env: &[(String, String)],
) -> ReaderProcess {
    env.iter()
        .fold(
            ReaderSpec::new(label, bin)
                .args(args.iter().cloned())
                .clean_env(),
            |spec, (k, v)| spec.env(k.clone(), v.clone()),
        )
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Fails the test (with the log tail) if `reader` exited while doing `what`.
pub fn assert_running(reader: &mut ReaderProcess, what: &str) {
    if let Err(e) = reader.check_running(what) {
        panic!("{e}");
    }
}

/// The command-line tests every reader binary runs, one `#[tokio::test]` each (help, bad
/// configurations, config layers, SIGTERM during start-up, secrets, `config-keys`): the
/// binary's path, its flavor (the sandbox seed is `fixtures/<flavor>/seed.json`), the
/// flavor's source flag `replay --help` must show, and the flavor keys `config-keys` lists.
///
/// ```text
/// testkit::reader_cli_tests! {
///     bin: env!("CARGO_BIN_EXE_reader-jira"),
///     flavor: "jira",
///     source_flag: "--jira-account-id",
///     config_keys: ["jira.integration_users", "CASE_READER_JIRA_INTEGRATION_USERS"],
/// }
/// ```
#[macro_export]
macro_rules! reader_cli_tests {
    (
        bin: $bin:expr,
        flavor: $flavor:literal,
        source_flag: $flag:literal,
        config_keys: [$($key:literal),* $(,)?] $(,)?
    ) => {
        #[tokio::test]
        async fn every_subcommand_has_help() {
            $crate::scenarios::cli::help_of_every_subcommand($bin, &[$flag]).await;
        }

        #[tokio::test]
        async fn check_config_of_a_bad_config_exits_78_naming_the_key() {
            $crate::scenarios::cli::bad_configs_exit_78($bin).await;
        }

        #[tokio::test]
        async fn flags_beat_the_environment_which_beats_the_file() {
            $crate::scenarios::cli::config_layers_and_unknown_keys($bin, $flavor).await;
        }

        #[tokio::test]
        async fn sigterm_while_starting_drains_and_exits_0() {
            $crate::scenarios::cli::sigterm_during_start_up_exits_0($bin).await;
        }

        #[tokio::test]
        async fn config_secrets_never_reach_check_config_or_the_logs() {
            let seed = $crate::fixtures::fixtures_dir().join(concat!($flavor, "/seed.json"));
            $crate::scenarios::cli::config_secrets_stay_out_of_output($bin, &seed).await;
        }

        #[tokio::test]
        async fn config_keys_lists_the_flavor_keys_with_their_environment_variables() {
            $crate::scenarios::cli::config_keys_lists($bin, &[$($key),*]).await;
        }
    };
}

/// The generated-documentation tests every reader binary runs: the `config.example.ini`
/// and the `README.md` key table in the bin's own folder (`CARGO_MANIFEST_DIR` of the test)
/// match `config-keys` of the binary.
///
/// ```text
/// testkit::reader_docs_tests!(env!("CARGO_BIN_EXE_reader-jira"));
/// ```
#[macro_export]
macro_rules! reader_docs_tests {
    ($bin:expr $(,)?) => {
        #[test]
        fn example_ini_is_fresh() {
            $crate::scenarios::docs::assert_example_ini_is_fresh($bin, env!("CARGO_MANIFEST_DIR"));
        }

        #[test]
        fn readme_key_table_is_fresh() {
            $crate::scenarios::docs::assert_readme_table_is_fresh($bin, env!("CARGO_MANIFEST_DIR"));
        }
    };
}

/// The end-to-end tests every reader binary runs on Tansu: the scripted sequence of
/// `fixtures/<flavor>/e2e/sequence.json`, and kill -9 / SIGTERM mid-stream then restart on
/// `batch` (a `fn() -> Result<Batch, _>` building the flavor's larger batch).
///
/// ```text
/// testkit::reader_e2e_tests!(env!("CARGO_BIN_EXE_reader-jira"), "jira", batch);
/// ```
#[macro_export]
macro_rules! reader_e2e_tests {
    ($bin:expr, $flavor:literal, $batch:expr $(,)?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn scripted_sequence_gives_the_expected_cases_timeline_and_counts() {
            $crate::scenarios::e2e::scripted_sequence($bin, $flavor).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn kill_9_and_sigterm_mid_stream_then_restart_converge_without_duplicates() {
            let seed = $crate::fixtures::fixtures_dir().join(concat!($flavor, "/seed.json"));
            let batch = ($batch)().unwrap_or_else(|e| panic!("the {} batch: {e}", $flavor));
            $crate::scenarios::e2e::kill_and_sigterm_then_restart($bin, $flavor, &seed, batch)
                .await;
        }
    };
}
