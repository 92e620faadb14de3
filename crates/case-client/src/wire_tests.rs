use super::*;
use chrono::TimeZone;

type ErrorCheck = fn(&CaseApiError) -> bool;

fn t(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, nanos)
        .single()
        .unwrap()
}

fn full_case() -> Case {
    let mut field_stamps = BTreeMap::new();
    field_stamps.insert(
        CaseField::Status,
        FieldStamp {
            event_time: t(10, 123_000_000),
            sequence: Some(7),
        },
    );
    field_stamps.insert(
        CaseField::DueDate,
        FieldStamp {
            event_time: t(11, 0),
            sequence: None,
        },
    );
    Case {
        id: CaseId::from("c-1"),
        org_id: OrgId(42),
        version: CaseVersion(9),
        project_id: ProjectId::from("p"),
        title: Text::new("Title ✓"),
        description: Text::new("# Markdown"),
        priority: Some("P2".into()),
        status: "OPEN".into(),
        assignee: Some(UserId::from("u-1")),
        due_date: NaiveDate::from_ymd_opt(2025, 2, 28),
        created_at: t(0, 5),
        third_party_links: vec![ThirdPartyLink {
            integration: "jira".into(),
            account_id: "site".into(),
            item_id: "10001".into(),
            item_key: Some("PROJ-1".into()),
        }],
        field_stamps,
    }
}

fn full_settings() -> ProjectSettings {
    let mut s = ProjectSettings::enabled(OrgId(1), ProjectId::from("p"), "jira");
    s.org_enabled = false;
    s.comment_sync_enabled = false;
    s.sync_direction = SyncDirection::OneWayPull;
    s.field_sync
        .insert(CaseField::Title, SyncDirection::Disabled);
    s.field_sync
        .insert(CaseField::Comment, SyncDirection::OneWayPush);
    s.value_mappings.insert(
        CaseField::Priority,
        [("1".to_owned(), "P1".to_owned())].into_iter().collect(),
    );
    s.custom_fields
        .insert("customfield_10015".into(), CaseField::DueDate);
    s.start_syncing_from = Some(t(-100, 0));
    s.integration_users.push("bot".into());
    s.conflict_policy = ConflictPolicy::ThirdPartyWins;
    s
}

#[test]
fn case_round_trips() {
    let case = full_case();
    let back = Case::try_from(v1::Case::from(&case)).unwrap();
    assert_eq!(back, case);
    let mut minimal = full_case();
    minimal.priority = None;
    minimal.assignee = None;
    minimal.due_date = None;
    minimal.third_party_links.clear();
    minimal.field_stamps.clear();
    assert_eq!(Case::try_from(v1::Case::from(&minimal)).unwrap(), minimal);
}

#[test]
fn settings_and_metadata_round_trip() {
    let s = full_settings();
    assert_eq!(
        ProjectSettings::try_from(v1::ProjectSettings::from(&s)).unwrap(),
        s
    );
    let m = IntegrationMetadata {
        org_id: OrgId(3),
        integration: "servicenow".into(),
        account_id: "acme".into(),
        project_id: None,
        item_type_id: Some("incident".into()),
        case_project_id: ProjectId::from("p"),
        custom_fields: full_settings().custom_fields,
        integration_users: vec!["case.integration".into()],
    };
    assert_eq!(
        IntegrationMetadata::from(v1::IntegrationMetadata::from(&m)),
        m
    );
}

#[test]
fn every_field_update_round_trips_including_clears() {
    let updates = [
        FieldUpdate::Title(Text::new("t")),
        FieldUpdate::Description(Text::new("")),
        FieldUpdate::Priority(Some("P1".into())),
        FieldUpdate::Priority(None),
        FieldUpdate::Status("CLOSED".into()),
        FieldUpdate::Assignee(Some(UserId::from("u"))),
        FieldUpdate::Assignee(None),
        FieldUpdate::DueDate(NaiveDate::from_ymd_opt(2024, 12, 31)),
        FieldUpdate::DueDate(None),
    ];
    for u in updates {
        let update = CaseUpdate {
            org_id: OrgId(1),
            case_id: CaseId::from("c"),
            expected_version: CaseVersion(4),
            update: u,
            stamp: FieldStamp {
                event_time: t(1, 1),
                sequence: None,
            },
            source: "jira".into(),
        };
        let back = CaseUpdate::try_from(v1::UpdateCaseRequest::from(&update)).unwrap();
        assert_eq!(back, update);
    }
}

#[test]
fn timeline_cells_round_trip() {
    let cell = TimelineCell {
        id: "cell-1".into(),
        cell: NewTimelineCell {
            org_id: OrgId(1),
            case_id: CaseId::from("c"),
            idempotency_key: "jira:1".into(),
            author_id: Some("acc".into()),
            author_name: None,
            body: Text::new("hi"),
            internal: true,
            source: "jira".into(),
            created_at: t(3, 0),
        },
    };
    assert_eq!(
        TimelineCell::try_from(v1::TimelineCell::from(&cell)).unwrap(),
        cell
    );
}

