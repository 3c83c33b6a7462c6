//! The pipeline's jobs (jobs-and-cache.md): the nightly batch, which fans out one child job
//! per organisation, the organisation job itself, and the manual refresh of one subject.
//!
//! - `nightly-batch` lists the organisations, enqueues one `batch-org` child for each (parent
//!   = the batch, singleton key `batch-org:{batch}:{org}`), computes the global skillDemand,
//!   then waits for its children, including the chunk jobs they add: its progress is
//!   finished children over all children, a cancel cancels them, and it fails if any child
//!   failed for good.
//! - `batch-org` reads one organisation with bulk source calls, trains the drop-off model and
//!   stores it as the organisation's next version, computes every analytic of every subject
//!   and writes them in chunks. An organisation with more than `jobs.batch_chunk_users` users
//!   is split instead into `batch-chunk` jobs and a `batch-final` job, run by any worker
//!   (`chunks.rs`); `learnlens batch` computes its chunks in one call (`run_in_chunks`).
//! - `refresh` does the same for one subject and the analytics asked for.
//!
//! Handlers are idempotent (recompute and upsert), so a job that runs twice writes the same
//! results. CPU-bound computation runs on the blocking pool.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use learnlens_analytics::Config as AnalyticsConfig;
use learnlens_analytics::digest::Digest;
use learnlens_analytics::input::{Organization, User};
use learnlens_analytics::kind::{AnalyticsKind, Models};
use learnlens_analytics::predictive::drop_off::DropOffModel;
use serde::{Deserialize, Serialize};

use super::{OrgData, Selection};
use crate::cache::Cache;
use crate::clock::Clock;
use crate::jobs::{JobContext, JobError, JobHandler};
use crate::sources::{Service, Sources};
use crate::store::{AnalyticsRow, JobStatus, NewJob, Store};

/// Job kinds of the pipeline (the nightly batch's kind is the scheduler's).
pub use crate::jobs::BATCH_KIND;
pub const ORG_KIND: &str = "batch-org";
pub const REFRESH_KIND: &str = "refresh";

/// Attempts of every pipeline job (jobs-and-cache.md: up to 3).
pub const MAX_ATTEMPTS: i32 = 3;

/// How often a batch looks at its children.
const CHILD_POLL: Duration = Duration::from_secs(1);

/// Results written per store transaction by an organisation's job.
pub const WRITE_CHUNK: usize = 5_000;

/// What the pipeline's jobs and the API's read path share.
#[derive(Clone)]
pub struct Pipeline {
    pub sources: Arc<Sources>,
    pub store: Store,
    /// Results are written through every cache layer, so a refresh is seen everywhere.
    pub cache: Arc<Cache>,
    pub clock: Arc<dyn Clock>,
    pub analytics: Arc<AnalyticsConfig>,
    pub fallback_ttl_secs: u64,
    /// Results an organisation's job writes per transaction ([`WRITE_CHUNK`]).
    pub write_chunk: usize,
    /// An organisation with more users is computed in chunks of this many
    /// (`jobs.batch_chunk_users`; 0: never).
    pub chunk_users: usize,
    /// Cold computes in progress (single flight), see `read.rs`.
    pub in_flight: super::read::InFlight,
    /// Organisations being read for cold computes (shared reads), see `read.rs`.
    pub org_reads: super::read::OrgReads,
    /// Stale results whose refresh was queued, see `read.rs`.
    pub recently_queued: super::read::RecentlyQueued,
    /// Cold computes run by this process (also `learnlens_cold_computes_total`).
    pub cold_computes: Arc<std::sync::atomic::AtomicU64>,
    /// Organisations read by cold computes of this process, a shared read once.
    pub cold_org_reads: Arc<std::sync::atomic::AtomicU64>,
}

/// Counts of one organisation's run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgRun {
    pub learners: u64,
    pub statements: u64,
    pub results: u64,
}

impl Pipeline {
    /// The organisations in the directory.
    pub async fn organizations(&self) -> anyhow::Result<Vec<Organization>> {
        let client = self
            .sources
            .contract(Service::Directory)
            .context("the directory source is not configured")?;
        Ok(client.list("organizations", &[]).await?.value)
    }

