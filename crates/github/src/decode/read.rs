//! A cursor over the envelope's JSON that knows its path, so every [`DecodeError`] names the
//! field that failed; and the closed set of decode-error kinds.

use crate::INTEGRATION;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use thirdparty_core::{DecodeError, DecodeErrorKind as Kind};

/// Valid JSON in another GitHub shape (a webhook body without the envelope), not the Kafka
/// contract.
pub const NOT_GITHUB: Kind = Kind::new("not_github");

/// Every kind a GitHub [`DecodeError`] can have: the `kind` tag values of
/// `dd.case.kafka_consumer.decode_error` for this flavor.
pub const DECODE_ERROR_KINDS: [Kind; 5] = Kind::common_and(NOT_GITHUB);

/// What the envelope must look like, appended to top-level errors.
pub(crate) const CONTRACT: &str = "expected the envelope {orgId, installationId, receivedAt, deliveryId, event, webhook} (see the github crate README)";

/// A decode error of this integration.
pub(crate) fn fail(path: &str, kind: Kind, message: impl Into<String>) -> DecodeError {
    DecodeError::new(INTEGRATION, kind, path, message)
}

/// An object and its path: the parent of the fields read from it.
pub(crate) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

/// One member of an object (or item of an array) and its path (`webhook.issue.title`).
pub(crate) struct Member<'a> {
    path: String,
    value: &'a Value,
}

fn type_name(v: &Value) -> &'static str {
    if let Some(name) = [
        (v.is_object(), "an object"),
        (v.is_array(), "an array"),
        (v.is_string(), "a string"),
        (v.is_number(), "a number"),
        (v.is_boolean(), "a boolean"),
    ]
    .iter()
    .find_map(|(is, name)| is.then_some(*name))
    {
        name
    } else {
        "null"
    }
}

impl<'a> Obj<'a> {
    /// The root object of the record value.
    pub(crate) fn root(value: &'a Value) -> Result<Self, DecodeError> {
        match value {
            Value::Object(map) => Ok(Self {
                path: "$".to_owned(),
                map,
            }),
            other => Err(fail(
                "$",
                Kind::WRONG_TYPE,
                format!("found {}; {CONTRACT}", type_name(other)),
            )),
        }
    }

    /// The member `key`; `null` counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<Member<'a>> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(Member {
                path: self.child(key),
                value,
            }),
        }
    }

    /// The member `key`, which must be present and not `null`.
    pub(crate) fn req(&self, key: &str) -> Result<Member<'a>, DecodeError> {
        self.get(key).ok_or_else(|| {
            fail(
                &self.child(key),
                Kind::MISSING_FIELD,
                "is absent or null; the Kafka contract (or GitHub, for webhook fields) always sends it here",
            )
        })
    }

    /// Whether `key` is present (even `null`).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn child(&self, key: &str) -> String {
        if self.path == "$" {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl<'a> Member<'a> {
    fn mistyped(&self, wanted: &str) -> DecodeError {
        fail(
            &self.path,
            Kind::WRONG_TYPE,
            format!("must be {wanted}, found {}", type_name(self.value)),
        )
    }

    /// The member as an object.
    pub(crate) fn obj(&self) -> Result<Obj<'a>, DecodeError> {
        match self.value {
            Value::Object(map) => Ok(Obj {
                path: self.path.clone(),
                map,
            }),
            _ => Err(self.mistyped("an object")),
        }
    }

    /// The member as a string.
    pub(crate) fn str(&self) -> Result<&'a str, DecodeError> {
        self.value.as_str().ok_or_else(|| self.mistyped("a string"))
    }

    /// The member as a non-blank trimmed string.
    pub(crate) fn text(&self) -> Result<&'a str, DecodeError> {
        let s = self.str()?.trim();
        if s.is_empty() {
            return Err(fail(&self.path, Kind::MISSING_FIELD, "is empty"));
        }
        Ok(s)
    }

    /// The member as an unsigned integer, sent as a JSON number or a string of digits.
    pub(crate) fn id(&self) -> Result<u64, DecodeError> {
        let parsed = match self.value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => return Err(self.mistyped("an unsigned integer")),
        };
        parsed.ok_or_else(|| {
            fail(
                &self.path,
                Kind::INVALID_VALUE,
                "must be an unsigned 64-bit integer",
            )
        })
    }

    /// The member as an RFC 3339 time (GitHub's `2019-05-15T15:20:18Z`).
    pub(crate) fn time(&self) -> Result<DateTime<Utc>, DecodeError> {
        DateTime::parse_from_rfc3339(self.str()?.trim())
            .map(|t| t.to_utc())
            .map_err(|e| {
                fail(
                    &self.path,
                    Kind::INVALID_VALUE,
                    format!("must be an RFC 3339 time: {e}"),
                )
            })
    }

    /// The member as an array of members.
    pub(crate) fn items(&self) -> Result<Vec<Member<'a>>, DecodeError> {
        let Value::Array(values) = self.value else {
            return Err(self.mistyped("an array"));
        };
        Ok(values
            .iter()
            .enumerate()
            .map(|(i, value)| Member {
                path: format!("{}[{i}]", self.path),
                value,
            })
            .collect())
    }
}
