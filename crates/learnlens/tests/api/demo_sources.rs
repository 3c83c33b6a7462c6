//! Demo mode's built-in sources: the synthetic demo data set served in-process on loopback,
//! reached by the real clients over HTTP (JSON contracts and xAPI with paging); and the
//! synthetic sizes whose events are regenerated on demand (the lazy statement stream).

use std::sync::Arc;

use learnlens::demo::server::{DemoAuth, RunningSources, SourceData};
use learnlens::demo::synthetic::{DEFAULT_SEED, Generator, Size};
use learnlens::sources::xapi::{NoEmails, Platform, StatementQuery, XapiClient, XapiClientOptions};
use learnlens::sources::{Provenance, Service};
use learnlens_analytics::input::ActivityEvent;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_reads_its_own_sources_live_over_http() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let directory = app
        .state
        .sources
        .contract(Service::Directory)
        .expect("demo directory configured");
    assert!(directory.settings.base_url.starts_with("http://127.0.0.1:"));
    let users: learnlens::sources::Fetched<Vec<Value>> = directory
        .list("users", &[("orgId", "demo-org")])
        .await
        .expect("live");
    assert_eq!(users.provenance, Provenance::Live);
    let ids: Vec<&str> = users
        .value
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    for demo in ["demo-learner", "demo-trainer", "demo-admin", "demo-multi"] {
        assert!(ids.contains(&demo), "{demo} missing");
    }
    assert!(
        users.value.iter().all(|u| u["orgId"] == "demo-org"),
        "filter applied"
    );
    let catalog = app
        .state
        .sources
        .contract(Service::Catalog)
        .expect("catalog");
    let enrollments: learnlens::sources::Fetched<Vec<Value>> = catalog
        .list("enrollments", &[("userId", "demo-learner")])
        .await
        .expect("live");
    assert!(enrollments.value.len() >= 5);
    let one: learnlens::sources::Fetched<Option<Value>> =
        directory.get("users", "demo-trainer").await.expect("live");
    assert_eq!(
        one.value.map(|u| u["email"].clone()),
        Some(Value::from("trainer@demo.test"))
    );
    let missing: learnlens::sources::Fetched<Option<Value>> =
        directory.get("users", "nobody").await.expect("live");
    assert_eq!(missing.value, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lrs_serves_a_learners_statements_through_the_xapi_client_with_paging() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    // build() pointed the activity source at the in-process demo LRS.
    let endpoint = &app.state.config.sources.activity.url;
    assert!(
        endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/lrs/xAPI/"),
        "{endpoint}"
    );
    let platform = Platform::new(&app.state.config.sources.activity.platform).expect("platform");
    let client =
        XapiClient::new(XapiClientOptions::new(endpoint, "", "", platform)).expect("client");
    let fetched = client
        .fetch(
            &StatementQuery {
                since: None,
                until: None,
                agent: Some("demo-learner".into()),
                limit: Some(50),
                request_id: None,
            },
            &NoEmails,
        )
        .await
        .expect("fetched");
    let expected: Vec<_> = Generator::new(Size::Demo, DEFAULT_SEED)
        .events_of("demo-learner")
        .collect();
    assert!(expected.len() > 100, "the demo learner is active");
    assert!(fetched.pages > 2, "paged through `more`");
    assert_eq!(fetched.skipped.total(), 0);
    assert_eq!(fetched.events.len(), expected.len());
    assert_eq!(
        fetched.events, expected,
        "every event survives the xAPI round trip"
    );
}

async fn serve(data: SourceData) -> RunningSources {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    learnlens::demo::server::spawn(
        data,
        Platform::new(PLATFORM).expect("platform"),
        DemoAuth::default(),
        listener,
    )
    .expect("spawn")
}

const PLATFORM: &str = "https://learn.example.com";

fn lrs(server: &RunningSources) -> XapiClient {
    let platform = Platform::new(PLATFORM).expect("platform");
    let mut options = XapiClientOptions::new(
        &format!("http://{}/lrs/xAPI/", server.addr),
        "",
        "",
        platform,
    );
    // A debug build serialises a 1000-statement page slowly.
    options.timeout = std::time::Duration::from_secs(30);
    XapiClient::new(options).expect("client")
}

fn everything(limit: u32) -> StatementQuery {
    StatementQuery {
        since: None,
        until: None,
        agent: None,
        limit: Some(limit),
        request_id: None,
    }
}

