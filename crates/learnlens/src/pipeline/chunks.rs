//! Large organisations, computed in chunks of `jobs.batch_chunk_users` users so that one
//! chunk's statements are in memory at a time (docs/decisions.md, "A large organisation is
//! computed in chunks").
//!
//! Each chunk's statements are read, the analytics of its learners that read only their own
//! events are computed and written, and its users' digests kept (`Pipeline::compute_chunk`);
//! then the drop-off model is trained from every digest and the cohort analytics computed from
//! them (`Pipeline::compute_final`): the results of the organisation in one piece. Two ways
//! run these steps:
//! - in one call (`Pipeline::run_in_chunks`, `learnlens batch`): the records are read once
//!   and the chunks computed one after the other;
//! - as jobs on every worker of every process (the nightly batch): the `batch-org` job keeps
//!   the organisation's records in the store as a chunked run and enqueues one `batch-chunk`
//!   job per chunk (`Pipeline::split_into_jobs`). A chunk job reads the run's records and its
//!   users' statements, writes its learners' results and keeps their digests in the store; the
//!   chunk job that finds every chunk kept enqueues the `batch-final` job, which reads every
//!   digest, trains and stores the model, writes the rest and deletes the run.
//!
//! Invariants:
//! - Chunk `i` holds users `i * chunk_users ..` of the records sorted by id. Every job of a run
//!   reads the records kept at the split, never the sources', so the chunks partition the same
//!   users and the final step sees the records the digests were computed over (dropOffRisk
//!   matches a learner's features to their enrollments by position).
//! - Chunk and final jobs have the `batch-org` job's parent (the nightly batch), which waits
//!   for its children. Each is enqueued before the job enqueuing it finishes, so the parent
//!   never sees every child finished while work remains. A chunk enqueues the final job rather
//!   than a parent waiting for the chunks, which would hold a worker.
//! - Every step may run again: a retried chunk replaces its digests, a retried split keeps its
//!   first records and enqueues only the chunks not done, and singleton keys keep one active
//!   job per chunk and one final job per run.

use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use learnlens_analytics::digest::Digest;
use learnlens_analytics::input::User;
use learnlens_analytics::kind::AnalyticsKind;
use serde::{Deserialize, Serialize};

use super::batch::{MAX_ATTEMPTS, OrgRun, Pipeline, Step, failed, payload};
use super::{DataQuality, OrgData, Reader, Selection};
use crate::jobs::{JobContext, JobError, JobHandler};
use crate::store::{ChunkedRun, NewJob};

/// Job kinds of an organisation computed by chunk jobs.
pub const CHUNK_KIND: &str = "batch-chunk";
pub const FINAL_KIND: &str = "batch-final";

/// Payload of a `batch-chunk` job.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChunkPayload {
    run_id: String,
    chunk: i32,
}

/// Payload of a `batch-final` job.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FinalPayload {
    run_id: String,
}

/// A run's records as kept: the batch's `asOf` and the organisation's records without
/// statements.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunRecords {
    as_of: DateTime<Utc>,
    data: OrgData,
}

/// What a chunk job keeps for the final job.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChunkOutcome {
    /// Statements the chunk read.
    statements: u64,
    /// The records' provenance and that of the chunk's statements.
    quality: DataQuality,
    digests: Vec<(String, Digest)>,
}

/// `users` sorted by id, the order chunks are cut from.
fn by_id(users: &[User]) -> Vec<User> {
    let mut users = users.to_vec();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    users
}

impl Pipeline {
    /// Whether `selection` over an organisation with records `data` is computed in chunks:
    /// a whole organisation with more than `chunk_users` users.
    pub(super) fn splits(&self, data: &OrgData, selection: &Selection) -> bool {
        selection.subject.is_none()
            && self.chunk_users > 0
            && data.dataset.users.len() > self.chunk_users
    }

