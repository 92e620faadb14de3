//! Shared pieces of the fuzz targets: the checks every decoder input goes through, and the
//! builder of structured JSON documents (a valid skeleton with arbitrary values put at known
//! positions) that the `*_structured` targets use.
//!
//! The targets themselves live in `fuzz_targets/`; `cargo xtask fuzz` builds and runs them
//! (see `fuzz/README.md`). The checks are plain functions so that a unit test can drive them
//! on a known input without libFuzzer:
//!
//! ```
//! use case_reader_fuzz::check_decoder;
//! use servicenow::ServiceNowDecoder;
//!
//! // Not JSON: a decode error with a bounded kind, the same on every call.
//! check_decoder(&ServiceNowDecoder::new(), b"{\"type\":", None);
//! ```

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Number, Value};
use thirdparty_core::{Decoder, Payload};

/// Text that the structured targets put into free-text positions only (comment bodies, work
/// notes, descriptions, titles). A decode error must never repeat it: decode errors are
/// logged, and logs never carry what people wrote.
pub const SECRET_MARKER: &str = "FUZZ-CUSTOMER-TEXT-5f3a9c";

/// Runs `decoder` on `value` and checks what must hold for every input:
///
/// - it returns (a panic, an overflow or a stack overflow fails the run);
/// - decoding is deterministic: a second decode of the same bytes gives the same result;
/// - an error carries a bounded `kind:` prefix (never the `invalid` fallback) and a path;
/// - when `secret` is given (the input holds that text only in free-text positions), the
///   error's message does not repeat it.
pub fn check_decoder(decoder: &dyn Decoder, value: &[u8], secret: Option<&str>) {
    let payload = Payload::from_value(value.to_vec());
    let first = decoder.decode(&payload);
    let second = decoder.decode(&payload);
    assert_eq!(first, second, "decoding the same bytes twice differs");
    if let Err(err) = &first {
        assert_ne!(
            err.kind(),
            "invalid",
            "decode error without a bounded `kind:` prefix: {err}"
        );
        assert!(!err.path.is_empty(), "decode error without a path: {err}");
        if let Some(secret) = secret {
            assert!(
                !err.to_string().contains(secret),
                "a decode error repeats free text from the payload: {err}"
            );
        }
    }
}

/// The body of a `*_structured` target: builds a [`structured_document`] from the fuzzer's
/// `data` (skeletons, slots and dictionary as there) and runs [`check_decoder`] on it with
/// the document's secret. Data too short to build a document is skipped.
pub fn check_structured_decoder(
    decoder: &dyn Decoder,
    data: &[u8],
    skeletons: &[&str],
    slots: &[Slot],
    dictionary: &[&str],
) {
    let mut u = Unstructured::new(data);
    if let Ok(doc) = structured_document(&mut u, skeletons, slots, dictionary) {
        check_decoder(decoder, &doc.bytes, doc.secret);
    }
}

/// A position in a skeleton document where the structured targets put arbitrary values.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// JSON pointer (RFC 6901) of the position; a last token `-` appends to an array.
    pub pointer: &'static str,
    /// Whether the position holds free text written by a person (then it may receive
    /// [`SECRET_MARKER`]).
    pub free_text: bool,
}

impl Slot {
    /// A position holding structured data (ids, times, names, codes).
    pub const fn data(pointer: &'static str) -> Self {
        Self {
            pointer,
            free_text: false,
        }
    }

    /// A position holding free text.
    pub const fn text(pointer: &'static str) -> Self {
        Self {
            pointer,
            free_text: true,
        }
    }
}

/// A document built by [`structured_document`].
#[derive(Clone, Debug)]
pub struct Document {
    /// The serialized JSON.
    pub bytes: Vec<u8>,
    /// [`SECRET_MARKER`] when it was placed in free-text positions and appears nowhere else
    /// in the document; `None` otherwise (then there is nothing to check).
    pub secret: Option<&'static str>,
}

