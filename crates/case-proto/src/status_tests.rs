use super::*;
use chrono::{TimeZone, Utc};
use thirdparty_core::{FieldStamp, FieldUpdate, OrgId};

/// A status change of case `c` of org 1 that expects `expected`.
fn update_expecting(expected: u64) -> CaseUpdate {
    CaseUpdate {
        org_id: OrgId(1),
        case_id: CaseId::from("c"),
        expected_version: CaseVersion(expected),
        update: FieldUpdate::Status("X".into()),
        stamp: FieldStamp {
            event_time: Utc.timestamp_opt(1_700_000_000, 0).single().unwrap(),
            sequence: None,
        },
        source: "jira".into(),
    }
}

/// An `UpdateCase` error of the variant named `kind`; its message is the kind.
fn update_error(kind: &str) -> CaseApiError {
    let (rpc, message) = ("UpdateCase", kind.to_owned());
    match kind {
        "internal" => CaseApiError::Internal { rpc, message },
        "invalid_argument" => CaseApiError::InvalidArgument { rpc, message },
        "permission_denied" => CaseApiError::PermissionDenied { rpc, message },
        "unavailable" => CaseApiError::Unavailable { rpc, message },
        other => panic!("no CaseApiError variant {other}"),
    }
}

#[test]
fn version_conflict_status_carries_the_current_version_in_details_and_message() {
    let status = version_conflict_status(&CaseId::from("c"), CaseVersion(3), CaseVersion(5));
    assert_eq!(status.code(), Code::Aborted);
    assert!(status.message().contains("current version 5"));
    assert_eq!(conflict_current_version(&status), Some(CaseVersion(5)));

    // Details alone (message without the version) are enough…
    let details_only =
        Status::with_details(Code::Aborted, "stale", status.details().to_vec().into());
    assert_eq!(
        conflict_current_version(&details_only),
        Some(CaseVersion(5))
    );
    // …and so is the message alone; with neither, the version is unknown.
    let message_only = Status::aborted("conflict: current version 12.");
    assert_eq!(
        conflict_current_version(&message_only),
        Some(CaseVersion(12))
    );
    assert_eq!(conflict_current_version(&Status::aborted("conflict")), None);
}

#[test]
fn statuses_map_to_case_api_errors() {
    let conflict = version_conflict_status(&CaseId::from("c"), CaseVersion(3), CaseVersion(4));
    assert_eq!(
        case_api_error("UpdateCase", &conflict, Some(&update_expecting(3))),
        CaseApiError::VersionConflict {
            case_id: CaseId::from("c"),
            expected: CaseVersion(3),
            actual: Some(CaseVersion(4)),
        }
    );
    // Each status (of a call that is not an UpdateCase) and an error of the variant it maps to.
    let cases = [
        (Status::aborted("x"), update_error("internal")),
        (
            Status::invalid_argument("x"),
            update_error("invalid_argument"),
        ),
        (
            Status::failed_precondition("x"),
            update_error("invalid_argument"),
        ),
        (Status::not_found("x"), update_error("invalid_argument")),
        (
            Status::unauthenticated("x"),
            update_error("permission_denied"),
        ),
        (
            Status::permission_denied("x"),
            update_error("permission_denied"),
        ),
        (Status::unavailable("x"), update_error("unavailable")),
        (Status::deadline_exceeded("x"), update_error("unavailable")),
        (Status::resource_exhausted("x"), update_error("unavailable")),
        (Status::internal("x"), update_error("internal")),
        (Status::unknown("x"), update_error("internal")),
    ];
    for (status, expected) in cases {
        let err = case_api_error("GetCase", &status, None);
        assert_eq!(
            std::mem::discriminant(&err),
            std::mem::discriminant(&expected),
            "{:?} → {err:?}",
            status.code()
        );
    }
}

#[test]
fn case_api_errors_map_to_statuses_and_back() {
    let errors = [
        CaseApiError::VersionConflict {
            case_id: CaseId::from("c"),
            expected: CaseVersion(1),
            actual: Some(CaseVersion(2)),
        },
        update_error("invalid_argument"),
        update_error("unavailable"),
        update_error("permission_denied"),
        update_error("internal"),
    ];
    let update = update_expecting(1);
    for err in errors {
        let status = status_from_case_api_error(&err);
        let back = case_api_error("UpdateCase", &status, Some(&update));
        assert_eq!(
            std::mem::discriminant(&back),
            std::mem::discriminant(&err),
            "{err:?} → {status:?} → {back:?}"
        );
        if let CaseApiError::VersionConflict { actual, .. } = back {
            assert_eq!(actual, Some(CaseVersion(2)));
        }
    }
}
