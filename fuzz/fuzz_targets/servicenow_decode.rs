//! `servicenow_decode`: arbitrary bytes as the Kafka record value of the ServiceNow reader.
//!
//! Seeds: every step's payload in `fixtures/servicenow/events/`. Checks: see
//! [`case_reader_fuzz::check_decoder`] (no panic, deterministic, bounded error kind).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    case_reader_fuzz::check_decoder(&servicenow::ServiceNowDecoder::new(), data, None);
});