/// Builds a document from one of `skeletons` (JSON texts) and up to 12 edits, each at one of
/// `slots`: an arbitrary JSON value (nested up to 4 levels, strings and keys mostly taken from
/// `dictionary`), a dictionary string, an edge-case number, a removal, or — in free-text
/// slots — text around [`SECRET_MARKER`].
pub fn structured_document(
    u: &mut Unstructured<'_>,
    skeletons: &[&str],
    slots: &[Slot],
    dictionary: &[&str],
) -> Result<Document> {
    let skeleton = u.choose(skeletons)?;
    let mut doc: Value =
        serde_json::from_str(skeleton).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let mut secret_slots: Vec<&'static str> = Vec::new();
    let edits = u.int_in_range(0..=12u8)?;
    for _ in 0..edits {
        let slot = *u.choose(slots)?;
        let value = match u.int_in_range(0..=5u8)? {
            0 => None,
            1 => Some(json_value(u, dictionary, 4)?),
            2 => Some(Value::String(string(u, dictionary)?)),
            3 => Some(edge_number(u)?),
            4 if slot.free_text => {
                secret_slots.push(slot.pointer);
                Some(Value::String(format!(
                    "{}{SECRET_MARKER}{}",
                    string(u, dictionary)?,
                    string(u, dictionary)?
                )))
            }
            _ => Some(json_value(u, dictionary, 1)?),
        };
        set(&mut doc, slot.pointer, value);
    }
    let bytes = serde_json::to_vec(&doc).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let secret = if secret_slots.is_empty() || !contains(&bytes, SECRET_MARKER) {
        None
    } else {
        // Only check when the marker is nowhere but in free-text positions (libFuzzer learns
        // strings from comparisons and may put it into an id).
        let mut rest = doc;
        for pointer in &secret_slots {
            set(&mut rest, pointer, None);
        }
        let rest = serde_json::to_vec(&rest).map_err(|_| arbitrary::Error::IncorrectFormat)?;
        (!contains(&rest, SECRET_MARKER)).then_some(SECRET_MARKER)
    };
    Ok(Document { bytes, secret })
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Sets (or with `None` removes) the value at `pointer`. A missing parent is left missing;
/// an array index past the end, or `-`, appends.
pub fn set(doc: &mut Value, pointer: &str, value: Option<Value>) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let Some(parent) = doc.pointer_mut(parent) else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match (parent, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(last, v);
        }
        (Value::Object(map), None) => {
            map.remove(&last);
        }
        (Value::Array(items), value) => {
            let index = last.parse::<usize>().ok().filter(|i| *i < items.len());
            match (index, value) {
                (Some(i), Some(v)) => {
                    if let Some(slot) = items.get_mut(i) {
                        *slot = v;
                    }
                }
                (Some(i), None) => {
                    items.remove(i);
                }
                (None, Some(v)) => items.push(v),
                (None, None) => {}
            }
        }
        _ => {}
    }
}

