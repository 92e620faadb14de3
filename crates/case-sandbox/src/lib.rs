//! A reference Case Management for tests, the demo and benchmarks: one in-memory [`Store`]
//! (cases with real optimistic locking, idempotent timeline cells, project settings,
//! integration metadata, users), with per-RPC call counters and fault injection.
//!
//! The [`Store`] implements [`thirdparty_core::CaseApi`] directly, so integration crates can
//! test their filterers and processors without a network:
//!
//! ```
//! use case_sandbox::{FaultStatus, Rpc, Store};
//! use chrono::Utc;
//! use thirdparty_core::*;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build()
//! #     .unwrap_or_else(|_| std::process::abort()).block_on(async {
//! let store = Store::new();
//! store.insert_case(Case {
//!     id: CaseId::from("case-1"), org_id: OrgId(1), version: CaseVersion(3),
//!     project_id: ProjectId::from("proj-1"), title: Text::new("Printer on fire"),
//!     description: Text::default(), priority: Some("P3".into()), status: "OPEN".into(),
//!     assignee: None, due_date: None, created_at: Utc::now(),
//!     third_party_links: vec![], field_stamps: Default::default(),
//! });
//!
//! let update = CaseUpdate {
//!     org_id: OrgId(1), case_id: CaseId::from("case-1"), expected_version: CaseVersion(3),
//!     update: FieldUpdate::Priority(Some("P1".into())),
//!     stamp: FieldStamp { event_time: Utc::now(), sequence: None }, source: "jira".into(),
//! };
//! let case = store.update_case(&update).await?;
//! assert_eq!(case.version, CaseVersion(4));
//!
//! // The same update again is stale now.
//! let stale = store.update_case(&update).await;
//! assert!(matches!(stale, Err(CaseApiError::VersionConflict { actual: Some(CaseVersion(4)), .. })));
//!
//! // Fault injection: the next GetCase fails UNAVAILABLE; every call is counted.
//! store.faults().fail_next(Rpc::GetCase, 1, FaultStatus::Unavailable);
//! assert!(store.get_case(OrgId(1), &CaseId::from("case-1")).await.is_err());
//! assert!(store.get_case(OrgId(1), &CaseId::from("case-1")).await?.is_some());
//! assert_eq!(store.calls(Rpc::GetCase), 2);
//! assert_eq!(store.calls(Rpc::UpdateCase), 2);
//! # Ok::<(), CaseApiError>(())
//! # }).unwrap_or_else(|_| std::process::abort());
//! ```
//!
//! Seeds are JSON files (a [`Seed`]; format in `fixtures/cases/README.md`), loaded with
//! [`Store::load_seed_file`] or [`Store::load_seed_dir`].
//!
//! Over the network, [`serve`] (or [`serve_tls`], [`serve_listener`]) runs a real tonic
//! server over the same store: the Case Management `Cases`, `Settings` and `Users`
//! services of `proto/case_management/v1`, where a [`CaseApiError`](thirdparty_core::CaseApiError)
//! becomes its gRPC status (a version conflict is `ABORTED` with the current version in the
//! details) and an injected fault becomes the status of the same name; plus the sandbox's
//! own `Admin` service (`proto/case_sandbox/v1/admin.proto`; its client is
//! `case_proto::case_sandbox::v1::admin_client`, feature `client`) to inject faults, read counters, dump state, edit cases and load
//! seeds from another process. The `case-sandbox` binary runs it as a process:
//!
//! ```text
//! case-sandbox --listen 127.0.0.1:50051 --seed-dir fixtures/cases [--latency-ms 20]
//!              [--tls-cert cert.pem --tls-key key.pem [--client-ca ca.pem]]
//! ```
//!
//! It prints `listening on <addr>` on stdout once bound and exits cleanly on SIGTERM/SIGINT.

/// Declares a fieldless enum whose variants each have a wire name, with `ALL` (every variant
/// in declaration order), `as_str` (the name), `from_name` (its inverse) and `Display` (the
/// name). Used by [`Rpc`] and [`FaultStatus`].
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
        all: $all_doc:literal,
        as_str: $as_str_doc:literal,
        from_name: $from_name_doc:literal,
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            #[doc = $all_doc]
            pub const ALL: [$name; [$(Self::$variant),+].len()] = [$(Self::$variant),+];

            #[doc = $as_str_doc]
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            #[doc = $from_name_doc]
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Writes a tonic service impl from a table, one row a method: its request and response
/// messages, then `|server, request|` and the expression answering it.
macro_rules! grpc_service {
    ($service:ident for $server:ty {
        $($method:ident($request:ty) -> $response:ty => |$this:ident, $req:ident| $answer:expr;)+
    }) => {
        #[tonic::async_trait]
        impl $service for $server {
            $(async fn $method(&self, $req: tonic::Request<$request>) -> Result<tonic::Response<$response>, tonic::Status> {
                let $this = self;
                $answer
            })+
        }
    };
}

pub mod admin;
mod faults;
mod seed;
mod server;
mod store;

pub use admin::AdminService;
pub use faults::{FaultStatus, Faults};
pub use seed::{SandboxUser, Seed, SeedError};
pub use server::{ServeError, ServerHandle, ServerTls, serve, serve_listener, serve_tls};
pub use store::{Rpc, Store};
