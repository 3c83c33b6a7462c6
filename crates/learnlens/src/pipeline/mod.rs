//! The pipeline from the sources to stored results: read an organisation's data with bulk
//! source calls ([`load_org`]), compute analytics over it ([`Computation`]) and
//! write them through the cache layers to the store (a batch job in chunks while it
//! computes). The nightly batch, manual refreshes and `learnlens batch` all go through here,
//! so a result means the same whoever computed it.
//!
//! Invariants:
//! - Data never crosses organisations: an organisation's results are computed from a data set
//!   holding only its users and their records (plus the global catalogue and skills). A
//!   trainer's analytics therefore see the learners of the trainer's own organisation.
//! - Every result carries the provenance of each source it was built from (`dataQuality`);
//!   a result built from any fallback data (`snapshot` or `mock`) expires after
//!   `sources.fallback_ttl_secs` instead of the normal six hours.
//! - Results are keyed `(subject, role, analytics)` where the role is that of the subject
//!   ([`stored_role`]), never the viewer's: a trainer's view of a learner is filtered from
//!   the learner's result when served.

pub mod batch;
pub mod chunks;
pub mod read;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;

use chrono::{DateTime, TimeDelta, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use learnlens_analytics::digest::Digest;
use learnlens_analytics::input::{
    ActivityEvent, Assessment, Attempt, ContentItem, Course, Enrollment, Feedback, IdInterner,
    JobRole, Organization, Skill, User, UserSkill,
};
use learnlens_analytics::kind::{self, AnalyticsKind, GLOBAL_SUBJECT, Models, SubjectKind};
use learnlens_analytics::memo::CohortMemo;
use learnlens_analytics::predictive::drop_off::{self, DropOffModel};
use learnlens_analytics::predictive::features::ExampleDigest;
use learnlens_analytics::{Config as AnalyticsConfig, Dataset, DatasetIndex};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::sources::contract::SourceError;
use crate::sources::xapi::EmailMap;
use crate::sources::{Provenance, Service, Sources};
use crate::store::AnalyticsRow;

/// Results from live data are fresh this long (jobs-and-cache.md).
pub const FRESH_FOR: TimeDelta = TimeDelta::hours(6);

/// Learners whose statements are read at once.
const ACTIVITY_CONCURRENCY: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the {0} source is not configured")]
    NotConfigured(Service),
    #[error("organisation {0} is not in the directory")]
    UnknownOrganization(String),
    #[error("serialising a result: {0}")]
    Serialise(#[from] serde_json::Error),
    #[error("a computation task failed: {0}")]
    Task(String),
}

/// Where each source's part of a data set came from; the worst answer of each source counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataQuality {
    sources: BTreeMap<Service, Provenance>,
}

impl DataQuality {
    /// Records one answer of `service`.
    pub fn note(&mut self, service: Service, provenance: Provenance) {
        let worst = self.sources.entry(service).or_insert(provenance);
        *worst = (*worst).max(provenance);
    }

    /// Records every answer `other` recorded.
    pub fn merge(&mut self, other: &DataQuality) {
        for (service, provenance) in &other.sources {
            self.note(*service, *provenance);
        }
    }

    /// Whether any source answered from a fallback.
    pub fn degraded(&self) -> bool {
        self.sources.values().any(|p| *p != Provenance::Live)
    }

    /// `{degraded, sources: {directory, courses, assessments, skills, activity}}` (api.md).
    pub fn to_json(&self) -> serde_json::Value {
        let sources: serde_json::Map<String, serde_json::Value> = self
            .sources
            .iter()
            .map(|(s, p)| (s.quality_key().to_owned(), json!(p.as_str())))
            .collect();
        json!({ "degraded": self.degraded(), "sources": sources })
    }
}

/// Who reads, which decides whether learners' statements are kept as fallback snapshots and
/// where the drop-off model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The nightly batch: statements are not kept. Keeping every learner's statements would
    /// copy the LRS into the store every night; if the LRS fails during the batch, the
    /// organisation's job fails and retries, and the previous results stay served (stale).
    /// The drop-off model is trained afresh and stored as the organisation's next version.
    Batch,
    /// A refresh or a cold read: a learner's statements are kept as its snapshot. The
    /// organisation's latest stored drop-off model is used; only when none is stored (or it
    /// does not fit this build) is one trained and stored.
    Interactive,
}

