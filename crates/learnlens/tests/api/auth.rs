//! Authentication over HTTP: login, me, refresh rotation and reuse, logout, disabled accounts,
//! forged tokens, time claims at the leeway edges.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{Backend, DEMO_PASSWORD, TestApp};
use crate::on_both_backends;

async fn login_then_me_returns_the_account_without_secrets(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let r = app.login("Learner@Demo.test", DEMO_PASSWORD).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["ratelimit-limit"], "5");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["user"]["id"], "demo-learner");
    assert_eq!(body["user"]["orgId"], "demo-org");
    assert_eq!(body["user"]["roles"], json!(["learner"]));
    let token = body["token"].as_str().expect("token");

    let me = app.get_with_token("/api/v1/auth/me", token).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me, json!({"user": body["user"]}));
    assert!(!me.to_string().contains("argon2"));
}
on_both_backends!(login_then_me_returns_the_account_without_secrets);

async fn refresh_rotates_and_reuse_revokes_the_whole_family(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (access1, refresh1) = app.login_as("learner@demo.test").await;
    let r = app
        .post_json("/api/v1/auth/refresh", &json!({"refreshToken": refresh1}))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    let refresh2 = body["refreshToken"].as_str().expect("rotated").to_owned();
    let access2 = body["token"].as_str().expect("token").to_owned();
    assert_ne!(refresh1, refresh2);
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access2)
            .await
            .status(),
        200
    );

    // The rotated token is dead; presenting it again is a reuse: the family goes.
    let reuse = app
        .post_json("/api/v1/auth/refresh", &json!({"refreshToken": refresh1}))
        .await;
    assert_eq!(reuse.status(), 401);
    let successor = app
        .post_json("/api/v1/auth/refresh", &json!({"refreshToken": refresh2}))
        .await;
    assert_eq!(
        successor.status(),
        401,
        "the successor died with its family"
    );
    for token in [access1, access2] {
        assert_eq!(
            app.get_with_token("/api/v1/auth/me", &token).await.status(),
            401
        );
    }
}
on_both_backends!(refresh_rotates_and_reuse_revokes_the_whole_family);

async fn twenty_concurrent_refreshes_yield_at_most_one_live_successor(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        Box::new(|c| c.rate_limits.refresh = "100/min".parse().expect("spec")),
    )
    .await
    else {
        return;
    };
    let (_, refresh) = app.login_as("learner@demo.test").await;
    let body = json!({"refreshToken": refresh});
    let attempts = (0..20).map(|_| app.post_json("/api/v1/auth/refresh", &body));
    let responses = futures::future::join_all(attempts).await;
    let mut successors = Vec::new();
    for r in responses {
        if r.status() == 200 {
            let body: Value = r.json().await.expect("json");
            successors.push(body["refreshToken"].as_str().expect("token").to_owned());
        } else {
            assert_eq!(r.status(), 401);
        }
    }
    assert!(successors.len() <= 1, "{} successors", successors.len());
    let mut live = 0;
    for s in successors {
        if app
            .post_json("/api/v1/auth/refresh", &json!({"refreshToken": s}))
            .await
            .status()
            == 200
        {
            live += 1;
        }
    }
    assert!(live <= 1);
}
on_both_backends!(twenty_concurrent_refreshes_yield_at_most_one_live_successor);

async fn only_hashes_of_refresh_tokens_are_stored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, r1) = app.login_as("learner@demo.test").await;
    let body: Value = app
        .post_json("/api/v1/auth/refresh", &json!({"refreshToken": r1}))
        .await
        .json()
        .await
        .expect("json");
    let r2 = body["refreshToken"].as_str().expect("token").to_owned();
    let stored = app
        .state
        .store
        .all_refresh_token_hashes()
        .await
        .expect("hashes");
    assert!(stored.len() >= 2);
    for plain in [&r1, &r2] {
        assert!(!stored.contains(plain), "plaintext token stored");
        assert!(
            stored
                .iter()
                .all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }
}
on_both_backends!(only_hashes_of_refresh_tokens_are_stored);

async fn logout_revokes_the_session_and_its_refresh_family(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (access, refresh) = app.login_as("learner@demo.test").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&access)
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access)
            .await
            .status(),
        401
    );
    let again = app
        .post_json("/api/v1/auth/refresh", &json!({"refreshToken": refresh}))
        .await;
    assert_eq!(again.status(), 401);
    // Another session of the same user is untouched.
    let (other, _) = app.login_as("learner@demo.test").await;
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &other).await.status(),
        200
    );
}
on_both_backends!(logout_revokes_the_session_and_its_refresh_family);