    /// Reads, computes and stores `selection` of organisation `org_id` at `as_of`. A whole
    /// organisation with more than `chunk_users` users is computed in chunks, one after the
    /// other in this call (`run_in_chunks`, `chunks.rs`).
    pub async fn run_org(
        &self,
        org_id: &str,
        selection: Selection,
        as_of: DateTime<Utc>,
        reader: super::Reader,
        ctx: Option<&JobContext>,
    ) -> Result<OrgRun, JobError> {
        let data = super::load_org_records(&self.sources, org_id)
            .await
            .map_err(failed)?;
        if self.splits(&data, &selection) {
            return self
                .run_in_chunks(data, selection, as_of, reader, ctx)
                .await;
        }
        self.run_whole(data, selection, as_of, reader, ctx).await
    }

    /// Reads the statements of every user of `data` (the organisation's records), then
    /// computes and stores `selection` in one piece.
    pub(super) async fn run_whole(
        &self,
        mut data: OrgData,
        selection: Selection,
        as_of: DateTime<Utc>,
        reader: super::Reader,
        ctx: Option<&JobContext>,
    ) -> Result<OrgRun, JobError> {
        data.read_statements(&self.sources, None, as_of, reader)
            .await
            .map_err(failed)?;
        if let Some(ctx) = ctx {
            ctx.checkpoint()?;
            ctx.progress(40).await?;
        }
        let data = Arc::new(data);
        let model = self.model_for(&data, &selection, as_of, reader).await?;
        let (results, _) = self
            .compute_and_write(data.clone(), selection, as_of, model, Step::Whole, ctx)
            .await?;
        if let Some(ctx) = ctx {
            ctx.progress(90).await?;
        }
        Ok(OrgRun {
            learners: data.learners(),
            statements: data.statements,
            results,
        })
    }

    /// Only reads organisation `org_id` as [`Self::run_org`] does for the batch, computing and
    /// writing nothing: the batch benchmark's floor (`learnlens batch --fetch-only`).
    pub async fn fetch_org(
        &self,
        org_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<OrgRun, super::PipelineError> {
        let data = super::load_org(&self.sources, org_id, as_of, super::Reader::Batch).await?;
        Ok(OrgRun {
            learners: data.learners(),
            statements: data.statements,
            results: 0,
        })
    }

    /// Computes `step` of `selection` over `data` and writes the results through every cache
    /// layer `write_chunk` at a time while the computation goes on, so an organisation's
    /// results are never all in memory. Returns how many were written and, for a chunk, its
    /// users' digests.
    pub(super) async fn compute_and_write(
        &self,
        data: Arc<OrgData>,
        selection: Selection,
        as_of: DateTime<Utc>,
        model: Option<DropOffModel>,
        step: Step,
        ctx: Option<&JobContext>,
    ) -> Result<(u64, Vec<(String, Digest)>), JobError> {
        let size = self.write_chunk.max(1);
        // One chunk waits while the previous one is written.
        let (chunks, mut written) = tokio::sync::mpsc::channel::<Vec<AnalyticsRow>>(1);
        let computing = self.spawn_compute(data, selection, as_of, model, move |c| {
            let mut chunk = Vec::with_capacity(size);
            let mut emit = |row| {
                chunk.push(row);
                if chunk.len() < size {
                    return ControlFlow::Continue(());
                }
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(size));
                match chunks.blocking_send(full) {
                    Ok(()) => ControlFlow::Continue(()),
                    // The writer stopped (a failed write, a cancel): so do we.
                    Err(_) => ControlFlow::Break(()),
                }
            };
            let digests = match step {
                Step::Whole => c.each(&mut emit).map(|()| Vec::new())?,
                Step::Chunk(users) => c.each_of_chunk(&users, &mut emit)?,
                Step::Final(digests) => c.each_final(digests, &mut emit).map(|()| Vec::new())?,
            };
            if !chunk.is_empty() {
                let _ = chunks.blocking_send(chunk);
            }
            Ok(digests)
        });
        let mut results = 0;
        while let Some(chunk) = written.recv().await {
            self.cache.put(&chunk).await?;
            results += chunk.len() as u64;
            if let Some(ctx) = ctx {
                ctx.checkpoint()?;
            }
        }
        let digests = computing.await.map_err(JobError::Failed)?;
        Ok((results, digests))
    }