/// An organisation's data set and where it came from. Serialised (without its statements)
/// as the records of an organisation computed by chunk jobs (`batch.rs`).
#[derive(Serialize, Deserialize)]
pub struct OrgData {
    pub org_id: String,
    pub dataset: Dataset,
    pub quality: DataQuality,
    /// Activity statements read (events kept).
    pub statements: u64,
}

impl OrgData {
    /// Users with the learner role.
    pub fn learners(&self) -> u64 {
        let users = &self.dataset.users;
        users
            .iter()
            .filter(|u| u.roles.iter().any(|r| r == "learner"))
            .count() as u64
    }
}

/// Reads one JSON-contract collection through its client, noting the provenance.
async fn list<T: DeserializeOwned + Serialize>(
    sources: &Sources,
    quality: &mut DataQuality,
    service: Service,
    collection: &str,
    filters: &[(&str, &str)],
) -> Result<Vec<T>, PipelineError> {
    let client = sources
        .contract(service)
        .ok_or(PipelineError::NotConfigured(service))?;
    let fetched = client.list::<T>(collection, filters).await?;
    quality.note(service, fetched.provenance);
    Ok(fetched.value)
}

/// Reads everything the analytics of organisation `org_id` need: its users and their records,
/// its job roles, every skill, its own and the global courses with their content and
/// assessments ([`load_org_records`]), and every user's statements up to `as_of`.
pub async fn load_org(
    sources: &Sources,
    org_id: &str,
    as_of: DateTime<Utc>,
    reader: Reader,
) -> Result<OrgData, PipelineError> {
    let mut data = load_org_records(sources, org_id).await?;
    data.read_statements(sources, None, as_of, reader).await?;
    Ok(data)
}

impl OrgData {
    /// Reads the statements up to `as_of` of `chunk`, or of every user when `None`, as the
    /// data set's events, in place of the events it held (an organisation computed in chunks
    /// reads one chunk's at a time).
    pub async fn read_statements(
        &mut self,
        sources: &Sources,
        chunk: Option<&[User]>,
        as_of: DateTime<Utc>,
        reader: Reader,
    ) -> Result<(), PipelineError> {
        self.dataset.events = Vec::new();
        let users = chunk.unwrap_or(&self.dataset.users);
        let (events, statements) =
            read_activity(sources, &mut self.quality, users, as_of, reader).await?;
        self.dataset.events = events;
        self.statements = self.statements.saturating_add(statements);
        Ok(())
    }
}

/// Everything [`load_org`] reads but the statements: the organisation's records, without
/// events.
pub async fn load_org_records(sources: &Sources, org_id: &str) -> Result<OrgData, PipelineError> {
    let mut q = DataQuality::default();
    let org = [("orgId", org_id)];
    let organizations: Vec<Organization> =
        list(sources, &mut q, Service::Directory, "organizations", &[]).await?;
    let organizations: Vec<Organization> = organizations
        .into_iter()
        .filter(|o| o.id == org_id)
        .collect();
    if organizations.is_empty() {
        return Err(PipelineError::UnknownOrganization(org_id.to_owned()));
    }
    let job_roles: Vec<JobRole> =
        list(sources, &mut q, Service::Directory, "job-roles", &org).await?;
    let users: Vec<User> = list(sources, &mut q, Service::Directory, "users", &org).await?;
    let skills: Vec<Skill> = list(sources, &mut q, Service::Skills, "skills", &[]).await?;
    let user_skills: Vec<UserSkill> =
        list(sources, &mut q, Service::Skills, "user-skills", &org).await?;
    // Courses without an organisation are the global catalogue, open to every organisation.
    let courses: Vec<Course> = list(sources, &mut q, Service::Catalog, "courses", &[]).await?;
    let courses: Vec<Course> = courses
        .into_iter()
        .filter(|c| c.org_id.as_deref().is_none_or(|o| o == org_id))
        .collect();
    let course_ids: HashSet<&str> = courses.iter().map(|c| c.id.as_str()).collect();
    let content_items: Vec<ContentItem> =
        list(sources, &mut q, Service::Catalog, "content-items", &[]).await?;
    let content_items = content_items
        .into_iter()
        .filter(|i| course_ids.contains(i.course_id.as_str()))
        .collect();
    let enrollments: Vec<Enrollment> =
        list(sources, &mut q, Service::Catalog, "enrollments", &org).await?;
    let user_ids: HashSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let feedback: Vec<Feedback> = list(sources, &mut q, Service::Catalog, "feedback", &[]).await?;
    let feedback = feedback
        .into_iter()
        .filter(|f| user_ids.contains(f.user_id.as_str()))
        .collect();
    let assessments: Vec<Assessment> =
        list(sources, &mut q, Service::Assessments, "assessments", &[]).await?;
    let assessments = assessments
        .into_iter()
        .filter(|a| course_ids.contains(a.course_id.as_str()))
        .collect();
    let attempts: Vec<Attempt> =
        list(sources, &mut q, Service::Assessments, "attempts", &org).await?;
    Ok(OrgData {
        org_id: org_id.to_owned(),
        dataset: Dataset {
            organizations,
            job_roles,
            users,
            skills,
            user_skills,
            courses,
            content_items,
            enrollments,
            feedback,
            assessments,
            attempts,
            events: Vec::new(),
        },
        quality: q,
        statements: 0,
    })
}

