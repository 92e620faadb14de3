//! A TCP proxy in front of Tansu: the broker "restarts" for clients when it cuts them (this
//! Tansu build has no local persistent storage engine, so restarting the process would lose
//! the topic).

use anyhow::{Context, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The in-process TCP proxy the readers and the producer reach the broker through.
pub(super) struct Proxy {
    pub(super) port: u16,
    listener: Mutex<Option<tokio::net::TcpListener>>,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    /// Binds a loopback port; nothing is forwarded before [`Self::start`].
    pub(super) async fn bind() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the broker proxy")?;
        Ok(Self {
            port: listener.local_addr()?.port(),
            listener: Mutex::new(Some(listener)),
            up: Arc::new(AtomicBool::new(true)),
            conns: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Forwards every accepted connection to the broker on loopback port `upstream`.
    pub(super) fn start(&self, upstream: u16) {
        let Some(listener) = self.listener.lock().ok().and_then(|mut l| l.take()) else {
            return;
        };
        let up = self.up.clone();
        let conns = self.conns.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut c) = conns.lock() {
                    c.retain(|h| !h.is_finished());
                    c.push(task.abort_handle());
                }
            }
        });
    }

    /// Up: connections pass. Down: every open connection is cut, new ones are closed at once.
    pub(super) fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up && let Ok(mut c) = self.conns.lock() {
            for h in c.drain(..) {
                h.abort();
            }
        }
    }
}
