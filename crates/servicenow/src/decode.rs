//! [`ServiceNowDecoder`]: the `datadog_x_incident` envelope → one [`Changelog`] per changed field.

use crate::INTEGRATION;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thirdparty_core::{
    Author, CaseId, CaseLocator, Change, Changelog, ChangelogType, Comment, DecodeError, Decoded,
    Decoder, FieldChange, FieldValue, FilteredReason, Integration, OrgId, Payload, SkippedEvent,
    Text, ThirdPartyRef,
};

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

/// Decodes the seed's ServiceNow Kafka contract, the `datadog_x_incident` envelope:
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

pub(crate) fn error(path: impl Into<String>, message: impl Into<String>) -> DecodeError {
    DecodeError::new(INTEGRATION, path, message)
}

/// A JSON value's kind, for `wrong_type` messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

const ENVELOPE_SHAPE: &str = "expected the datadog_x_incident envelope {type, orgId, sysId, instanceName, updatedTime, updatedBy, data}";

/// Decodes envelope bytes.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| error("$", format!("not_json: {e}; {ENVELOPE_SHAPE}")))?;
    let Value::Object(envelope) = value else {
        return Err(error(
            "$",
            format!("wrong_type: found {}; {ENVELOPE_SHAPE}", json_kind(&value)),
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
            format!("not_servicenow: this is {shape}, not the Kafka contract; {ENVELOPE_SHAPE}"),
        ));
    }
    match event_type {
        None | Some(Value::Null) => {
            return Err(error(
                "type",
                format!("missing_field: `type` is absent; {ENVELOPE_SHAPE}"),
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
            return Err(error(
                "type",
                format!(
                    "wrong_type: `type` must be the string \"{EVENT_TYPE}\", found {}",
                    json_kind(other)
                ),
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
            "missing_field: `updatedBy` is empty; it must name the ServiceNow user_name that made the change (sync-cycle detection needs it)",
        ));
    }
    let data = match required(envelope, "data")? {
        Value::Object(data) => data,
        other => {
            return Err(error(
                "data",
                format!(
                    "wrong_type: `data` must be an object holding the changed fields, found {}",
                    json_kind(other)
                ),
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

fn required<'a>(envelope: &'a Map<String, Value>, key: &str) -> Result<&'a Value, DecodeError> {
    match envelope.get(key) {
        None | Some(Value::Null) => Err(error(
            key,
            format!("missing_field: `{key}` is absent; {ENVELOPE_SHAPE}"),
        )),
        Some(v) => Ok(v),
    }
}

fn required_string<'a>(
    envelope: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, DecodeError> {
    match required(envelope, key)? {
        Value::String(s) => Ok(s),
        other => Err(error(
            key,
            format!(
                "wrong_type: `{key}` must be a string, found {}",
                json_kind(other)
            ),
        )),
    }
}

/// `orgId`: a JSON integer, or a string of digits.
fn org_id(value: &Value) -> Result<OrgId, DecodeError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        other => {
            return Err(error(
                "orgId",
                format!(
                    "wrong_type: `orgId` must be an unsigned integer (the Case Management organisation id), found {}",
                    json_kind(other)
                ),
            ));
        }
    };
    parsed.map(OrgId).ok_or_else(|| {
        error(
            "orgId",
            "invalid_value: `orgId` must be an unsigned 64-bit integer (the Case Management organisation id)",
        )
    })
}

/// `sysId`: 32 hexadecimal characters, returned in lower case (ServiceNow's form).
fn sys_id(value: &Value) -> Result<String, DecodeError> {
    let Value::String(s) = value else {
        return Err(error(
            "sysId",
            format!(
                "wrong_type: `sysId` must be a string of 32 hexadecimal characters, found {}",
                json_kind(value)
            ),
        ));
    };
    let s = s.trim();
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error(
            "sysId",
            "invalid_value: `sysId` must be a ServiceNow sys_id, 32 hexadecimal characters",
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// `instanceName`: the ServiceNow instance (`company` of `company.service-now.com`).
fn instance_name(value: &Value) -> Result<String, DecodeError> {
    let Value::String(s) = value else {
        return Err(error(
            "instanceName",
            format!(
                "wrong_type: `instanceName` must be a string such as \"company\", found {}",
                json_kind(value)
            ),
        ));
    };
    let s = s.trim();
    if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
        return Err(error(
            "instanceName",
            "invalid_value: `instanceName` must be a non-empty ServiceNow instance name such as \"company\" (at most 255 bytes, no control characters)",
        ));
    }
    Ok(s.to_owned())
}

fn updated_time(value: &Value) -> Result<DateTime<Utc>, DecodeError> {
    let Value::String(s) = value else {
        return Err(error(
            "updatedTime",
            format!(
                "wrong_type: `updatedTime` must be an RFC 3339 string, found {}",
                json_kind(value)
            ),
        ));
    };
    parse_time(s).ok_or_else(|| {
        error(
            "updatedTime",
            "invalid_value: `updatedTime` must be an RFC 3339 date-time such as 2024-01-15T10:30:00Z (or ServiceNow's UTC `2024-01-15 10:30:00`)",
        )
    })
}

/// RFC 3339, or ServiceNow's internal UTC format `YYYY-MM-DD HH:MM:SS` (what a Table-API
/// `sys_updated_on` value holds).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// A `data` string field: absent, `null` and `""` are all "not in the diff".
fn data_string<'a>(
    data: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, DecodeError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Object(o)) if o.contains_key("display_value") || o.contains_key("value") => {
            Err(error(
                format!("data.{key}"),
                format!(
                    "wrong_type: `data.{key}` is a Table-API {{display_value, value}} / {{link, value}} pair; the envelope carries plain strings (send the `value`)"
                ),
            ))
        }
        Some(other) => Err(error(
            format!("data.{key}"),
            format!(
                "wrong_type: `data.{key}` must be a string, found {}",
                json_kind(other)
            ),
        )),
    }
}

/// `data.sysModCount`: a string of digits as ServiceNow sends it, or a JSON integer.
fn sys_mod_count(data: &Map<String, Value>) -> Result<Option<u64>, DecodeError> {
    const PATH: &str = "data.sysModCount";
    match data.get("sysModCount") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            error(
                PATH,
                "invalid_value: `data.sysModCount` must be an unsigned integer (ServiceNow sys_mod_count)",
            )
        }),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            error(
                PATH,
                "invalid_value: `data.sysModCount` must be a string of digits such as \"12\" (ServiceNow sys_mod_count)",
            )
        }),
        Some(Value::Object(o)) if o.contains_key("display_value") || o.contains_key("value") => {
            Err(error(
                PATH,
                "wrong_type: `data.sysModCount` is a Table-API {display_value, value} pair; the envelope carries plain strings (send the `value`)",
            ))
        }
        Some(other) => Err(error(
            PATH,
            format!(
                "wrong_type: `data.sysModCount` must be a string of digits or an integer, found {}",
                json_kind(other)
            ),
        )),
    }
}

