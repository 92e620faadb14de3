//! Reading and checking the envelope's fields, and the closed set of decode-error kinds.

use crate::INTEGRATION;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use thirdparty_core::{DecodeError, DecodeErrorKind as Kind, OrgId};

/// Valid JSON in another ServiceNow shape (a Table-API record, a journal row), not the
/// Kafka contract's envelope.
pub const NOT_SERVICENOW: Kind = Kind::new("not_servicenow");

/// Every kind a ServiceNow [`DecodeError`] can have: the `kind` tag values of
/// `dd.case.kafka_consumer.decode_error` for this flavor.
pub const DECODE_ERROR_KINDS: [Kind; 5] = Kind::common_and(NOT_SERVICENOW);

/// A decode error of `kind` at `path`.
pub(crate) fn error(
    path: impl Into<String>,
    kind: Kind,
    message: impl Into<String>,
) -> DecodeError {
    DecodeError::new(INTEGRATION, kind, path, message)
}

/// A `wrong_type` error at `path`: `expected` (what the value must be), then what was found.
pub(crate) fn wrong_type(path: impl Into<String>, expected: &str, found: &Value) -> DecodeError {
    error(
        path,
        Kind::WRONG_TYPE,
        format!("{expected}, found {}", json_kind(found)),
    )
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

pub(super) const ENVELOPE_SHAPE: &str = "expected the datadog_x_incident envelope {type, orgId, sysId, instanceName, updatedTime, updatedBy, data}";

pub(super) fn required<'a>(
    envelope: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Value, DecodeError> {
    match envelope.get(key) {
        None | Some(Value::Null) => Err(error(
            key,
            Kind::MISSING_FIELD,
            format!("`{key}` is absent; {ENVELOPE_SHAPE}"),
        )),
        Some(v) => Ok(v),
    }
}

pub(super) fn required_string<'a>(
    envelope: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, DecodeError> {
    match required(envelope, key)? {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(key, &format!("`{key}` must be a string"), other)),
    }
}

/// `orgId`: a JSON integer, or a string of digits.
pub(super) fn org_id(value: &Value) -> Result<OrgId, DecodeError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        other => {
            return Err(wrong_type(
                "orgId",
                "`orgId` must be an unsigned integer (the Case Management organisation id)",
                other,
            ));
        }
    };
    parsed.map(OrgId).ok_or_else(|| {
        error(
            "orgId",
            Kind::INVALID_VALUE,
            "`orgId` must be an unsigned 64-bit integer (the Case Management organisation id)",
        )
    })
}

/// `value` trimmed, when it is a string (else `wrong_type`: it `must be {expected}`) that
/// passes `valid` (else `invalid_value` with `invalid` as the message).
fn checked_string<'a>(
    key: &str,
    value: &'a Value,
    expected: &str,
    valid: impl FnOnce(&str) -> bool,
    invalid: &str,
) -> Result<&'a str, DecodeError> {
    let Value::String(s) = value else {
        return Err(wrong_type(
            key,
            &format!("`{key}` must be {expected}"),
            value,
        ));
    };
    let s = s.trim();
    if valid(s) {
        Ok(s)
    } else {
        Err(error(key, Kind::INVALID_VALUE, invalid))
    }
}

/// `sysId`: 32 hexadecimal characters, returned in lower case (ServiceNow's form).
pub(super) fn sys_id(value: &Value) -> Result<String, DecodeError> {
    checked_string(
        "sysId",
        value,
        "a string of 32 hexadecimal characters",
        |s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "`sysId` must be a ServiceNow sys_id, 32 hexadecimal characters",
    )
    .map(str::to_ascii_lowercase)
}

/// `instanceName`: the ServiceNow instance (`company` of `company.service-now.com`).
pub(super) fn instance_name(value: &Value) -> Result<String, DecodeError> {
    checked_string(
        "instanceName",
        value,
        "a string such as \"company\"",
        |s| !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control),
        "`instanceName` must be a non-empty ServiceNow instance name such as \"company\" (at most 255 bytes, no control characters)",
    )
    .map(str::to_owned)
}