    /// Computes `selection` over `data` and returns every result (a cold read: one subject).
    pub(super) async fn compute_rows(
        &self,
        data: Arc<OrgData>,
        selection: Selection,
        as_of: DateTime<Utc>,
        reader: super::Reader,
    ) -> anyhow::Result<Vec<AnalyticsRow>> {
        let model = self.model_for(&data, &selection, as_of, reader).await?;
        self.spawn_compute(data, selection, as_of, model, |c| c.rows())
            .await
    }

    /// Starts `work` over the [`super::Computation`] of `selection` over `data` with `model`
    /// on the blocking pool, and returns its outcome to await.
    fn spawn_compute<T, W>(
        &self,
        data: Arc<OrgData>,
        selection: Selection,
        as_of: DateTime<Utc>,
        model: Option<DropOffModel>,
        work: W,
    ) -> impl Future<Output = anyhow::Result<T>> + use<T, W>
    where
        T: Send + 'static,
        W: FnOnce(&super::Computation<'_>) -> Result<T, super::PipelineError> + Send + 'static,
    {
        let cfg = self.analytics.clone();
        let now = self.clock.now();
        let fallback_ttl_secs = self.fallback_ttl_secs;
        let task = tokio::task::spawn_blocking(move || {
            work(&super::Computation {
                dataset: &data.dataset,
                quality: &data.quality,
                selection: &selection,
                as_of,
                now,
                cfg: &cfg,
                models: Models {
                    drop_off: model.as_ref(),
                },
                fallback_ttl_secs,
            })
        });
        async move {
            task.await
                .map_err(|e| anyhow!("computing analytics: {e}"))?
                .map_err(Into::into)
        }
    }

    /// The drop-off model when `selection` includes dropOffRisk ([`Self::drop_off_model`]).
    async fn model_for(
        &self,
        data: &Arc<OrgData>,
        selection: &Selection,
        as_of: DateTime<Utc>,
        reader: super::Reader,
    ) -> anyhow::Result<Option<DropOffModel>> {
        if selection.includes(AnalyticsKind::DropOffRisk) {
            self.drop_off_model(data, as_of, reader).await
        } else {
            Ok(None)
        }
    }

    /// The drop-off model for `data`: for an interactive reader the organisation's latest
    /// stored one, else (or when none fits) one trained on `data` and stored as the next
    /// version. Its `version` is the store's id, which every score names (`modelVersion`).
    async fn drop_off_model(
        &self,
        data: &Arc<OrgData>,
        as_of: DateTime<Utc>,
        reader: super::Reader,
    ) -> anyhow::Result<Option<DropOffModel>> {
        if reader == super::Reader::Interactive
            && let Some(stored) = self
                .store
                .latest_model(super::DROP_OFF_MODEL, &data.org_id)
                .await?
        {
            match serde_json::from_value::<DropOffModel>(stored.params) {
                Ok(mut model) if model.is_usable() => {
                    model.version = stored.id;
                    return Ok(Some(model));
                }
                _ => tracing::warn!(model = %stored.id,
                    "the stored drop-off model does not fit this build; training a new one"),
            }
        }
        let cfg = self.analytics.clone();
        let training = data.clone();
        let trained = tokio::task::spawn_blocking(move || {
            super::train_drop_off(&training.dataset, as_of, &cfg)
        })
        .await
        .map_err(|e| anyhow!("training the drop-off model: {e}"))?;
        let Some(model) = trained else {
            return Ok(None);
        };
        Ok(Some(self.save_drop_off(&data.org_id, model).await?))
    }

    /// Stores `model` as organisation `org_id`'s next drop-off model version and returns it
    /// with that version (the store's id), which every score names (`modelVersion`).
    pub(super) async fn save_drop_off(
        &self,
        org_id: &str,
        mut model: DropOffModel,
    ) -> anyhow::Result<DropOffModel> {
        let metrics = serde_json::json!({
            "n": model.n,
            "nPositive": model.n_positive,
            "baseRate": model.base_rate,
            "inSampleAuc": model.in_sample_auc,
            "inSampleBrier": model.in_sample_brier,
            "converged": model.converged,
        });
        let stored = self
            .store
            .save_model(
                super::DROP_OFF_MODEL,
                org_id,
                &serde_json::to_value(&model)?,
                &metrics,
                self.clock.now(),
            )
            .await?;
        tracing::info!(model = %stored.id, n = model.n, "drop-off model trained and stored");
        model.version = stored.id;
        Ok(model)
    }

    /// The global skillDemand, computed now from the sources.
    pub(super) async fn run_global_rows(
        &self,
        as_of: DateTime<Utc>,
    ) -> Result<AnalyticsRow, super::PipelineError> {
        let (dataset, quality) = super::load_global(&self.sources).await?;
        let cfg = self.analytics.clone();
        let now = self.clock.now();
        let ttl = self.fallback_ttl_secs;
        tokio::task::spawn_blocking(move || {
            super::compute_global(&dataset, &quality, as_of, now, &cfg, ttl)
        })
        .await
        .map_err(|e| super::PipelineError::Task(e.to_string()))?
    }

    /// Computes and stores the global skillDemand.
    pub async fn run_global(&self, as_of: DateTime<Utc>) -> anyhow::Result<()> {
        let row = self.run_global_rows(as_of).await?;
        self.cache.put(&[row]).await?;
        Ok(())
    }

    /// The organisation of a refresh subject: the org itself for an org-admin, else the
    /// user's organisation in the directory.
    async fn org_of(&self, subject: &str, role: &str) -> anyhow::Result<String> {
        if role == "org-admin" {
            return Ok(subject.to_owned());
        }
        let client = self
            .sources
            .contract(Service::Directory)
            .context("the directory source is not configured")?;
        let user = client
            .get::<User>("users", subject)
            .await?
            .value
            .with_context(|| format!("user {subject} is not in the directory"))?;
        Ok(user.org_id)
    }
}

/// Which part of an organisation's computation one call computes.
pub(super) enum Step {
    /// All of it (`Computation::each`).
    Whole,
    /// The learner analytics of these users, whose statements alone are read
    /// (`Computation::each_of_chunk`).
    Chunk(BTreeSet<String>),
    /// The rest, from every user's digest (`Computation::each_final`).
    Final(Vec<(String, Digest)>),
}

/// A pipeline error as a job's failed attempt.
pub(super) fn failed(e: impl Into<anyhow::Error>) -> JobError {
    JobError::Failed(e.into())
}

/// The handlers of every pipeline job kind, for a [`crate::jobs::Runtime`].
pub fn handlers(p: &Pipeline) -> Vec<Arc<dyn JobHandler>> {
    vec![
        Arc::new(NightlyBatch(p.clone())),
        Arc::new(OrgBatch(p.clone())),
        Arc::new(super::chunks::ChunkBatch(p.clone())),
        Arc::new(super::chunks::FinalBatch(p.clone())),
        Arc::new(Refresh(p.clone())),
    ]
}

/// Payload of a `nightly-batch` job: the scheduler's (`fireTime`, which the batch does not
/// read) or an operator's (`learnlens jobs batch`, with an optional `asOf`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchPayload {
    /// The batch's `asOf`; when it starts if absent.
    #[serde(default)]
    as_of: Option<DateTime<Utc>>,
}

