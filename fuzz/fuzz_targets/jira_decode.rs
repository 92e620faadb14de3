//! `jira_decode`: arbitrary bytes as the Kafka record value of the Jira reader.
//!
//! Seeds: every payload in `fixtures/jira/payloads/`. Checks: see
//! [`case_reader_fuzz::check_decoder`] (no panic, deterministic, bounded error kind).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    case_reader_fuzz::check_decoder(&jira::JiraDecoder::new(), data, None);
});