#[test]
fn malformed_messages_are_wire_errors_naming_the_field() {
    let mut c = v1::Case::from(&full_case());
    c.created_at = None;
    assert!(
        Case::try_from(c)
            .unwrap_err()
            .what
            .contains("Case.created_at")
    );

    let mut c = v1::Case::from(&full_case());
    c.due_date = Some("31/12/2024".into());
    assert!(
        Case::try_from(c)
            .unwrap_err()
            .what
            .contains("Case.due_date")
    );

    let mut c = v1::Case::from(&full_case());
    c.created_at = Some(prost_types::Timestamp {
        seconds: 0,
        nanos: -1,
    });
    assert!(Case::try_from(c).is_err());

    for (field, value) in [
        (v1::CaseField::Title, None),
        (v1::CaseField::Status, None),
        (v1::CaseField::Comment, Some("x")),
        (v1::CaseField::Unspecified, Some("x")),
        (v1::CaseField::DueDate, Some("tomorrow")),
    ] {
        let u = v1::FieldUpdate {
            field: field as i32,
            value: value.map(str::to_owned),
        };
        assert!(FieldUpdate::try_from(u).is_err(), "{field:?} {value:?}");
    }
    let u = v1::FieldUpdate {
        field: 99,
        value: Some("x".into()),
    };
    assert!(FieldUpdate::try_from(u).is_err());

    let mut s = v1::ProjectSettings::from(&full_settings());
    s.sync_direction = 99;
    assert!(
        ProjectSettings::try_from(s)
            .unwrap_err()
            .what
            .contains("sync_direction")
    );
    let mut s = v1::ProjectSettings::from(&full_settings());
    s.conflict_policy = 99;
    assert!(ProjectSettings::try_from(s).is_err());
    assert!(!WireError::new("x").is_retryable());
}

#[test]
fn unknown_map_keys_are_skipped_and_unspecified_enums_take_defaults() {
    let mut c = v1::Case::from(&full_case());
    c.field_stamps.insert(
        "sla_breach".into(),
        v1::FieldStamp {
            event_time: Some(timestamp(t(0, 0))),
            sequence: None,
        },
    );
    assert_eq!(Case::try_from(c).unwrap().field_stamps.len(), 2);

    let mut s = v1::ProjectSettings::from(&full_settings());
    s.sync_direction = v1::SyncDirection::Unspecified as i32;
    s.conflict_policy = v1::ConflictPolicy::Unspecified as i32;
    s.field_sync
        .insert("labels".into(), v1::SyncDirection::Disabled as i32);
    s.field_sync
        .insert("status".into(), v1::SyncDirection::Unspecified as i32);
    s.custom_fields.insert("customfield_1".into(), 99);
    let back = ProjectSettings::try_from(s).unwrap();
    assert_eq!(back.sync_direction, SyncDirection::Bidirectional);
    assert_eq!(back.conflict_policy, ConflictPolicy::Reject);
    assert_eq!(
        back.field_sync.len(),
        2,
        "unknown and unspecified entries skipped"
    );
    assert_eq!(back.custom_fields.len(), 1);
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
    let update = CaseUpdate {
        org_id: OrgId(1),
        case_id: CaseId::from("c"),
        expected_version: CaseVersion(3),
        update: FieldUpdate::Status("X".into()),
        stamp: FieldStamp {
            event_time: t(0, 0),
            sequence: None,
        },
        source: "jira".into(),
    };
    let conflict = version_conflict_status(&CaseId::from("c"), CaseVersion(3), CaseVersion(4));
    assert_eq!(
        case_api_error("UpdateCase", &conflict, Some(&update)),
        CaseApiError::VersionConflict {
            case_id: CaseId::from("c"),
            expected: CaseVersion(3),
            actual: Some(CaseVersion(4)),
        }
    );
    let cases: [(Status, ErrorCheck); 11] = [
        (Status::aborted("x"), |e| {
            matches!(e, CaseApiError::Internal { .. })
        }),
        (Status::invalid_argument("x"), |e| {
            matches!(e, CaseApiError::InvalidArgument { .. })
        }),
        (Status::failed_precondition("x"), |e| {
            matches!(e, CaseApiError::InvalidArgument { .. })
        }),
        (Status::not_found("x"), |e| {
            matches!(e, CaseApiError::InvalidArgument { .. })
        }),
        (Status::unauthenticated("x"), |e| {
            matches!(e, CaseApiError::PermissionDenied { .. })
        }),
        (Status::permission_denied("x"), |e| {
            matches!(e, CaseApiError::PermissionDenied { .. })
        }),
        (Status::unavailable("x"), |e| {
            matches!(e, CaseApiError::Unavailable { .. })
        }),
        (Status::deadline_exceeded("x"), |e| {
            matches!(e, CaseApiError::Unavailable { .. })
        }),
        (Status::resource_exhausted("x"), |e| {
            matches!(e, CaseApiError::Unavailable { .. })
        }),
        (Status::internal("x"), |e| {
            matches!(e, CaseApiError::Internal { .. })
        }),
        (Status::unknown("x"), |e| {
            matches!(e, CaseApiError::Internal { .. })
        }),
    ];
    for (status, expected) in cases {
        let err = case_api_error("GetCase", &status, None);
        assert!(expected(&err), "{:?} → {err:?}", status.code());
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
        CaseApiError::InvalidArgument {
            rpc: "UpdateCase",
            message: "case c not found in org 1".into(),
        },
        CaseApiError::Unavailable {
            rpc: "UpdateCase",
            message: "down".into(),
        },
        CaseApiError::PermissionDenied {
            rpc: "UpdateCase",
            message: "no".into(),
        },
        CaseApiError::Internal {
            rpc: "UpdateCase",
            message: "boom".into(),
        },
    ];
    let update = CaseUpdate {
        org_id: OrgId(1),
        case_id: CaseId::from("c"),
        expected_version: CaseVersion(1),
        update: FieldUpdate::Status("X".into()),
        stamp: FieldStamp {
            event_time: t(0, 0),
            sequence: None,
        },
        source: "jira".into(),
    };
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
