//! [`ServiceNowDecoder`]: the `datadog_x_incident` envelope → one [`Changelog`] per changed field.

use crate::INTEGRATION;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thirdparty_core::{
    Author, CaseId, CaseLocator, Change, Changelog, ChangelogType, Comment, DecodeError,
    DecodeErrorKind as Kind, Decoded, Decoder, FieldChange, FieldValue, FilteredReason,
    Integration, OrgId, Payload, SkippedEvent, Text, ThirdPartyRef,
};

mod fields;

pub use fields::{DECODE_ERROR_KINDS, NOT_SERVICENOW};
use fields::{
    ENVELOPE_SHAPE, data_string, instance_name, org_id, required, required_string, sys_id,
    sys_mod_count, table_api_shape, updated_time,
};
pub(crate) use fields::{error, json_kind, parse_time, wrong_type};

/// The envelope `type` this crate syncs.
pub const EVENT_TYPE: &str = "datadog_x_incident";

/// The `data` fields the decoder reads; any other key is ignored.
pub const DATA_FIELDS: &[&str] = &[
    "correlationId",
    "comment",
    "workNote",
    "state",
    "sysModCount",
    "number",
];

/// Decodes the previous service's ServiceNow Kafka contract, the `datadog_x_incident` envelope:
///
/// ```json
/// {"type": "datadog_x_incident", "orgId": 1001, "sysId": "<32 hex>", "instanceName": "acme",
///  "updatedTime": "2024-01-15T10:30:00Z", "updatedBy": "john.doe",
///  "data": {"correlationId": "<case id>", "state": "7", "comment": "…", "workNote": "…",
///           "sysModCount": "12", "number": "INC0010001"}}
/// ```
///
/// `data` is a diff: each present field of `state`, `comment`, `workNote` becomes one
/// changelog (in that order). An unknown `type` is skipped as `unsupported_event_type`, a diff
/// without any of those fields as `empty_changelog`, a white-space-only comment or work note as
/// `empty_comment`. Table-API records (`{"result": …}`, `sys_journal_field` rows, records
/// with `{display_value, value}` pairs) are refused with a `not_servicenow` [`DecodeError`].
///
/// ```
/// use servicenow::ServiceNowDecoder;
/// use thirdparty_core::{Decoded, Decoder, Payload};
///
/// let payload = Payload::from_value(r#"{"type":"datadog_x_incident","orgId":1001,
///     "sysId":"0a52c3d4e5f60718293a4b5c6d7e8f90","instanceName":"acme",
///     "updatedTime":"2024-01-15T10:30:00Z","updatedBy":"john.doe",
///     "data":{"state":"7","sysModCount":"12","correlationId":"case-1"}}"#);
/// let decoded = ServiceNowDecoder::new().decode(&payload).unwrap();
/// let Decoded::Changelog(changelog) = &decoded[0] else { unreachable!() };
/// assert_eq!(changelog.event_id, "servicenow:0a52c3d4e5f60718293a4b5c6d7e8f90:12:state");
/// assert_eq!(changelog.sequence, Some(12));
///
/// let table_api = Payload::from_value(r#"{"result":{"sys_id":"0a52","state":"7"}}"#);
/// let err = ServiceNowDecoder::new().decode(&table_api).unwrap_err();
/// assert_eq!(err.kind(), "not_servicenow");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ServiceNowDecoder;

impl ServiceNowDecoder {
    /// A decoder (it has no state).
    pub const fn new() -> Self {
        Self
    }
}

impl Decoder for ServiceNowDecoder {
    fn integration(&self) -> Integration {
        INTEGRATION
    }

    fn decode(&self, payload: &Payload) -> Result<Vec<Decoded>, DecodeError> {
        decode_bytes(&payload.value)
    }
}

