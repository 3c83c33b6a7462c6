//! The cron scheduler on both backends, on a fake clock: two replicas over three nights enqueue
//! exactly three nightly batches; after downtime only the last missed night runs, once; a new
//! schedule does not catch up; a changed cron takes effect; retention prunes old jobs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use learnlens::clock::{Clock as _, FakeClock};
use learnlens::jobs::scheduler::{self, BATCH_SCHEDULE, Scheduler};
use learnlens::jobs::{BATCH_KIND, JobsConfig};
use learnlens::store::{FireOutcome, Job, JobStatus, NewJob, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Backend, TestDb, start_time};
use crate::on_both_backends;

/// A fresh database and a fake clock at [`start_time`] (2026-11-26 09:00 UTC).
struct Fixture {
    clock: FakeClock,
    db: TestDb,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new(backend: Backend) -> Option<Fixture> {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb::create(backend, dir.path()).await?;
        let store = Store::connect(&db.url, 2, Duration::from_secs(5))
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store.close().await;
        Some(Fixture {
            clock: FakeClock::new(start_time()),
            db,
            _dir: dir,
        })
    }

    /// One replica's store: a connection pool of its own.
    async fn store(&self) -> Store {
        Store::connect(&self.db.url, 4, Duration::from_secs(5))
            .await
            .expect("connect")
    }

    /// A replica's scheduler, registered (as on start).
    async fn scheduler(&self, config: &JobsConfig) -> Scheduler {
        let s = Scheduler::new(self.store().await, Arc::new(self.clock.clone()), config)
            .expect("scheduler");
        s.register().await.expect("register");
        s
    }
}

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0)
        .single()
        .expect("valid time")
}

async fn batches(store: &Store) -> Vec<Job> {
    let mut jobs: Vec<Job> = store
        .list_jobs(None, 1000)
        .await
        .expect("list")
        .into_iter()
        .filter(|j| j.kind == BATCH_KIND)
        .collect();
    jobs.sort_by_key(|j| j.created_at);
    jobs
}

fn keys(jobs: &[Job]) -> Vec<String> {
    jobs.iter()
        .map(|j| {
            j.singleton_key
                .clone()
                .expect("a batch has a singleton key")
        })
        .collect()
}

/// Ticks both schedulers at once, then moves the clock by `step`, until `until`. Returns the
/// ids of the jobs they enqueued.
async fn run_both(
    clock: &FakeClock,
    a: &mut Scheduler,
    b: &mut Scheduler,
    step: TimeDelta,
    until: DateTime<Utc>,
) -> Vec<String> {
    let mut fired = Vec::new();
    while clock.now() < until {
        let (x, y) = tokio::join!(a.tick(), b.tick());
        fired.extend(x.expect("tick a"));
        fired.extend(y.expect("tick b"));
        clock.advance(step);
    }
    fired
}

/// Runs a batch job to completion, as its handler would, so that its singleton key is free:
/// only the schedule's compare-and-swap can then keep the night from firing twice.
async fn complete(store: &Store, job: &Job, now: DateTime<Utc>) {
    let claimed = store
        .claim_jobs(&[BATCH_KIND.to_owned()], 10, now, TimeDelta::minutes(5))
        .await
        .expect("claim");
    assert!(claimed.iter().any(|j| j.id == job.id), "the batch is due");
    for j in claimed {
        assert!(
            store
                .finish_job(&j.id, j.attempt, JobStatus::Completed, None, None, now)
                .await
                .expect("finish")
        );
    }
}

async fn two_schedulers_over_three_nights_enqueue_exactly_three_batches(backend: Backend) {
    let Some(fx) = Fixture::new(backend).await else {
        return;
    };
    let config = JobsConfig::default();
    let (mut a, mut b) = (fx.scheduler(&config).await, fx.scheduler(&config).await);
    let store = fx.store().await;
    let step = TimeDelta::minutes(5);
    let mut fired = Vec::new();
    for night in [27, 28, 29] {
        // Up to just past 02:00, then the batch "runs", then the rest of the day.
        fired.extend(run_both(&fx.clock, &mut a, &mut b, step, at(night, 2, 5)).await);
        let jobs = batches(&store).await;
        let tonight = jobs.last().expect("a batch tonight");
        assert_eq!(
            tonight.created_at,
            at(night, 2, 0),
            "fired on the first tick"
        );
        complete(&store, tonight, fx.clock.now()).await;
        fired.extend(run_both(&fx.clock, &mut a, &mut b, step, at(night, 9, 0)).await);
    }
    let jobs = batches(&store).await;
    assert_eq!(
        keys(&jobs),
        [
            "batch:2026-11-27T02:00:00Z",
            "batch:2026-11-28T02:00:00Z",
            "batch:2026-11-29T02:00:00Z"
        ]
    );
    assert_eq!(jobs[0].payload, json!({"fireTime": "2026-11-27T02:00:00Z"}));
    let mut ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    ids.sort();
    fired.sort();
    assert_eq!(fired, ids, "each job was enqueued by exactly one scheduler");
    let schedules = store.list_schedules().await.expect("schedules");
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0].name, BATCH_SCHEDULE);
    assert_eq!(schedules[0].last_fire_at, Some(at(29, 2, 0)));
}
on_both_backends!(two_schedulers_over_three_nights_enqueue_exactly_three_batches);

