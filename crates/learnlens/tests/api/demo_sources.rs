//! Demo mode's built-in sources: the synthetic demo data set served in-process on loopback,
//! reached by the real clients over HTTP (JSON contracts and xAPI with paging).

use learnlens::demo::synthetic::{DEFAULT_SEED, Generator, Size};
use learnlens::sources::xapi::{NoEmails, Platform, StatementQuery, XapiClient, XapiClientOptions};
use learnlens::sources::{Provenance, Service};
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
