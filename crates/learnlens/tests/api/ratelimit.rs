//! Rate limits over HTTP: exact Retry-After with the fake clock, the shared Redis limiter, and
//! an analytics read's 429 coming before its policy's answer.

use chrono::TimeDelta;
use serde_json::Value;

use crate::helpers::{Backend, DEMO_PASSWORD, TestApp, redis_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_login_in_a_minute_is_429_and_retry_after_is_exact() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    for i in 0..5 {
        let r = app.login("learner@demo.test", "wrong-password").await;
        assert_eq!(r.status(), 401, "attempt {i}");
        assert_eq!(
            r.headers()["ratelimit-remaining"].to_str().expect("ascii"),
            (4 - i).to_string()
        );
    }
    let r = app.login("learner@demo.test", DEMO_PASSWORD).await;
    assert_eq!(r.status(), 429);
    let retry_header: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("integer");
    assert_eq!(r.headers()["ratelimit-remaining"], "0");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(body["retryAfter"].as_u64(), Some(retry_header));
    assert_eq!(retry_header, 12, "5/min: one cell every 12 s");

    // One second early: still refused. At the announced instant: admitted.
    app.clock.advance(TimeDelta::seconds(
        i64::try_from(retry_header).expect("small") - 1,
    ));
    assert_eq!(
        app.login("learner@demo.test", DEMO_PASSWORD).await.status(),
        429
    );
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(
        app.login("learner@demo.test", DEMO_PASSWORD).await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_redis_admit_exactly_the_limit_between_them() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let Some(a) =
        TestApp::spawn_with(Backend::Sqlite, Box::new(move |c| c.redis.url = redis)).await
    else {
        return;
    };
    let b = a.replica().await;
    let mut admitted = 0;
    let mut refused = 0;
    for i in 0..12 {
        let app = if i % 2 == 0 { &a } else { &b };
        match app
            .login("learner@demo.test", "wrong-password")
            .await
            .status()
            .as_u16()
        {
            401 => admitted += 1,
            429 => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((admitted, refused), (5, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_each_instance_still_limits_in_memory() {
    // Nothing listens on port 9 of loopback: every Redis call fails fast.
    let Some(a) = TestApp::spawn_with(
        Backend::Sqlite,
        Box::new(|c| c.redis.url = "redis://127.0.0.1:9".into()),
    )
    .await
    else {
        return;
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            a.login("learner@demo.test", "wrong-password")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    let ready: Value = a
        .client
        .get(a.url("/health/ready"))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["checks"]["redis"], "unavailable");
    assert_eq!(ready["status"], "ok", "Redis is optional at run time");
}

/// Four reads of one analytics route in its minute (limit 3/min): own, own, someone else's
/// (403, counted), then own and someone else's again: both 429. With Redis, the limiter's
/// check travels beside the cache lookup of an allowed read; the answers must not change.
async fn analytics_reads_over_the_limit_are_429_whatever_the_policy_says(redis: Option<String>) {
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        Box::new(move |c| {
            c.rate_limits.analytics = "3/min".parse().expect("spec");
            if let Some(url) = redis {
                c.redis.url = url;
            }
        }),
    )
    .await
    else {
        return;
    };
    let (token, _) = app.login_as("learner@demo.test").await;
    let read = async |subject: &str| {
        let r = app
            .client
            .get(app.url(&format!("/api/v1/learner/analytics/engagement/{subject}")))
            .bearer_auth(&token)
            .header("x-active-role", "learner")
            .send()
            .await
            .expect("request");
        let remaining = r
            .headers()
            .get("ratelimit-remaining")
            .map(|v| v.to_str().expect("ascii").to_owned());
        (r.status().as_u16(), remaining)
    };
    let own = "demo-learner";
    let other = "no-such-learner-of-mine";
    assert_eq!(read(own).await, (200, Some("2".into())));
    assert_eq!(read(own).await, (200, Some("1".into())));
    assert_eq!(read(other).await, (403, Some("0".into())));
    assert_eq!(read(own).await, (429, Some("0".into())));
    assert_eq!(read(other).await, (429, Some("0".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_reads_over_the_limit_are_429_whatever_the_policy_says_in_memory() {
    analytics_reads_over_the_limit_are_429_whatever_the_policy_says(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_reads_over_the_limit_are_429_whatever_the_policy_says_with_redis() {
    let Some(redis) = redis_url().await else {
        return;
    };
    analytics_reads_over_the_limit_are_429_whatever_the_policy_says(Some(redis)).await;
}
