//! HTTP hygiene: request timeout, CORS, graceful shutdown.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{Backend, DEMO_PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_time_limit_gets_503_with_retry_after_in_the_error_shape() {
    // A zero limit: anything that does not finish at its first poll (a login waits on the
    // store and on argon2) times out; the health check answers at once.
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        Box::new(|c| c.server.request_timeout_secs = 0),
    )
    .await
    else {
        return;
    };
    let r = app.login("learner@demo.test", DEMO_PASSWORD).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "request_timeout");
    assert_eq!(
        app.client
            .get(app.url("/health/live"))
            .send()
            .await
            .expect("req")
            .status(),
        200
    );
}

/// CORS sits outside the time limit (and the panic catcher): a browser can read their answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_request_from_an_allowed_origin_carries_the_cors_headers() {
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        Box::new(|c| {
            c.server.request_timeout_secs = 0;
            c.server.cors_allowed_origins = vec!["https://app.example.org".into()];
        }),
    )
    .await
    else {
        return;
    };
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "https://app.example.org")
        .json(&serde_json::json!({"email": "learner@demo.test", "password": DEMO_PASSWORD}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_the_configured_origins() {
    let tweak = |c: &mut learnlens::config::Config| {
        c.server.cors_allowed_origins = vec!["https://app.example.org".into()]
    };
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, Box::new(tweak)).await else {
        return;
    };
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header(
                "access-control-request-headers",
                "authorization,x-active-role",
            )
            .send()
    };
    let ok = preflight("https://app.example.org").await.expect("req");
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("x-active-role"),
        "{allowed}"
    );
    let other = preflight("https://evil.example").await.expect("req");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Without configuration there are no CORS headers at all.
    let Some(plain) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let r = plain
        .client
        .get(plain.url("/health/live"))
        .header("origin", "https://app.example.org")
        .send()
        .await
        .expect("req");
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_an_in_flight_request_finish_then_stops_serving() {
    let Some(mut app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let body = format!(r#"{{"email":"learner@demo.test","password":"{DEMO_PASSWORD}"}}"#);
    let mut conn = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    // Headers and half the body are sent: the request is in flight when shutdown starts.
    let (first, rest) = body.split_at(body.len() / 2);
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{first}",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server = app.shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    conn.write_all(rest.as_bytes()).await.expect("write rest");
    let mut response = String::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("response in time")
            .expect("read");
        if n == 0 {
            break;
        }
        response.push_str(&String::from_utf8_lossy(&buf[..n]));
        if response.contains("\"refreshToken\"") {
            break;
        }
    }
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let finished = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "the server stops once the request is done"
    );
    assert!(
        tokio::net::TcpStream::connect(app.addr).await.is_err(),
        "no longer accepting"
    );
}
