//! The cron scheduler (jobs-and-cache.md): schedules are rows of the store; every process that
//! runs the scheduler ticks every `scheduler_tick_secs` on the injected clock, and a due fire
//! time becomes exactly one job however many processes tick.
//!
//! Rules (docs/decisions.md, "Scheduler"):
//! - A schedule's due fire time at `now` is the most recent time ≤ `now` that its cron
//!   expression (5 fields, UTC) matches, if that is later than its last fire and not before the
//!   definition took effect (`updated_at`). So after downtime only the most recent missed fire
//!   runs, once; a new schedule, or one whose cron changed, never fires for an earlier time.
//! - Firing is [`Store::fire_schedule`]: a compare-and-swap on `last_fire_at` and the insert of
//!   the job in one transaction. The job also carries the singleton key `batch:{fire time}`.
//! - On start the scheduler writes the configured schedules (`[jobs] nightly_batch_cron`); an
//!   empty expression disables the schedule. Rows are the truth while ticking, so with
//!   replicas of different configurations the one that started last wins.
//! - Retention also runs here: at most once an hour per process, finished jobs older than
//!   `retention_completed_days` and failed ones older than `retention_failed_days` are deleted,
//!   and so are chunked runs (`pipeline::chunks`) older than `retention_failed_days`, left by
//!   a chunk that failed for good (idempotent, so several replicas doing it is harmless).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use croner::Cron;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{BATCH_KIND, JobsConfig};
use crate::clock::Clock;
use crate::store::{FireOutcome, NewJob, Schedule, Store};

/// The nightly batch's schedule.
pub const BATCH_SCHEDULE: &str = "nightly-batch";

/// How often retention runs (per process).
const PRUNE_EVERY: TimeDelta = TimeDelta::hours(1);

/// Parses a 5-field cron expression (minute, hour, day of month, month, day of week; no
/// seconds, no years; `@daily` and the like are accepted).
pub fn parse_cron(expr: &str) -> Result<Cron, CronError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
}

/// The fire time owed at `now`: the most recent time ≤ `now` that `cron` matches, if it is
/// after `last_fire_at` and not before `defined_at`. `None` if nothing is owed (or the
/// expression matches no time at all).
pub fn due_fire_time(
    cron: &Cron,
    last_fire_at: Option<DateTime<Utc>>,
    defined_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let fire = cron.find_previous_occurrence(&now, true).ok()?;
    let after_last = last_fire_at.is_none_or(|last| fire > last);
    (after_last && fire >= defined_at).then_some(fire)
}

/// The job a fire of the nightly batch enqueues.
pub fn batch_job(fire_at: DateTime<Utc>, now: DateTime<Utc>) -> NewJob {
    let fire = fire_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    NewJob {
        kind: BATCH_KIND.to_owned(),
        payload: json!({ "fireTime": fire }),
        owner_id: None,
        parent_id: None,
        singleton_key: Some(format!("batch:{fire}")),
        max_attempts: 3,
        run_at: now,
    }
}

/// A schedule this version knows: its name, and the job each fire enqueues.
struct Definition {
    name: &'static str,
    /// The configured expression; empty means disabled.
    cron: String,
    job: fn(DateTime<Utc>, DateTime<Utc>) -> NewJob,
}

/// The scheduler of one process.
pub struct Scheduler {
    store: Store,
    clock: Arc<dyn Clock>,
    definitions: Vec<Definition>,
    tick_every: Duration,
    keep_completed: TimeDelta,
    keep_failed: TimeDelta,
    last_prune: Option<DateTime<Utc>>,
}

