//! PostgreSQL restarted under load (quality.md, "Job queue"): workers resume within 10 s of
//! its return, 0 jobs lost, and HTTP answers 503 with `Retry-After` within 5 s instead of
//! hanging.
//!
//! The demo app runs in-process (two worker threads, the wall clock, its 4 job workers) on a
//! scratch PostgreSQL database, with L1 holding nothing so that every analytics read is a
//! store read (L3). [`LOOPS`] loops read `engagement` of `demo-learner` as the learner. Just
//! before the stop, [`JOBS`] refresh jobs of that learner are enqueued (each reads the demo
//! sources, computes and writes through the store). Then the real server is stopped (`-m
//! fast`: every session is ended, as a restart does) for [`OUTAGE`] and started again; the
//! load runs on for [`TAIL`], and the bench waits for every job to finish.
//!
//! Figures: the statuses and latencies of the reads before, during and after the outage (a
//! read "during" started while the server was down), the time from the server's return to
//! the first 200 and to the first job completed after it, and every job's final status.
//! A 5xx other than 503, a 503 without `Retry-After`, a failed request or a job not
//! completed fails the run (after the figures); the two times are reported against their
//! targets, not asserted.
//!
//! The server is stopped and started with `STORE_OUTAGE_PG_CTL` + ` stop -m fast` / ` start`
//! (default: `pg_ctlcluster --skip-systemctl-redirect <the one version in /etc/postgresql>
//! main`): this stops the machine's PostgreSQL for everyone, so run it alone. If the bench
//! dies, the server is started again on the way out.
//!
//! Run: `cargo bench -p learnlens --bench store_outage`.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use learnlens::clock::{Clock as _, SystemClock};
use learnlens::config::Config;
use learnlens::pipeline::batch::{MAX_ATTEMPTS, REFRESH_KIND, RefreshPayload};
use learnlens::store::{JobStatus, NewJob, Store};
use learnlens_analytics::kind::AnalyticsKind;
use support::{ScratchDb, Threads};

const LOOPS: usize = 8;
const JOBS: usize = 200;
const WARMUP: Duration = Duration::from_secs(3);
/// Load before the stop.
const BEFORE: Duration = Duration::from_secs(3);
const OUTAGE: Duration = Duration::from_secs(10);
const TAIL: Duration = Duration::from_secs(15);
/// The longest wait for the jobs after the load (a job cut mid-run waits out its 30 s lease).
const PATIENCE: Duration = Duration::from_secs(120);
const ANSWER_TARGET: Duration = Duration::from_secs(5);
const RESUME_TARGET: Duration = Duration::from_secs(10);

/// Stops and starts the machine's PostgreSQL; starts it again when dropped.
struct PgCtl {
    base: String,
}

impl PgCtl {
    fn find() -> Option<PgCtl> {
        if let Ok(base) = std::env::var("STORE_OUTAGE_PG_CTL") {
            return Some(PgCtl { base });
        }
        let versions: Vec<_> = std::fs::read_dir("/etc/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        match versions.as_slice() {
            [v] => Some(PgCtl {
                base: format!("pg_ctlcluster --skip-systemctl-redirect {v} main"),
            }),
            _ => None,
        }
    }

    fn run(&self, action: &str) {
        let cmd = format!("{} {action}", self.base);
        let status = Command::new("sh").args(["-c", &cmd]).status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "`{cmd}` failed: {status:?}"
        );
    }
}

impl Drop for PgCtl {
    fn drop(&mut self) {
        // Idempotent: starting a running cluster only complains.
        let _ = Command::new("sh")
            .args(["-c", &format!("{} start 2>/dev/null", self.base)])
            .status();
    }
}

/// One read as the load loop saw it.
struct Sample {
    started: Instant,
    latency: Duration,
    /// The HTTP status, or `None` when the request failed.
    status: Option<u16>,
    retry_after: bool,
}

fn refresh_job() -> NewJob {
    NewJob {
        kind: REFRESH_KIND.to_owned(),
        payload: serde_json::to_value(RefreshPayload {
            subject_id: "demo-learner".into(),
            role: "learner".into(),
            analytics: vec![AnalyticsKind::EngagementScore.name().to_owned()],
        })
        .expect("payload"),
        owner_id: None,
        parent_id: None,
        singleton_key: None,
        max_attempts: MAX_ATTEMPTS,
        run_at: SystemClock.now(),
    }
}