/// Every statement of `users` up to `as_of`, read per learner with bounded concurrency.
async fn read_activity(
    sources: &Sources,
    quality: &mut DataQuality,
    users: &[User],
    as_of: DateTime<Utc>,
    reader: Reader,
) -> Result<(Vec<ActivityEvent>, u64), PipelineError> {
    let client = sources
        .activity()
        .ok_or(PipelineError::NotConfigured(Service::Activity))?;
    let emails = EmailMap::new(users.iter().map(|u| (u.email.as_str(), u.id.clone())));
    let reads: Vec<_> = users
        .iter()
        .map(|u| client.events_of(&u.id, Some(as_of), &emails, reader == Reader::Interactive))
        .collect();
    let mut answers = futures::stream::iter(reads).buffered(ACTIVITY_CONCURRENCY);
    // An organisation's events are most of a batch's memory. Each learner's statements join
    // the data set as they arrive, so they are held once, not once per learner and again in
    // the data set; and their ids (user, object, course) are shared, not copied per event.
    let mut events = Vec::new();
    let mut ids = IdInterner::default();
    while let Some(fetched) = answers.try_next().await? {
        quality.note(Service::Activity, fetched.provenance);
        events.extend(fetched.value.into_iter().map(|mut e| {
            ids.event(&mut e);
            e
        }));
    }
    let n = events.len() as u64;
    Ok((events, n))
}

/// Reads what the global skillDemand needs: every organisation, user, job role and user skill,
/// and the skills (no activity).
pub async fn load_global(sources: &Sources) -> Result<(Dataset, DataQuality), PipelineError> {
    let mut q = DataQuality::default();
    let dataset = Dataset {
        organizations: list(sources, &mut q, Service::Directory, "organizations", &[]).await?,
        job_roles: list(sources, &mut q, Service::Directory, "job-roles", &[]).await?,
        users: list(sources, &mut q, Service::Directory, "users", &[]).await?,
        skills: list(sources, &mut q, Service::Skills, "skills", &[]).await?,
        user_skills: list(sources, &mut q, Service::Skills, "user-skills", &[]).await?,
        ..Dataset::default()
    };
    Ok((dataset, q))
}

/// The role a stored result is keyed under: the role of its subject.
pub fn stored_role(kind: AnalyticsKind, subject: &str) -> &'static str {
    match kind.subject() {
        SubjectKind::User => "learner",
        SubjectKind::Trainer => "trainer",
        SubjectKind::OrgOrGlobal if subject == GLOBAL_SUBJECT => "any",
        SubjectKind::Org | SubjectKind::OrgOrGlobal => "org-admin",
    }
}

/// What to compute over a data set.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these kinds; empty means all.
    pub kinds: Vec<AnalyticsKind>,
    /// Only this subject; `None` means every subject of the data set (but never `global`,
    /// which [`compute_global`] covers).
    pub subject: Option<String>,
}