impl Scheduler {
    /// A scheduler for the schedules of `config`; fails if a cron expression does not parse.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: &JobsConfig) -> anyhow::Result<Self> {
        config.validate()?;
        Ok(Scheduler {
            store,
            clock,
            definitions: vec![Definition {
                name: BATCH_SCHEDULE,
                cron: config.nightly_batch_cron.trim().to_owned(),
                job: batch_job,
            }],
            tick_every: Duration::from_secs(config.scheduler_tick_secs.max(1)),
            keep_completed: TimeDelta::days(i64::from(config.retention_completed_days)),
            keep_failed: TimeDelta::days(i64::from(config.retention_failed_days)),
            last_prune: None,
        })
    }

    /// Writes the configured schedules to the store: new ones are created, changed ones take
    /// their new definition (and fire only for times from now on).
    pub async fn register(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        for d in &self.definitions {
            let enabled = !d.cron.is_empty();
            if self
                .store
                .upsert_schedule(d.name, &d.cron, enabled, now)
                .await
                .with_context(|| format!("writing schedule {}", d.name))?
            {
                tracing::info!(schedule = d.name, cron = %d.cron, enabled, "schedule defined");
            }
        }
        Ok(())
    }

    /// One pass: enqueues each schedule's due fire (once across all instances) and runs
    /// retention if it is due. Returns the ids of the jobs this call enqueued.
    pub async fn tick(&mut self) -> anyhow::Result<Vec<String>> {
        let now = self.clock.now();
        let mut enqueued = Vec::new();
        let schedules = self
            .store
            .list_schedules()
            .await
            .context("reading schedules")?;
        for schedule in schedules.iter().filter(|s| s.enabled) {
            if let Some(id) = self.fire_if_due(schedule, now).await? {
                enqueued.push(id);
            }
        }
        if self.last_prune.is_none_or(|t| now - t >= PRUNE_EVERY) {
            let pruned = self
                .store
                .prune_jobs(now - self.keep_completed, now - self.keep_failed)
                .await
                .context("pruning old jobs")?;
            // A chunked run outlives its jobs only when a chunk failed for good.
            let runs = self
                .store
                .prune_chunked_runs(now - self.keep_failed)
                .await
                .context("pruning old chunked runs")?;
            self.last_prune = Some(now);
            if pruned > 0 || runs > 0 {
                tracing::info!(jobs = pruned, chunked_runs = runs, "pruned past retention");
            }
        }
        Ok(enqueued)
    }

    async fn fire_if_due(
        &self,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        // A row of another version (unknown name) is left to the version that knows it.
        let Some(def) = self.definitions.iter().find(|d| d.name == schedule.name) else {
            return Ok(None);
        };
        let cron = match parse_cron(&schedule.cron) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(schedule = %schedule.name, cron = %schedule.cron, error = %e, "stored cron expression does not parse; skipped");
                return Ok(None);
            }
        };
        let Some(fire_at) = due_fire_time(&cron, schedule.last_fire_at, schedule.updated_at, now)
        else {
            return Ok(None);
        };
        let outcome = self
            .store
            .fire_schedule(schedule, fire_at, &(def.job)(fire_at, now), now)
            .await
            .with_context(|| format!("firing schedule {}", schedule.name))?;
        Ok(match outcome {
            FireOutcome::Enqueued(id) => {
                tracing::info!(schedule = %schedule.name, fire_at = %fire_at, job.id = %id, "schedule fired");
                Some(id)
            }
            FireOutcome::AlreadyActive => {
                tracing::info!(schedule = %schedule.name, fire_at = %fire_at, "schedule fired; its job was already queued");
                None
            }
            FireOutcome::Lost => None,
        })
    }

    /// Registers the schedules (retrying while the store is unreachable), then ticks until
    /// `shutdown`. Errors are logged and the next tick tries again.
    pub async fn run(mut self, shutdown: CancellationToken) {
        while let Err(e) = self.register().await {
            tracing::warn!(
                error = format!("{e:#}"),
                "registering schedules failed; retrying"
            );
            tokio::select! {
                () = tokio::time::sleep(self.tick_every) => {}
                () = shutdown.cancelled() => return,
            }
        }
        while !shutdown.is_cancelled() {
            if let Err(e) = self.tick().await {
                tracing::warn!(error = format!("{e:#}"), "scheduler tick failed");
            }
            tokio::select! {
                () = tokio::time::sleep(self.tick_every) => {}
                () = shutdown.cancelled() => {}
            }
        }
    }
}

