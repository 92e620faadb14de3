#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The `case-sandbox` binary: prints its address, serves the seed, exits on SIGTERM.

#![cfg(unix)]

use case_proto::case_management::v1;
use case_proto::case_management::v1::cases_client::CasesClient;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cases");

/// Kills the child if a test fails before it exits by itself.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_case-sandbox"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the case-sandbox binary must start");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first stdout line must be `listening on ADDR`, got {line:?}"))
        .to_owned();
    (running, addr)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("`kill` must be available to signal the sandbox");
    assert!(status.success());
}

#[tokio::test]
async fn serves_the_seed_dir_and_exits_cleanly_on_sigterm_and_sigint() {
    for sig in ["TERM", "INT"] {
        let (mut running, addr) = spawn(&[
            "--listen",
            "127.0.0.1:0",
            "--seed-dir",
            CASES_DIR,
            "--latency-ms",
            "1",
        ]);
        let mut cases = CasesClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let found = cases
            .find_case_by_third_party(v1::FindCaseByThirdPartyRequest {
                org_id: 1,
                integration: "jira".into(),
                account_id: "jira-site-1".into(),
                item_id: "10001".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            found.case.unwrap().third_party_links[0].item_key.as_deref(),
            Some("PROJ-1")
        );
        drop(cases);

        signal(&running.0, sig);
        // Wait off the runtime thread, so the client's connection tasks can still run and
        // close the connection when the server says goodbye.
        let (running_back, status) = tokio::task::spawn_blocking(move || {
            let status = running.0.wait();
            (running, status)
        })
        .await
        .unwrap();
        let status = status.unwrap();
        assert!(status.success(), "SIG{sig}: exit status {status}");
        drop(running_back);
    }
}

#[test]
fn a_bad_seed_dir_fails_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_case-sandbox"))
        .args(["--listen", "127.0.0.1:0", "--seed-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no *.json file"), "{stderr}");
}

#[tokio::test]
async fn require_token_refuses_calls_without_the_token_and_follows_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let token = tmp.path().join("token");
    std::fs::write(&token, "first-token\n").unwrap();
    let (_running, addr) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--seed-dir",
        CASES_DIR,
        "--require-token",
        token.to_str().unwrap(),
    ]);
    let mut cases = CasesClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let get = |bearer: Option<&str>| {
        let mut request = tonic::Request::new(v1::GetCaseRequest {
            org_id: 1,
            ..Default::default()
        });
        if let Some(b) = bearer {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {b}").parse().unwrap());
        }
        request
    };
    let code = |r: Result<_, tonic::Status>| r.map(|_| ()).map_err(|s| s.code());
    assert_eq!(
        code(cases.get_case(get(None)).await),
        Err(tonic::Code::Unauthenticated)
    );
    assert_eq!(
        code(cases.get_case(get(Some("wrong"))).await),
        Err(tonic::Code::PermissionDenied)
    );
    // With the token the call reaches the store (an unknown case: NOT_FOUND or OK-empty,
    // never an authentication error).
    let with_token = code(cases.get_case(get(Some("first-token"))).await);
    assert!(
        !matches!(
            with_token,
            Err(tonic::Code::Unauthenticated | tonic::Code::PermissionDenied)
        ),
        "{with_token:?}"
    );
    // A rotated file is picked up within the 500 ms re-read.
    std::fs::write(&token, "second-token").unwrap();
    let started = std::time::Instant::now();
    while code(cases.get_case(get(Some("second-token"))).await)
        == Err(tonic::Code::PermissionDenied)
    {
        assert!(
            started.elapsed().as_secs() < 10,
            "the new token was never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        code(cases.get_case(get(Some("first-token"))).await),
        Err(tonic::Code::PermissionDenied)
    );
}
