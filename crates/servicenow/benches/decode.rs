//! Decoder and prefilter throughput (events per second).
//!
//! `cargo bench -p servicenow --bench decode`
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use servicenow::{ServiceNowConfig, ServiceNowDecoder, ServiceNowFilterer};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use support::{SYS_ID, payload, seed_store};
use thirdparty_core::{Decoded, Decoder, Filterer, Payload, PreFiltered};

fn decode(c: &mut Criterion) {
    let decoder = ServiceNowDecoder::new();
    let state = payload(json!({"state": "7", "sysModCount": "4",
        "correlationId": "5e1f0c0a-9b1e-4c0a-8d2e-000000000001", "number": "INC0010001"}));
    let multi = payload(json!({"state": "6", "sysModCount": "9",
        "comment": "Resolved by restarting the relay. ".repeat(8),
        "workNote": "Ticket CHG0030001 filed; root cause expired certificate.",
        "correlationId": "5e1f0c0a-9b1e-4c0a-8d2e-000000000001", "number": "INC0010001"}));
    let table_api = Payload::from_value(
        serde_json::to_vec(&json!({"result": {"sys_id": SYS_ID,
            "state": "7", "number": "INC0010001", "sys_updated_on": "2024-03-04 10:15:00"}}))
        .unwrap(),
    );

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("state_change", |b| {
        b.iter(|| decoder.decode(black_box(&state)).unwrap())
    });
    g.bench_function("state_comment_work_note", |b| {
        b.iter(|| decoder.decode(black_box(&multi)).unwrap())
    });
    g.bench_function("table_api_rejected", |b| {
        b.iter(|| decoder.decode(black_box(&table_api)).unwrap_err())
    });
    g.finish();
}

fn decode_and_prefilter(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let store = seed_store();
    let filterer = ServiceNowFilterer::new(Arc::new(store.clone()), &ServiceNowConfig::default());
    rt.block_on(filterer.warm()).unwrap();
    let decoder = ServiceNowDecoder::new();
    let state = payload(json!({"state": "7", "sysModCount": "4",
        "correlationId": "5e1f0c0a-9b1e-4c0a-8d2e-000000000001"}));

    let mut g = c.benchmark_group("prefilter_warm_cache");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_and_prefilter_state_change", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    for d in decoder.decode(black_box(&state)).unwrap() {
                        let Decoded::Changelog(c) = d else { panic!() };
                        let kept = filterer.prefilter(c).await.unwrap();
                        assert!(matches!(kept, PreFiltered::Keep(_)));
                    }
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    assert_eq!(
        store.calls(case_sandbox::Rpc::GetCase) + store.calls(case_sandbox::Rpc::UpdateCase),
        0
    );
}

criterion_group!(benches, decode, decode_and_prefilter);
criterion_main!(benches);
