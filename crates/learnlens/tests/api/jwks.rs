//! Tokens of an external identity provider: ES256 verified against its JWKS, cached, refreshed
//! on an unknown `kid` at most once a minute, and never fetched for anything else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use learnlens::clock::Clock as _;
use learnlens::config::RunEnv;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// A P-256 key: its PKCS#8 private key and its public JWK.
fn es256_key(kid: &str) -> (Vec<u8>, Value) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("pair");
    let point = pair.public_key().as_ref(); // 0x04 || x || y
    assert_eq!(point.len(), 65);
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
    (pkcs8.as_ref().to_vec(), jwk)
}

/// Serves `{"keys": [...]}` at /jwks and counts the fetches.
async fn jwks_server(keys: Vec<Value>) -> (SocketAddr, Arc<AtomicUsize>) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let body = json!({"keys": keys});
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, fetches)
}

fn idp_token(pkcs8: &[u8], kid: &str, now: i64, aud: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    let claims = json!({"iss": "https://idp.test", "aud": aud, "sub": "demo-learner", "org": "demo-org",
        "roles": ["learner"], "iat": now, "nbf": now, "exp": now + 300, "jti": "idp-1"});
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(pkcs8)).expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_provider_tokens_are_verified_against_a_cached_jwks() {
    let (private, jwk) = es256_key("idp-1");
    let (other_private, _) = es256_key("idp-1");
    let (addr, fetches) = jwks_server(vec![jwk]).await;
    let tweak = move |c: &mut learnlens::config::Config| {
        c.auth.jwks_url = format!("http://{addr}/jwks");
        c.auth.jwks_issuer = "https://idp.test".into();
        c.auth.jwks_audience = "learnlens-idp".into();
    };
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, Box::new(tweak)).await else {
        return;
    };
    let now = app.clock.now().timestamp();

    let good = idp_token(&private, "idp-1", now, "learnlens-idp");
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &good).await.status(),
        200
    );
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &good).await.status(),
        200
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the key set is cached");

    // Signed by another key under the same kid, or for another audience: refused.
    let forged = idp_token(&other_private, "idp-1", now, "learnlens-idp");
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &forged)
            .await
            .status(),
        401
    );
    let wrong_aud = idp_token(&private, "idp-1", now, "someone-else");
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &wrong_aud)
            .await
            .status(),
        401
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // An unknown kid refreshes the set at most once a minute (the first fetch counts).
    let unknown = idp_token(&private, "idp-2", now, "learnlens-idp");
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &unknown)
            .await
            .status(),
        401
    );
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "fetched less than a minute ago"
    );
    app.clock.advance(chrono::TimeDelta::seconds(61));
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &unknown)
            .await
            .status(),
        401
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &unknown)
            .await
            .status(),
        401
    );
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "at most one refresh a minute"
    );

    // HS256 tokens and hostile kids never cause a fetch.
    let hostile = idp_token(&private, "../../admin", now, "learnlens-idp");
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &hostile)
            .await
            .status(),
        401
    );
    let (ours, _) = app.login_as("learner@demo.test").await;
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &ours).await.status(),
        200
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_jwt_secret_local_login_is_disabled_and_idp_tokens_still_work() {
    let (private, jwk) = es256_key("idp-1");
    let (addr, _) = jwks_server(vec![jwk]).await;
    let tweak = move |c: &mut learnlens::config::Config| {
        c.env = RunEnv::Production;
        c.auth.jwt_secret = String::new();
        for url in [
            &mut c.sources.directory_url,
            &mut c.sources.skills_url,
            &mut c.sources.catalog_url,
            &mut c.sources.assessments_url,
        ] {
            *url = "http://127.0.0.1:9".into();
        }
        c.auth.jwks_url = format!("http://{addr}/jwks");
        c.auth.jwks_issuer = "https://idp.test".into();
        c.auth.jwks_audience = "learnlens-idp".into();
    };
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, Box::new(tweak)).await else {
        return;
    };
    let r = app.login("learner@demo.test", "learnlens-demo").await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "local_login_disabled");
    // Production creates no demo accounts; the IdP's user must exist to read /auth/me.
    assert!(
        app.state
            .store
            .user_by_id("demo-learner")
            .await
            .expect("read")
            .is_none()
    );
    let token = idp_token(
        &private,
        "idp-1",
        app.clock.now().timestamp(),
        "learnlens-idp",
    );
    assert_eq!(
        app.get_with_token("/api/v1/auth/me", &token).await.status(),
        401,
        "unknown account"
    );
}
