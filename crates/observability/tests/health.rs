//! The health endpoints over real HTTP/1.1 on a loopback TCP socket.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use observability::{HealthState, MetricsExporters, TelemetryConfig, serve_health};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// Sends one request and returns (status, body).
async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("{method} {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path).await
}

#[tokio::test(start_paused = true)]
async fn probes_follow_start_stall_and_drain() {
    let state = HealthState::new(Duration::from_secs(30));
    let server = serve_health(LOOPBACK.into(), state.clone(), None)
        .await
        .unwrap();
    let addr = server.local_addr();

    assert_eq!(get(addr, "/readiness").await, (503, "not ready\n".into()));
    assert_eq!(
        get(addr, "/liveness").await.0,
        200,
        "live before the consumer joined"
    );

    // Started: consumer joined, Case API answered.
    state.set_ready(true);
    assert_eq!(get(addr, "/readiness").await, (200, "ready\n".into()));

    // Work pending and progress made: live.
    state.set_pending(true);
    state.heartbeat();
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(get(addr, "/liveness").await.0, 200);

    // No progress past the stall timeout while work is pending: not live.
    tokio::time::advance(Duration::from_secs(11)).await;
    let (status, body) = get(addr, "/liveness").await;
    assert_eq!(status, 503);
    assert!(body.starts_with("stalled"), "{body}");

    // Progress again: live again. Idle (no work) is live however long.
    state.heartbeat();
    assert_eq!(get(addr, "/liveness").await.0, 200);
    state.set_pending(false);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(get(addr, "/liveness").await.0, 200);

    // Draining: not ready any more, still live.
    state.set_draining();
    assert_eq!(get(addr, "/readiness").await, (503, "draining\n".into()));
    assert_eq!(get(addr, "/liveness").await.0, 200);

    // Prometheus is off here.
    assert_eq!(get(addr, "/metrics").await.0, 404);
    assert_eq!(get(addr, "/nope").await.0, 404);
    assert_eq!(request(addr, "POST", "/readiness").await.0, 405);

    server.shutdown().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn metrics_serves_prometheus_text_when_enabled() {
    let config = TelemetryConfig {
        prometheus: true,
        global_tags: vec![("env".into(), "test".into())],
        ..TelemetryConfig::new("jira")
    };
    let exporters = MetricsExporters::build(&config).unwrap();
    metrics::with_local_recorder(exporters.recorder(), || {
        observability::names::describe_metrics();
        metrics::counter!(
            observability::names::CHANGELOG_PROCESSED,
            "flavor" => "jira", "org_id" => "42", "changelog_type" => "update_status"
        )
        .increment(3);
        metrics::histogram!(observability::names::END_TO_END_LATENCY, "flavor" => "jira")
            .record(1_500.0);
    });
    let server = serve_health(
        LOOPBACK.into(),
        HealthState::new(Duration::from_secs(30)),
        exporters.prometheus_handle(),
    )
    .await
    .unwrap();

    let (status, body) = get(server.local_addr(), "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("# TYPE dd_case_third_party_reader_changelog_processed counter"),
        "{body}"
    );
    assert!(
        body.contains(
            "dd_case_third_party_reader_changelog_processed{env=\"test\",service=\"case-third-party-reader\",flavor=\"jira\",org_id=\"42\",changelog_type=\"update_status\"} 3"
        ),
        "{body}"
    );
    assert!(
        body.contains("case_case_third_party_reader_end_to_end_latency_bucket{env=\"test\",service=\"case-third-party-reader\",flavor=\"jira\",le=\"2500\"} 1"),
        "latency is a histogram with millisecond buckets: {body}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_is_a_retryable_bind_error() {
    let first = serve_health(
        LOOPBACK.into(),
        HealthState::new(Duration::from_secs(1)),
        None,
    )
    .await
    .unwrap();
    let err = serve_health(
        first.local_addr(),
        HealthState::new(Duration::from_secs(1)),
        None,
    )
    .await
    .expect_err("the port is taken");
    assert!(err.is_retryable());
    assert!(
        err.to_string().contains(&first.local_addr().to_string()),
        "{err}"
    );
    first.shutdown().await;
}
