//! The Case Management gRPC API for the readers: [`CaseClient`] implements
//! [`thirdparty_core::CaseApi`] over tonic, with a per-call deadline, retries of transient
//! failures (exponential backoff, full jitter, bounded attempts and elapsed time), a
//! settings cache (TTL + capacity), and TLS / mutual TLS through rustls (`ring`).
//!
//! The crate also owns the wire contract: [`proto`] is the code generated from
//! `proto/case_management/v1/*.proto` (no system `protoc`: `protox` compiles it in
//! `build.rs`) and [`wire`] converts between it and the `thirdparty-core` types and maps
//! gRPC statuses to [`thirdparty_core::CaseApiError`]. `case-sandbox` serves the same types.
//!
//! ```
//! use case_client::{CaseClient, CaseClientConfig};
//! use case_sandbox::{Rpc, Store};
//! use thirdparty_core::{CaseApi, OrgId, ProjectId};
//!
//! # tokio::runtime::Runtime::new().unwrap_or_else(|_| std::process::abort()).block_on(async {
//! // A reference server on a free loopback port, seeded with the demo fixture.
//! let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cases/demo.json");
//! let store = Store::load_seed_file(std::path::Path::new(seed))?;
//! let server = case_sandbox::serve("127.0.0.1:0".parse()?, store.clone()).await?;
//!
//! let client = CaseClient::connect(CaseClientConfig::new(server.url()))?;
//! let project = ProjectId::from("proj-support");
//! for _ in 0..10 {
//!     let settings = client.get_project_settings(OrgId(1), &project, "jira").await?;
//!     assert!(settings.is_some());
//! }
//! assert_eq!(store.calls(Rpc::GetProjectSettings), 1, "the rest came from the cache");
//!
//! server.shutdown().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap_or_else(|_| std::process::abort());
//! ```
//!
//! For TLS, use an `https://` endpoint and [`TlsConfig`] (the CA PEM, optionally a client
//! certificate and key, optionally the server name to check). Invalid endpoints and PEM
//! fail at [`CaseClient::connect`]; the connection itself opens lazily on the first call.

pub mod client;
pub mod config;
pub mod proto;
pub mod tls;
pub mod wire;

pub use client::CaseClient;
pub use config::{CaseClientConfig, ClientIdentity, ConnectError, RetryPolicy, TlsConfig};