/// Decodes envelope bytes.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| error("$", Kind::NOT_JSON, format!("{e}; {ENVELOPE_SHAPE}")))?;
    let Value::Object(envelope) = value else {
        return Err(error(
            "$",
            Kind::WRONG_TYPE,
            format!("found {}; {ENVELOPE_SHAPE}", json_kind(&value)),
        ));
    };
    decode_object(&envelope)
}

fn decode_object(envelope: &Map<String, Value>) -> Result<Vec<Decoded>, DecodeError> {
    let event_type = envelope.get("type");
    if event_type.and_then(Value::as_str) != Some(EVENT_TYPE)
        && !envelope.contains_key("orgId")
        && let Some((path, shape)) = table_api_shape(envelope)
    {
        return Err(error(
            path,
            NOT_SERVICENOW,
            format!("this is {shape}, not the Kafka contract; {ENVELOPE_SHAPE}"),
        ));
    }
    match event_type {
        None | Some(Value::Null) => {
            return Err(error(
                "type",
                Kind::MISSING_FIELD,
                format!("`type` is absent; {ENVELOPE_SHAPE}"),
            ));
        }
        Some(Value::String(t)) if t == EVENT_TYPE => {}
        Some(Value::String(_)) => {
            // Another event type of the same topic: not ours to sync. Keep what is cheaply
            // known for the metrics; a malformed rest does not matter here.
            return Ok(vec![Decoded::Skipped(SkippedEvent {
                org_id: envelope.get("orgId").and_then(|v| org_id(v).ok()),
                changelog_type: None,
                event_time: envelope
                    .get("updatedTime")
                    .and_then(Value::as_str)
                    .and_then(parse_time),
                reason: FilteredReason::UnsupportedEventType,
            })]);
        }
        Some(other) => {
            return Err(wrong_type(
                "type",
                &format!("`type` must be the string \"{EVENT_TYPE}\""),
                other,
            ));
        }
    }

    let org = org_id(required(envelope, "orgId")?)?;
    let sys_id = sys_id(required(envelope, "sysId")?)?;
    let instance = instance_name(required(envelope, "instanceName")?)?;
    let event_time = updated_time(required(envelope, "updatedTime")?)?;
    let updated_by = required_string(envelope, "updatedBy")?.trim().to_owned();
    if updated_by.is_empty() {
        return Err(error(
            "updatedBy",
            Kind::MISSING_FIELD,
            "`updatedBy` is empty; it must name the ServiceNow user_name that made the change (sync-cycle detection needs it)",
        ));
    }
    let data = match required(envelope, "data")? {
        Value::Object(data) => data,
        other => {
            return Err(wrong_type(
                "data",
                "`data` must be an object holding the changed fields",
                other,
            ));
        }
    };

    let correlation_id = data_string(data, "correlationId")?
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let state = data_string(data, "state")?
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let comment = data_string(data, "comment")?;
    let work_note = data_string(data, "workNote")?;
    let number = data_string(data, "number")?
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let sequence = sys_mod_count(data)?;

    let head = Head {
        org,
        third_party: ThirdPartyRef {
            account_id: instance,
            project_id: None,
            item_type_id: None,
            item_id: sys_id,
            item_key: number.map(str::to_owned),
        },
        case_locator: match correlation_id {
            Some(id) => CaseLocator::CaseId(CaseId::from(id)),
            None => CaseLocator::ThirdParty,
        },
        event_time,
        sequence,
        author: Author {
            id: Some(updated_by),
            display_name: None,
        },
    };

    let mut out = Vec::with_capacity(3);
    if let Some(code) = state {
        out.push(Decoded::Changelog(head.changelog(
            "state",
            Change::Status(FieldChange {
                from: None,
                to: Some(FieldValue::id(code)),
            }),
        )));
    }
    for (body, internal) in [(comment, false), (work_note, true)] {
        let Some(body) = body else { continue };
        out.push(head.comment(body, internal));
    }
    if out.is_empty() {
        out.push(Decoded::Skipped(SkippedEvent {
            org_id: Some(org),
            changelog_type: None,
            event_time: Some(event_time),
            reason: FilteredReason::EmptyChangelog,
        }));
    }
    Ok(out)
}

