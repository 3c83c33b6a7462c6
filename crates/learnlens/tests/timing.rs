//! Timing-sensitive checks, in their own test binary: cargo runs test binaries one after
//! another, so nothing else of ours competes for the CPU while these measure.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::Instant;

use learnlens::clock::Clock as _;

use crate::helpers::{Backend, DEMO_PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_wrong_password_and_disabled_account_answer_identically_in_equal_time() {
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        Box::new(|c| c.rate_limits.login = "1000/s".parse().expect("spec")),
    )
    .await
    else {
        return;
    };
    let email = learnlens::domain::Email::parse("admin@demo.test").expect("email");
    app.state
        .store
        .set_user_disabled(&email, true, app.clock.now())
        .await
        .expect("disable");
    let cases = [
        ("nobody@demo.test", DEMO_PASSWORD),
        ("learner@demo.test", "wrong-password"),
        ("admin@demo.test", DEMO_PASSWORD),
    ];
    // The cases are interleaved, so whatever else loads the machine loads them alike.
    let mut bodies = Vec::new();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..21 {
        for (i, (email, password)) in cases.iter().enumerate() {
            let start = Instant::now();
            let r = app.login(email, password).await;
            times[i].push(start.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status(), 401);
            bodies.push(r.text().await.expect("body"));
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "answers differ: {bodies:?}"
    );
    // Compare within each round (requests next to each other in time see the same load),
    // then take the median of those paired differences.
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let diffs: Vec<f64> = times[a].iter().zip(&times[b]).map(|(x, y)| x - y).collect();
        let d = median(diffs);
        assert!(
            d.abs() < 5.0,
            "median paired difference of case {a} and {b} is {d:.2} ms: {times:?}"
        );
    }
}