/// Payload of a `batch-org` job.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OrgPayload {
    org_id: String,
    as_of: DateTime<Utc>,
}

/// Payload of a `refresh` job.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshPayload {
    pub subject_id: String,
    /// `learner`, `trainer` or `org-admin`.
    pub role: String,
    /// analytics.md names; all of the role's analytics when empty.
    pub analytics: Vec<String>,
}

pub(super) fn payload<T: for<'de> Deserialize<'de>>(ctx: &JobContext) -> Result<T, JobError> {
    serde_json::from_value(ctx.job.payload.clone())
        .map_err(|e| JobError::Failed(anyhow!("bad payload of job {}: {e}", ctx.job.id)))
}

/// `nightly-batch`: fans out, computes the global skillDemand, waits for the children.
pub struct NightlyBatch(pub Pipeline);

#[async_trait::async_trait]
impl JobHandler for NightlyBatch {
    fn kind(&self) -> &'static str {
        BATCH_KIND
    }

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let p = &self.0;
        let job: BatchPayload = payload(ctx)?;
        let as_of = job.as_of.unwrap_or_else(|| p.clock.now());
        let orgs = p.organizations().await?;
        for org in &orgs {
            let child = NewJob {
                kind: ORG_KIND.to_owned(),
                payload: serde_json::to_value(OrgPayload {
                    org_id: org.id.clone(),
                    as_of,
                })
                .map_err(|e| JobError::Failed(e.into()))?,
                owner_id: None,
                parent_id: Some(ctx.job.id.clone()),
                singleton_key: Some(format!("{ORG_KIND}:{}:{}", ctx.job.id, org.id)),
                max_attempts: MAX_ATTEMPTS,
                run_at: p.clock.now(),
            };
            // Other processes hear of it through the queue's wake-up; ours at the next poll.
            p.store.enqueue_job(&child, p.clock.now()).await?;
        }
        p.run_global(as_of).await?;
        loop {
            if let Err(e) = ctx.checkpoint() {
                if matches!(e, JobError::Cancelled) {
                    for child in p.store.child_jobs(&ctx.job.id).await? {
                        p.store.cancel_job(&child.id, p.clock.now()).await?;
                    }
                }
                return Err(e);
            }
            let children = p.store.child_jobs(&ctx.job.id).await?;
            let total = children.len().max(1);
            let finished: Vec<_> = children.iter().filter(|c| c.status.is_finished()).collect();
            let percent = i32::try_from(finished.len() * 100 / total).unwrap_or(100);
            ctx.progress(percent.min(99)).await?;
            if finished.len() == children.len() {
                let failed: Vec<&str> = finished
                    .iter()
                    .filter(|c| c.status != JobStatus::Completed)
                    .map(|c| c.id.as_str())
                    .collect();
                if failed.is_empty() {
                    return Ok(());
                }
                return Err(JobError::Failed(anyhow!(
                    "{} of {} organisation and chunk jobs did not complete (jobs {})",
                    failed.len(),
                    children.len(),
                    failed.join(", ")
                )));
            }
            tokio::time::sleep(CHILD_POLL).await;
        }
    }
}

