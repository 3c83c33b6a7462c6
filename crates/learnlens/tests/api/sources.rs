//! The source clients against fake services with precise failures: paging, token and request
//! id, retries, the breaker's transitions (fake clock), and the fallback chain live →
//! snapshot → mock with its provenance.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use learnlens::clock::{Clock as _, FakeClock};
use learnlens::sources::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use learnlens::sources::contract::{
    ContractClient, ContractSettings, Fallback, Resilience, SourceError,
};
use learnlens::sources::retry::RetryConfig;
use learnlens::sources::{MockSource, Provenance, Service};
use serde_json::{Value, json};

use crate::fault_proxy::{FaultProxy, Mode};
use crate::helpers::{Backend, TestApp, wait_until};

/// How the fake service answers.
#[derive(Debug, Clone)]
enum Behaviour {
    /// `n` users, served `page` per page.
    Users {
        n: usize,
        page: usize,
    },
    Status(u16),
    Garbage,
    /// 429 with `Retry-After: 1` once, then users.
    TooManyOnce,
    /// Moves the shared fake clock forward before answering: a slow call.
    Slow(TimeDelta),
    /// Answers after a real pause.
    Hold(Duration),
}

#[derive(Clone)]
struct Fake {
    behaviour: Arc<Mutex<Behaviour>>,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
    clock: FakeClock,
    served_429: Arc<AtomicUsize>,
}

fn users_page(n: usize, page: usize, cursor: Option<&str>) -> Value {
    let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + page).min(n);
    let items: Vec<Value> = (start..end)
        .map(|i| json!({"id": format!("u{i}"), "orgId": "o1"}))
        .collect();
    let next = (end < n).then(|| end.to_string());
    json!({"items": items, "nextCursor": next})
}

async fn list(
    State(f): State<Fake>,
    Path(_c): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    f.hits.fetch_add(1, Ordering::SeqCst);
    f.seen.lock().expect("lock").push(headers);
    let cursor = q
        .iter()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.clone());
    let behaviour = f.behaviour.lock().expect("lock").clone();
    match behaviour {
        Behaviour::Users { n, page } => {
            axum::Json(users_page(n, page, cursor.as_deref())).into_response()
        }
        Behaviour::Status(s) => StatusCode::from_u16(s)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Behaviour::Garbage => (StatusCode::OK, "{\"items\": [1, 2").into_response(),
        Behaviour::TooManyOnce => {
            if f.served_429.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response()
            } else {
                axum::Json(users_page(3, 10, None)).into_response()
            }
        }
        Behaviour::Slow(by) => {
            f.clock.advance(by);
            axum::Json(users_page(1, 10, None)).into_response()
        }
        Behaviour::Hold(d) => {
            tokio::time::sleep(d).await;
            axum::Json(users_page(1, 10, None)).into_response()
        }
    }
}

async fn fake_service(clock: FakeClock, behaviour: Behaviour) -> (SocketAddr, Fake) {
    let fake = Fake {
        behaviour: Arc::new(Mutex::new(behaviour)),
        hits: Arc::new(AtomicUsize::new(0)),
        seen: Arc::new(Mutex::new(Vec::new())),
        clock,
        served_429: Arc::new(AtomicUsize::new(0)),
    };
    let app = axum::Router::new()
        .route("/v1/{collection}", axum::routing::get(list))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, fake)
}

impl Fake {
    fn set(&self, b: Behaviour) {
        *self.behaviour.lock().expect("lock") = b;
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

struct FixedMock;
impl MockSource for FixedMock {
    fn query(&self, _: Service, collection: &str, _: &[(String, String)]) -> Option<Vec<Value>> {
        (collection == "users").then(|| vec![json!({"id": "mock-user", "orgId": "o1"})])
    }
}

fn client(
    app: &TestApp,
    addr: SocketAddr,
    retry: RetryConfig,
    deadline_ms: u64,
    mock: bool,
) -> ContractClient {
    let clock: Arc<dyn learnlens::clock::Clock> = Arc::new(app.clock.clone());
    ContractClient {
        settings: ContractSettings {
            base_url: format!("http://{addr}"),
            token: Some("service-token".into()),
            page_limit: 2,
            max_pages: 100,
        },
        resilience: Resilience {
            service: Service::Directory,
            breaker: Arc::new(CircuitBreaker::new(BreakerConfig::default(), clock.clone())),
            retry,
            deadline: Duration::from_millis(deadline_ms),
            // No connection reuse: each call meets the fault proxy's current mode.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client"),
        },
        fallback: Fallback {
            service: Service::Directory,
            store: app.state.store.clone(),
            mock: mock.then(|| Arc::new(FixedMock) as Arc<dyn MockSource>),
            clock,
        },
    }
}

fn no_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 0,
        ..RetryConfig::default()
    }
}

