//! The command line of a reader binary without a broker: help, bad configurations, the
//! config layers, secrets kept out of output, SIGTERM during start-up, and `replay` output.

use super::e2e::{EXIT_LIMIT, stop_with_sigterm};
use super::spawn_reader;
use super::store::assert_logs_free_of;
use crate::fixtures::{files_with_extension, fixtures_dir};
use crate::net::free_port;
use crate::reader::{CliOutput, ReaderProcess, args, run_command};
use crate::sandbox::Sandbox;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Environment variables a command runs with, on top of a clean environment.
type Env<'a> = &'a [(&'a str, &'a str)];

/// [`run_command`], failing the test when the command cannot run.
pub async fn run_cli(bin: &str, args: &[String], env: &[(&str, &str)]) -> CliOutput {
    run_command(bin, args, env)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `--help` of the binary and of every subcommand exits 0 and shows what it must.
pub async fn help_of_every_subcommand(bin: &str, replay_flags: &[&str]) {
    let mut cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--help"],
            vec![
                "run",
                "check-config",
                "replay",
                "config-keys",
                "--config",
                "--set",
            ],
        ),
        (vec!["run", "--help"], vec!["Run the service", "--config"]),
        (
            vec!["check-config", "--help"],
            vec!["--offline", "78", "--config"],
        ),
        (
            vec!["replay", "--help"],
            vec![
                "--file",
                "--partition",
                "--from-offset",
                "--to-offset",
                "--since",
                "--until",
                "--from-dead-letter",
                "--reason",
                "--commit",
                "--group-id",
                "--dry-run",
                "--output",
                "--org-id",
            ],
        ),
        (vec!["config-keys", "--help"], vec!["config key"]),
    ];
    if let Some((_, replay)) = cases.get_mut(3) {
        replay.extend_from_slice(replay_flags);
    }
    for (command, wanted) in cases {
        let out = run_cli(bin, &args(&command), &[]).await;
        assert_eq!(out.code, Some(0), "{command:?}: {out:?}");
        for w in wanted {
            assert!(
                out.stdout.contains(w),
                "`{}` does not mention {w:?}:\n{}",
                command.join(" "),
                out.stdout
            );
        }
    }
}

/// `config-keys` lists the shared keys and `flavor_keys` (key names and their environment
/// variables).
pub async fn config_keys_lists(bin: &str, flavor_keys: &[&str]) {
    let out = run_cli(bin, &args(&["config-keys"]), &[]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    for wanted in ["kafka.brokers", "CASE_READER_KAFKA_BROKERS"]
        .iter()
        .chain(flavor_keys)
    {
        assert!(
            out.stdout.contains(wanted),
            "{wanted} missing:\n{}",
            out.stdout
        );
    }
}

/// One bad configuration of `fixtures/e2e/check-config/`: the file and the texts its
/// `; expect:` header lines say the error message must contain.
pub struct BadConfig {
    /// The ini file.
    pub path: PathBuf,
    /// Texts the message must contain.
    pub expect: Vec<String>,
}

/// Every `fixtures/e2e/check-config/*.ini`, sorted by name.
pub fn bad_configs() -> Vec<BadConfig> {
    let dir = fixtures_dir().join("e2e/check-config");
    let paths = files_with_extension(&dir, "ini").unwrap_or_else(|e| panic!("{e}"));
    assert!(!paths.is_empty(), "no bad configs in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let expect: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("; expect: "))
                .map(str::to_owned)
                .collect();
            assert!(
                !expect.is_empty(),
                "{} has no `; expect:` line",
                path.display()
            );
            BadConfig { path, expect }
        })
        .collect()
}

