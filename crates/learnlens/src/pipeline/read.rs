//! The read path of the API (seed Pattern 1): cache layers first, then a cold compute from the
//! sources. A cold compute computes every analytic of the subject in its role at once (a
//! dashboard needs them all), writes them through every layer, and is single-flight: any
//! number of concurrent misses on one subject and role compute once.
//!
//! A result past its expiry is served with `stale` and a deduplicated refresh job is queued
//! (singleton `refresh:{role}:{subject}`; asked once per stale version, see
//! [`RecentlyQueued`]), so stale data is served rather than nothing.
//! Authorization is the caller's business and happens before this is called.

use std::sync::Arc;

use anyhow::Context as _;
use learnlens_analytics::input::User;
use learnlens_analytics::kind::{AnalyticsKind, GLOBAL_SUBJECT};

use super::batch::{MAX_ATTEMPTS, Pipeline, REFRESH_KIND, RefreshPayload};
use super::{OrgData, PipelineError, Selection, stored_role};
use crate::cache::{self, Cache, Cached, Layer};
use crate::jobs::Runtime;
use crate::sources::Service;
use crate::sources::contract::SourceError;
use crate::store::{AnalyticsRow, NewJob, StoreError};

/// One result as served, and how.
#[derive(Debug, Clone)]
pub struct Served {
    pub row: Arc<Cached>,
    /// Which cache layer answered; `None` when computed for this request.
    pub layer: Option<Layer>,
    /// Past its expiry (a refresh has been queued).
    pub stale: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The subject is not in the directory.
    #[error("no such subject")]
    UnknownSubject,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A source failed and no fallback could answer.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A source (with no fallback) or the store was unavailable to a cold compute that this
    /// read shared with others (single flight hands every caller the error's text).
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl ReadError {
    /// A single-flight error (shared by every caller) as this caller's own: its kind kept
    /// where the API answers it differently (404, 503), its text otherwise.
    fn unshared(shared: Arc<ReadError>) -> ReadError {
        match &*shared {
            ReadError::UnknownSubject => ReadError::UnknownSubject,
            unavailable if unavailable.is_unavailable() => {
                ReadError::Unavailable(unavailable.to_string())
            }
            other => ReadError::Other(anyhow::anyhow!("{other}")),
        }
    }

    /// Whether the error is a dependency being unavailable (a 503, not a 500).
    fn is_unavailable(&self) -> bool {
        matches!(
            self,
            ReadError::Unavailable(_)
                | ReadError::Store(StoreError::Unavailable(_))
                | ReadError::Pipeline(PipelineError::Source(SourceError::Unavailable { .. }))
        )
    }
}

/// Subjects being computed, for single flight. Entries live only a moment: the results are in
/// the cache layers by then.
pub type InFlight = moka::future::Cache<String, Arc<Vec<AnalyticsRow>>>;

pub fn in_flight() -> InFlight {
    moka::future::Cache::builder()
        .max_capacity(10_000)
        .time_to_live(std::time::Duration::from_secs(2))
        .build()
}

/// Organisations being read for cold computes, for sharing: concurrent cold computes of
/// different subjects of one organisation (a trainer's and learners' dashboards after the
/// cache was lost, say) share one read of it (every source call, every learner's statements)
/// instead of each reading all of it. A live read is reused for [`ORG_READ_REUSE`], so a cold
/// compute's data is at most that much older than the request; a read with fallback data is
/// shared only while in progress, so live data is used as soon as a source is back. A handful
/// are kept (an organisation's data set can be large).
pub type OrgReads = moka::future::Cache<String, Arc<OrgData>>;

/// See [`OrgReads`].
pub const ORG_READ_REUSE: std::time::Duration = std::time::Duration::from_secs(2);

pub fn org_reads() -> OrgReads {
    moka::future::Cache::builder()
        .max_capacity(8)
        .time_to_live(ORG_READ_REUSE)
        .build()
}

/// Stale results whose refresh this process has queued, by role, subject and the stale
/// result's `calculated_at`: a stale result is read many times until its refresh lands, and
/// only the first read asks the queue (a database write; the queue's singleton key
/// deduplicates across replicas). A refreshed result has a new `calculated_at`, so its own
/// staleness queues again; an entry lives `REQUEUE_AFTER`, after which a refresh that never
/// landed (failed, cancelled) is queued again.
pub type RecentlyQueued = moka::sync::Cache<String, ()>;

/// See [`RecentlyQueued`].
const REQUEUE_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

pub fn recently_queued() -> RecentlyQueued {
    moka::sync::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(REQUEUE_AFTER)
        .build()
}

impl Pipeline {
    /// The result of `kind` for `subject` (in the role its subject has).
    pub async fn read(
        &self,
        jobs: &Runtime,
        kind: AnalyticsKind,
        subject: &str,
    ) -> Result<Served, ReadError> {
        let hot = self.look_up(kind, subject).await;
        self.read_after(jobs, kind, subject, hot).await
    }

    /// What the hot cache layers (L1, then L2) hold for the read of `kind` for `subject`.
    /// Never an error (an L2 failure is a miss), and no effect but filling L1 from L2. The API
    /// runs it beside the rate limiter's check, once the policy has allowed the read, so that
    /// with Redis the L2 `GET` and the limiter's script go out together.
    pub async fn look_up(&self, kind: AnalyticsKind, subject: &str) -> Option<cache::Hit> {
        let key = cache::key(kind.name(), stored_role(kind, subject), subject);
        self.cache.get_hot(&key).await
    }