pub(super) fn updated_time(value: &Value) -> Result<DateTime<Utc>, DecodeError> {
    let Value::String(s) = value else {
        return Err(wrong_type(
            "updatedTime",
            "`updatedTime` must be an RFC 3339 string",
            value,
        ));
    };
    parse_time(s).ok_or_else(|| {
        error(
            "updatedTime",
            Kind::INVALID_VALUE, "`updatedTime` must be an RFC 3339 date-time such as 2024-01-15T10:30:00Z (or ServiceNow's UTC `2024-01-15 10:30:00`)",
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
pub(super) fn data_string<'a>(
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
                Kind::WRONG_TYPE,
                format!(
                    "`data.{key}` is a Table-API {{display_value, value}} / {{link, value}} pair; the envelope carries plain strings (send the `value`)"
                ),
            ))
        }
        Some(other) => Err(wrong_type(
            format!("data.{key}"),
            &format!("`data.{key}` must be a string"),
            other,
        )),
    }
}

/// `data.sysModCount`: a string of digits as ServiceNow sends it, or a JSON integer.
pub(super) fn sys_mod_count(data: &Map<String, Value>) -> Result<Option<u64>, DecodeError> {
    const PATH: &str = "data.sysModCount";
    match data.get("sysModCount") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            error(
                PATH,
                Kind::INVALID_VALUE, "`data.sysModCount` must be an unsigned integer (ServiceNow sys_mod_count)",
            )
        }),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            error(
                PATH,
                Kind::INVALID_VALUE, "`data.sysModCount` must be a string of digits such as \"12\" (ServiceNow sys_mod_count)",
            )
        }),
        Some(Value::Object(o)) if o.contains_key("display_value") || o.contains_key("value") => {
            Err(error(
                PATH,
                Kind::WRONG_TYPE, "`data.sysModCount` is a Table-API {display_value, value} pair; the envelope carries plain strings (send the `value`)",
            ))
        }
        Some(other) => Err(wrong_type(PATH, "`data.sysModCount` must be a string of digits or an integer", other)),
    }
}

/// Recognises Table-API shapes: the `{"result": …}` wrapper and bare records. Returns the
/// path to report and a description of what was found.
pub(super) fn table_api_shape(object: &Map<String, Value>) -> Option<(&'static str, String)> {
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

pub(super) fn record_shape(record: &Map<String, Value>) -> String {
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
mod tests {
    use super::super::decode_bytes;
    use super::super::tests::{SYS_ID, decode, envelope};
    use serde_json::{Value, json};

    /// The empty-diff envelope with `key` set to `value`, or removed when `None`.
    fn envelope_with(key: &str, value: Option<Value>) -> Value {
        let mut v = envelope(json!({}));
        let object = v.as_object_mut().unwrap();
        match value {
            Some(value) => object.insert(key.to_owned(), value),
            None => object.remove(key),
        };
        v
    }

    #[test]
    fn malformed_envelopes_name_path_and_kind() {
        // (envelope field, its value or None for absent, kind): the error's path is the field.
        let field_cases: [(&str, Option<Value>, &str); 9] = [
            ("orgId", None, "missing_field"),
            ("orgId", Some(json!(1.5)), "invalid_value"),
            ("orgId", Some(json!(true)), "wrong_type"),
            ("sysId", Some(json!("abc")), "invalid_value"),
            ("instanceName", Some(json!(" ")), "invalid_value"),
            ("updatedTime", Some(json!("15/01/2024")), "invalid_value"),
            ("updatedBy", Some(json!("")), "missing_field"),
            ("updatedBy", Some(json!(3)), "wrong_type"),
            ("data", Some(json!("state=7")), "wrong_type"),
        ];
        let mut cases: Vec<(Value, &str, &str)> = field_cases
            .into_iter()
            .map(|(key, value, kind)| (envelope_with(key, value), key, kind))
            .collect();
        cases.extend([
            (json!([1, 2]), "$", "wrong_type"),
            (json!({"orgId": 1}), "type", "missing_field"),
            (json!({"type": 7, "orgId": 1}), "type", "wrong_type"),
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
        ]);
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