/// `check-config --config BAD` (and `run --config BAD`: a bad config never reaches the
/// broker) exits 78 with one message naming the key, the value and what is accepted.
pub async fn bad_configs_exit_78(bin: &str) {
    for bad in bad_configs() {
        for command in ["check-config", "run"] {
            let out = run_cli(
                bin,
                &[
                    "--config".to_owned(),
                    bad.path.display().to_string(),
                    command.to_owned(),
                ],
                &[],
            )
            .await;
            assert_eq!(
                out.code,
                Some(78),
                "{command} --config {}: {out:?}",
                bad.path.display()
            );
            for e in &bad.expect {
                assert!(
                    out.stderr.contains(e.as_str()),
                    "{command} --config {}: the message does not contain {e:?}:\n{}",
                    bad.path.display(),
                    out.stderr
                );
            }
            assert_eq!(
                out.stderr.trim().lines().count(),
                1,
                "one message line: {}",
                out.stderr
            );
        }
    }
}

/// The value and source `check-config --offline` reports for `key`.
pub fn reported(stdout: &str, key: &str) -> Option<String> {
    let what = format!("config {key} ");
    stdout.lines().find_map(|l| {
        let rest = l.strip_prefix("ok")?.trim_start();
        rest.strip_prefix(what.as_str())
            .map(|v| v.trim().to_owned())
    })
}

/// Flags beat the environment, which beats the file; a bad value from the environment or a
/// flag is reported with where it came from; an unknown key is a warning, not an error.
pub async fn config_layers_and_unknown_keys(bin: &str, flavor: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("reader.ini");
    std::fs::write(
        &ini,
        "[kafka]\nbrokers = localhost:9092\ngroup_id = from-file\nmax_inflight = 3\n\n[case_api]\nendpoint = http://127.0.0.1:50051\n",
    )
    .unwrap();
    let config = ["--config".to_owned(), ini.display().to_string()];
    let check = |extra: &[&str]| {
        let mut a = config.to_vec();
        a.extend(args(extra));
        a
    };
    let env_var = ("CASE_READER_KAFKA_GROUP_ID", "from-env");

    let out = run_cli(bin, &check(&["check-config", "--offline"]), &[]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let from_file = reported(&out.stdout, "kafka.group_id").unwrap();
    assert!(
        from_file.starts_with("from-file (file ") && from_file.ends_with("reader.ini)"),
        "{from_file}"
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("warn") && l.contains("config kafka.max_inflight")),
        "an unknown key is a warning naming it:\n{}",
        out.stdout
    );

    // Where a value comes from: (arguments, environment, key, reported value and source).
    let flavor_key = format!("{flavor}.sync_marker");
    let flavor_flag = format!("{flavor_key}=[mirrored]");
    let layers: [(&[&str], Env, &str, &str); 3] = [
        (
            &["check-config", "--offline"],
            &[env_var],
            "kafka.group_id",
            "from-env (environment variable CASE_READER_KAFKA_GROUP_ID)",
        ),
        (
            &[
                "--set",
                "kafka.group_id=from-flag",
                "check-config",
                "--offline",
            ],
            &[env_var],
            "kafka.group_id",
            "from-flag (command line)",
        ),
        // The flavor's own section is a known section.
        (
            &["--set", &flavor_flag, "check-config", "--offline"],
            &[],
            &flavor_key,
            "[mirrored] (command line)",
        ),
    ];
    for (extra, env, key, expected) in layers {
        let out = run_cli(bin, &check(extra), env).await;
        assert_eq!(out.code, Some(0), "{extra:?}: {out:?}");
        assert_eq!(
            reported(&out.stdout, key).as_deref(),
            Some(expected),
            "{extra:?}"
        );
    }

    // A bad value exits 78 with a message naming where it came from: (arguments,
    // environment, texts the message contains).
    let bad_values: [(Vec<String>, Env, &[&str]); 3] = [
        (
            check(&["check-config"]),
            &[("CASE_READER_KAFKA_MAX_IN_FLIGHT", "0")],
            &[
                "kafka.max_in_flight",
                "environment variable CASE_READER_KAFKA_MAX_IN_FLIGHT",
                "\"0\"",
            ],
        ),
        (
            check(&["--set", "kafka.max_in_flight", "check-config"]),
            &[],
            &["--set \"kafka.max_in_flight\""],
        ),
        (
            args(&[
                "--config",
                "/nonexistent/reader.ini",
                "check-config",
                "--offline",
            ]),
            &[],
            &["/nonexistent/reader.ini"],
        ),
    ];
    for (command, env, texts) in bad_values {
        let out = run_cli(bin, &command, env).await;
        assert_eq!(out.code, Some(78), "{out:?}");
        for text in texts {
            assert!(out.stderr.contains(text), "{text:?}: {}", out.stderr);
        }
    }
}

