//! `github_decode`: arbitrary bytes through the GitHub decoder, three ways: as the Kafka
//! record value itself, and as the `webhook` of an otherwise valid envelope of an `issues`
//! and of an `issue_comment` event (so mutations of a captured webhook body reach the
//! per-event rules instead of stopping at the envelope).
//!
//! Seeds: the vendored `@octokit/webhooks-examples` bodies of `fixtures/github/webhooks/`.
//! Checks: [`case_reader_fuzz::check_decoder`] (no panic, deterministic, bounded error kind
//! with a path).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = github::GitHubDecoder::new();
    case_reader_fuzz::check_decoder(&decoder, data, None);
    for event in ["issues", "issue_comment"] {
        let mut value = format!(
            r#"{{"orgId":1,"installationId":5501,"receivedAt":"2026-03-02T10:00:00Z","deliveryId":"fuzz","event":"{event}","webhook":"#
        )
        .into_bytes();
        value.extend_from_slice(data);
        value.push(b'}');
        case_reader_fuzz::check_decoder(&decoder, &value, None);
    }
});