impl Selection {
    /// Whether `kind` is selected.
    pub fn includes(&self, kind: AnalyticsKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// When results computed `now` from data of `quality` expire.
pub fn expiry(now: DateTime<Utc>, quality: &DataQuality, fallback_ttl_secs: u64) -> DateTime<Utc> {
    if quality.degraded() {
        now + TimeDelta::seconds(i64::try_from(fallback_ttl_secs).unwrap_or(300))
    } else {
        now + FRESH_FOR
    }
}

/// The kind under which the drop-off model is stored.
pub const DROP_OFF_MODEL: &str = "drop-off";

/// Trains the drop-off model on `dataset` as known at `as_of`; `None` (logged) when the data
/// cannot train one (too few examples, one class only).
pub fn train_drop_off(
    dataset: &Dataset,
    as_of: DateTime<Utc>,
    cfg: &AnalyticsConfig,
) -> Option<DropOffModel> {
    match drop_off::train(dataset, as_of, cfg) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::info!(error = %e, "no drop-off model for this data set");
            None
        }
    }
}

/// One computation: the selected analytics over a data set at `as_of`, as store rows stamped
/// `now`. Everything a result depends on is here, so the batch, a refresh and a cold read
/// compute alike.
#[derive(Clone, Copy)]
pub struct Computation<'a> {
    pub dataset: &'a Dataset,
    pub quality: &'a DataQuality,
    pub selection: &'a Selection,
    pub as_of: DateTime<Utc>,
    /// The rows' `calculated_at`, from which they expire.
    pub now: DateTime<Utc>,
    pub cfg: &'a AnalyticsConfig,
    /// Trained models (the drop-off model, from the store or trained for this computation).
    pub models: Models<'a>,
    /// How long results built from fallback data live.
    pub fallback_ttl_secs: u64,
}