fn sorted_keys(events: &[ActivityEvent]) -> Vec<String> {
    let mut keys: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("serialises"))
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lazy_stream_of_small_holds_exactly_the_statements_of_the_in_memory_one() {
    let seed = 5;
    let (memory, lazy) = tokio::task::spawn_blocking(move || {
        (
            SourceData::synthetic(Size::Small, seed),
            SourceData::synthetic_lazy(Arc::new(Generator::new(Size::Small, seed))),
        )
    })
    .await
    .expect("built");
    let total = memory.statements.total();
    assert!(total > 100_000, "small has ~170,000 events: {total}");
    assert_eq!(lazy.statements.total(), total);
    let (memory, lazy) = (serve(memory).await, serve(lazy).await);
    let from_memory = lrs(&memory)
        .fetch(&everything(1000), &NoEmails)
        .await
        .expect("fetched");
    let from_lazy = lrs(&lazy)
        .fetch(&everything(1000), &NoEmails)
        .await
        .expect("fetched");
    assert_eq!(from_lazy.events.len() as u64, total);
    assert_eq!(u64::from(from_lazy.pages), total.div_ceil(1000));
    assert_eq!(from_lazy.skipped.total(), 0);
    assert_eq!(
        sorted_keys(&from_lazy.events),
        sorted_keys(&from_memory.events),
        "the same statements, as a multiset"
    );
    // The lazy stream walks users in generation order.
    let mut seen = std::collections::HashSet::new();
    let mut previous: Option<&str> = None;
    for e in &from_lazy.events {
        if previous != Some(&*e.user_id) {
            assert!(seen.insert(&*e.user_id), "{} comes back", e.user_id);
            previous = Some(&*e.user_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_query_on_medium_returns_exactly_the_generated_events_of_that_user() {
    // `medium`, not `large`: in the debug test profile building `large` takes ~13 s (7 s
    // for the generator, 6 s for the entities), `medium` about a tenth of that. The code
    // path is the same for both sizes.
    // What `learnlens sources --dataset synthetic:medium` serves, next to the generator.
    let (generator, data) = tokio::task::spawn_blocking(|| {
        (
            Generator::new(Size::Medium, 42),
            SourceData::synthetic(Size::Medium, 42),
        )
    })
    .await
    .expect("built");
    let server = serve(data).await;
    let client = lrs(&server);
    // A user far into the stream, and the demo learner.
    let far = generator
        .user_id_at(generator.user_count() * 9 / 10)
        .expect("a user")
        .to_owned();
    for user in [far.as_str(), "demo-learner"] {
        let expected: Vec<ActivityEvent> = generator.events_of(user).collect();
        let fetched = client
            .fetch(
                &StatementQuery {
                    agent: Some(user.to_owned()),
                    ..everything(7)
                },
                &NoEmails,
            )
            .await
            .expect("fetched");
        assert_eq!(fetched.events, expected, "{user}");
        assert_eq!(fetched.pages as usize, expected.len().div_ceil(7).max(1));
        // And over a window of time.
        if let Some(mid) = expected.get(expected.len() / 2).map(|e| e.timestamp) {
            let since = mid - chrono::TimeDelta::days(14);
            let window = client
                .fetch(
                    &StatementQuery {
                        agent: Some(user.to_owned()),
                        since: Some(since),
                        until: Some(mid),
                        ..everything(5)
                    },
                    &NoEmails,
                )
                .await
                .expect("fetched");
            let want: Vec<ActivityEvent> = expected
                .iter()
                .filter(|e| e.timestamp > since && e.timestamp <= mid)
                .cloned()
                .collect();
            assert_eq!(window.events, want, "{user} over two weeks");
        }
    }
    // The unfiltered stream starts with the first user's events.
    let http = reqwest::Client::new();
    let page: Value = http
        .get(format!(
            "http://{}/lrs/xAPI/statements?limit=3",
            server.addr
        ))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await
        .expect("page")
        .json()
        .await
        .expect("json");
    let first = generator.user_id_at(0).expect("a user");
    assert_eq!(page["statements"].as_array().map(Vec::len), Some(3));
    assert_eq!(page["statements"][0]["actor"]["account"]["name"], first);
    assert!(page["more"].as_str().is_some_and(|m| m.contains("cursor=")));
    // A cursor that is not a position is a 400.
    for cursor in ["x", "18446744073709551615", "4294967296000000"] {
        let r = http
            .get(format!(
                "http://{}/lrs/xAPI/statements?cursor={cursor}",
                server.addr
            ))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .expect("response");
        assert_eq!(r.status(), 400, "{cursor}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"], "invalid_cursor");
    }
}