/// What every changelog of one envelope shares.
struct Head {
    org: OrgId,
    third_party: ThirdPartyRef,
    case_locator: CaseLocator,
    event_time: DateTime<Utc>,
    sequence: Option<u64>,
    author: Author,
}

impl Head {
    /// `<sysModCount>` when the envelope has one, else the RFC 3339 event time.
    fn version_tag(&self) -> String {
        match self.sequence {
            Some(seq) => seq.to_string(),
            None => self.event_time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }

    fn changelog(&self, field: &str, change: Change) -> Changelog {
        Changelog {
            org_id: self.org,
            integration: INTEGRATION,
            event_id: format!(
                "servicenow:{}:{}:{field}",
                self.third_party.item_id,
                self.version_tag()
            ),
            third_party: self.third_party.clone(),
            case_locator: self.case_locator.clone(),
            event_time: self.event_time,
            sequence: self.sequence,
            author: self.author.clone(),
            change,
        }
    }

    fn comment(&self, body: &str, internal: bool) -> Decoded {
        if body.trim().is_empty() {
            return Decoded::Skipped(SkippedEvent {
                org_id: Some(self.org),
                changelog_type: Some(ChangelogType::CreateComment),
                event_time: Some(self.event_time),
                reason: FilteredReason::EmptyComment,
            });
        }
        let body = if body.contains('\r') {
            body.replace("\r\n", "\n")
        } else {
            body.to_owned()
        };
        // The comment's id: the update's sysModCount, else a hash of the body (then two equal
        // comments on the same incident share one timeline cell: see the README).
        let id = match self.sequence {
            Some(seq) => seq.to_string(),
            None => hex::encode(Sha256::digest(body.as_bytes())),
        };
        let field = comment_field(internal);
        Decoded::Changelog(self.changelog(
            field,
            Change::Comment(Comment {
                id,
                body: Text::new(body),
                internal,
            }),
        ))
    }
}

/// `comment` or `work_note`: the last segment of event ids and idempotency keys.
pub(crate) const fn comment_field(internal: bool) -> &'static str {
    if internal { "work_note" } else { "comment" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) const SYS_ID: &str = "0a52c3d4e5f60718293a4b5c6d7e8f90";

    pub(super) fn envelope(data: Value) -> Value {
        json!({
            "type": EVENT_TYPE, "orgId": 1001, "sysId": SYS_ID, "instanceName": "acme",
            "updatedTime": "2024-01-15T10:30:00Z", "updatedBy": "john.doe", "data": data,
        })
    }

    pub(super) fn decode(v: &Value) -> Result<Vec<Decoded>, DecodeError> {
        decode_bytes(&serde_json::to_vec(v).unwrap())
    }

    /// What `v` decodes to: its changelogs and the reasons of what it skipped.
    fn outcomes(v: &Value) -> (Vec<Changelog>, Vec<FilteredReason>) {
        let mut changelogs = Vec::new();
        let mut skipped = Vec::new();
        for d in decode(v).unwrap() {
            match d {
                Decoded::Changelog(c) => changelogs.push(c),
                Decoded::Skipped(s) => skipped.push(s.reason),
            }
        }
        (changelogs, skipped)
    }

    fn changelogs(v: &Value) -> Vec<Changelog> {
        let (changelogs, skipped) = outcomes(v);
        assert!(skipped.is_empty(), "skipped: {skipped:?}");
        changelogs
    }

    fn skipped(v: &Value) -> Vec<FilteredReason> {
        let (changelogs, skipped) = outcomes(v);
        let ids: Vec<&str> = changelogs.iter().map(|c| c.event_id.as_str()).collect();
        assert!(ids.is_empty(), "not skipped: {ids:?}");
        skipped
    }