    /// An organisation computed in chunks in this call: each chunk in turn, then the final
    /// step.
    pub(super) async fn run_in_chunks(
        &self,
        data: OrgData,
        selection: Selection,
        as_of: DateTime<Utc>,
        reader: Reader,
        ctx: Option<&JobContext>,
    ) -> Result<OrgRun, JobError> {
        let learners = data.learners();
        let users = by_id(&data.dataset.users);
        let chunks: Vec<&[User]> = users.chunks(self.chunk_users.max(1)).collect();
        let mut data = Arc::new(data);
        let (mut results, mut digests) = (0, Vec::new());
        for (i, chunk) in chunks.iter().enumerate() {
            let (written, chunk_digests) = self
                .compute_chunk(&mut data, chunk, &selection, as_of, reader, ctx)
                .await?;
            results += written;
            digests.extend(chunk_digests);
            if let Some(ctx) = ctx {
                let done = 10 + (i + 1) * 70 / chunks.len();
                ctx.progress(i32::try_from(done).unwrap_or(80)).await?;
            }
        }
        let statements = data.statements;
        results += self
            .compute_final(data, digests, selection, as_of, ctx)
            .await?;
        if let Some(ctx) = ctx {
            ctx.progress(90).await?;
        }
        Ok(OrgRun {
            learners,
            statements,
            results,
        })
    }

    /// Reads the statements of `users` into `data` (not shared) in place of any before, then
    /// computes and writes `selection`'s analytics of these learners that read only their own
    /// events. Returns how many results were written and the users' digests.
    async fn compute_chunk(
        &self,
        data: &mut Arc<OrgData>,
        users: &[User],
        selection: &Selection,
        as_of: DateTime<Utc>,
        reader: Reader,
        ctx: Option<&JobContext>,
    ) -> Result<(u64, Vec<(String, Digest)>), JobError> {
        if let Some(ctx) = ctx {
            ctx.checkpoint()?;
        }
        let owned = Arc::get_mut(data)
            .ok_or_else(|| failed(anyhow!("the organisation's data is still shared")))?;
        owned
            .read_statements(&self.sources, Some(users), as_of, reader)
            .await
            .map_err(failed)?;
        let ids = users.iter().map(|u| u.id.clone()).collect();
        self.compute_and_write(
            data.clone(),
            selection.clone(),
            as_of,
            None,
            Step::Chunk(ids),
            ctx,
        )
        .await
    }

    /// The final step over the records in `data` and every user's digest: trains the drop-off
    /// model from the digests' examples and stores it (when `selection` has dropOffRisk), then
    /// computes and writes the rest. Returns how many results were written.
    async fn compute_final(
        &self,
        mut data: Arc<OrgData>,
        mut digests: Vec<(String, Digest)>,
        selection: Selection,
        as_of: DateTime<Utc>,
        ctx: Option<&JobContext>,
    ) -> Result<u64, JobError> {
        // The final step reads no statement.
        if let Some(owned) = Arc::get_mut(&mut data) {
            owned.dataset.events = Vec::new();
        }
        let model = if selection.includes(AnalyticsKind::DropOffRisk) {
            // The examples are the bulk of the digests and only training reads them.
            let examples = learnlens_analytics::digest::take_examples(&mut digests);
            let (dataset, cfg) = (data.clone(), self.analytics.clone());
            let trained = tokio::task::spawn_blocking(move || {
                super::train_drop_off_from_digests(&dataset.dataset, examples, as_of, &cfg)
            })
            .await
            .map_err(|e| failed(anyhow!("training the drop-off model: {e}")))?;
            match trained {
                Some(model) => Some(self.save_drop_off(&data.org_id, model).await?),
                None => None,
            }
        } else {
            None
        };
        let (written, _) = self
            .compute_and_write(data, selection, as_of, model, Step::Final(digests), ctx)
            .await?;
        Ok(written)
    }

