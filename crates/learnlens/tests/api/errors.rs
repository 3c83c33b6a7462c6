//! Bad input gets a clear 4xx in the one error shape of api.md, never a 5xx or plain text.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

async fn assert_error_shape(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status(), status, "expected {status} {code}");
    let ct = r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let body: Value = r.json().await.expect("json body");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_wrong_types_and_unknown_fields_are_400() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let url = app.url("/api/v1/auth/login");
    let send = |body: &'static str| {
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error_shape(
        send("{\"email\": ").await.expect("req"),
        400,
        "invalid_json",
    )
    .await;
    assert_error_shape(send("not json").await.expect("req"), 400, "invalid_json").await;
    let body = assert_error_shape(
        send("{\"email\": 1, \"password\": \"xxxxxxxx\"}")
            .await
            .expect("req"),
        400,
        "validation_failed",
    )
    .await;
    assert!(body["validation"].is_object());
    let body = assert_error_shape(
        send("{\"email\": \"a@b.cd\", \"password\": \"xxxxxxxx\", \"admin\": true}")
            .await
            .expect("req"),
        400,
        "validation_failed",
    )
    .await;
    assert!(body.to_string().contains("unknown field"), "{body}");
    assert_error_shape(
        send("{\"email\": \"a@b.cd\"}").await.expect("req"),
        400,
        "validation_failed",
    )
    .await;
    assert_error_shape(send("[]").await.expect("req"), 400, "validation_failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_email_and_password_length_name_each_field() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let r = app.login("not-an-email", "short").await;
    let body = assert_error_shape(r, 400, "validation_failed").await;
    assert!(body["validation"]["email"].is_array(), "{body}");
    assert!(body["validation"]["password"].is_array(), "{body}");
    let r = app.login("a@b.cd", &"x".repeat(129)).await;
    let body = assert_error_shape(r, 400, "validation_failed").await;
    assert!(body["validation"]["password"].is_array(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_and_logout_bodies_are_validated_before_anything_else() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (access, _) = app.login_as("learner@demo.test").await;
    for token in [String::new(), "x".repeat(513)] {
        let r = app
            .post_json("/api/v1/auth/refresh", &json!({"refreshToken": token}))
            .await;
        assert_error_shape(r, 400, "validation_failed").await;
        let r = app
            .client
            .post(app.url("/api/v1/auth/logout"))
            .bearer_auth(&access)
            .json(&json!({"refreshToken": token}))
            .send()
            .await
            .expect("req");
        assert_error_shape(r, 400, "validation_failed").await;
    }
    // The session survived the invalid logouts.
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access)
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_wrong_methods_oversize_and_non_json_bodies() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    assert_error_shape(
        app.client
            .get(app.url("/api/v1/nope"))
            .send()
            .await
            .expect("req"),
        404,
        "not_found",
    )
    .await;
    assert_error_shape(
        app.client.get(app.url("/")).send().await.expect("req"),
        404,
        "not_found",
    )
    .await;
    assert_error_shape(
        app.client
            .delete(app.url("/api/v1/auth/me"))
            .send()
            .await
            .expect("req"),
        405,
        "method_not_allowed",
    )
    .await;
    assert_error_shape(
        app.client
            .get(app.url("/api/v1/auth/login"))
            .send()
            .await
            .expect("req"),
        405,
        "method_not_allowed",
    )
    .await;
    let huge = json!({"email": "a@b.cd", "password": "x".repeat(70 * 1024)});
    assert_error_shape(
        app.post_json("/api/v1/auth/login", &huge).await,
        413,
        "payload_too_large",
    )
    .await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("req");
    assert_error_shape(r, 415, "unsupported_media_type").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id_and_echoes_the_callers() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let r = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .expect("req");
    let generated = r.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let r = app
        .client
        .get(app.url("/api/v1/nope"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("req");
    assert_eq!(r.headers()["x-request-id"], "abc-123");
}