    /// The read of `kind` for `subject` once the hot layers have been looked up (`hot`,
    /// from [`Pipeline::look_up`]): their hit, else L3, else a cold compute.
    pub async fn read_after(
        &self,
        jobs: &Runtime,
        kind: AnalyticsKind,
        subject: &str,
        hot: Option<cache::Hit>,
    ) -> Result<Served, ReadError> {
        let role = stored_role(kind, subject);
        let found = match hot {
            Some(hit) => Some(hit),
            None => {
                let parts = (kind.name(), role, subject);
                let key = cache::key(kind.name(), role, subject);
                // Boxed: the store's query future is large, and the hit path should not
                // carry (and move) it.
                Box::pin(self.cache.get_stored(&key, parts)).await?
            }
        };
        if let Some((row, layer)) = found {
            let stale = Cache::is_stale(&row, self.clock.now());
            if stale {
                // Boxed, like the cold compute below: rare paths with large futures stay out
                // of the hit path's future, which every request moves around.
                Box::pin(self.queue_refresh(jobs, role, subject, &row)).await;
            }
            return Ok(Served {
                row,
                layer: Some(layer),
                stale,
            });
        }
        Box::pin(self.read_cold(kind, role, subject)).await
    }

    /// A miss in every layer: computes every analytic of the subject in its role (single
    /// flight), writes them through every layer and returns the one asked for.
    async fn read_cold(
        &self,
        kind: AnalyticsKind,
        role: &str,
        subject: &str,
    ) -> Result<Served, ReadError> {
        let flight = format!("{role}:{subject}");
        let rows = self
            .in_flight
            .try_get_with(flight, async {
                let rows = self.compute_subject(role, subject).await?;
                self.cache.put(&rows).await?;
                Ok::<_, ReadError>(Arc::new(rows))
            })
            .await
            .map_err(ReadError::unshared)?;
        let row = rows
            .iter()
            .find(|r| r.analytics_type == kind.name())
            .context("the cold compute did not produce the analytic asked for")?;
        Ok(Served {
            row: Arc::new(Cached::from_row(row)),
            layer: None,
            stale: false,
        })
    }

    /// Every analytic of `subject` in `role`, from the sources, now.
    async fn compute_subject(
        &self,
        role: &str,
        subject: &str,
    ) -> Result<Vec<AnalyticsRow>, ReadError> {
        self.cold_computes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("learnlens_cold_computes_total").increment(1);
        let now = self.clock.now();
        if subject == GLOBAL_SUBJECT {
            Ok(vec![self.run_global_rows(now).await?])
        } else {
            let org = match role {
                "org-admin" => subject.to_owned(),
                _ => self.org_of_user(subject).await?,
            };
            let kinds: Vec<AnalyticsKind> = AnalyticsKind::ALL
                .into_iter()
                .filter(|k| stored_role(*k, subject) == role)
                .collect();
            let selection = Selection {
                kinds,
                subject: Some(subject.to_owned()),
            };
            let read = async {
                self.cold_org_reads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match super::load_org(&self.sources, &org, now, super::Reader::Interactive).await {
                    Ok(data) => Ok(Arc::new(data)),
                    Err(PipelineError::UnknownOrganization(_)) => Err(ReadError::UnknownSubject),
                    Err(e) => Err(ReadError::from(e)),
                }
            };
            let data = self
                .org_reads
                .try_get_with(org.clone(), read)
                .await
                .map_err(ReadError::unshared)?;
            if data.quality.degraded() {
                // Shared only while in progress: the next cold compute asks the sources again.
                self.org_reads.invalidate(&org).await;
            }
            Ok(self
                .compute_rows(data, selection, now, super::Reader::Interactive)
                .await?)
        }
    }

    async fn org_of_user(&self, user: &str) -> Result<String, ReadError> {
        let client = self
            .sources
            .contract(Service::Directory)
            .ok_or(PipelineError::NotConfigured(Service::Directory))?;
        let found = client
            .get::<User>("users", user)
            .await
            .map_err(PipelineError::from)?;
        found
            .value
            .map(|u| u.org_id)
            .ok_or(ReadError::UnknownSubject)
    }

    /// Queues one refresh of a stale subject (deduplicated by its singleton key); a failure
    /// is logged, the stale answer is served anyway. Once queued for this version of the
    /// result (`stale.calculated_at`), later stale reads of it skip the queue.
    async fn queue_refresh(&self, jobs: &Runtime, role: &str, subject: &str, stale: &Cached) {
        let memo = format!(
            "{role}:{subject}:{}",
            stale.calculated_at.timestamp_micros()
        );
        if self.recently_queued.contains_key(&memo) {
            return;
        }
        let payload = RefreshPayload {
            subject_id: subject.to_owned(),
            role: role.to_owned(),
            analytics: Vec::new(),
        };
        let Ok(payload) = serde_json::to_value(payload) else {
            return;
        };
        let job = NewJob {
            kind: REFRESH_KIND.to_owned(),
            payload,
            owner_id: None,
            parent_id: None,
            singleton_key: Some(format!("refresh:{role}:{subject}")),
            max_attempts: MAX_ATTEMPTS,
            run_at: self.clock.now(),
        };
        match jobs.enqueue(&job).await {
            Ok(_) => self.recently_queued.insert(memo, ()),
            Err(e) => {
                tracing::warn!(error = %e, subject, role, "queueing the refresh of a stale result failed");
            }
        }
    }
}
