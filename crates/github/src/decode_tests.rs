use super::*;
use serde_json::json;
use thirdparty_core::testing::changelogs_only;

fn webhook(action: &str, extra: Value) -> Value {
    let mut w = json!({
        "action": action,
        "sender": {"login": "octocat", "type": "User"},
        "repository": {"id": 42, "full_name": "acme/app"},
        "issue": {"node_id": "I_kwDOA", "number": 7, "title": "Now", "body": "new\r\nbody",
                  "state": "closed", "state_reason": "not_planned",
                  "updated_at": "2026-03-02T10:00:00Z",
                  "assignees": [{"login": "alice"}, {"login": "bob"}]},
    });
    if let (Value::Object(w), Value::Object(extra)) = (&mut w, extra) {
        w.extend(extra);
    }
    w
}

fn decode_event(event: &str, body: Value) -> Result<Vec<Decoded>, DecodeError> {
    let v = json!({"orgId": 1, "installationId": "5501", "receivedAt": "2026-03-02T10:00:01Z",
        "deliveryId": "d-1", "event": event, "webhook": body});
    decode_bytes(&serde_json::to_vec(&v).unwrap())
}

fn one(event: &str, body: Value) -> Changelog {
    let mut cs = changelogs_only(decode_event(event, body).unwrap());
    assert_eq!(cs.len(), 1, "{cs:?}");
    cs.remove(0)
}

#[test]
fn an_edit_gives_title_then_description_with_their_from() {
    let cs = changelogs_only(
        decode_event(
            "issues",
            webhook(
                "edited",
                json!({"changes": {"body": {"from": "old\r\nbody"}, "title": {"from": "Before"}}}),
            ),
        )
        .unwrap(),
    );
    let ids: Vec<&str> = cs.iter().map(|c| c.event_id.as_str()).collect();
    assert_eq!(ids, ["github:d-1:title", "github:d-1:body"]);
    assert_eq!(
        cs[0].change,
        Change::Title(FieldChange {
            from: Some(FieldValue::text("Before")),
            to: Some(FieldValue::text("Now")),
        })
    );
    assert_eq!(
        cs[1].change,
        Change::Description(FieldChange {
            from: Some(FieldValue::text("old\nbody")),
            to: Some(FieldValue::text("new\nbody")),
        }),
        "CRLF normalised, Markdown kept"
    );
    let c = &cs[0];
    assert_eq!(c.third_party.account_id, "5501");
    assert_eq!(c.third_party.project_id.as_deref(), Some("42"));
    assert_eq!(c.third_party.item_id, "I_kwDOA");
    assert_eq!(c.third_party.item_key.as_deref(), Some("acme/app#7"));
    assert_eq!(c.event_time.to_rfc3339(), "2026-03-02T10:00:00+00:00");
    assert_eq!(c.author.id.as_deref(), Some("octocat"));
    assert_eq!(c.sequence, None);
}

#[test]
fn close_reasons_are_the_status_id_and_the_state_its_fallback() {
    let c = one("issues", webhook("closed", json!({})));
    assert_eq!(
        c.change,
        Change::Status(FieldChange {
            from: None,
            to: Some(FieldValue {
                id: Some("not_planned".into()),
                text: Some(Text::from("closed"))
            }),
        })
    );
    let mut body = webhook("reopened", json!({}));
    body["issue"]["state"] = json!("open");
    body["issue"]["state_reason"] = Value::Null;
    let Change::Status(fc) = one("issues", body).change else {
        panic!()
    };
    assert_eq!(fc.to.unwrap().id.as_deref(), Some("open"));
}

#[test]
fn the_first_remaining_assignee_is_the_case_assignee() {
    let to = |action: &str, removed: &str| {
        let c = one(
            "issues",
            webhook(action, json!({"assignee": {"login": removed}})),
        );
        let Change::Assignee(fc) = c.change else {
            panic!()
        };
        fc.to.and_then(|v| v.id)
    };
    assert_eq!(to("assigned", "bob").as_deref(), Some("alice"));
    assert_eq!(to("unassigned", "alice").as_deref(), Some("bob"));
    let mut nobody = webhook("unassigned", json!({"assignee": {"login": "alice"}}));
    nobody["issue"]["assignees"] = json!([]);
    let Change::Assignee(fc) = one("issues", nobody).change else {
        panic!()
    };
    assert_eq!(fc.to, None);
}

