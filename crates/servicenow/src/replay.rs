//! [`envelope`]: wraps a raw diff or a Table-API record into the Kafka contract, for replays.

use crate::decode::{EVENT_TYPE, decode_bytes, error, wrong_type};
use serde_json::{Map, Value, json};
use thirdparty_core::{DecodeError, DecodeErrorKind as Kind};

/// Builds the `datadog_x_incident` envelope (the Kafka record value) for organisation
/// `org_id` and instance `instance_name` from `raw`, so a diff or a record fetched from
/// ServiceNow can be replayed through the pipeline. `raw` is one JSON object of one of
/// these shapes:
///
/// 1. **A contract diff**: `{"sysId", "updatedTime", "updatedBy", "data": {…}}` as in the
///    envelope; `type`, `orgId` and `instanceName` are set (replaced when present).
/// 2. **A Table-API incident record** (`/api/now/table/incident`), bare or wrapped in
///    `{"result": {…}}` / `{"result": [one record]}`; values may be plain strings or
///    `{display_value, value}` / `{link, value}` pairs (the `value`, ServiceNow's stored UTC
///    form, is used). `sys_id` → `sysId`, `sys_updated_on` → `updatedTime`,
///    `sys_updated_by` → `updatedBy`, and `state`, `correlation_id`, `sys_mod_count`,
///    `number`, `comments`, `work_notes` → `data.state`, `data.correlationId`,
///    `data.sysModCount`, `data.number`, `data.comment`, `data.workNote` (empty values
///    left out). A full record thus replays its current state, not its history.
/// 3. **A `sys_journal_field` row** (bare or wrapped like a record): `element_id` →
///    `sysId`, `sys_created_on` → `updatedTime`, `sys_created_by` → `updatedBy`, and
///    `value` → `data.comment` (element `comments`) or `data.workNote` (`work_notes`).
///
/// The result is checked with the decoder, so anything returned decodes; otherwise the
/// [`DecodeError`] says which input field is missing or malformed (kinds `not_json`,
/// `wrong_type`, `missing_field`, `invalid_value`). The same input fails the same way:
/// retrying does not help.
///
/// ```
/// let row = br#"{"result": [{"element": "work_notes", "element_id": "9c573169c611228700193229fff72400",
///     "sys_created_on": "2020-04-07 07:26:01", "sys_created_by": "admin", "value": "Rebooted"}]}"#;
/// let value = servicenow::envelope(1001, "acme", row).unwrap();
/// let v: serde_json::Value = serde_json::from_slice(&value).unwrap();
/// assert_eq!(v["type"], "datadog_x_incident");
/// assert_eq!(v["data"]["workNote"], "Rebooted");
/// assert_eq!(v["updatedTime"], "2020-04-07T07:26:01Z");
/// ```
pub fn envelope(org_id: u64, instance_name: &str, raw: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| {
        error(
            "$",
            Kind::NOT_JSON,
            format!("{e}; expected a contract diff, a Table-API record or a sys_journal_field row"),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(wrong_type(
            "$",
            "expected one JSON object (a contract diff, a Table-API record or a journal row)",
            &value,
        ));
    };
    let mut out = if object.get("data").is_some_and(Value::is_object) {
        object
    } else {
        let (path, record) = unwrap_result(&object)?;
        from_record(path, record)?
    };
    out.insert("type".to_owned(), json!(EVENT_TYPE));
    out.insert("orgId".to_owned(), json!(org_id));
    out.insert("instanceName".to_owned(), json!(instance_name));
    let bytes = serde_json::to_vec(&Value::Object(out)).map_err(|e| {
        error(
            "$",
            Kind::INVALID_VALUE,
            format!("cannot serialise the envelope: {e}"),
        )
    })?;
    decode_bytes(&bytes)?;
    Ok(bytes)
}

/// The one record inside a `{"result": …}` wrapper, or the object itself.
fn unwrap_result(
    object: &Map<String, Value>,
) -> Result<(&'static str, &Map<String, Value>), DecodeError> {
    match object.get("result") {
        None => Ok(("", object)),
        Some(Value::Object(record)) => Ok(("result.", record)),
        Some(Value::Array(records)) => match records.as_slice() {
            [Value::Object(record)] => Ok(("result[0].", record)),
            [other] => Err(wrong_type("result[0]", "expected a record object", other)),
            _ => Err(error(
                "result",
                Kind::INVALID_VALUE,
                format!("`result` holds {} records; pass exactly one", records.len()),
            )),
        },
        Some(other) => Err(wrong_type(
            "result",
            "`result` must be a record or an array of one record",
            other,
        )),
    }
}

/// A Table-API value as a string: plain strings, or the `value` of a pair. `None` when
/// absent or empty.
fn value_of<'a>(
    path: &str,
    record: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, DecodeError> {
    let v = match record.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(pair)) => match pair.get("value") {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => v,
        },
        Some(v) => v,
    };
    match v {
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(wrong_type(
            format!("{path}{key}"),
            &format!("Table-API value `{key}` must be a string"),
            other,
        )),
    }
}