    #[test]
    fn one_changelog_per_field_in_order() {
        let cs = changelogs(&envelope(json!({
            "workNote": "internal", "comment": "public", "state": "6",
            "sysModCount": "12", "correlationId": "case-1", "number": "INC0010001",
            "priority": "1", "unknownThing": {"nested": true},
        })));
        let tags: Vec<_> = cs.iter().map(|c| c.changelog_type().as_tag()).collect();
        assert_eq!(tags, ["update_status", "create_comment", "create_comment"]);
        let ids: Vec<_> = cs.iter().map(|c| c.event_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "servicenow:0a52c3d4e5f60718293a4b5c6d7e8f90:12:state",
                "servicenow:0a52c3d4e5f60718293a4b5c6d7e8f90:12:comment",
                "servicenow:0a52c3d4e5f60718293a4b5c6d7e8f90:12:work_note",
            ]
        );
        let first = &cs[0];
        assert_eq!(first.org_id, OrgId(1001));
        assert_eq!(first.sequence, Some(12));
        assert_eq!(
            first.case_locator,
            CaseLocator::CaseId(CaseId::from("case-1"))
        );
        assert_eq!(first.third_party.account_id, "acme");
        assert_eq!(first.third_party.item_key.as_deref(), Some("INC0010001"));
        assert_eq!(first.author.id.as_deref(), Some("john.doe"));
        assert_eq!(
            first.change,
            Change::Status(FieldChange {
                from: None,
                to: Some(FieldValue::id("6"))
            })
        );
        match (&cs[1].change, &cs[2].change) {
            (Change::Comment(public), Change::Comment(note)) => {
                assert!(!public.internal && note.internal);
                assert_eq!(public.body.expose(), "public");
                assert_eq!(public.id, "12");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_sys_mod_count_ids_use_time_and_body_hash() {
        let cs = changelogs(&envelope(
            json!({"comment": "hello\r\nworld", "sysModCount": ""}),
        ));
        assert_eq!(cs.len(), 1);
        assert_eq!(
            cs[0].event_id,
            "servicenow:0a52c3d4e5f60718293a4b5c6d7e8f90:2024-01-15T10:30:00Z:comment"
        );
        assert_eq!(cs[0].sequence, None);
        assert_eq!(cs[0].case_locator, CaseLocator::ThirdParty);
        let Change::Comment(c) = &cs[0].change else {
            panic!()
        };
        assert_eq!(c.body.expose(), "hello\nworld", "CRLF normalised");
        assert_eq!(c.id, hex::encode(Sha256::digest(b"hello\nworld")));
    }

    #[test]
    fn sys_mod_count_as_number_and_servicenow_time_format() {
        let mut v = envelope(json!({"state": "2", "sysModCount": 7}));
        v["updatedTime"] = json!("2024-01-15 10:30:00");
        v["sysId"] = json!(SYS_ID.to_uppercase());
        v["orgId"] = json!("1001");
        let cs = changelogs(&v);
        assert_eq!(cs[0].sequence, Some(7));
        assert_eq!(cs[0].event_time.to_rfc3339(), "2024-01-15T10:30:00+00:00");
        assert_eq!(cs[0].third_party.item_id, SYS_ID, "sys_id lower-cased");
        assert_eq!(cs[0].org_id, OrgId(1001));
    }

    #[test]
    fn skips_carry_their_reason() {
        assert_eq!(
            skipped(&envelope(json!({}))),
            [FilteredReason::EmptyChangelog]
        );
        assert_eq!(
            skipped(&envelope(
                json!({"correlationId": "c", "sysModCount": "3", "state": ""})
            )),
            [FilteredReason::EmptyChangelog]
        );
        assert_eq!(
            skipped(&envelope(json!({"comment": " \n\t ", "workNote": "  "}))),
            [FilteredReason::EmptyComment, FilteredReason::EmptyComment]
        );
        let mut other = envelope(json!({"state": "1"}));
        other["type"] = json!("datadog_x_problem");
        other["orgId"] = json!(-1);
        assert_eq!(skipped(&other), [FilteredReason::UnsupportedEventType]);
    }
}
