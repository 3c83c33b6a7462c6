//! `learnlens dataset`: the synthetic data set as JSON for scripts (the Python reference check).

use std::process::Command;

use learnlens_analytics::Dataset;

fn learnlens(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_learnlens"))
        .args(args)
        .env_remove("LEARNLENS_ENV")
        .env_remove("LEARNLENS_CONFIG")
        .env("RUST_LOG", "info")
        .output()
        .expect("run learnlens")
}

#[test]
fn dataset_prints_the_synthetic_demo_data_as_json_and_nothing_else() {
    let out = learnlens(&["dataset", "synthetic:demo:5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data: Dataset = serde_json::from_slice(&out.stdout).expect("stdout is one Dataset");
    assert_eq!(data.organizations.len(), 2);
    for id in ["demo-learner", "demo-trainer", "demo-admin", "demo-multi"] {
        assert!(data.users.iter().any(|u| u.id == id), "{id}");
    }
    assert!(data.events.len() > 1_000);
    let again = learnlens(&["dataset", "synthetic:demo:5"]);
    assert_eq!(again.stdout, out.stdout, "deterministic");
}

#[test]
fn dataset_refuses_large_sizes_with_a_clear_error() {
    let out = learnlens(&["dataset", "synthetic:large"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too large"), "{err}");
    let bad = learnlens(&["dataset", "synthetic:huge"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown size"));
}