/// An arbitrary JSON value nested at most `depth` levels.
pub fn json_value(u: &mut Unstructured<'_>, dictionary: &[&str], depth: u32) -> Result<Value> {
    let kinds = if depth == 0 { 6 } else { 8 };
    Ok(match u.int_in_range(0..=kinds - 1)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => edge_number(u)?,
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(string(u, dictionary)?),
        6 => {
            let len = u.int_in_range(0..=4u8)?;
            let mut items = Vec::with_capacity(usize::from(len));
            for _ in 0..len {
                items.push(json_value(u, dictionary, depth - 1)?);
            }
            Value::Array(items)
        }
        _ => {
            let len = u.int_in_range(0..=6u8)?;
            let mut map = Map::new();
            for _ in 0..len {
                let key = string(u, dictionary)?;
                map.insert(key, json_value(u, dictionary, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

/// A string: mostly a dictionary word, else arbitrary text or a word with arbitrary text.
pub fn string(u: &mut Unstructured<'_>, dictionary: &[&str]) -> Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 | 1 => (*u.choose(dictionary)?).to_owned(),
        2 => u.arbitrary::<&str>()?.to_owned(),
        _ => format!("{}{}", u.choose(dictionary)?, u.arbitrary::<&str>()?),
    })
}

/// Numbers at the edges of what JSON readers handle: 0, ±1, integer limits, huge and tiny
/// floats, as numbers or as digit strings.
pub fn edge_number(u: &mut Unstructured<'_>) -> Result<Value> {
    const EDGES: &[&str] = &[
        "0",
        "-1",
        "1",
        "-0",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "1e308",
        "-1e308",
        "1e-320",
        "253402300799999",
        "253402300800000",
        "-62135596800001",
        "8640000000000000",
        "1.5",
        "4294967296",
        "2147483648",
    ];
    let text = *u.choose(EDGES)?;
    Ok(if u.arbitrary::<bool>()? {
        Value::String(text.to_owned())
    } else {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()))
    })
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

    #[test]
    fn set_inserts_replaces_appends_and_removes() {
        let mut doc = json!({"a": {"items": [1, 2]}, "b": 1});
        set(&mut doc, "/a/items/0", Some(json!("x")));
        set(&mut doc, "/a/items/-", Some(json!(3)));
        set(&mut doc, "/a/items/9", Some(json!(4)));
        set(&mut doc, "/b", None);
        set(&mut doc, "/a/new", Some(json!(null)));
        set(&mut doc, "/missing/child", Some(json!(1)));
        assert_eq!(doc, json!({"a": {"items": ["x", 2, 3, 4], "new": null}}));
        set(&mut doc, "/a/items/1", None);
        assert_eq!(doc["a"]["items"], json!(["x", 3, 4]));
    }

    #[test]
    fn secret_is_reported_only_when_confined_to_free_text() {
        let slots = [Slot::text("/body"), Slot::data("/id")];
        let mut seen_secret = false;
        let mut seen_none = false;
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            // xorshift64: varied, reproducible inputs.
            let data: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect();
            let mut u = Unstructured::new(&data);
            let Ok(doc) =
                structured_document(&mut u, &[r#"{"id":"1","body":"b"}"#], &slots, &["w"])
            else {
                continue;
            };
            let v: Value = serde_json::from_slice(&doc.bytes).unwrap();
            match doc.secret {
                Some(marker) => {
                    seen_secret = true;
                    assert!(v["body"].as_str().unwrap().contains(marker));
                    assert!(!v["id"].to_string().contains(marker));
                }
                None => seen_none = true,
            }
        }
        assert!(
            seen_secret && seen_none,
            "both cases should occur over 256 inputs"
        );
    }

    #[test]
    fn check_decoder_accepts_a_valid_and_a_malformed_payload() {
        let decoder = servicenow::ServiceNowDecoder::new();
        let good = br#"{"type":"datadog_x_incident","orgId":1001,
            "sysId":"0a52c3d4e5f60718293a4b5c6d7e8f90","instanceName":"acme",
            "updatedTime":"2024-01-15T10:30:00Z","updatedBy":"john.doe",
            "data":{"comment":"FUZZ-CUSTOMER-TEXT-5f3a9c"}}"#;
        check_decoder(&decoder, good, Some(SECRET_MARKER));
        check_decoder(&decoder, b"[1,2", None);
        check_decoder(&jira::JiraDecoder::new(), b"{}", None);
    }

    #[test]
    #[should_panic(expected = "repeats free text")]
    fn check_decoder_catches_an_error_repeating_the_secret() {
        struct Echo;
        impl Decoder for Echo {
            fn integration(&self) -> thirdparty_core::Integration {
                thirdparty_core::Integration::new("echo")
            }
            fn decode(
                &self,
                payload: &Payload,
            ) -> std::result::Result<Vec<thirdparty_core::Decoded>, thirdparty_core::DecodeError>
            {
                Err(thirdparty_core::DecodeError::new(
                    self.integration(),
                    thirdparty_core::DecodeErrorKind::INVALID_VALUE,
                    "$",
                    String::from_utf8_lossy(&payload.value),
                ))
            }
        }
        check_decoder(&Echo, SECRET_MARKER.as_bytes(), Some(SECRET_MARKER));
    }
}
