use super::*;
use chrono::TimeZone;

/// A way to break a message, and what the error must name.
type Breakage<M> = (fn(&mut M), &'static str);

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
    let broken_cases: [Breakage<v1::Case>; 3] = [
        (|c| c.created_at = None, "Case.created_at"),
        (|c| c.due_date = Some("31/12/2024".into()), "Case.due_date"),
        (
            |c| {
                c.created_at = Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                })
            },
            "Case.created_at",
        ),
    ];
    for (break_it, named) in broken_cases {
        let mut c = v1::Case::from(&full_case());
        break_it(&mut c);
        let err = Case::try_from(c).unwrap_err();
        assert!(err.what.contains(named), "{err}");
    }

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

    let broken_settings: [Breakage<v1::ProjectSettings>; 2] = [
        (|s| s.sync_direction = 99, "sync_direction"),
        (|s| s.conflict_policy = 99, "conflict_policy"),
    ];
    for (break_it, named) in broken_settings {
        let mut s = v1::ProjectSettings::from(&full_settings());
        break_it(&mut s);
        let err = ProjectSettings::try_from(s).unwrap_err();
        assert!(err.what.contains(named), "{err}");
    }
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