/// One decision `replay --output json` printed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// File (and line).
    pub source: String,
    /// Changelog type tag, empty when it did not decode.
    pub changelog_type: String,
    /// `would_apply`, `filtered`, `decode_error`…
    pub decision: String,
    /// Reason or error.
    pub detail: String,
}

/// Parses `replay --output json` lines.
pub fn decisions(stdout: &str) -> Vec<Decision> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a decision line {l:?}: {e}"))
        })
        .collect()
}

/// Checks decisions against `(source suffix, changelog type, decision, detail fragment)`.
pub fn assert_decisions(got: &[Decision], expected: &[(&str, &str, &str, &str)]) {
    let rendered = || format!("{got:#?}");
    assert_eq!(got.len(), expected.len(), "decisions: {}", rendered());
    for (d, (source, changelog_type, decision, detail)) in got.iter().zip(expected) {
        assert!(
            d.source.ends_with(source),
            "source {} is not …{source}: {}",
            d.source,
            rendered()
        );
        assert_eq!(d.changelog_type, *changelog_type, "{}", rendered());
        assert_eq!(d.decision, *decision, "{}", rendered());
        if detail.is_empty() {
            assert_eq!(d.detail, "", "{}", rendered());
        } else {
            assert!(d.detail.contains(detail), "{}", rendered());
        }
    }
}

/// The same decisions as a table: a header, then one row per decision, in order.
pub fn assert_table_matches(table: &str, expected: &[Decision]) {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    for h in ["SOURCE", "CHANGELOG TYPE", "DECISION", "DETAIL"] {
        assert!(header.contains(h), "table header {header:?}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), expected.len(), "table:\n{table}");
    for (row, d) in rows.iter().zip(expected) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.first(), Some(&d.source.as_str()), "row {row:?}");
        assert!(
            row.contains(&format!(" {} ", d.decision)) || row.ends_with(&d.decision),
            "row {row:?} lacks {}",
            d.decision
        );
        assert!(row.trim_end().ends_with(d.detail.trim()), "row {row:?}");
    }
}

