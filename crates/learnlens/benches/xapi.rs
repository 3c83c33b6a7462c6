//! The activity source's costs, each next to a floor measured in the same run:
//! - mapping a page of 500 xAPI statements (`parse_statements`) vs. only scanning the same
//!   body as JSON (`IgnoredAny`, the floor of any reader) and vs. building one
//!   `serde_json::Value` tree of it (what a naive reader does before any mapping);
//! - reading every statement of a real LRS back through `XapiClient` (100 a page), when
//!   `LEARNLENS_BENCH_LRS_URL` (the xAPI endpoint), `_USER` and `_PASSWORD` name one, e.g. a
//!   Ralph from `scripts/lrs/start-ralph.sh` loaded with statements.
//!
//! Run: `cargo bench -p learnlens --bench xapi`. Results go to bench/RESULTS.md by hand.

use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use learnlens::sources::xapi::{
    EmailMap, Mapping, NoEmails, Platform, StatementQuery, XapiClient, XapiClientOptions,
    event_to_statement, parse_statements,
};
use learnlens_analytics::input::{ActivityEvent, Verb};
use serde_json::json;

const PAGE: usize = 500;

fn page_body(platform: &Platform) -> Vec<u8> {
    let start = Utc
        .with_ymd_and_hms(2025, 3, 1, 0, 0, 0)
        .single()
        .expect("time");
    let statements: Vec<_> = (0..PAGE)
        .map(|i| {
            let event = ActivityEvent {
                user_id: format!("learner-{}", i % 50).into(),
                verb: if i % 5 == 0 {
                    Verb::Answered
                } else {
                    Verb::Experienced
                },
                object_id: format!("content-{}", i % 200).into(),
                course_id: Some(format!("course-{}", i % 7).into()),
                timestamp: start + TimeDelta::seconds(i as i64 * 61),
                duration_sec: Some(30.0 + i as f64),
                score_scaled: (i % 5 == 0).then_some(0.5),
                completion: None,
                success: (i % 5 == 0).then_some(true),
                clicks: (i % 5 != 0).then_some((i % 9) as u32),
            };
            let mut s = event_to_statement(&event, platform);
            s["id"] = json!(uuid::Uuid::now_v7().to_string());
            s["stored"] = s["timestamp"].clone();
            s["authority"] = json!({"objectType": "Agent", "account": {"homePage": "http://lrs.example.com", "name": "lrs"}});
            s
        })
        .collect();
    serde_json::to_vec(&json!({"statements": statements, "more": "/xAPI/statements?page=2"}))
        .expect("json")
}

fn parse_page(c: &mut Criterion) {
    let platform = Platform::new("https://platform.example.com").expect("platform");
    let body = page_body(&platform);
    let mapping = Mapping {
        platform: &platform,
        emails: &NoEmails,
    };
    let mut group = c.benchmark_group("xapi_page_500_statements");
    group.throughput(Throughput::Elements(PAGE as u64));
    group.bench_function("parse_statements", |b| {
        b.iter(|| parse_statements(&body, &mapping).expect("page"))
    });
    group.bench_function("floor_json_scan", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(&body).expect("json"))
    });
    group.bench_function("json_value_tree", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(&body).expect("json"))
    });
    group.finish();
}

fn read_back(c: &mut Criterion) {
    let Ok(url) = std::env::var("LEARNLENS_BENCH_LRS_URL") else {
        eprintln!("LEARNLENS_BENCH_LRS_URL unset: LRS read-back not measured");
        return;
    };
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let platform_iri = std::env::var("LEARNLENS_BENCH_PLATFORM")
        .unwrap_or_else(|_| "https://platform.example.com".into());
    let mut options = XapiClientOptions::new(
        &url,
        &env("LEARNLENS_BENCH_LRS_USER"),
        &env("LEARNLENS_BENCH_LRS_PASSWORD"),
        Platform::new(&platform_iri).expect("platform"),
    );
    options.timeout = Duration::from_secs(60);
    let client = XapiClient::new(options).expect("client");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let query = StatementQuery {
        limit: Some(100),
        ..StatementQuery::default()
    };
    let emails = EmailMap::default();
    let n = rt
        .block_on(client.fetch(&query, &emails))
        .expect("fetch")
        .statements_seen;
    let mut group = c.benchmark_group("xapi_lrs_read_back");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n));
    group.bench_function(format!("fetch_{n}_statements_100_a_page"), |b| {
        b.iter(|| rt.block_on(client.fetch(&query, &emails)).expect("fetch"))
    });
    group.finish();
}

criterion_group!(benches, parse_page, read_back);
criterion_main!(benches);
