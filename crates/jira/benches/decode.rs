//! Decode of a ~3 KB `jira:issue_updated` payload, and the prefilter with cached metadata.
//! Run: `cargo bench -p jira --bench decode` (criterion prints events/s as `elem/s`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use case_sandbox::{Rpc, Store};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use thirdparty_core::{CaseApi, Decoded, Decoder, Filterer, Payload, PreFiltered};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/jira");

/// The `update_priority` fixture, compacted (as a producer would send it): about 3 KB.
fn issue_updated_payload() -> Payload {
    let value: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{FIXTURES}/payloads/update_priority.json")).unwrap(),
    )
    .unwrap();
    Payload::from_value(serde_json::to_vec(&value).unwrap())
}

fn bench(c: &mut Criterion) {
    let payload = issue_updated_payload();
    let size = payload.value.len();
    assert!((2_500..=4_500).contains(&size), "payload is {size} bytes");
    let decoder = jira::JiraDecoder::new();

    let mut group = c.benchmark_group("jira");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("decode_issue_updated_{size}_bytes"), |b| {
        b.iter(|| decoder.decode(black_box(&payload)).unwrap())
    });

    let changelog = match decoder.decode(&payload).unwrap().remove(0) {
        Decoded::Changelog(c) => c,
        Decoded::Skipped(s) => panic!("{s:?}"),
    };
    let store =
        Store::load_seed_file(&std::path::PathBuf::from(FIXTURES).join("seed.json")).unwrap();
    let api: Arc<dyn CaseApi> = Arc::new(store.clone());
    let filterer = jira::JiraFilterer::new(api, &jira::JiraConfig::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(filterer.warm()).unwrap();
    let loads = store.calls(Rpc::ListIntegrationMetadata);
    group.bench_function("prefilter_cached_metadata", |b| {
        b.iter(|| {
            match rt
                .block_on(filterer.prefilter(black_box(changelog.clone())))
                .unwrap()
            {
                PreFiltered::Keep(c) => c,
                PreFiltered::Skip(r) => panic!("{r}"),
            }
        })
    });
    assert_eq!(
        store.calls(Rpc::ListIntegrationMetadata),
        loads,
        "the prefilter bench ran from the cache"
    );

    let description =
        std::fs::read_to_string(format!("{FIXTURES}/payloads/update_description.json")).unwrap();
    let wiki: serde_json::Value = serde_json::from_str(&description).unwrap();
    let wiki = wiki["webhook"]["changelog"]["items"][0]["toString"]
        .as_str()
        .unwrap()
        .to_owned();
    group.throughput(Throughput::Bytes(wiki.len() as u64));
    group.bench_function("wiki_to_markdown_description", |b| {
        b.iter(|| jira::wiki_to_markdown(black_box(&wiki)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