async fn lists_page_through_the_cursor_with_token_and_request_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (addr, fake) = fake_service(app.clock.clone(), Behaviour::Users { n: 5, page: 2 }).await;
    let c = client(&app, addr, RetryConfig::default(), 3000, false);
    let first: learnlens::sources::Fetched<Vec<Value>> =
        c.list("users", &[("orgId", "o1")]).await.expect("live");
    let got: learnlens::sources::Fetched<Vec<Value>> =
        c.list("users", &[("orgId", "o1")]).await.expect("live");
    assert_eq!(first.value, got.value);
    assert_eq!(got.provenance, Provenance::Live);
    assert_eq!(got.value.len(), 5);
    assert_eq!(got.value[4]["id"], "u4");
    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 6, "two lists of three pages");
    assert!(
        seen.iter()
            .all(|h| h["authorization"] == "Bearer service-token")
    );
    let ids: std::collections::BTreeSet<_> = seen
        .iter()
        .map(|h| h["x-request-id"].to_str().expect("ascii").to_owned())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "one request id per logical call, shared by its pages"
    );
}
crate::on_both_backends!(lists_page_through_the_cursor_with_token_and_request_id);

async fn a_failing_source_is_retried_then_answered_from_the_snapshot_then_mock(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (addr, fake) = fake_service(app.clock.clone(), Behaviour::Users { n: 3, page: 10 }).await;
    let c = client(
        &app,
        addr,
        RetryConfig {
            base_delay_ms: 1,
            ..RetryConfig::default()
        },
        3000,
        false,
    );
    let live: learnlens::sources::Fetched<Vec<Value>> =
        c.list("users", &[("orgId", "o1")]).await.expect("live");
    let fetched_at = live.fetched_at;
    app.clock.advance(TimeDelta::minutes(5));
    fake.set(Behaviour::Status(503));
    let before = fake.hits();
    let fallback: learnlens::sources::Fetched<Vec<Value>> =
        c.list("users", &[("orgId", "o1")]).await.expect("snapshot");
    assert_eq!(fake.hits() - before, 3, "the first attempt and two retries");
    assert_eq!(fallback.provenance, Provenance::Snapshot);
    assert_eq!(fallback.value, live.value);
    assert_eq!(
        fallback.fetched_at, fetched_at,
        "a snapshot keeps its original time"
    );
    // Another request has no snapshot: without mock data it is unavailable…
    let err = c
        .list::<Value>("users", &[("orgId", "o2")])
        .await
        .expect_err("no fallback");
    assert!(
        matches!(
            err,
            SourceError::Unavailable {
                service: Service::Directory,
                ..
            }
        ),
        "{err}"
    );
    // …and with mock data it is answered, flagged as mock.
    let with_mock = client(&app, addr, no_retry(), 3000, true);
    let mock: learnlens::sources::Fetched<Vec<Value>> = with_mock
        .list("users", &[("orgId", "o2")])
        .await
        .expect("mock");
    assert_eq!(mock.provenance, Provenance::Mock);
    assert_eq!(mock.value[0]["id"], "mock-user");
}
crate::on_both_backends!(a_failing_source_is_retried_then_answered_from_the_snapshot_then_mock);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_at_the_failure_rate_and_then_the_source_gets_no_calls() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (addr, fake) = fake_service(app.clock.clone(), Behaviour::Status(500)).await;
    let c = client(&app, addr, no_retry(), 3000, true);
    for i in 0..10 {
        let r: learnlens::sources::Fetched<Vec<Value>> =
            c.list("users", &[]).await.expect("mock fallback");
        assert_eq!(r.provenance, Provenance::Mock, "call {i}");
    }
    assert_eq!(fake.hits(), 10);
    assert_eq!(c.resilience.breaker.status().state, BreakerState::Open);
    for _ in 0..20 {
        let r: learnlens::sources::Fetched<Vec<Value>> =
            c.list("users", &[]).await.expect("mock fallback");
        assert_eq!(r.provenance, Provenance::Mock);
    }
    assert_eq!(fake.hits(), 10, "while open the source gets 0 calls");
    // Back after the open period: the probes succeed and close it.
    fake.set(Behaviour::Users { n: 1, page: 10 });
    app.clock.advance(TimeDelta::seconds(30));
    for _ in 0..3 {
        let r: learnlens::sources::Fetched<Vec<Value>> = c.list("users", &[]).await.expect("live");
        assert_eq!(r.provenance, Provenance::Live);
    }
    assert_eq!(c.resilience.breaker.status().state, BreakerState::Closed);
}