/// Starts the scheduler of this process as a task that ends when `shutdown` fires. Fails at
/// once on an invalid configuration, never later.
pub fn spawn(
    store: Store,
    clock: Arc<dyn Clock>,
    config: &JobsConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let scheduler = Scheduler::new(store, clock, config)?;
    Ok(tokio::spawn(scheduler.run(shutdown)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn only_five_field_expressions_parse() {
        assert!(parse_cron("0 2 * * *").is_ok());
        assert!(parse_cron("*/15 * * * MON-FRI").is_ok());
        assert!(parse_cron("@daily").is_ok());
        for bad in [
            "",
            "0 0 2 * * *",
            "0 2 * *",
            "61 2 * * *",
            "0 2 * * * 2026",
            "nonsense",
        ] {
            assert!(parse_cron(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_due_fire_is_the_most_recent_one_after_the_last_fire() {
        let cron = parse_cron("0 2 * * *").expect("cron");
        let defined = t(2026, 11, 1, 0, 0);
        // Never fired: the most recent 02:00 is owed.
        assert_eq!(
            due_fire_time(&cron, None, defined, t(2026, 11, 26, 9, 0)),
            Some(t(2026, 11, 26, 2, 0))
        );
        // Exactly at the fire time.
        assert_eq!(
            due_fire_time(&cron, None, defined, t(2026, 11, 26, 2, 0)),
            Some(t(2026, 11, 26, 2, 0))
        );
        // Already fired.
        let last = Some(t(2026, 11, 26, 2, 0));
        assert_eq!(
            due_fire_time(&cron, last, defined, t(2026, 11, 27, 1, 59)),
            None
        );
        // Three nights missed: only the last one.
        assert_eq!(
            due_fire_time(&cron, last, defined, t(2026, 11, 29, 23, 0)),
            Some(t(2026, 11, 29, 2, 0))
        );
    }

    #[test]
    fn a_schedule_never_fires_for_a_time_before_its_definition() {
        let cron = parse_cron("0 2 * * *").expect("cron");
        let defined = t(2026, 11, 26, 9, 0);
        assert_eq!(
            due_fire_time(&cron, None, defined, t(2026, 11, 26, 23, 0)),
            None
        );
        assert_eq!(
            due_fire_time(&cron, None, defined, t(2026, 11, 27, 2, 0)),
            Some(t(2026, 11, 27, 2, 0))
        );
    }

    #[test]
    fn a_batch_job_is_keyed_by_its_fire_time() {
        let job = batch_job(t(2026, 11, 27, 2, 0), t(2026, 11, 27, 2, 1));
        assert_eq!(job.kind, BATCH_KIND);
        assert_eq!(
            job.singleton_key.as_deref(),
            Some("batch:2026-11-27T02:00:00Z")
        );
        assert_eq!(job.payload, json!({"fireTime": "2026-11-27T02:00:00Z"}));
        assert_eq!(job.run_at, t(2026, 11, 27, 2, 1));
    }

    proptest! {
        #[test]
        fn cron_parsing_never_panics(s in "\\PC{0,40}") {
            let _ = parse_cron(&s);
        }

        #[test]
        fn cron_like_input_never_panics_and_a_parsed_one_evaluates(
            fields in proptest::collection::vec("[0-9*/,LW#?-]{1,6}", 5),
            minutes in 0i64..1_000_000,
        ) {
            if let Ok(cron) = parse_cron(&fields.join(" ")) {
                let now = t(2026, 1, 1, 0, 0) + TimeDelta::minutes(minutes);
                if let Some(fire) = due_fire_time(&cron, None, t(2000, 1, 1, 0, 0), now) {
                    prop_assert!(fire <= now);
                }
            }
        }
    }
}
