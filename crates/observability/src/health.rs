//! The health server: `GET /liveness`, `GET /readiness` and (optionally) `GET /metrics`
//! over HTTP/1.1 (hyper 1), driven by a shared [`HealthState`].

use crate::TelemetryError;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// The default port of the health server (the previous service's probes use 8080).
pub const DEFAULT_HEALTH_PORT: u16 = 8080;

#[derive(Debug)]
struct HealthInner {
    ready: AtomicBool,
    draining: AtomicBool,
    pending: AtomicBool,
    last_progress: Mutex<Instant>,
    stall_timeout: Duration,
}

/// What the probes report, shared by the consume loop and the health server (cheap to
/// clone: an `Arc` inside).
///
/// - Liveness fails only when work is pending and the loop has made no progress
///   ([`HealthState::heartbeat`]) for longer than the stall timeout. An idle consumer is
///   live.
/// - Readiness is what the binary set with [`HealthState::set_ready`] (consumer joined its
///   group and the Case API answered), and false for good once
///   [`HealthState::set_draining`] was called.
///
/// Time is tokio's clock, so tests can pause and advance it.
///
/// ```
/// use std::time::Duration;
/// use observability::HealthState;
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let health = HealthState::new(Duration::from_secs(60));
/// assert!(!health.readiness());
/// health.set_ready(true);
/// assert!(health.readiness());
///
/// health.set_pending(true);
/// health.heartbeat();
/// tokio::time::advance(Duration::from_secs(61)).await;
/// assert!(!health.liveness(tokio::time::Instant::now()), "stalled with work pending");
/// health.heartbeat();
/// assert!(health.liveness(tokio::time::Instant::now()));
///
/// health.set_draining();
/// assert!(!health.readiness());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct HealthState {
    inner: Arc<HealthInner>,
}

impl HealthState {
    /// A state that is not ready, has no pending work, and calls the loop stalled after
    /// `stall_timeout` without progress while work is pending.
    pub fn new(stall_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(HealthInner {
                ready: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                pending: AtomicBool::new(false),
                last_progress: Mutex::new(Instant::now()),
                stall_timeout,
            }),
        }
    }

    /// Marks the service ready (or not): consumer in its group, Case API answering.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
    }

    /// Marks the service as shutting down: readiness stays false from now on.
    pub fn set_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`HealthState::set_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Records progress of the consume loop (a record handled, a poll returned).
    pub fn heartbeat(&self) {
        *self
            .inner
            .last_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// Says whether work is waiting (records fetched or assigned partitions with lag).
    /// Going from no work to work counts as progress, so an idle period is not a stall.
    pub fn set_pending(&self, pending: bool) {
        let was = self.inner.pending.swap(pending, Ordering::SeqCst);
        if pending && !was {
            self.heartbeat();
        }
    }

    /// Whether work is waiting.
    pub fn is_pending(&self) -> bool {
        self.inner.pending.load(Ordering::SeqCst)
    }

    /// The stall timeout.
    pub fn stall_timeout(&self) -> Duration {
        self.inner.stall_timeout
    }

    /// How long since the last progress, at `now`.
    pub fn since_progress(&self, now: Instant) -> Duration {
        let last = *self
            .inner
            .last_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        now.saturating_duration_since(last)
    }

    /// Live unless work is pending and no progress was made for longer than the stall
    /// timeout, at `now`.
    pub fn liveness(&self, now: Instant) -> bool {
        !(self.is_pending() && self.since_progress(now) > self.inner.stall_timeout)
    }

    /// Ready when set ready and not draining.
    pub fn readiness(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst) && !self.is_draining()
    }
}

/// A running health server. [`HealthServer::shutdown`] stops it; dropping it stops it too.
#[derive(Debug)]
pub struct HealthServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl HealthServer {
    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes open connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves `GET /liveness`, `GET /readiness` (200 or 503, plain text) and — when a
/// Prometheus handle is given — `GET /metrics` (Prometheus text format; 404 otherwise) on
/// `addr`. Must be called inside a tokio runtime; the server runs on it until
/// [`HealthServer::shutdown`].
pub async fn serve_health(
    addr: SocketAddr,
    state: HealthState,
    prometheus: Option<PrometheusHandle>,
) -> Result<HealthServer, TelemetryError> {
    let bind_error = |source| TelemetryError::HealthBind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    let (stop, stopped) = watch::channel(false);
    let routes = Arc::new(Routes { state, prometheus });
    let task = tokio::spawn(accept_loop(listener, routes, stopped));
    tracing::info!(addr = %local_addr, "health server listening");
    Ok(HealthServer {
        local_addr,
        stop,
        task: Some(task),
    })
}

struct Routes {
    state: HealthState,
    prometheus: Option<PrometheusHandle>,
}

async fn accept_loop(
    listener: TcpListener,
    routes: Arc<Routes>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let routes = routes.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |req| {
                            let routes = routes.clone();
                            async move { Ok::<_, Infallible>(routes.respond(&req)) }
                        });
                        if let Err(e) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            tracing::debug!(error = %e, "health connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %e, "health server cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    tracing::info!("health server stopped");
}

impl Routes {
    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "only GET is served here\n".to_owned(),
            );
        }
        match req.uri().path() {
            "/liveness" => {
                let now = Instant::now();
                if self.state.liveness(now) {
                    text(StatusCode::OK, "live\n".to_owned())
                } else {
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "stalled: work is pending and the consume loop made no progress for {}s (limit {}s)\n",
                            self.state.since_progress(now).as_secs(),
                            self.state.stall_timeout().as_secs()
                        ),
                    )
                }
            }
            "/readiness" => {
                if self.state.readiness() {
                    text(StatusCode::OK, "ready\n".to_owned())
                } else if self.state.is_draining() {
                    text(StatusCode::SERVICE_UNAVAILABLE, "draining\n".to_owned())
                } else {
                    text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".to_owned())
                }
            }
            "/metrics" => match &self.prometheus {
                Some(handle) => {
                    let mut response = text(StatusCode::OK, handle.render());
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        header::HeaderValue::from_static("text/plain; version=0.0.4"),
                    );
                    response
                }
                None => text(
                    StatusCode::NOT_FOUND,
                    "Prometheus metrics are disabled; enable them in the telemetry configuration\n"
                        .to_owned(),
                ),
            },
            _ => text(
                StatusCode::NOT_FOUND,
                "not found; try /liveness, /readiness or /metrics\n".to_owned(),
            ),
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_is_live_and_the_start_of_work_is_progress() {
        let state = HealthState::new(Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(state.liveness(Instant::now()), "idle for an hour is live");
        state.set_pending(true);
        assert!(state.liveness(Instant::now()), "work just arrived");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!state.liveness(Instant::now()));
        state.set_pending(false);
        assert!(state.liveness(Instant::now()), "no work left");
    }

    #[test]
    fn draining_is_final() {
        let state = HealthState::new(Duration::from_secs(10));
        state.set_ready(true);
        state.set_draining();
        state.set_ready(true);
        assert!(!state.readiness());
    }
}
