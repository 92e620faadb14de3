//! gRPC statuses ↔ [`CaseApiError`]: the status a server answers for an error (a version
//! conflict is `ABORTED` with a [`v1::VersionConflict`] in the details), and the error a
//! client reads from a status, including which codes are worth retrying.

use crate::case_management::v1;
use crate::google::rpc;
use prost::Message;
use thirdparty_core::{CaseApiError, CaseId, CaseUpdate, CaseVersion};
use tonic::{Code, Status};

/// The full protobuf name of [`v1::VersionConflict`], for `Any` type URLs.
pub const VERSION_CONFLICT_TYPE_URL: &str =
    "type.googleapis.com/case_management.v1.VersionConflict";

/// The `ABORTED` status of a stale `UpdateCase`: the message names the current version and
/// the details carry a [`v1::VersionConflict`] inside a `google.rpc.Status`.
pub fn version_conflict_status(
    case_id: &CaseId,
    expected: CaseVersion,
    current: CaseVersion,
) -> Status {
    let message = format!(
        "case {case_id} changed concurrently: update expected version {expected}, current version {current}"
    );
    let detail = v1::VersionConflict {
        case_id: case_id.0.clone(),
        expected_version: expected.0,
        current_version: current.0,
    };
    let details = rpc::Status {
        code: Code::Aborted as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: VERSION_CONFLICT_TYPE_URL.to_owned(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(Code::Aborted, message, details.encode_to_vec().into())
}

/// The current version an `ABORTED` status names: from its [`v1::VersionConflict`] detail,
/// else from a "current version N" in its message.
pub fn conflict_current_version(status: &Status) -> Option<CaseVersion> {
    let from_details = rpc::Status::decode(status.details())
        .ok()
        .and_then(|s| {
            s.details
                .into_iter()
                .find(|any| any.type_url == VERSION_CONFLICT_TYPE_URL)
        })
        .and_then(|any| v1::VersionConflict::decode(any.value.as_slice()).ok())
        .map(|c| CaseVersion(c.current_version));
    from_details.or_else(|| {
        let (_, rest) = status.message().split_once("current version ")?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok().map(CaseVersion)
    })
}

/// The gRPC status a server answers for a [`CaseApiError`].
pub fn status_from_case_api_error(err: &CaseApiError) -> Status {
    match err {
        CaseApiError::VersionConflict {
            case_id,
            expected,
            actual: Some(current),
        } => version_conflict_status(case_id, *expected, *current),
        CaseApiError::VersionConflict { .. } => Status::aborted(err.to_string()),
        CaseApiError::Unavailable { message, .. } => Status::unavailable(message.clone()),
        CaseApiError::InvalidArgument { message, .. } => Status::invalid_argument(message.clone()),
        CaseApiError::PermissionDenied { message, .. } => {
            Status::permission_denied(message.clone())
        }
        CaseApiError::Internal { message, .. } => Status::internal(message.clone()),
        other => Status::internal(other.to_string()),
    }
}

/// Whether a status is worth retrying: `UNAVAILABLE`, `DEADLINE_EXCEEDED`,
/// `RESOURCE_EXHAUSTED`.
pub fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

/// The [`CaseApiError`] of a failed call of `rpc` (after any retries). `update` is the
/// update an `UpdateCase` sent, to turn `ABORTED` into a version conflict.
///
/// `ABORTED` on `UpdateCase` → [`CaseApiError::VersionConflict`]; `INVALID_ARGUMENT`,
/// `FAILED_PRECONDITION`, `NOT_FOUND` (a write naming a missing thing), `OUT_OF_RANGE` →
/// [`CaseApiError::InvalidArgument`]; `UNAUTHENTICATED`, `PERMISSION_DENIED` →
/// [`CaseApiError::PermissionDenied`]; the transient codes →
/// [`CaseApiError::Unavailable`]; anything else → [`CaseApiError::Internal`].
pub fn case_api_error(
    rpc: &'static str,
    status: &Status,
    update: Option<&CaseUpdate>,
) -> CaseApiError {
    let message = status_message(status);
    match (status.code(), update) {
        (Code::Aborted, Some(u)) => CaseApiError::VersionConflict {
            case_id: u.case_id.clone(),
            expected: u.expected_version,
            actual: conflict_current_version(status),
        },
        (
            Code::InvalidArgument | Code::FailedPrecondition | Code::NotFound | Code::OutOfRange,
            _,
        ) => CaseApiError::InvalidArgument { rpc, message },
        (Code::Unauthenticated | Code::PermissionDenied, _) => {
            CaseApiError::PermissionDenied { rpc, message }
        }
        (code, _) if is_transient(code) => CaseApiError::Unavailable { rpc, message },
        _ => CaseApiError::Internal { rpc, message },
    }
}

/// `CODE: message: source: source…` — the status with its whole error chain, so a transport
/// failure (refused connection, TLS handshake) says what happened.
pub fn status_message(status: &Status) -> String {
    let mut out = format!("{:?}: {}", status.code(), status.message());
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        let text = err.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = err.source();
    }
    out
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