    /// The `batch-org` job of an organisation with more than `chunk_users` users: keeps its
    /// records as a chunked run (the job's id) and enqueues a `batch-chunk` job for each chunk
    /// not done yet, or the `batch-final` job when every chunk is done (a split retried after
    /// its chunks ran).
    pub(super) async fn split_into_jobs(
        &self,
        data: OrgData,
        as_of: DateTime<Utc>,
        ctx: &JobContext,
    ) -> Result<(), JobError> {
        let run_id = ctx.job.id.clone();
        let org_id = data.org_id.clone();
        let size = self.chunk_users.max(1);
        let (users, learners) = (data.dataset.users.len(), data.learners());
        let count = |n: usize| i32::try_from(n).map_err(|_| failed(anyhow!("{n} is too many")));
        let run = ChunkedRun {
            id: run_id.clone(),
            org_id: org_id.clone(),
            chunks: count(users.div_ceil(size))?,
            chunk_users: count(size)?,
            records: serde_json::to_vec(&RunRecords { as_of, data }).map_err(failed)?,
        };
        let records = run.records.len();
        let (chunks, _) = self
            .store
            .create_chunked_run(&run, self.clock.now())
            .await?;
        drop(run);
        let done = self.store.done_chunks(&run_id).await?;
        for chunk in (0..chunks).filter(|c| !done.contains(c)) {
            let key = format!("{CHUNK_KIND}:{run_id}:{chunk}");
            let payload = ChunkPayload {
                run_id: run_id.clone(),
                chunk,
            };
            self.enqueue_follow_up(ctx, CHUNK_KIND, &payload, key)
                .await?;
        }
        if done.len() == usize::try_from(chunks).unwrap_or(usize::MAX) {
            self.enqueue_final(ctx, &run_id).await?;
        }
        tracing::info!(job.id = %ctx.job.id, org = %org_id, users, learners, chunks,
            chunks_done = done.len(), records_bytes = records,
            "organisation split into chunk jobs");
        Ok(())
    }

    /// Enqueues run `run_id`'s final job (one while active: its singleton key).
    async fn enqueue_final(&self, ctx: &JobContext, run_id: &str) -> Result<(), JobError> {
        let payload = FinalPayload {
            run_id: run_id.to_owned(),
        };
        self.enqueue_follow_up(ctx, FINAL_KIND, &payload, format!("{FINAL_KIND}:{run_id}"))
            .await
    }

    /// Enqueues a job of `kind` as a sibling of the job of `ctx` (same parent), with
    /// singleton key `key`.
    async fn enqueue_follow_up(
        &self,
        ctx: &JobContext,
        kind: &str,
        payload: &impl Serialize,
        key: String,
    ) -> Result<(), JobError> {
        ctx.checkpoint()?;
        let now = self.clock.now();
        let job = NewJob {
            kind: kind.to_owned(),
            payload: serde_json::to_value(payload).map_err(failed)?,
            owner_id: None,
            parent_id: ctx.job.parent_id.clone(),
            singleton_key: Some(key),
            max_attempts: MAX_ATTEMPTS,
            run_at: now,
        };
        self.store.enqueue_job(&job, now).await?;
        Ok(())
    }
}

/// The run's records, or `None` (logged) when the run is no longer kept: its final job has
/// finished (this job ran again after its effect was used) or retention deleted it.
async fn kept_run(
    p: &Pipeline,
    ctx: &JobContext,
    run_id: &str,
) -> Result<Option<(ChunkedRun, RunRecords)>, JobError> {
    let Some(mut run) = p.store.chunked_run(run_id).await? else {
        tracing::warn!(job.id = %ctx.job.id, run = %run_id,
            "the chunked run is no longer kept (its final job finished); nothing to do");
        return Ok(None);
    };
    let records = std::mem::take(&mut run.records);
    let records: RunRecords = serde_json::from_slice(&records).map_err(|e| {
        failed(anyhow!(
            "the records of chunked run {run_id} do not parse: {e}"
        ))
    })?;
    Ok(Some((run, records)))
}