/// Recognises Table-API shapes: the `{"result": …}` wrapper and bare records. Returns the
/// path to report and a description of what was found.
fn table_api_shape(object: &Map<String, Value>) -> Option<(&'static str, String)> {
    if let Some(result) = object.get("result") {
        let inner = match result {
            Value::Object(record) => record_shape(record),
            Value::Array(records) => match records.first() {
                None => "no records".to_owned(),
                Some(Value::Object(record)) => format!(
                    "{} record(s), the first being {}",
                    records.len(),
                    record_shape(record)
                ),
                Some(other) => format!("an array of {}", json_kind(other)),
            },
            other => json_kind(other).to_owned(),
        };
        return Some((
            "result",
            format!("a ServiceNow Table API response ({{\"result\": …}}) holding {inner}"),
        ));
    }
    let looks_like_record = [
        "sys_id",
        "sys_created_on",
        "sys_updated_on",
        "sys_mod_count",
    ]
    .iter()
    .any(|k| object.contains_key(*k))
        || (object.contains_key("element") && object.contains_key("element_id"));
    looks_like_record.then(|| {
        (
            "$",
            format!(
                "a bare ServiceNow Table API row (no envelope): {}",
                record_shape(object)
            ),
        )
    })
}

fn record_shape(record: &Map<String, Value>) -> String {
    if record.contains_key("element") && record.contains_key("element_id") {
        let element = match record.get("element").and_then(Value::as_str) {
            Some("comments") => " (comments)",
            Some("work_notes") => " (work notes)",
            _ => "",
        };
        return format!("a sys_journal_field row{element}");
    }
    let pairs = record.values().any(|v| {
        v.as_object()
            .is_some_and(|o| o.contains_key("display_value"))
    });
    if pairs {
        "a record with {display_value, value} pairs (sysparm_display_value=all)".to_owned()
    } else {
        "a record with plain string values".to_owned()
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use serde_json::json;

    const SYS_ID: &str = "0a52c3d4e5f60718293a4b5c6d7e8f90";

    fn envelope(data: Value) -> Value {
        json!({
            "type": EVENT_TYPE, "orgId": 1001, "sysId": SYS_ID, "instanceName": "acme",
            "updatedTime": "2024-01-15T10:30:00Z", "updatedBy": "john.doe", "data": data,
        })
    }

    fn decode(v: &Value) -> Result<Vec<Decoded>, DecodeError> {
        decode_bytes(&serde_json::to_vec(v).unwrap())
    }

    fn changelogs(v: &Value) -> Vec<Changelog> {
        decode(v)
            .unwrap()
            .into_iter()
            .map(|d| match d {
                Decoded::Changelog(c) => c,
                Decoded::Skipped(s) => panic!("skipped: {s:?}"),
            })
            .collect()
    }

    fn skipped(v: &Value) -> Vec<FilteredReason> {
        decode(v)
            .unwrap()
            .into_iter()
            .map(|d| match d {
                Decoded::Skipped(s) => s.reason,
                Decoded::Changelog(c) => panic!("not skipped: {}", c.event_id),
            })
            .collect()
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

    #[test]
    fn malformed_envelopes_name_path_and_kind() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!([1, 2]), "$", "wrong_type"),
            (json!({"orgId": 1}), "type", "missing_field"),
            (json!({"type": 7, "orgId": 1}), "type", "wrong_type"),
            (
                {
                    let mut v = envelope(json!({}));
                    v.as_object_mut().unwrap().remove("orgId");
                    v
                },
                "orgId",
                "missing_field",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["orgId"] = json!(1.5);
                    v
                },
                "orgId",
                "invalid_value",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["orgId"] = json!(true);
                    v
                },
                "orgId",
                "wrong_type",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["sysId"] = json!("abc");
                    v
                },
                "sysId",
                "invalid_value",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["instanceName"] = json!(" ");
                    v
                },
                "instanceName",
                "invalid_value",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["updatedTime"] = json!("15/01/2024");
                    v
                },
                "updatedTime",
                "invalid_value",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["updatedBy"] = json!("");
                    v
                },
                "updatedBy",
                "missing_field",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["updatedBy"] = json!(3);
                    v
                },
                "updatedBy",
                "wrong_type",
            ),
            (
                {
                    let mut v = envelope(json!({}));
                    v["data"] = json!("state=7");
                    v
                },
                "data",
                "wrong_type",
            ),
            (envelope(json!({"state": 7})), "data.state", "wrong_type"),
            (
                envelope(json!({"state": {"display_value": "Closed", "value": "7"}})),
                "data.state",
                "wrong_type",
            ),
            (
                envelope(json!({"sysModCount": "twelve"})),
                "data.sysModCount",
                "invalid_value",
            ),
            (
                envelope(json!({"sysModCount": -3})),
                "data.sysModCount",
                "invalid_value",
            ),
            (
                json!({"result": {"sys_id": SYS_ID, "state": "7"}}),
                "result",
                "not_servicenow",
            ),
            (
                json!({"result": [{"element": "comments", "element_id": SYS_ID, "value": "x"}]}),
                "result",
                "not_servicenow",
            ),
            (
                json!({"sys_id": SYS_ID, "number": "INC1", "state": "1"}),
                "$",
                "not_servicenow",
            ),
        ];
        for (v, path, kind) in cases {
            let e = decode(&v).expect_err(&v.to_string());
            assert_eq!((e.path.as_str(), e.kind()), (path, kind), "{v}: {e}");
        }
        let e = decode_bytes(b"{\"type\":").unwrap_err();
        assert_eq!((e.path.as_str(), e.kind()), ("$", "not_json"));
    }

    #[test]
    fn table_api_messages_say_what_was_found() {
        let e = decode(
            &json!({"result": [{"element": "work_notes", "element_id": "x", "value": "v"}]}),
        )
        .unwrap_err();
        assert!(
            e.message.contains("sys_journal_field row (work notes)"),
            "{e}"
        );
        assert!(e.message.contains("datadog_x_incident envelope"), "{e}");
        let e = decode(&json!({"result": {"state": {"display_value": "New", "value": "1"}}}))
            .unwrap_err();
        assert!(e.message.contains("{display_value, value} pairs"), "{e}");
    }
}
