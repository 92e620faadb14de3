//! The Case Management gRPC API for the readers: [`CaseClient`] implements
//! [`thirdparty_core::CaseApi`] over tonic, with a per-call deadline, retries of transient
//! failures (exponential backoff, full jitter, bounded attempts and elapsed time), a
//! settings cache (TTL + capacity), and TLS / mutual TLS through rustls (`ring`).
//!
//! The wire contract (generated protobuf types and clients, conversions to and from the
//! `thirdparty-core` types, the gRPC status mapping, PEM checks) is `case-proto`'s; this
//! crate only calls it. `case-sandbox` serves the same contract.
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
//! A Case API that requires a token gets `authorization: Bearer <token>` on every call with
//! [`CaseClientConfig::with_auth_token`] ([`AuthToken::File`] for a mounted secret, read again
//! when it changes).
//!
//! For TLS, use an `https://` endpoint and [`TlsConfig`] (the CA PEM, optionally a client
//! certificate and key, optionally the server name to check). Invalid endpoints and PEM
//! fail at [`CaseClient::connect`]; the connection itself opens lazily on the first call.

pub mod auth;
pub mod client;
pub mod config;

/// PEM checks and the rustls crypto provider of this build (`case-proto`'s, re-exported for
/// the binaries that log and check it).
pub use case_proto::tls;

pub use auth::AuthToken;
pub use client::CaseClient;
pub use config::{CaseClientConfig, ClientIdentity, ConnectError, RetryPolicy, TlsConfig};