async fn a_disabled_account_cannot_log_in_use_its_tokens_or_refresh(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (access, refresh) = app.login_as("trainer@demo.test").await;
    let email = learnlens::domain::Email::parse("trainer@demo.test").expect("email");
    assert!(
        app.state
            .store
            .set_user_disabled(&email, true, app.clock.now())
            .await
            .expect("disable")
    );
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.post_json("/api/v1/auth/refresh", &json!({"refreshToken": refresh}))
            .await
            .status(),
        401
    );
    let login = app.login("trainer@demo.test", DEMO_PASSWORD).await;
    assert_eq!(login.status(), 401);
    let body: Value = login.json().await.expect("json");
    assert_eq!(body["error"], "invalid_credentials");
}
on_both_backends!(a_disabled_account_cannot_log_in_use_its_tokens_or_refresh);

use learnlens::clock::Clock as _;

/// Builds a token with arbitrary header and claims, signed with `key` (HS256) or not at all.
fn forge(header: &Value, claims: &Value, key: Option<&[u8]>) -> String {
    use base64::Engine as _;
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match key {
        Some(k) => b64(&hmac_sha256(k, signing_input.as_bytes())),
        None => String::new(),
    };
    format!("{signing_input}.{signature}")
}

/// HMAC-SHA256 (RFC 2104) from the sha2 crate, for forging test tokens.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(msg.iter().copied())
        .collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner.iter().copied())
        .collect();
    Sha256::digest(&outer).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_malformed_tokens_all_get_one_identical_401() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let secret = app.state.config.auth.jwt_secret.clone().into_bytes();
    let (good, refresh) = app.login_as("learner@demo.test").await;
    let now = app.clock.now().timestamp();
    let claims = json!({"iss": "learnlens", "aud": "learnlens-api", "sub": "demo-learner", "org": "demo-org",
        "roles": ["learner"], "iat": now, "nbf": now, "exp": now + 600, "jti": "x"});
    let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": "learnlens-1"});
    // Sanity: our forger makes tokens the service accepts (no sid: no session check).
    let control = forge(&header, &claims, Some(&secret));
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &control)
            .await
            .status(),
        200,
        "forger is broken"
    );

    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = claims.clone();
        c.as_object_mut().expect("object").remove(k);
        c
    };
    let hdr = |k: &str, v: Value| {
        let mut h = header.clone();
        h[k] = v;
        h
    };
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = {
        use base64::Engine as _;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: Value =
            serde_json::from_slice(&e.decode(parts[1]).expect("b64")).expect("json");
        payload["roles"] = json!(["learner", "trainer", "org-admin"]);
        format!(
            "{}.{}.{}",
            parts[0],
            e.encode(payload.to_string()),
            parts[2]
        )
    };
    assert_ne!(tampered, good);
    let corpus: Vec<(&str, String)> = vec![
        ("alg none", forge(&hdr("alg", json!("none")), &claims, None)),
        ("alg None", forge(&hdr("alg", json!("None")), &claims, None)),
        (
            "empty signature",
            format!("{}.", good.rsplit_once('.').expect("dot").0),
        ),
        (
            "HS384",
            forge(&hdr("alg", json!("HS384")), &claims, Some(&secret)),
        ),
        (
            "RS256 without JWKS",
            forge(&hdr("alg", json!("RS256")), &claims, Some(&secret)),
        ),
        ("tampered claims", tampered),
        (
            "wrong key",
            forge(
                &header,
                &claims,
                Some(b"another-secret-another-secret-0123456"),
            ),
        ),
        ("no exp", forge(&header, &without("exp"), Some(&secret))),
        ("no nbf", forge(&header, &without("nbf"), Some(&secret))),
        ("no iss", forge(&header, &without("iss"), Some(&secret))),
        ("no aud", forge(&header, &without("aud"), Some(&secret))),
        ("no sub", forge(&header, &without("sub"), Some(&secret))),
        (
            "wrong iss",
            forge(&header, &with("iss", json!("evil")), Some(&secret)),
        ),
        (
            "wrong aud",
            forge(&header, &with("aud", json!("evil")), Some(&secret)),
        ),
        (
            "expired",
            forge(&header, &with("exp", json!(now - 31)), Some(&secret)),
        ),
        (
            "not yet valid",
            forge(&header, &with("nbf", json!(now + 31)), Some(&secret)),
        ),
        (
            "bad sub",
            forge(&header, &with("sub", json!("../etc")), Some(&secret)),
        ),
        (
            "unknown role",
            forge(&header, &with("roles", json!(["root"])), Some(&secret)),
        ),
        (
            "no roles",
            forge(&header, &with("roles", json!([])), Some(&secret)),
        ),
        (
            "unknown kid",
            forge(&hdr("kid", json!("other")), &claims, Some(&secret)),
        ),
        (
            "hostile kid",
            forge(
                &hdr("kid", json!("../../../../dev/null")),
                &claims,
                Some(&secret),
            ),
        ),
        (
            "no kid",
            forge(
                &json!({"alg": "HS256", "typ": "at+jwt"}),
                &claims,
                Some(&secret),
            ),
        ),
        (
            "wrong typ",
            forge(&hdr("typ", json!("JWT")), &claims, Some(&secret)),
        ),
        (
            "jku",
            forge(
                &hdr("jku", json!("http://127.0.0.1:9/jwks")),
                &claims,
                Some(&secret),
            ),
        ),
        (
            "x5u",
            forge(
                &hdr("x5u", json!("http://127.0.0.1:9/cert")),
                &claims,
                Some(&secret),
            ),
        ),
        (
            "embedded jwk",
            forge(
                &hdr("jwk", json!({"kty": "oct", "k": "AAAA"})),
                &claims,
                Some(&secret),
            ),
        ),
        (
            "16 KB header",
            forge(
                &hdr("pad", json!("x".repeat(16 * 1024))),
                &claims,
                Some(&secret),
            ),
        ),
        ("not base64", "!!!.@@@.###".into()),
        ("one segment", "abc".into()),
        ("refresh token as bearer", refresh.clone()),
        ("empty", String::new()),
    ];
    let mut bodies = std::collections::BTreeSet::new();
    for (name, token) in &corpus {
        let r = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 401, "{name} was not refused");
        bodies.insert(r.text().await.expect("body"));
    }
    let no_header = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(no_header.status(), 401);
    bodies.insert(no_header.text().await.expect("body"));
    assert_eq!(bodies.len(), 1, "different 401 bodies: {bodies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_expire_at_the_leeway_edge_and_are_not_refresh_tokens() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (access, _) = app.login_as("learner@demo.test").await;
    // 15 minutes of life plus 30 s of leeway: valid one second before the edge, not at it.
    app.clock.advance(TimeDelta::seconds(15 * 60 + 29));
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access)
            .await
            .status(),
        200
    );
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access)
            .await
            .status(),
        401
    );
    // An access token where a refresh token belongs.
    let r = app
        .post_json("/api/v1/auth/refresh", &json!({"refreshToken": access}))
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_by_a_clock_ahead_is_accepted_only_within_the_leeway() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (access, _) = app.login_as("learner@demo.test").await;
    // nbf = issue time; a verifier whose clock is 30 s behind still accepts, 31 s does not.
    app.clock.advance(TimeDelta::seconds(-30));
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access)
            .await
            .status(),
        200
    );
    app.clock.advance(TimeDelta::seconds(-1));
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &access)
            .await
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_active_role_must_be_named_exactly_and_held() {
    use axum::extract::FromRequestParts as _;
    use learnlens::api::error::ApiError;
    use learnlens::api::extract::Acting;
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (learner, _) = app.login_as("learner@demo.test").await;
    let (multi, _) = app.login_as("multi@demo.test").await;
    let acting = |token: Option<&str>, role: Option<&str>| {
        let mut req = axum::http::Request::builder().uri("/");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(r) = role {
            req = req.header("x-active-role", r);
        }
        let (mut parts, ()) = req.body(()).expect("request").into_parts();
        let state = app.state.clone();
        async move { Acting::from_request_parts(&mut parts, &state).await }
    };
    let code = |r: Result<Acting, ApiError>| match r {
        Ok(a) => format!("ok:{}", a.role),
        Err(ApiError::BadRequest { code, .. }) | Err(ApiError::Forbidden { code, .. }) => {
            code.to_owned()
        }
        Err(other) => format!("{other}"),
    };
    // Authentication comes first: an anonymous caller learns nothing about roles.
    assert_eq!(code(acting(None, Some("learner")).await), "unauthorized");
    assert_eq!(
        code(acting(Some(&learner), None).await),
        "missing_active_role"
    );
    for malformed in [
        "Learner",
        "LEARNER",
        " learner",
        "learner,trainer",
        "admin",
        "",
    ] {
        assert_eq!(
            code(acting(Some(&learner), Some(malformed)).await),
            "invalid_active_role",
            "{malformed:?}"
        );
    }
    assert_eq!(
        code(acting(Some(&learner), Some("trainer")).await),
        "role_not_held"
    );
    assert_eq!(
        code(acting(Some(&learner), Some("org-admin")).await),
        "role_not_held"
    );
    assert_eq!(
        code(acting(Some(&learner), Some("learner")).await),
        "ok:learner"
    );
    for role in ["learner", "trainer", "org-admin"] {
        assert_eq!(
            code(acting(Some(&multi), Some(role)).await),
            format!("ok:{role}")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_accounts_always_have_the_configured_password() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let mut config = app.state.config.clone();
    config.demo.password = "another-demo-password".into();
    let again = learnlens::build(config, std::sync::Arc::new(app.clock.clone()))
        .await
        .expect("restart");
    let email = learnlens::domain::Email::parse("learner@demo.test").expect("email");
    let user = again
        .store
        .user_by_email(&email)
        .await
        .expect("read")
        .expect("exists");
    assert!(
        again
            .auth
            .passwords()
            .verify("another-demo-password", Some(&user.password_hash))
            .await
            .expect("verify")
    );
    assert!(
        !again
            .auth
            .passwords()
            .verify(DEMO_PASSWORD, Some(&user.password_hash))
            .await
            .expect("verify")
    );
}
