//! `case-sandbox`: runs the reference Case Management gRPC server as a process.
//!
//! ```text
//! case-sandbox --listen 127.0.0.1:50051 --seed-dir fixtures/cases [--latency-ms 20]
//!              [--tls-cert server.pem --tls-key server.key [--client-ca ca.pem]]
//!              [--require-token token.txt]
//! ```
//! Prints `listening on <addr>` on stdout once bound; exits cleanly on SIGTERM or SIGINT.

use anyhow::Context;
use case_sandbox::{ServerTls, Store};
use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The reference Case Management gRPC server (in memory, with fault injection).
#[derive(Debug, Parser)]
#[command(name = "case-sandbox", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:50051", env = "CASE_SANDBOX_LISTEN")]
    listen: SocketAddr,
    /// Folder of seed files (`*.json`, see fixtures/cases/README.md); empty store if absent.
    #[arg(long, env = "CASE_SANDBOX_SEED_DIR")]
    seed_dir: Option<PathBuf>,
    /// Latency added to every Case Management call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Server certificate PEM (enables TLS; needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Server private key PEM.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA PEM that client certificates must chain to (enables mutual TLS).
    #[arg(long, requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// File holding the bearer token every Case Management call must carry (surrounding
    /// white space ignored); re-read every 500 ms, so replacing it rotates the token. Calls
    /// without it get UNAUTHENTICATED, with another token PERMISSION_DENIED.
    #[arg(long, value_name = "FILE")]
    require_token: Option<PathBuf>,
}

/// The token in `path`, trimmed; an empty file is an error.
fn read_token(path: &PathBuf) -> anyhow::Result<String> {
    let text = String::from_utf8(read(path)?)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    let token = text.trim();
    anyhow::ensure!(!token.is_empty(), "{} holds no token", path.display());
    Ok(token.to_owned())
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();

    let store = match &args.seed_dir {
        Some(dir) => Store::load_seed_dir(dir)?,
        None => Store::new(),
    };
    store
        .faults()
        .set_latency(Duration::from_millis(args.latency_ms));
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ServerTls {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            client_ca_pem: args.client_ca.as_ref().map(read).transpose()?,
        }),
        _ => None,
    };
    if let Some(path) = args.require_token.clone() {
        store.require_token(Some(read_token(&path)?));
        let store = store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                match read_token(&path) {
                    Ok(token) if store.required_token().as_deref() != Some(token.as_str()) => {
                        tracing::info!("case-sandbox: the required token changed");
                        store.require_token(Some(token));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("case-sandbox: keeping the last token: {e:#}"),
                }
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let server = case_sandbox::serve_listener(listener, store.clone(), tls).await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", server.local_addr())?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(cases = store.cases().len(), addr = %server.local_addr(), "case-sandbox ready");

    wait_for_signal().await?;
    tracing::info!("case-sandbox: shutting down");
    server.shutdown().await?;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r.context("cannot listen for SIGINT")?,
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")
}