fn required_value<'a>(
    path: &str,
    record: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, DecodeError> {
    value_of(path, record, key)?.ok_or_else(|| {
        error(
            format!("{path}{key}"),
            Kind::MISSING_FIELD,
            format!("the record has no `{key}`, needed to build the envelope"),
        )
    })
}

/// (envelope key, record key) pairs: where each envelope field is read from.
type Renames = Vec<(&'static str, &'static str)>;

fn from_record(path: &str, record: &Map<String, Value>) -> Result<Map<String, Value>, DecodeError> {
    // (envelope key, record key) of the envelope's own fields, then of its `data` fields.
    let (envelope_keys, data_keys): (Renames, Renames) =
        if record.contains_key("element") && record.contains_key("element_id") {
            let field = match required_value(path, record, "element")? {
                "comments" => "comment",
                "work_notes" => "workNote",
                _ => {
                    return Err(error(
                        format!("{path}element"),
                        Kind::INVALID_VALUE,
                        "only journal rows of element `comments` or `work_notes` can be replayed",
                    ));
                }
            };
            (
                vec![
                    ("sysId", "element_id"),
                    ("updatedTime", "sys_created_on"),
                    ("updatedBy", "sys_created_by"),
                ],
                vec![(field, "value")],
            )
        } else {
            (
                vec![
                    ("sysId", "sys_id"),
                    ("updatedTime", "sys_updated_on"),
                    ("updatedBy", "sys_updated_by"),
                ],
                vec![
                    ("state", "state"),
                    ("correlationId", "correlation_id"),
                    ("sysModCount", "sys_mod_count"),
                    ("number", "number"),
                    ("comment", "comments"),
                    ("workNote", "work_notes"),
                ],
            )
        };
    let mut out = Map::new();
    for (to, from) in envelope_keys {
        out.insert(to.into(), json!(required_value(path, record, from)?));
    }
    let mut data = Map::new();
    for (to, from) in data_keys {
        if let Some(v) = value_of(path, record, from)? {
            data.insert(to.into(), json!(v));
        }
    }
    // Normalise ServiceNow's `YYYY-MM-DD HH:MM:SS` (UTC) to RFC 3339 for readers of the record.
    if let Some(t) = out
        .get("updatedTime")
        .and_then(Value::as_str)
        .and_then(crate::decode::parse_time)
    {
        out.insert(
            "updatedTime".into(),
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        );
    }
    out.insert("data".into(), Value::Object(data));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS_ID: &str = "9c573169c611228700193229fff72400";

    fn wrap(raw: Value) -> Result<Value, DecodeError> {
        envelope(7, "acme", &serde_json::to_vec(&raw).unwrap())
            .map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn contract_diff_gets_type_org_and_instance() {
        let v = wrap(
            json!({"sysId": SYS_ID, "updatedTime": "2024-01-15T10:30:00Z",
            "updatedBy": "jane", "orgId": 99, "data": {"state": "2"}}),
        )
        .unwrap();
        assert_eq!(v["orgId"], 7);
        assert_eq!(v["instanceName"], "acme");
        assert_eq!(v["data"], json!({"state": "2"}));
    }

    #[test]
    fn table_api_record_with_pairs_uses_values() {
        let v = wrap(json!({"result": {
            "sys_id": {"display_value": SYS_ID, "value": SYS_ID},
            "sys_updated_on": {"display_value": "29.02.2024 15:09:46", "value": "2024-02-29 13:09:46"},
            "sys_updated_by": {"display_value": "admin", "value": "admin"},
            "state": {"display_value": "New", "value": "1"},
            "correlation_id": {"display_value": "", "value": ""},
            "sys_mod_count": "4",
            "assigned_to": {"link": "https://x", "value": "abc"},
            "comments": {"display_value": "2024-02-29 - Admin (Additional comments)\nhi", "value": ""}
        }}))
        .unwrap();
        assert_eq!(v["updatedTime"], "2024-02-29T13:09:46Z");
        assert_eq!(v["data"], json!({"state": "1", "sysModCount": "4"}));
    }

    #[test]
    fn unusable_inputs_say_why() {
        let cases = [
            (json!([]), "$", "wrong_type"),
            (json!({"result": []}), "result", "invalid_value"),
            (
                json!({"result": [{"sys_id": SYS_ID}]}),
                "result[0].sys_updated_on",
                "missing_field",
            ),
            (
                json!({"sys_id": "123456789", "sys_updated_on": "2024-01-01 00:00:00", "sys_updated_by": "a"}),
                "sysId",
                "invalid_value",
            ),
            (
                json!({"element": "close_notes", "element_id": SYS_ID}),
                "element",
                "invalid_value",
            ),
            (
                json!({"sys_id": SYS_ID, "sys_updated_on": 5}),
                "sys_updated_on",
                "wrong_type",
            ),
        ];
        for (raw, path, kind) in cases {
            let e = wrap(raw.clone()).expect_err(&raw.to_string());
            assert_eq!((e.path.as_str(), e.kind()), (path, kind), "{raw}: {e}");
        }
        let e = envelope(1, "acme", b"nope").unwrap_err();
        assert_eq!(e.kind(), "not_json");
    }
}
