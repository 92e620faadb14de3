//! Loopback networking: free ports and a tiny HTTP/1.1 GET for health servers.

use crate::error::{HarnessError, io, joined};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// A loopback port that was free a moment ago (nothing listens there now).
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io("finding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io("reading the free port"))?
        .port();
    Ok(port)
}

/// The last 20 lines of a child process's log file (empty when it cannot be read).
pub(crate) fn log_tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    lines.get(start..).unwrap_or_default().join("\n")
}

/// Waits until `child` accepts connections on loopback `port`, for at most `limit`. `Err`
/// says why not (it exited, or the port stayed closed), with the tail of its `log`.
pub(crate) fn wait_listening(
    child: &mut std::process::Child,
    port: u16,
    log: &std::path::Path,
    limit: Duration,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Ok(Some(exit)) = child.try_wait() {
            return Err(format!("exited with {exit}; log tail:\n{}", log_tail(log)));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "port {port} not accepting connections after {limit:?}; log tail:\n{}",
                log_tail(log)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a GET answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body (everything after the header block).
    pub body: String,
}

/// `GET path` on `addr`, blocking: plain HTTP/1.1 over a std socket (`Connection: close`),
/// connecting within `connect` and reading within `read`.
pub fn get_blocking(
    addr: SocketAddr,
    path: &str,
    connect: Duration,
    read: Duration,
) -> Result<HttpResponse, HarnessError> {
    let action = || format!("GET http://{addr}{path}");
    let mut stream = TcpStream::connect_timeout(&addr, connect).map_err(io(action()))?;
    stream.set_read_timeout(Some(read)).map_err(io(action()))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(io(action()))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(io(action()))?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| HarnessError::Io {
            action: action(),
            source: std::io::Error::other(format!("not an HTTP response: {response:?}")),
        })?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok(HttpResponse { status, body })
}

/// [`get_blocking`] off the async runtime's threads (an in-process server on the same
/// runtime keeps serving), with generous timeouts (5 s connect, 10 s read).
pub async fn get(addr: SocketAddr, path: &str) -> Result<HttpResponse, HarnessError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        get_blocking(addr, &path, Duration::from_secs(5), Duration::from_secs(10))
    })
    .await
    .map_err(joined("an HTTP GET"))?
}