/// `batch-chunk`: one chunk of a chunked run.
pub struct ChunkBatch(pub Pipeline);

#[async_trait::async_trait]
impl JobHandler for ChunkBatch {
    fn kind(&self) -> &'static str {
        CHUNK_KIND
    }

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let job: ChunkPayload = payload(ctx)?;
        let p = &self.0;
        let Some((run, RunRecords { as_of, data })) = kept_run(p, ctx, &job.run_id).await? else {
            return Ok(());
        };
        let size = usize::try_from(run.chunk_users).unwrap_or(1).max(1);
        let users = by_id(&data.dataset.users);
        let users = usize::try_from(job.chunk)
            .ok()
            .and_then(|i| users.chunks(size).nth(i))
            .ok_or_else(|| failed(anyhow!("run {} has no chunk {}", run.id, job.chunk)))?
            .to_vec();
        ctx.progress(10).await?;
        let mut data = Arc::new(data);
        let selection = Selection::default();
        let (results, digests) = p
            .compute_chunk(
                &mut data,
                &users,
                &selection,
                as_of,
                Reader::Batch,
                Some(ctx),
            )
            .await?;
        let outcome = ChunkOutcome {
            statements: data.statements,
            quality: data.quality.clone(),
            digests,
        };
        drop(data);
        let body = serde_json::to_vec(&outcome).map_err(failed)?;
        ctx.checkpoint()?;
        let kept = p
            .store
            .put_chunk_digests(&run.id, job.chunk, &body, p.clock.now())
            .await?;
        if kept == i64::from(run.chunks) {
            p.enqueue_final(ctx, &run.id).await?;
        }
        tracing::info!(job.id = %ctx.job.id, org = %run.org_id, chunk = job.chunk,
            chunks = run.chunks, users = users.len(), statements = outcome.statements, results,
            digest_bytes = body.len(), "chunk computed");
        Ok(())
    }
}

/// `batch-final`: the final step of a chunked run, from every chunk's digests.
pub struct FinalBatch(pub Pipeline);

#[async_trait::async_trait]
impl JobHandler for FinalBatch {
    fn kind(&self) -> &'static str {
        FINAL_KIND
    }

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let job: FinalPayload = payload(ctx)?;
        let p = &self.0;
        let Some((run, RunRecords { as_of, mut data })) = kept_run(p, ctx, &job.run_id).await?
        else {
            return Ok(());
        };
        let done = p.store.done_chunks(&run.id).await?;
        let missing: Vec<i32> = (0..run.chunks).filter(|c| !done.contains(c)).collect();
        if !missing.is_empty() {
            return Err(failed(anyhow!(
                "chunks {missing:?} of run {} have no digests",
                run.id
            )));
        }
        let mut digests = Vec::new();
        for chunk in 0..run.chunks {
            let body = p
                .store
                .chunk_digests(&run.id, chunk)
                .await?
                .ok_or_else(|| failed(anyhow!("chunk {chunk} of run {} has no digests", run.id)))?;
            let outcome: ChunkOutcome = serde_json::from_slice(&body).map_err(|e| {
                failed(anyhow!(
                    "chunk {chunk} of run {} does not parse: {e}",
                    run.id
                ))
            })?;
            data.quality.merge(&outcome.quality);
            data.statements = data.statements.saturating_add(outcome.statements);
            digests.extend(outcome.digests);
        }
        ctx.checkpoint()?;
        ctx.progress(20).await?;
        let (learners, statements) = (data.learners(), data.statements);
        let results = p
            .compute_final(
                Arc::new(data),
                digests,
                Selection::default(),
                as_of,
                Some(ctx),
            )
            .await?;
        ctx.checkpoint()?;
        p.store.delete_chunked_run(&run.id).await?;
        tracing::info!(job.id = %ctx.job.id, org = %run.org_id, chunks = run.chunks, learners,
            statements, results, "chunked organisation computed");
        Ok(())
    }
}