/// `batch-org`: one organisation, every analytic of every subject.
pub struct OrgBatch(pub Pipeline);

#[async_trait::async_trait]
impl JobHandler for OrgBatch {
    fn kind(&self) -> &'static str {
        ORG_KIND
    }

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let job: OrgPayload = payload(ctx)?;
        let p = &self.0;
        let data = super::load_org_records(&p.sources, &job.org_id)
            .await
            .map_err(failed)?;
        let selection = Selection::default();
        if p.splits(&data, &selection) {
            return p.split_into_jobs(data, job.as_of, ctx).await;
        }
        let run = p
            .run_whole(data, selection, job.as_of, super::Reader::Batch, Some(ctx))
            .await?;
        tracing::info!(job.id = %ctx.job.id, org = %job.org_id, learners = run.learners,
            statements = run.statements, results = run.results, "organisation computed");
        Ok(())
    }
}

/// `refresh`: one subject's analytics in one role, now.
pub struct Refresh(pub Pipeline);

#[async_trait::async_trait]
impl JobHandler for Refresh {
    fn kind(&self) -> &'static str {
        REFRESH_KIND
    }

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let job: RefreshPayload = payload(ctx)?;
        let mut kinds = job
            .analytics
            .iter()
            .map(|n| {
                AnalyticsKind::from_name(n)
                    .ok_or_else(|| JobError::Failed(anyhow!("unknown analytic {n}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if kinds.is_empty() {
            kinds = AnalyticsKind::ALL
                .into_iter()
                .filter(|k| super::stored_role(*k, &job.subject_id) == job.role)
                .collect();
        }
        if job.subject_id == learnlens_analytics::kind::GLOBAL_SUBJECT {
            self.0.run_global(self.0.clock.now()).await?;
            return Ok(());
        }
        let org = self.0.org_of(&job.subject_id, &job.role).await?;
        ctx.checkpoint()?;
        ctx.progress(10).await?;
        let selection = Selection {
            kinds,
            subject: Some(job.subject_id.clone()),
        };
        self.0
            .run_org(
                &org,
                selection,
                self.0.clock.now(),
                super::Reader::Interactive,
                Some(ctx),
            )
            .await?;
        Ok(())
    }
}