async fn after_downtime_only_the_last_missed_night_runs_and_only_once(backend: Backend) {
    let Some(fx) = Fixture::new(backend).await else {
        return;
    };
    let config = JobsConfig::default();
    let (mut a, mut b) = (fx.scheduler(&config).await, fx.scheduler(&config).await);
    let store = fx.store().await;
    // A new schedule owes nothing for 02:00 today: it was created at 09:00.
    let fired = run_both(
        &fx.clock,
        &mut a,
        &mut b,
        TimeDelta::hours(1),
        at(26, 23, 0),
    )
    .await;
    assert!(
        fired.is_empty(),
        "no catch-up for a time before the schedule existed"
    );
    fx.clock.set(at(27, 2, 0));
    assert_eq!(a.tick().await.expect("tick").len(), 1);

    // Down from 02:01 on the 27th until 10:00 on the 30th: three nights missed.
    fx.clock.set(at(30, 10, 0));
    let (mut a, mut b) = (fx.scheduler(&config).await, fx.scheduler(&config).await);
    let fired = run_both(
        &fx.clock,
        &mut a,
        &mut b,
        TimeDelta::minutes(5),
        at(30, 12, 0),
    )
    .await;
    assert_eq!(fired.len(), 1, "one catch-up run, not one per missed night");
    assert_eq!(
        keys(&batches(&store).await),
        ["batch:2026-11-27T02:00:00Z", "batch:2026-11-30T02:00:00Z"]
    );
    assert_eq!(
        store.list_schedules().await.expect("schedules")[0].last_fire_at,
        Some(at(30, 2, 0))
    );
}
on_both_backends!(after_downtime_only_the_last_missed_night_runs_and_only_once);

async fn a_changed_cron_takes_effect_and_an_empty_one_disables_the_schedule(backend: Backend) {
    let Some(fx) = Fixture::new(backend).await else {
        return;
    };
    let store = fx.store().await;
    let mut old = fx.scheduler(&JobsConfig::default()).await;
    fx.clock.set(at(27, 2, 0));
    assert_eq!(old.tick().await.expect("tick").len(), 1);

    // Redeployed at noon with the batch at 04:30.
    fx.clock.set(at(27, 12, 0));
    let config = JobsConfig {
        nightly_batch_cron: "30 4 * * *".into(),
        ..JobsConfig::default()
    };
    let (mut a, mut b) = (fx.scheduler(&config).await, fx.scheduler(&config).await);
    let schedule = store.list_schedules().await.expect("schedules").remove(0);
    assert_eq!(
        (schedule.cron.as_str(), schedule.updated_at),
        ("30 4 * * *", at(27, 12, 0))
    );
    let fired = run_both(
        &fx.clock,
        &mut a,
        &mut b,
        TimeDelta::minutes(5),
        at(28, 12, 0),
    )
    .await;
    assert_eq!(fired.len(), 1);
    assert_eq!(
        keys(&batches(&store).await),
        ["batch:2026-11-27T02:00:00Z", "batch:2026-11-28T04:30:00Z"],
        "04:30 from the next day on; nothing at 02:00, no catch-up of the 27th's 04:30"
    );

    // An empty expression disables it.
    let off = JobsConfig {
        nightly_batch_cron: String::new(),
        ..JobsConfig::default()
    };
    let mut a = fx.scheduler(&off).await;
    assert!(!store.list_schedules().await.expect("schedules")[0].enabled);
    fx.clock.set(at(29, 4, 30));
    assert!(a.tick().await.expect("tick").is_empty());
    assert_eq!(batches(&store).await.len(), 2);
}
on_both_backends!(a_changed_cron_takes_effect_and_an_empty_one_disables_the_schedule);