/// Secrets from the configuration (librdkafka credentials from the file and from `--set`;
/// the same redaction covers every key the shell treats as secret)
/// never appear in `check-config` output nor in the logs of a running reader at `trace`
/// level; `check-config` shows them as `<redacted>` and still shows the non-secret
/// pass-through keys. The running reader talks to a real sandbox and to a Kafka address
/// where nothing listens, so its connection errors and retries are logged too.
pub async fn config_secrets_stay_out_of_output(bin: &str, seed: &Path) {
    const FILE_SECRET: &str = "file-secret-3f9a1c-must-not-leak";
    const FLAG_SECRET: &str = "flag-secret-8b27e4-must-not-leak";
    let sandbox = Sandbox::start(seed).await.unwrap();
    let closed = closed_address();
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("reader.ini");
    std::fs::write(
        &ini,
        format!(
            "[kafka]\nbrokers = {closed}\n\n[case_api]\nendpoint = {}\n\n[health]\nbind = 127.0.0.1\nport = 0\n\n\
             [tracing]\nlog_level = trace\n\n\
             [kafka.librdkafka]\nsasl.username = visible-user\nsasl.password = {FILE_SECRET}\n",
            sandbox.url
        ),
    )
    .unwrap();
    let with = |command: &[&str]| {
        let mut a = args(&["--config", ini.to_str().unwrap()]);
        a.extend(args(&[
            "--set",
            &format!("kafka.librdkafka.sasl.oauthbearer.config={FLAG_SECRET}"),
        ]));
        a.extend(args(command));
        a
    };
    let secrets = [FILE_SECRET.to_owned(), FLAG_SECRET.to_owned()];

    // Not offline: the Kafka probe runs on the configuration holding the secrets, and fails
    // (nothing listens), so its error path is covered too.
    let out = run_cli(bin, &with(&["check-config"]), &[]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout.lines().any(|l| l.starts_with("fail  kafka")),
        "the unreachable broker is reported:\n{}",
        out.stdout
    );
    for secret in &secrets {
        assert!(
            !out.stdout.contains(secret.as_str()) && !out.stderr.contains(secret.as_str()),
            "check-config printed a secret:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    for key in [
        "kafka.librdkafka.sasl.password",
        "kafka.librdkafka.sasl.oauthbearer.config",
    ] {
        let shown = reported(&out.stdout, key)
            .unwrap_or_else(|| panic!("check-config does not list {key}:\n{}", out.stdout));
        assert!(shown.starts_with("<redacted> ("), "{key}: {shown}");
    }
    assert!(
        reported(&out.stdout, "kafka.librdkafka.sasl.username")
            .is_some_and(|v| v.starts_with("visible-user (")),
        "a non-secret pass-through key is shown as it is:\n{}",
        out.stdout
    );

    let mut reader = spawn_reader("reader-secrets", bin, &with(&["run"]), &[]);
    // Wait until the reader has logged its Kafka connection failures (the consumer is built
    // from the configuration holding the secrets, and librdkafka reports the refused
    // connection), so the lines checked cover start-up, configuration and error paths.
    let port = closed.port().to_string();
    wait_for_log_line(
        &mut reader,
        &format!("a log line about the unreachable Kafka broker {closed}"),
        Duration::from_secs(60),
        Duration::from_millis(50),
        |l| {
            l.contains(&port)
                && (l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
        },
    )
    .await;
    reader.sigterm().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        reader.wait_exit(EXIT_LIMIT).await.is_some(),
        "the reader did not exit within {EXIT_LIMIT:?} of SIGTERM\n{}",
        reader.tail(40)
    );
    assert!(
        reader.lines().len() > 10,
        "a trace-level run logs more than this:\n{}",
        reader.tail(40)
    );
    assert_logs_free_of(&reader, &secrets);
}

/// SIGTERM while the reader is still starting (its Case API is unreachable, so it is warming
/// its caches with retries) drains and exits 0, instead of the default action killing it.
pub async fn sigterm_during_start_up_exits_0(bin: &str) {
    let closed = closed_address();
    let run = args(&[
        "--set",
        &format!("kafka.brokers={closed}"),
        "--set",
        &format!("case_api.endpoint=http://{closed}"),
        "--set",
        "health.bind=127.0.0.1",
        "--set",
        "health.port=0",
        "run",
    ]);
    let mut reader = spawn_reader("reader-starting", bin, &run, &[]);
    wait_for_log_line(
        &mut reader,
        "the `health server listening` line",
        Duration::from_secs(30),
        Duration::from_millis(10),
        |l| l.contains("health server listening"),
    )
    .await;
    assert!(
        !reader
            .lines()
            .iter()
            .any(|l| l.contains("metadata caches warmed")
                || l.contains("warming the metadata caches failed")),
        "the reader must still be warming its caches when SIGTERM arrives:\n{}",
        reader.tail(20)
    );
    stop_with_sigterm(&mut reader).await;
}

/// A loopback address that was free a moment ago: nothing listens there.
fn closed_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()))
}

/// Polls `reader`'s log every `poll` until a line `matches`, failing (with the log tail) if
/// the reader exits first or nothing matches within `limit`.
async fn wait_for_log_line(
    reader: &mut ReaderProcess,
    what: &str,
    limit: Duration,
    poll: Duration,
    matches: impl Fn(&str) -> bool,
) {
    let started = Instant::now();
    while !reader.lines().iter().any(|l| matches(l)) {
        if let Some(status) = reader.try_exit() {
            panic!(
                "the reader exited ({status}) before {what}\n{}",
                reader.tail(40)
            );
        }
        assert!(
            started.elapsed() < limit,
            "no {what} within {limit:?}\n{}",
            reader.tail(40)
        );
        tokio::time::sleep(poll).await;
    }
}