/// Statuses and latencies of `samples`.
fn describe(samples: &[&Sample]) -> String {
    if samples.is_empty() {
        return "none".into();
    }
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for s in samples {
        let key = s.status.map_or("failed".into(), |c| c.to_string());
        *statuses.entry(key).or_default() += 1;
    }
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let statuses: Vec<String> = statuses.iter().map(|(k, n)| format!("{n} × {k}")).collect();
    format!(
        "{}; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        statuses.join(", "),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    )
}

fn main() {
    let Some(pg) = PgCtl::find() else {
        println!("SKIPPED: no single cluster in /etc/postgresql; set STORE_OUTAGE_PG_CTL");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(db) = rt.block_on(ScratchDb::create()) else {
        return;
    };
    let url = db.url.clone();
    let (app, ()) = support::start(Threads::Workers(2), async move |c: &mut Config| {
        c.database.url = url;
        c.jobs.serve_runs_workers = true;
        c.cache.l1_max_bytes = 0;
    });
    let failures = rt.block_on(async {
        let client = reqwest::Client::new();
        let token = support::login(&client, &app.base, "learner@demo.test").await;
        let url = format!(
            "{}/api/v1/learner/analytics/engagement/demo-learner",
            app.base
        );
        let producer = Store::connect(&db.url, 2, Duration::from_secs(5))
            .await
            .expect("connect");

        let load_until = Instant::now() + WARMUP + BEFORE + OUTAGE + TAIL;
        let loops: Vec<_> = (0..LOOPS)
            .map(|_| {
                let (client, url, token) = (client.clone(), url.clone(), token.clone());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    while Instant::now() < load_until {
                        let started = Instant::now();
                        let r = client
                            .get(&url)
                            .bearer_auth(&token)
                            .header("x-active-role", "learner")
                            .timeout(Duration::from_secs(60))
                            .send()
                            .await;
                        let (status, retry_after) = match &r {
                            Ok(r) => (
                                Some(r.status().as_u16()),
                                r.headers().contains_key("retry-after"),
                            ),
                            Err(_) => (None, false),
                        };
                        if let Ok(r) = r {
                            let _ = r.bytes().await;
                        }
                        samples.push(Sample {
                            started,
                            latency: started.elapsed(),
                            status,
                            retry_after,
                        });
                        if status != Some(200) {
                            // Not a tight loop against a server that is down.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    samples
                })
            })
            .collect();

        tokio::time::sleep(WARMUP + BEFORE).await;
        for _ in 0..JOBS {
            producer
                .enqueue_job(&refresh_job(), SystemClock.now())
                .await
                .expect("enqueue");
        }
        let stopped = Instant::now();
        pg.run("stop -m fast");
        println!(
            "PostgreSQL stopped ({:.1} s)",
            stopped.elapsed().as_secs_f64()
        );
        tokio::time::sleep(OUTAGE.saturating_sub(stopped.elapsed())).await;
        let starting = Instant::now();
        pg.run("start");
        let back = Instant::now();
        println!(
            "PostgreSQL started ({:.1} s)",
            (back - starting).as_secs_f64()
        );

        // The first job completed after the server's return.
        let completed = |counts: &[(JobStatus, i64)]| {
            counts
                .iter()
                .find(|(s, _)| *s == JobStatus::Completed)
                .map_or(0, |(_, n)| *n)
        };
        let mut at_back = None;
        let mut resumed = None;
        let mut finished = None;
        let deadline = back + TAIL + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(counts) = producer.job_counts().await {
                let done = completed(&counts);
                let before = *at_back.get_or_insert(done);
                if done > before && resumed.is_none() {
                    resumed = Some(back.elapsed());
                }
                if counts.iter().all(|(s, _)| s.is_finished()) {
                    finished = Some((back.elapsed(), counts));
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let mut samples = Vec::new();
        for l in loops {
            samples.extend(l.await.expect("load loop"));
        }
        let before: Vec<&Sample> = samples.iter().filter(|s| s.started < stopped).collect();
        let during: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.started >= stopped && s.started < back)
            .collect();
        let after: Vec<&Sample> = samples.iter().filter(|s| s.started >= back).collect();
        let first_200 = after
            .iter()
            .filter(|s| s.status == Some(200))
            .map(|s| s.started + s.latency - back)
            .min();
        let slowest_refusal = samples
            .iter()
            .filter(|s| s.status == Some(503))
            .map(|s| s.latency)
            .max();

        println!(
            "\n{LOOPS} loops; {JOBS} refresh jobs enqueued just before the stop; outage {OUTAGE:?}"
        );
        println!("reads before the stop: {}", describe(&before));
        println!("reads during the outage: {}", describe(&during));
        println!("reads after the restart: {}", describe(&after));
        match slowest_refusal {
            Some(l) => println!(
                "slowest 503: {:.2} s (target ≤ {ANSWER_TARGET:?}: {})",
                l.as_secs_f64(),
                if l <= ANSWER_TARGET { "met" } else { "NOT met" }
            ),
            None => println!("no 503 at all"),
        }
        match first_200 {
            Some(t) => println!("first 200 after the restart: {:.2} s", t.as_secs_f64()),
            None => println!("no 200 after the restart"),
        }
        match resumed {
            Some(t) => println!(
                "first job completed after the restart: {:.2} s (target ≤ {RESUME_TARGET:?}: {})",
                t.as_secs_f64(),
                if t <= RESUME_TARGET { "met" } else { "NOT met" }
            ),
            None => println!("no job completed after the restart"),
        }
        let mut failures = Vec::new();
        match &finished {
            Some((t, counts)) => {
                println!(
                    "every job finished {:.1} s after the restart: {counts:?}",
                    t.as_secs_f64()
                );
                if counts
                    .iter()
                    .any(|(s, n)| *s != JobStatus::Completed && *n > 0)
                {
                    failures.push(format!("jobs not completed: {counts:?}"));
                }
                if completed(counts) != JOBS as i64 {
                    failures.push(format!("{JOBS} jobs enqueued, {counts:?} at the end"));
                }
            }
            None => failures.push(format!(
                "jobs still unfinished {PATIENCE:?} after the load: {:?}",
                producer.job_counts().await
            )),
        }
        for s in &samples {
            match s.status {
                None => failures.push("a request failed (no HTTP answer)".into()),
                Some(503) if !s.retry_after => failures.push("a 503 without Retry-After".into()),
                Some(c) if c >= 500 && c != 503 => failures.push(format!("a {c}")),
                Some(c) if c != 200 && c != 503 => failures.push(format!("an unexpected {c}")),
                _ => {}
            }
        }
        failures.sort();
        failures.dedup();
        failures
    });
    drop(app);
    rt.block_on(db.drop_it());
    assert!(failures.is_empty(), "{failures:#?}");
}
