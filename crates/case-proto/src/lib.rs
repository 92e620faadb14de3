//! The one crate that knows protobuf: the Case Management wire contract, shared by
//! `case-client` (the readers' gRPC client) and `case-sandbox` (the reference server).
//!
//! - [`case_management::v1`]: the messages generated from `proto/case_management/v1/*.proto`
//!   (no system `protoc`: `protox` compiles them in `build.rs`), with the `Cases`,
//!   `Settings` and `Users` clients (feature `client`) and server traits (feature `server`).
//!   Messages that carry free text (`Case`, `NewTimelineCell`, `FieldUpdate`) have a `Debug`
//!   that prints lengths instead of the text, so logging one cannot leak user data.
//! - [`case_sandbox::v1`]: the sandbox's test-control `Admin` service
//!   (`proto/case_sandbox/v1/admin.proto`), client and server behind the same features.
//! - [`google::rpc`]: the richer error model's `Status`, carried in `grpc-status-details-bin`.
//! - [`wire`]: conversions between the messages and the `thirdparty-core` types.
//! - [`status`]: gRPC statuses ↔ [`thirdparty_core::CaseApiError`].
//! - [`tls`]: PEM checks and the rustls crypto provider (AWS-LC FIPS with feature `fips`).
//!
//! A core type goes to its wire form and back unchanged; a server's error becomes a status
//! the client turns back into the same error:
//!
//! ```
//! use case_proto::case_management::v1;
//! use case_proto::status::{case_api_error, status_from_case_api_error};
//! use chrono::Utc;
//! use thirdparty_core::{
//!     Case, CaseApiError, CaseId, CaseUpdate, CaseVersion, FieldStamp, FieldUpdate, OrgId,
//!     ProjectId, Text,
//! };
//!
//! let case = Case {
//!     id: CaseId::from("case-1"), org_id: OrgId(1), version: CaseVersion(3),
//!     project_id: ProjectId::from("proj-1"), title: Text::new("Printer on fire"),
//!     description: Text::default(), priority: Some("P3".into()), status: "OPEN".into(),
//!     assignee: None, due_date: None, created_at: Utc::now(),
//!     third_party_links: vec![], field_stamps: Default::default(),
//! };
//! let on_the_wire = v1::Case::from(&case);
//! assert!(!format!("{on_the_wire:?}").contains("Printer"), "Debug hides the title");
//! assert_eq!(Case::try_from(on_the_wire)?, case);
//!
//! let update = CaseUpdate {
//!     org_id: OrgId(1), case_id: CaseId::from("case-1"), expected_version: CaseVersion(2),
//!     update: FieldUpdate::Priority(Some("P1".into())),
//!     stamp: FieldStamp { event_time: Utc::now(), sequence: None }, source: "jira".into(),
//! };
//! let conflict = CaseApiError::VersionConflict {
//!     case_id: CaseId::from("case-1"), expected: CaseVersion(2), actual: Some(CaseVersion(3)),
//! };
//! let status = status_from_case_api_error(&conflict);
//! assert_eq!(status.code(), tonic::Code::Aborted);
//! assert_eq!(case_api_error("UpdateCase", &status, Some(&update)), conflict);
//! # Ok::<(), case_proto::wire::WireError>(())
//! ```

mod redact;
pub mod status;
pub mod tls;
pub mod wire;

/// `case_management`: the Case Management API.
pub mod case_management {
    /// `case_management.v1`: messages, and the `Cases` / `Settings` / `Users` services.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("case_management.v1");
    }
}

/// `case_sandbox`: the sandbox's own test-control API, never part of Case Management.
pub mod case_sandbox {
    /// `case_sandbox.v1`: the `Admin` service (fault injection, call counters, state dumps,
    /// concurrent edits, seeding). Case Management messages inside it are
    /// [`case_management::v1`](crate::case_management::v1) types.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("case_sandbox.v1");
    }
}

/// `google`: the Google API types the contract uses.
pub mod google {
    /// `google.rpc`: the richer error model's `Status`, carried in `grpc-status-details-bin`.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}
