//! Property tests: the decoder and `envelope` never panic, whatever the bytes or the JSON in
//! any envelope field, and what they accept is well formed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use serde_json::{Value, json};
use servicenow::{DATA_FIELDS, ServiceNowDecoder, envelope};
use thirdparty_core::{Change, Decoded, Decoder, Payload};

/// ServiceNow words, as string values.
const WORDS: &[&str] = &["2024-01-15T10:30:00Z", "datadog_x_incident"];

/// ServiceNow field names, as object keys.
const KEYS: &[&str] = &["value", "display_value", "sys_id", "element", "element_id"];

fn any_json() -> impl Strategy<Value = Value> {
    thirdparty_core::testing::json_values(WORDS, KEYS)
}

fn valid() -> Value {
    json!({
        "type": "datadog_x_incident", "orgId": 1001,
        "sysId": "0a52c3d4e5f60718293a4b5c6d7e8f90", "instanceName": "acme",
        "updatedTime": "2024-01-15T10:30:00Z", "updatedBy": "john.doe",
        "data": {"state": "7", "comment": "c", "workNote": "w", "sysModCount": "3",
                 "correlationId": "case-1", "number": "INC1"},
    })
}

/// The envelope's own fields: the keys of [`valid`].
fn envelope_fields() -> Vec<String> {
    valid().as_object().unwrap().keys().cloned().collect()
}

fn decode(v: &Value) -> Result<Vec<Decoded>, thirdparty_core::DecodeError> {
    ServiceNowDecoder::new().decode(&Payload::from_value(serde_json::to_vec(v).unwrap()))
}

fn check_accepted(decoded: &[Decoded]) {
    assert!(!decoded.is_empty());
    for d in decoded {
        if let Decoded::Changelog(c) = d {
            assert!(c.event_id.starts_with("servicenow:"), "{}", c.event_id);
            assert_eq!(c.third_party.item_id.len(), 32);
            if let Change::Comment(comment) = &c.change {
                assert!(!comment.body.is_blank());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ServiceNowDecoder::new().decode(&Payload::from_value(bytes.clone()));
        let _ = envelope(1, "acme", &bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        if let Ok(d) = decode(&v) { check_accepted(&d); }
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(out) = envelope(1, "acme", &bytes) {
            prop_assert!(ServiceNowDecoder::new().decode(&Payload::from_value(out)).is_ok());
        }
    }

    #[test]
    fn any_value_in_any_envelope_field(field in 0..envelope_fields().len(), value in any_json(), remove in any::<bool>()) {
        let mut v = valid();
        let key = &envelope_fields()[field];
        if remove { v.as_object_mut().unwrap().remove(key); } else { v[key] = value; }
        match decode(&v) {
            Ok(d) => check_accepted(&d),
            Err(e) => prop_assert!(!e.path.is_empty() && e.kind() != "invalid" && servicenow::DECODE_ERROR_KINDS.contains(&e.kind), "{e}"),
        }
    }

    #[test]
    fn any_value_in_any_data_field(field in 0..DATA_FIELDS.len(), value in any_json()) {
        let mut v = valid();
        v["data"][DATA_FIELDS[field]] = value;
        match decode(&v) {
            Ok(d) => check_accepted(&d),
            Err(e) => prop_assert!(e.path.starts_with("data.") && e.kind() != "invalid" && servicenow::DECODE_ERROR_KINDS.contains(&e.kind), "{e}"),
        }
    }
}