#[test]
fn bots_are_marked_and_comments_keyed_by_their_id() {
    let c = one(
        "issue_comment",
        webhook(
            "created",
            json!({"sender": {"login": "case-management", "type": "Bot"},
                   "comment": {"id": 99, "body": "hi\r\n", "created_at": "2026-03-02T09:00:00Z"}}),
        ),
    );
    assert_eq!(c.author.id.as_deref(), Some("case-management[bot]"));
    assert_eq!(c.event_id, "github:comment:99");
    assert_eq!(c.event_time.to_rfc3339(), "2026-03-02T09:00:00+00:00");
    let Change::Comment(comment) = c.change else {
        panic!()
    };
    assert_eq!((comment.id.as_str(), comment.body.expose()), ("99", "hi\n"));

    let blank = decode_event(
        "issue_comment",
        webhook("created", json!({"comment": {"id": 1, "body": " \n"}})),
    )
    .unwrap();
    assert!(
        matches!(&blank[..], [Decoded::Skipped(s)] if s.reason == FilteredReason::EmptyComment)
    );
}

#[test]
fn a_milestone_without_due_date_clears_it() {
    let c = one(
        "issues",
        webhook("milestoned", json!({"milestone": {"due_on": null}})),
    );
    assert_eq!(
        c.change,
        Change::Unsupported {
            field_id: MILESTONE_FIELD.into(),
            change: FieldChange::default()
        }
    );
}

#[test]
fn errors_name_the_path_and_kind() {
    let cases = [
        (json!({"action": "closed", "sender": {}}), "$", "not_github"),
        (json!([]), "$", "wrong_type"),
        (json!({"orgId": -1}), "orgId", "invalid_value"),
        (json!({"orgId": 1}), "installationId", "missing_field"),
        (
            json!({"orgId": 1, "installationId": 2, "receivedAt": "yesterday"}),
            "receivedAt",
            "invalid_value",
        ),
        (
            json!({"orgId": 1, "installationId": 2, "receivedAt": "2026-03-02T10:00:00Z", "deliveryId": " "}),
            "deliveryId",
            "missing_field",
        ),
        (
            json!({"orgId": 1, "installationId": 2, "receivedAt": "2026-03-02T10:00:00Z", "deliveryId": "d", "event": "issues", "webhook": "{}"}),
            "webhook",
            "wrong_type",
        ),
    ];
    for (value, path, kind) in cases {
        let e = decode_bytes(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert_eq!((e.path.as_str(), e.kind()), (path, kind), "{value}: {e}");
    }
    let webhook_cases = [
        (
            "closed",
            json!({"issue": {"node_id": "I", "number": 7, "updated_at": "2026-03-02T10:00:00Z"}}),
            "webhook.issue.state",
            "missing_field",
        ),
        (
            "labeled",
            json!({"label": {"name": 5}}),
            "webhook.label.name",
            "wrong_type",
        ),
        (
            "milestoned",
            json!({"milestone": {"due_on": "soon"}}),
            "webhook.milestone.due_on",
            "invalid_value",
        ),
        (
            "assigned",
            json!({"issue": {"node_id": "I", "number": 7, "updated_at": "2026-03-02T10:00:00Z", "assignees": {}}}),
            "webhook.issue.assignees",
            "wrong_type",
        ),
        (
            "edited",
            json!({"sender": {"type": "User"}}),
            "webhook.sender.login",
            "missing_field",
        ),
        (
            "edited",
            json!({"changes": {"title": {"from": 1}}}),
            "webhook.changes.title.from",
            "wrong_type",
        ),
    ];
    for (action, extra, path, kind) in webhook_cases {
        let e = decode_event("issues", webhook(action, extra)).unwrap_err();
        assert_eq!((e.path.as_str(), e.kind()), (path, kind), "{action}: {e}");
    }
    assert_eq!(decode_bytes(b"{").unwrap_err().kind(), "not_json");
    assert_eq!(DECODE_ERROR_KINDS.len(), 5);
}

#[test]
fn unsynced_events_and_actions_are_skipped_before_reading_the_issue() {
    for (event, action) in [
        ("issues", "opened"),
        ("issue_comment", "edited"),
        ("issue_comment", "deleted"),
        ("push", ""),
    ] {
        let d = decode_event(event, json!({"action": action})).unwrap();
        assert!(
            matches!(&d[..], [Decoded::Skipped(s)] if s.reason == FilteredReason::UnsupportedEventType),
            "{event}.{action}: {d:?}"
        );
    }
}