/// A client of `addr` whose breaker has opened (10 × 500) and whose open period is over, with
/// callers behind the probes waiting `probe_wait_ms` for their verdict.
async fn past_the_open_period(
    app: &TestApp,
    addr: SocketAddr,
    fake: &Fake,
    probe_wait_ms: u64,
) -> Arc<ContractClient> {
    let mut c = client(app, addr, no_retry(), 5000, true);
    c.resilience.breaker = Arc::new(CircuitBreaker::new(
        BreakerConfig {
            probe_wait_ms,
            ..BreakerConfig::default()
        },
        Arc::new(app.clock.clone()),
    ));
    for _ in 0..10 {
        let _ = c.list::<Value>("users", &[]).await;
    }
    assert_eq!(c.resilience.breaker.status().state, BreakerState::Open);
    assert_eq!(fake.hits(), 10);
    app.clock.advance(TimeDelta::seconds(30));
    Arc::new(c)
}

/// 100 concurrent `list` calls; each one's provenance.
fn hundred_calls(c: &Arc<ContractClient>) -> Vec<tokio::task::JoinHandle<Provenance>> {
    (0..100)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                c.list::<Value>("users", &[])
                    .await
                    .map(|f| f.provenance)
                    .expect("answered")
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_the_open_period_exactly_three_probes_reach_the_source_under_100_callers() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (addr, fake) = fake_service(app.clock.clone(), Behaviour::Status(500)).await;
    // The probes take 500 ms; the callers behind them wait 50 ms for the verdict, then fall back.
    let c = past_the_open_period(&app, addr, &fake, 50).await;
    fake.set(Behaviour::Hold(Duration::from_millis(500)));
    let results: Vec<Provenance> = futures::future::join_all(hundred_calls(&c))
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(fake.hits() - 10, 3, "exactly the configured probes");
    assert_eq!(
        results.iter().filter(|p| **p == Provenance::Live).count(),
        3
    );
    assert_eq!(
        results.iter().filter(|p| **p == Provenance::Mock).count(),
        97
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callers_behind_successful_probes_wait_for_them_and_get_live_data() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (addr, fake) = fake_service(app.clock.clone(), Behaviour::Status(500)).await;
    let c = past_the_open_period(&app, addr, &fake, 10_000).await;
    // The probes are held 2 s; the other 97 callers wait for their verdict meanwhile.
    fake.set(Behaviour::Hold(Duration::from_millis(2000)));
    let calls = hundred_calls(&c);
    wait_until(Duration::from_secs(5), "the probes to arrive", async || {
        fake.hits() - 10 >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        fake.hits() - 10,
        3,
        "while the probes are out, only they reach the source"
    );
    assert_eq!(c.resilience.breaker.status().state, BreakerState::HalfOpen);
    let results: Vec<Provenance> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(c.resilience.breaker.status().state, BreakerState::Closed);
    assert!(
        results.iter().all(|p| *p == Provenance::Live),
        "the 97 waited for the probes' success, then called"
    );
    assert_eq!(fake.hits() - 10, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_calls_open_the_breaker() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (addr, fake) = fake_service(
        app.clock.clone(),
        Behaviour::Slow(TimeDelta::milliseconds(2500)),
    )
    .await;
    let c = client(&app, addr, no_retry(), 3000, false);
    for _ in 0..10 {
        let r: learnlens::sources::Fetched<Vec<Value>> =
            c.list("users", &[]).await.expect("slow but answered");
        assert_eq!(r.provenance, Provenance::Live);
    }
    assert_eq!(c.resilience.breaker.status().state, BreakerState::Open);
    assert_eq!(fake.hits(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_do_not_count_but_unparseable_200s_do() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (addr, fake) = fake_service(app.clock.clone(), Behaviour::Status(404)).await;
    let c = client(&app, addr, RetryConfig::default(), 3000, true);
    for _ in 0..20 {
        let err = c.list::<Value>("users", &[]).await.expect_err("refused");
        assert!(matches!(err, SourceError::Refused { .. }), "{err}");
    }
    assert_eq!(fake.hits(), 20, "4xx are not retried");
    assert_eq!(c.resilience.breaker.status().state, BreakerState::Closed);
    fake.set(Behaviour::Garbage);
    for _ in 0..10 {
        let r: learnlens::sources::Fetched<Vec<Value>> = c.list("users", &[]).await.expect("mock");
        assert_eq!(r.provenance, Provenance::Mock);
    }
    assert_eq!(fake.hits(), 30, "garbage is not retried either");
    assert_eq!(c.resilience.breaker.status().state, BreakerState::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (addr, fake) = fake_service(app.clock.clone(), Behaviour::TooManyOnce).await;
    let c = client(&app, addr, RetryConfig::default(), 3000, false);
    let start = std::time::Instant::now();
    let r: learnlens::sources::Fetched<Vec<Value>> =
        c.list("users", &[]).await.expect("after the pause");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(r.value.len(), 3);
    assert_eq!(fake.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_fall_back_within_the_deadline() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (addr, _fake) = fake_service(app.clock.clone(), Behaviour::Users { n: 2, page: 10 }).await;
    let proxy = FaultProxy::start(addr).await;
    let c = client(
        &app,
        proxy.addr,
        RetryConfig {
            base_delay_ms: 1,
            ..RetryConfig::default()
        },
        400,
        false,
    );
    let live: learnlens::sources::Fetched<Vec<Value>> = c.list("users", &[]).await.expect("live");
    assert_eq!(live.provenance, Provenance::Live);
    for mode in [
        Mode::Refuse,
        Mode::Blackhole,
        Mode::Delay(Duration::from_secs(2)),
    ] {
        proxy.set(mode);
        let start = std::time::Instant::now();
        let r: learnlens::sources::Fetched<Vec<Value>> =
            c.list("users", &[]).await.expect("snapshot");
        assert_eq!(r.provenance, Provenance::Snapshot, "{mode:?}");
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "{mode:?} took {:?}",
            start.elapsed()
        );
    }
    proxy.set(Mode::Pass);
    app.clock.advance(TimeDelta::seconds(31));
    let back: learnlens::sources::Fetched<Vec<Value>> =
        c.list("users", &[]).await.expect("live again");
    assert_eq!(back.provenance, Provenance::Live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_admins_see_every_breaker_and_others_are_refused() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = app.login_as("admin@demo.test").await;
    let (learner, _) = app.login_as("learner@demo.test").await;
    let get = |token: &str, role: &'static str| {
        app.client
            .get(app.url("/api/v1/system/sources"))
            .bearer_auth(token)
            .header("x-active-role", role)
            .send()
    };
    let r = get(&admin, "org-admin").await.expect("req");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    let services: Vec<&str> = body["sources"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["service"].as_str().expect("name"))
        .collect();
    assert_eq!(
        services,
        ["directory", "skills", "catalog", "assessments", "activity"]
    );
    assert!(
        body["sources"]
            .as_array()
            .expect("array")
            .iter()
            .all(|s| s["state"] == "closed")
    );
    assert_eq!(get(&learner, "learner").await.expect("req").status(), 403);
    assert_eq!(get(&learner, "org-admin").await.expect("req").status(), 403);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("learnlens_source_breaker_state{service=\"directory\"} 0"),
        "{metrics}"
    );
    let _ = app.clock.now();
}
