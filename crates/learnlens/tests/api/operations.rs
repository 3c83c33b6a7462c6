//! Health, metrics, the OpenAPI document, the docs UI, and the binary's own commands.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::helpers::{Backend, TestApp, TestDb};
use crate::on_both_backends;

async fn health_ready_checks_the_store(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let r = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["checks"]["store"], "ok");
    assert_eq!(body["checks"]["redis"], "not_configured");
    app.state.store.close().await;
    let r = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 503);
}
on_both_backends!(health_ready_checks_the_store);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_status() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    app.client
        .get(app.url("/health/live"))
        .send()
        .await
        .expect("req");
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(text.contains("learnlens_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/health/live\""), "{text}");
    assert!(
        text.contains("learnlens_http_request_duration_seconds"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_closed_and_the_docs_ui_is_served_offline() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/health/ready",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    // Every object schema is closed, so a leaked field fails schema checks.
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        if schema["type"] == "object" {
            assert_eq!(schema["additionalProperties"], false, "{name} is open");
        }
    }
    assert!(doc["paths"]["/api/v1/auth/me"]["get"]["responses"]["401"].is_object());
    // Two request bodies must not share a component name (one would silently replace the
    // other): the token refresh and the analytics refresh are distinct schemas.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["RefreshRequest"]["properties"]["refreshToken"].is_object());
    let analytics_refresh = &schemas["AnalyticsRefreshRequest"]["oneOf"];
    assert_eq!(analytics_refresh.as_array().map(Vec::len), Some(3));
    assert_eq!(
        analytics_refresh[1]["properties"]["analytics"]["items"]["enum"],
        serde_json::json!([
            "course-health",
            "course-performance",
            "student-distribution",
            "teaching-effectiveness"
        ])
    );
    // Every `$ref` resolves.
    let text = doc.to_string();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().expect("name");
        assert!(
            schemas[name].is_object(),
            "unresolvable reference to {name}"
        );
    }
    // The published e-mail syntax is the parser's.
    assert_eq!(
        doc["components"]["schemas"]["LoginRequest"]["properties"]["email"]["pattern"],
        learnlens::domain::EMAIL_PATTERN
    );
    let ui = app.client.get(app.url("/docs/")).send().await.expect("req");
    assert_eq!(ui.status(), 200);
    let html = ui.text().await.expect("html");
    assert!(html.contains("swagger"), "not the swagger UI");
    let script = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .expect("req");
    assert_eq!(
        script.status(),
        200,
        "the UI's script must be served by us (offline)"
    );
}

fn learnlens(db_url: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_learnlens"));
    cmd.env("LEARNLENS_DATABASE_URL", db_url)
        .env("LEARNLENS_DATA_DIR", dir)
        .env_remove("LEARNLENS_ENV")
        .env_remove("LEARNLENS_JWT_SECRET")
        .env("RUST_LOG", "warn");
    cmd
}

async fn operators_add_list_and_disable_accounts_from_the_cli(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db) = TestDb::create(backend, dir.path()).await else {
        return;
    };
    let mut add = learnlens(&db.url, dir.path())
        .args([
            "users",
            "add",
            "--id",
            "u-42",
            "--email",
            "Ops@Example.org",
            "--name",
            "Ops Person",
            "--org",
            "acme",
            "--roles",
            "trainer,learner",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"a-long-password\n")
        .expect("write");
    let out = add.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let list = learnlens(&db.url, dir.path())
        .args(["users", "list", "--org", "acme"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("u-42\tops@example.org\tacme\tlearner,trainer\tactive"),
        "{text}"
    );

    let dup = learnlens(&db.url, dir.path())
        .args([
            "users",
            "add",
            "--id",
            "u-43",
            "--email",
            "ops@example.org",
            "--name",
            "X",
            "--org",
            "acme",
            "--roles",
            "learner",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"a-long-password\n")?;
            c.wait_with_output()
        })
        .expect("run");
    assert!(!dup.status.success(), "a duplicate e-mail must be refused");

    let disable = learnlens(&db.url, dir.path())
        .args(["users", "disable", "--email", "ops@example.org"])
        .output()
        .expect("run");
    assert!(disable.status.success());
    let list = learnlens(&db.url, dir.path())
        .args(["users", "list"])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&list.stdout)
            .contains("u-42\tops@example.org\tacme\tlearner,trainer\tdisabled")
    );
    let missing = learnlens(&db.url, dir.path())
        .args(["users", "disable", "--email", "nobody@example.org"])
        .output()
        .expect("run");
    assert!(!missing.status.success());
}
on_both_backends!(operators_add_list_and_disable_accounts_from_the_cli);

#[test]
fn the_password_is_never_taken_from_the_command_line_and_short_ones_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = learnlens(&db, dir.path())
        .args([
            "users",
            "add",
            "--id",
            "u1",
            "--email",
            "a@b.cd",
            "--name",
            "A",
            "--org",
            "o",
            "--roles",
            "learner",
            "--password",
            "secret123",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success(), "--password must not exist");
    let mut short = learnlens(&db, dir.path())
        .args([
            "users", "add", "--id", "u1", "--email", "a@b.cd", "--name", "A", "--org", "o",
            "--roles", "learner",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    short
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"short\n")
        .expect("write");
    assert!(!short.wait_with_output().expect("wait").status.success());
}

#[test]
fn production_refuses_to_start_without_a_secret_and_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_learnlens"))
        .args(["serve", "--env", "production", "--listen", "127.0.0.1:0"])
        .env_remove("LEARNLENS_JWT_SECRET")
        .env_remove("LEARNLENS_DATABASE_URL")
        .env("LEARNLENS_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to start"));
    assert!(
        !dir.path().join("learnlens.db").exists(),
        "nothing may be created"
    );
}
