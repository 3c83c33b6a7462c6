//! Authentication costs, each next to a floor measured in the same run:
//! - access-token verification vs. decoding the same token without checking it
//!   (`jsonwebtoken::insecure_decode`): the price of the signature and claim checks;
//! - a full login (store lookup, argon2id verify, refresh family insert, signing) on SQLite vs.
//!   one argon2id verification alone: the price of everything but the hash.
//!
//! Run: `cargo bench -p learnlens --bench auth`. Results go to bench/RESULTS.md by hand.

use std::sync::Arc;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use learnlens::auth::TokenService;
use learnlens::clock::SystemClock;
use learnlens::config::{Config, Overrides};
use learnlens::domain::{Email, Role};

fn config(dir: &std::path::Path) -> Config {
    Config::load(
        None,
        &Overrides {
            data_dir: Some(dir.to_path_buf()),
            jwt_secret: Some("bench-secret-bench-secret-bench-secret-01".into()),
            ..Default::default()
        },
    )
    .expect("config")
}

fn token_verification(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let tokens = TokenService::new(&cfg.auth, Some(cfg.auth.jwt_secret.as_bytes()));
    let now = Utc::now();
    let token = tokens
        .issue(
            "demo-learner",
            "demo-org",
            &[Role::Learner],
            "session-1",
            now,
        )
        .expect("issue");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("access_token");
    group.bench_function("floor_insecure_decode", |b| {
        b.iter(|| {
            jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token).expect("decode")
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| rt.block_on(tokens.verify(&token, now)).expect("valid"))
    });
    group.finish();
}

fn login(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let state = rt
        .block_on(learnlens::build(config(dir.path()), Arc::new(SystemClock)))
        .expect("app");
    let email = Email::parse("learner@demo.test").expect("email");
    let hash = rt
        .block_on(state.store.user_by_email(&email))
        .expect("read")
        .expect("demo account")
        .password_hash;
    let mut group = c.benchmark_group("login");
    group.sample_size(30);
    group.bench_function("floor_argon2id_verify", |b| {
        b.iter(|| {
            rt.block_on(state.auth.passwords().verify("learnlens-demo", Some(&hash)))
                .expect("verify")
        })
    });
    group.bench_function("login_sqlite", |b| {
        b.iter(|| {
            rt.block_on(state.auth.login(&email, "learnlens-demo"))
                .expect("login")
        })
    });
    group.finish();
}

criterion_group!(benches, token_verification, login);
criterion_main!(benches);