impl Computation<'_> {
    /// Every selected result.
    pub fn rows(&self) -> Result<Vec<AnalyticsRow>, PipelineError> {
        let mut rows = Vec::new();
        self.each(&mut |row| {
            rows.push(row);
            ControlFlow::Continue(())
        })?;
        Ok(rows)
    }

    /// Hands each result to `emit` as soon as it is computed (the batch writes them in chunks
    /// meanwhile, so an organisation's results are never all in memory); stops early when
    /// `emit` breaks.
    pub fn each(
        &self,
        emit: &mut dyn FnMut(AnalyticsRow) -> ControlFlow<()>,
    ) -> Result<(), PipelineError> {
        let idx = DatasetIndex::new(self.dataset);
        // One memo for the whole computation: a cohort's shared quantities (item statistics,
        // course gains, peer snapshots, users' digests) are computed once, not once per
        // subject.
        let memo = CohortMemo::new();
        // A break is not an error: `emit` knows why it stopped.
        self.emit_kinds(&idx, &memo, &self.kinds(), None, emit)
            .map(|_stopped| ())
    }

    /// One chunk of an organisation computed in chunks (`docs/decisions.md`): `dataset` holds
    /// the organisation's records but only the events of `users`. Emits the analytics of
    /// `users` that read only their own events ([`in_chunks`]) and returns `users`' digests,
    /// from which [`Self::each_final`] computes the rest.
    pub fn each_of_chunk(
        &self,
        users: &BTreeSet<String>,
        emit: &mut dyn FnMut(AnalyticsRow) -> ControlFlow<()>,
    ) -> Result<Vec<(String, Digest)>, PipelineError> {
        let idx = DatasetIndex::new(self.dataset);
        let memo = CohortMemo::new();
        let kinds: Vec<AnalyticsKind> =
            self.kinds().into_iter().filter(|k| in_chunks(*k)).collect();
        if self
            .emit_kinds(&idx, &memo, &kinds, Some(users), emit)?
            .is_break()
        {
            return Ok(Vec::new());
        }
        Ok(users
            .iter()
            .map(|u| (u.clone(), memo.digest_of(&idx, u, self.as_of, self.cfg)))
            .collect())
    }

    /// The last step of an organisation computed in chunks: with every user's digest (from
    /// [`Self::each_of_chunk`]) and the organisation's records without events, emits what the
    /// chunks did not ([`in_chunks`]): peerComparison and dropOffRisk of every learner, the
    /// trainer and organisation analytics. `models` must be trained from the same digests
    /// ([`train_drop_off_from_digests`]).
    pub fn each_final(
        &self,
        digests: Vec<(String, Digest)>,
        emit: &mut dyn FnMut(AnalyticsRow) -> ControlFlow<()>,
    ) -> Result<(), PipelineError> {
        let idx = DatasetIndex::new(self.dataset);
        let memo = CohortMemo::with_digests(digests);
        let kinds: Vec<AnalyticsKind> = self
            .kinds()
            .into_iter()
            .filter(|k| !in_chunks(*k))
            .collect();
        self.emit_kinds(&idx, &memo, &kinds, None, emit)
            .map(|_stopped| ())
    }

    /// The selected kinds.
    fn kinds(&self) -> Vec<AnalyticsKind> {
        if self.selection.kinds.is_empty() {
            AnalyticsKind::ALL.to_vec()
        } else {
            self.selection.kinds.clone()
        }
    }

    /// Computes `kinds` of the selected subjects (only those in `only`, when given) through
    /// `memo` and hands each result to `emit`; `Break` when `emit` broke.
    fn emit_kinds<'d>(
        &self,
        idx: &DatasetIndex<'d>,
        memo: &CohortMemo<'d>,
        kinds: &[AnalyticsKind],
        only: Option<&BTreeSet<String>>,
        emit: &mut dyn FnMut(AnalyticsRow) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, PipelineError> {
        let data_quality = self.quality.to_json();
        let expires_at = expiry(self.now, self.quality, self.fallback_ttl_secs);
        for &k in kinds {
            let subjects: Vec<String> = match &self.selection.subject {
                Some(s) => vec![s.clone()],
                None => kind::subjects(self.dataset, k)
                    .into_iter()
                    .filter(|s| s != GLOBAL_SUBJECT)
                    .collect(),
            };
            for subject in subjects {
                if only.is_some_and(|users| !users.contains(&subject)) {
                    continue;
                }
                let data = kind::compute_shared(
                    k,
                    idx,
                    &subject,
                    self.as_of,
                    self.cfg,
                    self.models,
                    memo,
                )?;
                let row = AnalyticsRow {
                    role: stored_role(k, &subject).to_owned(),
                    subject_id: subject,
                    analytics_type: k.name().to_owned(),
                    data,
                    data_quality: data_quality.clone(),
                    calculated_at: self.now,
                    expires_at,
                };
                if emit(row).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Whether the chunks of an organisation computed in chunks compute `kind`: the analytics of
/// a learner that read only the learner's own events. peerComparison and dropOffRisk read the
/// cohort (its values, the model trained on everyone), so the final step computes them from
/// the digests, with the trainer and organisation analytics.
pub fn in_chunks(kind: AnalyticsKind) -> bool {
    kind.subject() == SubjectKind::User
        && !matches!(
            kind,
            AnalyticsKind::PeerComparison | AnalyticsKind::DropOffRisk
        )
}

/// [`train_drop_off`] from the users' drop-off examples, taken out of their digests
/// (`learnlens_analytics::digest::take_examples`), over the organisation's records without
/// events (the final step of an organisation computed in chunks); the same model.
pub fn train_drop_off_from_digests(
    dataset: &Dataset,
    examples: HashMap<String, Vec<ExampleDigest>>,
    as_of: DateTime<Utc>,
    cfg: &AnalyticsConfig,
) -> Option<DropOffModel> {
    let idx = DatasetIndex::new(dataset);
    match drop_off::train_from_digests(&idx, as_of, cfg, examples) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::info!(error = %e, "no drop-off model for this data set");
            None
        }
    }
}

/// The global skillDemand over every organisation.
pub fn compute_global(
    dataset: &Dataset,
    quality: &DataQuality,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
    cfg: &AnalyticsConfig,
    fallback_ttl_secs: u64,
) -> Result<AnalyticsRow, PipelineError> {
    let idx = DatasetIndex::new(dataset);
    let k = AnalyticsKind::SkillDemand;
    let data = kind::compute(k, &idx, GLOBAL_SUBJECT, as_of, cfg, Models::default())?;
    Ok(AnalyticsRow {
        subject_id: GLOBAL_SUBJECT.to_owned(),
        role: stored_role(k, GLOBAL_SUBJECT).to_owned(),
        analytics_type: k.name().to_owned(),
        data,
        data_quality: quality.to_json(),
        calculated_at: now,
        expires_at: expiry(now, quality, fallback_ttl_secs),
    })
}