async fn the_scheduler_prunes_jobs_past_retention(backend: Backend) {
    let Some(fx) = Fixture::new(backend).await else {
        return;
    };
    let store = fx.store().await;
    let now = fx.clock.now();
    let mut finished = Vec::new();
    for (status, age_days) in [
        (JobStatus::Completed, 8),
        (JobStatus::Completed, 6),
        (JobStatus::Failed, 8),
        (JobStatus::Failed, 15),
    ] {
        let then = now - TimeDelta::days(age_days);
        let job = NewJob {
            kind: "old".into(),
            payload: json!({}),
            owner_id: None,
            parent_id: None,
            singleton_key: None,
            max_attempts: 1,
            run_at: then,
        };
        let id = store.enqueue_job(&job, then).await.expect("enqueue").id;
        store
            .claim_jobs(&["old".to_owned()], 1, then, TimeDelta::minutes(1))
            .await
            .expect("claim");
        assert!(
            store
                .finish_job(&id, 1, status, None, None, then)
                .await
                .expect("finish")
        );
        finished.push(id);
    }
    let mut s = fx.scheduler(&JobsConfig::default()).await;
    s.tick().await.expect("tick");
    let mut left = Vec::new();
    for id in &finished {
        left.push(store.get_job(id).await.expect("get").is_some());
    }
    assert_eq!(
        left,
        [false, true, true, false],
        "completed kept 7 days, failed 14"
    );
}
on_both_backends!(the_scheduler_prunes_jobs_past_retention);

async fn the_spawned_scheduler_ticks_by_itself(backend: Backend) {
    let Some(fx) = Fixture::new(backend).await else {
        return;
    };
    let store = fx.store().await;
    let config = JobsConfig {
        scheduler_tick_secs: 1,
        ..JobsConfig::default()
    };
    let shutdown = CancellationToken::new();
    let task = scheduler::spawn(
        store.clone(),
        Arc::new(fx.clock.clone()),
        &config,
        shutdown.clone(),
    )
    .expect("spawn");
    // Wait for the schedule to be registered at 09:00, then move to the night.
    for _ in 0..100 {
        if !store.list_schedules().await.expect("list").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fx.clock.set(at(27, 2, 0) + TimeDelta::seconds(20));
    let mut found = Vec::new();
    for _ in 0..100 {
        found = batches(&store).await;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the scheduler stops on shutdown")
        .expect("task");
    assert_eq!(keys(&found), ["batch:2026-11-27T02:00:00Z"]);
    assert!(
        scheduler::spawn(
            store,
            Arc::new(fx.clock.clone()),
            &JobsConfig {
                nightly_batch_cron: "0 2 * *".into(),
                ..JobsConfig::default()
            },
            CancellationToken::new()
        )
        .is_err(),
        "a bad cron expression fails at start"
    );
}
on_both_backends!(the_spawned_scheduler_ticks_by_itself);

async fn a_replica_with_a_stale_view_cannot_fire_a_night_again_even_after_its_batch_finished(
    backend: Backend,
) {
    let Some(fx) = Fixture::new(backend).await else {
        return;
    };
    let store = fx.store().await;
    fx.scheduler(&JobsConfig::default()).await;
    // Both replicas read the schedule before either fired.
    let stale = store.list_schedules().await.expect("schedules").remove(0);
    let fire = at(27, 2, 0);
    fx.clock.set(fire);
    let first = store
        .fire_schedule(&stale, fire, &scheduler::batch_job(fire, fire), fire)
        .await
        .expect("fire");
    let FireOutcome::Enqueued(id) = first else {
        panic!("the first fire enqueues: {first:?}");
    };
    // The batch finishes before the slow replica gets there: its singleton key is free again.
    let job = store.get_job(&id).await.expect("get").expect("row");
    complete(&store, &job, fire + TimeDelta::minutes(1)).await;
    let later = fire + TimeDelta::minutes(2);
    assert_eq!(
        store
            .fire_schedule(&stale, fire, &scheduler::batch_job(fire, later), later)
            .await
            .expect("fire"),
        FireOutcome::Lost
    );
    assert_eq!(batches(&store).await.len(), 1);
}
on_both_backends!(
    a_replica_with_a_stale_view_cannot_fire_a_night_again_even_after_its_batch_finished
);
