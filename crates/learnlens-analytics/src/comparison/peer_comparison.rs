//! Analytic 15, **peerComparison** (k-anonymous): where a learner stands among peers of their
//! own organisation on four metrics, as an integer percentile rank and the cohort's quartiles,
//! and never anything that counts, bounds or identifies a peer.
//!
//! Definitions and interpretations (where `analytics.md` leaves a choice):
//! - **Daily snapshot.** `analytics.md` asks to compute from daily snapshots, against
//!   differencing attacks (k-anonymity alone does not stop someone who compares two releases;
//!   Sweeney 2002). The analytic truncates `asOf` to 00:00 UTC of its day before anything else,
//!   computes every value at that instant and reports that instant as the payload's `asOf`.
//!   Two requests on the same day therefore see exactly the same data, and intra-day
//!   differencing (asking before and after a peer's quiz) is impossible. The service computes
//!   the analytic at most once a day (the nightly batch); a cold request lands on the same
//!   truncated instant, hence on the same result.
//! - **Metrics**, each from its own analytic for every member at the snapshot instant with the
//!   same configuration: `engagementScore` = engagementScore's `score` (0–100; a member without
//!   events has the measured score 0, so every member has one); `currentVelocity` =
//!   learnerVelocity's; `meanFirstAttemptScore` = performanceAnalytics'; `masteryRatio` =
//!   masteryProgress's. A `null` (no attempts, no tracked skill) means the member has no value
//!   for that metric and does not count in its cohort.
//! - **Pool**: the organisation's active users at the snapshot (status `active`,
//!   `createdAt ≤` snapshot, as in [`crate::org`]) plus the subject, whatever its directory
//!   status. Users of other organisations never enter a cohort.
//! - **Cohort chain**: same org + same `jobRoleId` → same org + same `department` → the whole
//!   organisation; a level is skipped when the subject has no job role or no department. Per
//!   metric, N = the cohort's members with a non-null value, subject included, and the first
//!   cohort with N ≥ k **and** N − 1 ≥ k (k = `samples.k_anonymity`, default 5: at least k
//!   peers besides the subject) is used. As N depends on who has a value, metrics may use
//!   different cohorts: each released metric names its own `cohort`, and the top-level
//!   `cohort` is the finest one any released metric uses (`null` when none is released).
//! - **percentile** PR = 100·(B + 0.5·E)/N, B = values strictly below the subject's, E = values
//!   equal to it (subject included); this is `scipy.stats.percentileofscore(cohort, x,
//!   kind="mean")`, computed by [`crate::stats::percentile::percentile_of_score`]. It is
//!   reported as an **integer**, rounded half up (12.5 → 13), which coarsens what one peer's
//!   change can move. PR is a multiple of 50/N, so the half is detected with a 1e-9 tolerance
//!   that absorbs the rounding error of that division and nothing else.
//! - **median, p25, p75**: type-7 quantiles (`numpy.quantile`, method linear) of the N values
//!   ([`crate::stats::quantiles_type7`]).
//! - **Released**, per metric: `{name, value, percentile, median, p25, p75, cohort:{type,
//!   sizeBand}}` where `value` is the subject's own, `type` ∈ `job_role | department |
//!   organization` and `sizeBand` = "≥k" ("≥5"). Never the exact N, a minimum or maximum, or a
//!   peer's value; the header's `n` holds counts of metrics only.
//! - **No cohort reaches k**: `{name, suppressed: true, reason: "cohort_below_k"}` and nothing
//!   else; the metric is not computed over any cohort.
//! - **Subject without a value** for a metric: `{name, value: null, reason: "no_value"}`. A
//!   percentile of nothing is undefined, and quartiles without the subject's own value would
//!   be a disclosure about the peers only.
//! - **status**: `ok` when a metric is released; `suppressed` (reason `cohort_below_k`) when
//!   every metric the subject has a value for is suppressed; `insufficient_data` when the
//!   subject has no value at all (reason `no_value`), or is unknown or created after the
//!   snapshot (reason `unknown_user`, no metrics). An `ok` payload also carries
//!   `cohort_below_k` / `no_value` when some of its metrics have them.
//! - [`released_cohorts`] exports, for verification only (property tests here, the pycanon
//!   reference check later), who was in each released cohort: every member's `orgId` and the
//!   attribute that defines the cohort (`jobRoleId` or `department`), the other attribute
//!   generalised away (`null`). Grouped by (orgId, jobRoleId, department), each released
//!   cohort is then one equivalence class of at least k + 1 rows.
//! - **Batches**: an organisation's snapshot holds the four values of every member, computed
//!   once, and each cohort's sorted values and quartiles, built when first asked for;
//!   [`compute_shared`] takes it from a [`CohortMemo`] and answers each member with a binary
//!   search per metric instead of recomputing the organisation.
//!
//! `n`: `metrics` (4), `released`, `suppressed`, `unavailable`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex, User};
use crate::learner::{engagement, mastery, performance, velocity};
use crate::memo::{CohortMemo, remember};
use crate::org::members;
use crate::stats;
#[cfg(test)]
use crate::stats::percentile::percentile_of_score;
use crate::stats::percentile::{PercentileKind, percentile_of_sorted};

/// The metrics compared, in payload order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PeerMetric {
    EngagementScore,
    CurrentVelocity,
    MeanFirstAttemptScore,
    MasteryRatio,
}

impl PeerMetric {
    pub const ALL: [PeerMetric; 4] = [
        PeerMetric::EngagementScore,
        PeerMetric::CurrentVelocity,
        PeerMetric::MeanFirstAttemptScore,
        PeerMetric::MasteryRatio,
    ];

    /// Position in [`PeerMetric::ALL`] and in a member's values.
    fn slot(self) -> usize {
        self as usize
    }
}

/// Which cohort of the chain a metric was compared in (finest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortType {
    JobRole,
    Department,
    Organization,
}

/// What is released about a cohort: its type and a size band, never its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CohortLabel {
    #[serde(rename = "type")]
    pub cohort_type: CohortType,
    /// "≥k", e.g. "≥5".
    pub size_band: String,
}

/// The peerComparison payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerComparison {
    #[serde(flatten)]
    pub header: Header,
    /// The finest cohort used by a released metric; `null` when none is released.
    pub cohort: Option<CohortLabel>,
    pub metrics: Vec<MetricRow>,
}

/// One metric: released, suppressed by k-anonymity, or without a value for the subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricRow {
    Released(ReleasedMetric),
    Suppressed(SuppressedMetric),
    Unavailable(UnavailableMetric),
}

/// A metric compared within a cohort of at least k + 1 members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasedMetric {
    pub name: PeerMetric,
    /// The subject's own value.
    pub value: f64,
    /// Percentile rank (scipy `kind="mean"`) rounded half up, 0–100.
    pub percentile: u32,
    pub median: f64,
    pub p25: f64,
    pub p75: f64,
    pub cohort: CohortLabel,
}

/// A metric no cohort of the chain can release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressedMetric {
    pub name: PeerMetric,
    /// Always `true`.
    pub suppressed: bool,
    /// `cohort_below_k`.
    pub reason: String,
}

/// A metric the subject has no value for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnavailableMetric {
    pub name: PeerMetric,
    /// Always `null`.
    pub value: Option<f64>,
    /// `no_value`.
    pub reason: String,
}

/// One member of a released cohort, for k-anonymity checks: the cohort's defining attributes
/// only (the one that does not define the cohort is `null`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CohortMember {
    pub user_id: String,
    pub org_id: String,
    pub job_role_id: Option<String>,
    pub department: Option<String>,
}

/// The members whose values a released metric was computed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasedCohort {
    pub metric: PeerMetric,
    pub cohort_type: CohortType,
    /// Sorted by user id.
    pub members: Vec<CohortMember>,
}

/// One user's four metric values at the snapshot (`None` = no value).
#[derive(Debug, Clone, Copy)]
struct Member<'a> {
    user: &'a User,
    values: [Option<f64>; 4],
}

/// The four metric values of every active member of one organisation at one daily snapshot:
/// computed once, then shared by every member's comparison.
#[derive(Debug, Clone)]
pub(crate) struct OrgSnapshot<'a> {
    org_id: String,
    day: DateTime<Utc>,
    /// Sorted by user id.
    members: Vec<Member<'a>>,
    /// The values of each (cohort, metric) among the members, built when first asked for: a
    /// member's cohorts are the same for every member of them.
    groups: RefCell<HashMap<GroupKey, Option<Rc<GroupValues>>>>,
}

/// A cohort of one organisation (type and the shared job role or department) and a metric.
type GroupKey = (CohortType, String, PeerMetric);

/// One metric's values within one cohort, sorted, and their quartiles (type 7).
#[derive(Debug)]
struct GroupValues {
    sorted: Vec<f64>,
    p25: f64,
    median: f64,
    p75: f64,
}

impl GroupValues {
    /// `None` for an empty group.
    fn of(mut values: Vec<f64>) -> Option<Self> {
        values.sort_by(f64::total_cmp);
        let q = stats::quantiles_type7(&values, &[0.25, 0.5, 0.75])?;
        Some(GroupValues {
            p25: *q.first()?,
            median: *q.get(1)?,
            p75: *q.get(2)?,
            sorted: values,
        })
    }

    fn len(&self) -> usize {
        self.sorted.len()
    }
}

impl<'a> OrgSnapshot<'a> {
    /// Computes the values of `org_id`'s active users at `as_of` truncated to its day.
    pub(crate) fn new(
        idx: &DatasetIndex<'a>,
        org_id: &str,
        as_of: DateTime<Utc>,
        cfg: &Config,
        memo: &CohortMemo<'a>,
    ) -> Self {
        let day = snapshot_day(as_of);
        let members = members(idx, org_id, day)
            .into_iter()
            .map(|user| Member {
                user,
                values: memo.digest(&user.id).peer(idx, day, cfg),
            })
            .collect();
        OrgSnapshot {
            org_id: org_id.to_owned(),
            day,
            members,
            groups: RefCell::default(),
        }
    }

    /// `user`'s entry, when it is a member.
    fn member(&self, user: &User) -> Option<&Member<'a>> {
        let i = self
            .members
            .binary_search_by(|m| m.user.id.as_str().cmp(&user.id))
            .ok()?;
        self.members.get(i).filter(|m| std::ptr::eq(m.user, user))
    }
}

/// 00:00 UTC of `as_of`'s day.
pub fn snapshot_day(as_of: DateTime<Utc>) -> DateTime<Utc> {
    as_of.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Computes peerComparison for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> PeerComparison {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes peerComparison for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> PeerComparison {
    evaluate(idx, None, user_id, as_of, cfg, &CohortMemo::new(), false).payload
}

/// [`compute_indexed`] with the snapshot of the learner's organisation taken from (and added
/// to) `memo`; the same payload.
pub fn compute_shared<'a>(
    idx: &DatasetIndex<'a>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'a>,
) -> PeerComparison {
    let Some(user) = idx.user(user_id) else {
        return evaluate(idx, None, user_id, as_of, cfg, memo, false).payload;
    };
    let snapshot = remember(&memo.peer_snapshots, &user.org_id, || {
        Rc::new(OrgSnapshot::new(idx, &user.org_id, as_of, cfg, memo))
    });
    evaluate(idx, Some(&snapshot), user_id, as_of, cfg, memo, false).payload
}

/// Who was in each cohort released for `user_id` at `as_of`, one entry per released metric
/// (for verification: property tests and the pycanon reference check).
pub fn released_cohorts(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> Vec<ReleasedCohort> {
    evaluate(idx, None, user_id, as_of, cfg, &CohortMemo::new(), true).cohorts
}

/// A payload and, when asked for, the membership of its released cohorts.
struct Evaluation {
    payload: PeerComparison,
    cohorts: Vec<ReleasedCohort>,
}

fn evaluate<'a>(
    idx: &DatasetIndex<'a>,
    snapshot: Option<&OrgSnapshot<'a>>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'a>,
    export_cohorts: bool,
) -> Evaluation {
    let day = snapshot_day(as_of);
    let mut header = Header::new(day);
    let Some(subject) = idx.user(user_id).filter(|u| u.created_at <= day) else {
        header.status = Status::InsufficientData;
        header.add_reason("unknown_user");
        return Evaluation {
            payload: PeerComparison {
                header,
                cohort: None,
                metrics: Vec::new(),
            },
            cohorts: Vec::new(),
        };
    };
    let fresh;
    let snapshot = match snapshot {
        Some(s) if s.org_id == subject.org_id && s.day == day => s,
        _ => {
            fresh = OrgSnapshot::new(idx, &subject.org_id, day, cfg, memo);
            &fresh
        }
    };
    let pool = Pool::of(idx, snapshot, subject, cfg, memo);
    let me = pool.subject_values();

    let k = usize::try_from(cfg.samples.k_anonymity.max(1)).unwrap_or(usize::MAX);
    let size_band = format!("≥{k}");
    let mut rows = Vec::with_capacity(PeerMetric::ALL.len());
    let mut cohorts = Vec::new();
    let mut finest: Option<CohortType> = None;
    for metric in PeerMetric::ALL {
        let Some(x) = me[metric.slot()] else {
            rows.push(MetricRow::Unavailable(UnavailableMetric {
                name: metric,
                value: None,
                reason: "no_value".to_owned(),
            }));
            continue;
        };
        let released = pool
            .choose_cohort(metric, k)
            .and_then(|(cohort_type, group)| {
                let pr = percentile_of_sorted(&group.sorted, x, PercentileKind::Mean)?;
                let row = ReleasedMetric {
                    name: metric,
                    value: x,
                    percentile: round_half_up(pr),
                    median: group.median,
                    p25: group.p25,
                    p75: group.p75,
                    cohort: CohortLabel {
                        cohort_type,
                        size_band: size_band.clone(),
                    },
                };
                Some((row, cohort_type))
            });
        match released {
            Some((row, cohort_type)) => {
                finest = Some(finest.map_or(cohort_type, |f| f.min(cohort_type)));
                rows.push(MetricRow::Released(row));
                if export_cohorts {
                    cohorts.push(pool.export(metric, cohort_type));
                }
            }
            None => rows.push(MetricRow::Suppressed(SuppressedMetric {
                name: metric,
                suppressed: true,
                reason: "cohort_below_k".to_owned(),
            })),
        }
    }

    let count = |f: fn(&MetricRow) -> bool| rows.iter().filter(|r| f(r)).count();
    let released = count(|r| matches!(r, MetricRow::Released(_)));
    let suppressed = count(|r| matches!(r, MetricRow::Suppressed(_)));
    let unavailable = count(|r| matches!(r, MetricRow::Unavailable(_)));
    if released == 0 && suppressed > 0 {
        header.status = Status::Suppressed;
    } else if released == 0 {
        header.status = Status::InsufficientData;
    }
    if suppressed > 0 {
        header.add_reason("cohort_below_k");
    }
    if unavailable > 0 {
        header.add_reason("no_value");
    }
    header.set_n("metrics", rows.len());
    header.set_n("released", released);
    header.set_n("suppressed", suppressed);
    header.set_n("unavailable", unavailable);

    Evaluation {
        payload: PeerComparison {
            header,
            cohort: finest.map(|cohort_type| CohortLabel {
                cohort_type,
                size_band,
            }),
            metrics: rows,
        },
        cohorts,
    }
}

/// The four values of one user at `day`, each from its own analytic: the user's `peer`
/// digest part ([`crate::digest`]).
pub(crate) fn values_of(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    day: DateTime<Utc>,
    cfg: &Config,
) -> [Option<f64>; 4] {
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    [
        finite(Some(
            engagement::compute_indexed(idx, user_id, day, cfg).score,
        )),
        finite(velocity::compute_indexed(idx, user_id, day, cfg).current_velocity),
        finite(performance::compute_indexed(idx, user_id, day, cfg).mean_first_attempt_score),
        finite(mastery::compute_indexed(idx, user_id, day, cfg).mastery_ratio),
    ]
}

/// Whom the subject is compared with: the snapshot's members plus the subject (computed here
/// when it is not an active member). When the subject is a member, its cohorts' values come
/// from (and go to) the snapshot's group cache; otherwise they are built for this pool.
struct Pool<'s, 'a> {
    snapshot: &'s OrgSnapshot<'a>,
    subject: &'a User,
    /// The subject's values when it is not a member of the snapshot.
    outsider: Option<[Option<f64>; 4]>,
}

impl<'s, 'a> Pool<'s, 'a> {
    fn of(
        idx: &DatasetIndex<'a>,
        snapshot: &'s OrgSnapshot<'a>,
        subject: &'a User,
        cfg: &Config,
        memo: &CohortMemo<'a>,
    ) -> Self {
        let outsider = snapshot
            .member(subject)
            .is_none()
            .then(|| memo.digest(&subject.id).peer(idx, snapshot.day, cfg));
        Pool {
            snapshot,
            subject,
            outsider,
        }
    }

    fn subject_values(&self) -> [Option<f64>; 4] {
        self.outsider
            .or_else(|| self.snapshot.member(self.subject).map(|m| m.values))
            .unwrap_or([None; 4])
    }

    /// Every member of the pool.
    fn members(&self) -> impl Iterator<Item = Member<'a>> + '_ {
        let outsider = self.outsider.map(|values| Member {
            user: self.subject,
            values,
        });
        self.snapshot.members.iter().copied().chain(outsider)
    }

    /// The members of the subject's cohort of this type with a value of `metric`.
    fn group(&self, cohort_type: CohortType, metric: PeerMetric) -> Vec<Member<'a>> {
        self.members()
            .filter(|m| in_cohort(cohort_type, self.subject, m.user))
            .filter(|m| m.values[metric.slot()].is_some())
            .collect()
    }

    /// The values of `metric` in the subject's cohort of this type; `None` when it has none.
    fn group_values(&self, cohort_type: CohortType, metric: PeerMetric) -> Option<Rc<GroupValues>> {
        let build = || {
            let values = self
                .group(cohort_type, metric)
                .iter()
                .filter_map(|m| m.values[metric.slot()])
                .collect();
            GroupValues::of(values).map(Rc::new)
        };
        if self.outsider.is_some() {
            return build();
        }
        let shared_by = match cohort_type {
            CohortType::JobRole => self.subject.job_role_id.clone()?,
            CohortType::Department => self.subject.department.clone()?,
            CohortType::Organization => self.subject.org_id.clone(),
        };
        remember(
            &self.snapshot.groups,
            &(cohort_type, shared_by, metric),
            build,
        )
    }

    /// The first cohort of the chain whose members with a value number N ≥ k with N − 1 ≥ k,
    /// and their values; `None` when no cohort qualifies.
    fn choose_cohort(&self, metric: PeerMetric, k: usize) -> Option<(CohortType, Rc<GroupValues>)> {
        [
            CohortType::JobRole,
            CohortType::Department,
            CohortType::Organization,
        ]
        .into_iter()
        .find_map(|cohort_type| {
            let group = self.group_values(cohort_type, metric)?;
            let n = group.len();
            (n >= k && n.saturating_sub(1) >= k).then_some((cohort_type, group))
        })
    }

    /// The k-anonymity export of a released cohort.
    fn export(&self, metric: PeerMetric, cohort_type: CohortType) -> ReleasedCohort {
        let mut members: Vec<CohortMember> = self
            .group(cohort_type, metric)
            .iter()
            .map(|m| CohortMember {
                user_id: m.user.id.clone(),
                org_id: m.user.org_id.clone(),
                job_role_id: (cohort_type == CohortType::JobRole)
                    .then(|| m.user.job_role_id.clone())
                    .flatten(),
                department: (cohort_type == CohortType::Department)
                    .then(|| m.user.department.clone())
                    .flatten(),
            })
            .collect();
        members.sort();
        ReleasedCohort {
            metric,
            cohort_type,
            members,
        }
    }
}

/// Whether `user` belongs to the subject's cohort of this type (same organisation implied:
/// the pool holds one organisation).
fn in_cohort(cohort_type: CohortType, subject: &User, user: &User) -> bool {
    match cohort_type {
        CohortType::JobRole => {
            subject.job_role_id.is_some() && user.job_role_id == subject.job_role_id
        }
        CohortType::Department => {
            subject.department.is_some() && user.department == subject.department
        }
        CohortType::Organization => user.org_id == subject.org_id,
    }
}

/// A percentile rank in \[0,100\] as an integer, halves rounded up. PR is a multiple of 50/N,
/// so the 1e-9 tolerance only absorbs the rounding error of that division.
fn round_half_up(pr: f64) -> u32 {
    let r = (pr + 0.5 + 1e-9).floor().clamp(0.0, 100.0);
    // r is an integer in [0, 100]: the cast is exact.
    r as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{AssessmentKind, Organization};
    use crate::test_support::*;
    use crate::trainer::testdata::{assessment, attempt};

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn org(id: &str) -> Organization {
        Organization {
            id: id.into(),
            name: id.into(),
            strategic_goals: vec![],
        }
    }

    fn member(id: &str, org: &str, role: &str, department: Option<&str>) -> User {
        let mut u = user(id, org, Some(role));
        u.department = department.map(Into::into);
        u
    }

    /// Adds one first attempt on assessment `a1` (max 100) scoring `score` for `user`.
    fn scored(data: &mut Dataset, user: &str, score: f64) {
        let n = data.attempts.len();
        data.attempts.push(attempt(
            &format!("t{n}"),
            "a1",
            user,
            "2025-06-01T00:00:00Z",
            score,
            true,
        ));
    }

    /// Organisation o1, department d1: role rA with six learners a0–a5 (first-attempt scores
    /// 40, 50, 60, 60, 70, 80 %), role rB with two learners b0, b1 (55, 90 %). Organisation o2
    /// holds x0 (role rB, department d1, score 10 %), who must never be anyone's peer.
    fn example() -> Dataset {
        let mut data = Dataset {
            organizations: vec![org("o1"), org("o2")],
            assessments: vec![assessment("a1", "c1", AssessmentKind::Quiz, 100.0)],
            ..Dataset::default()
        };
        for (i, score) in [40.0, 50.0, 60.0, 60.0, 70.0, 80.0].into_iter().enumerate() {
            let id = format!("a{i}");
            data.users.push(member(&id, "o1", "rA", Some("d1")));
            scored(&mut data, &id, score);
        }
        for (id, score) in [("b0", 55.0), ("b1", 90.0)] {
            data.users.push(member(id, "o1", "rB", Some("d1")));
            scored(&mut data, id, score);
        }
        data.users.push(member("x0", "o2", "rB", Some("d1")));
        scored(&mut data, "x0", 10.0);
        data
    }

    fn metric(p: &PeerComparison, name: PeerMetric) -> &MetricRow {
        p.metrics
            .iter()
            .find(|r| match r {
                MetricRow::Released(m) => m.name == name,
                MetricRow::Suppressed(m) => m.name == name,
                MetricRow::Unavailable(m) => m.name == name,
            })
            .expect("metric row")
    }

    fn released(p: &PeerComparison, name: PeerMetric) -> &ReleasedMetric {
        match metric(p, name) {
            MetricRow::Released(m) => m,
            other => panic!("{name:?} not released: {other:?}"),
        }
    }

    #[test]
    fn a_job_role_of_six_is_compared_within_the_role_with_hand_computed_quartiles() {
        let p = compute(&example(), "a2", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::Ok);
        let m = released(&p, PeerMetric::MeanFirstAttemptScore);
        // Cohort rA: .4 .5 .6 .6 .7 .8; B = 2, E = 2 → 100·(2 + 1)/6 = 50.
        close(m.value, 0.6);
        assert_eq!(m.percentile, 50);
        close(m.median, 0.6);
        close(m.p25, 0.525); // h = 1.25: .5 + .25·(.6 − .5)
        close(m.p75, 0.675); // h = 3.75: .6 + .75·(.7 − .6)
        assert_eq!(m.cohort.cohort_type, CohortType::JobRole);
        assert_eq!(m.cohort.size_band, "≥5");
        assert_eq!(
            p.cohort,
            Some(CohortLabel {
                cohort_type: CohortType::JobRole,
                size_band: "≥5".into()
            })
        );
    }

    #[test]
    fn a_job_role_of_two_falls_through_to_the_department_without_the_other_organisation() {
        let p = compute(&example(), "b0", ts(AS_OF), &Config::default());
        let m = released(&p, PeerMetric::MeanFirstAttemptScore);
        assert_eq!(m.cohort.cohort_type, CohortType::Department);
        // Department d1 of o1: eight values, two below .55, one equal: 100·2.5/8 = 31.25 → 31.
        // With o2's x0 (10 %) it would be 100·3.5/9 = 38.9 → 39.
        assert_eq!(m.percentile, 31);
        close(m.median, (0.6 + 0.6) / 2.0);
        let cohorts = released_cohorts(&example().index(), "b0", ts(AS_OF), &Config::default());
        let scores = cohorts
            .iter()
            .find(|c| c.metric == PeerMetric::MeanFirstAttemptScore)
            .expect("released cohort");
        assert_eq!(scores.members.len(), 8);
        assert!(scores.members.iter().all(|m| m.org_id == "o1"));
        assert!(
            scores
                .members
                .iter()
                .all(|m| m.department.as_deref() == Some("d1"))
        );
        assert!(scores.members.iter().all(|m| m.job_role_id.is_none()));
    }

    #[test]
    fn without_a_department_the_chain_goes_from_job_role_to_organisation() {
        let mut data = example();
        for u in &mut data.users {
            u.department = None;
        }
        let p = compute(&data, "b0", ts(AS_OF), &Config::default());
        let m = released(&p, PeerMetric::MeanFirstAttemptScore);
        assert_eq!(m.cohort.cohort_type, CohortType::Organization);
        assert_eq!(m.percentile, 31);
        let cohorts = released_cohorts(&data.index(), "b0", ts(AS_OF), &Config::default());
        for c in &cohorts {
            assert!(
                c.members
                    .iter()
                    .all(|m| m.org_id == "o1" && m.job_role_id.is_none())
            );
        }
    }

    #[test]
    fn groups_of_six_and_two_are_never_released_below_k_plus_one() {
        // pycanon's k_anonymity on groups of sizes (6, 2) is 2, so nothing built on the
        // two-learner role alone may be released at k = 5. Put the roles in two departments:
        // rB's own role (2) and department (2) fail, the organisation (8) qualifies.
        let mut data = example();
        for u in data
            .users
            .iter_mut()
            .filter(|u| u.job_role_id.as_deref() == Some("rB"))
        {
            u.department = Some("d2".into());
        }
        let cfg = Config::default();
        let idx = data.index();
        for subject in ["b0", "b1"] {
            let cohorts = released_cohorts(&idx, subject, ts(AS_OF), &cfg);
            assert!(!cohorts.is_empty());
            for c in &cohorts {
                assert_eq!(c.cohort_type, CohortType::Organization);
                assert!(c.members.len() > 5);
            }
        }
        // At k = 8 the organisation has N = 8 but N − 1 = 7 < 8: suppressed, not released.
        let mut strict = cfg.clone();
        strict.samples.k_anonymity = 8;
        let p = compute(&data, "b0", ts(AS_OF), &strict);
        assert_eq!(p.header.status, Status::Suppressed);
        assert_eq!(p.header.reasons, ["cohort_below_k", "no_value"]);
        assert_eq!(p.cohort, None);
        assert!(released_cohorts(&idx, "b0", ts(AS_OF), &strict).is_empty());
        let json = serde_json::to_value(metric(&p, PeerMetric::MeanFirstAttemptScore))
            .expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"name": "meanFirstAttemptScore", "suppressed": true,
                               "reason": "cohort_below_k"})
        );
        // k = 7: N = 8, N − 1 = 7: released.
        strict.samples.k_anonymity = 7;
        let p = compute(&data, "b0", ts(AS_OF), &strict);
        assert_eq!(p.header.status, Status::Ok);
        assert_eq!(p.cohort.map(|c| c.size_band), Some("≥7".into()));
    }

    #[test]
    fn peers_of_another_organisation_never_make_a_cohort_large_enough() {
        // o1: the subject and two peers; o2: ten learners with the same role and department.
        let mut data = Dataset {
            organizations: vec![org("o1"), org("o2")],
            assessments: vec![assessment("a1", "c1", AssessmentKind::Quiz, 100.0)],
            ..Dataset::default()
        };
        for i in 0..3 {
            let id = format!("s{i}");
            data.users.push(member(&id, "o1", "r", Some("d")));
            scored(&mut data, &id, 50.0 + f64::from(i));
        }
        for i in 0..10 {
            let id = format!("o{i}");
            data.users.push(member(&id, "o2", "r", Some("d")));
            scored(&mut data, &id, 10.0 * f64::from(i));
        }
        let p = compute(&data, "s0", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::Suppressed);
        assert!(
            p.metrics
                .iter()
                .all(|r| !matches!(r, MetricRow::Released(_)))
        );
        assert!(released_cohorts(&data.index(), "s0", ts(AS_OF), &Config::default()).is_empty());
        // o2's learners, on the other hand, have nine peers each.
        let q = compute(&data, "o3", ts(AS_OF), &Config::default());
        assert_eq!(q.header.status, Status::Ok);
    }

    #[test]
    fn golden_percentile_of_score_through_the_analytic() {
        // percentileofscore([50, 60, 60, 70, 80], 60, kind="mean") = 40; k = 4 lets five
        // learners (four peers) be compared.
        let mut data = Dataset {
            organizations: vec![org("o1")],
            assessments: vec![assessment("a1", "c1", AssessmentKind::Quiz, 100.0)],
            ..Dataset::default()
        };
        for (id, score) in [
            ("p0", 50.0),
            ("p1", 60.0),
            ("p2", 60.0),
            ("p3", 70.0),
            ("p4", 80.0),
        ] {
            data.users.push(member(id, "o1", "r", Some("d")));
            scored(&mut data, id, score);
        }
        let mut cfg = Config::default();
        cfg.samples.k_anonymity = 4;
        let p = compute(&data, "p1", ts(AS_OF), &cfg);
        let m = released(&p, PeerMetric::MeanFirstAttemptScore);
        assert_eq!(m.percentile, 40);
        let cohort = [0.5, 0.6, 0.6, 0.7, 0.8];
        let scipy = percentile_of_score(&cohort, 0.6, PercentileKind::Mean).expect("defined");
        close(scipy, 40.0);
        assert_eq!(m.percentile, round_half_up(scipy));
        close(m.median, 0.6);
        close(m.p25, 0.6);
        close(m.p75, 0.7);
        // The lowest and the highest learner: (0 + 0.5)/5 = 10 and (4 + 0.5)/5 = 90.
        let low = compute(&data, "p0", ts(AS_OF), &cfg);
        assert_eq!(
            released(&low, PeerMetric::MeanFirstAttemptScore).percentile,
            10
        );
        let high = compute(&data, "p4", ts(AS_OF), &cfg);
        assert_eq!(
            released(&high, PeerMetric::MeanFirstAttemptScore).percentile,
            90
        );
    }

    #[test]
    fn integer_percentiles_round_halves_up_and_agree_with_exact_counts() {
        // For every cohort shape (L values below, R − L equal, N − R above) the rounded
        // percentileofscore equals the exact integer floor((100·(L + R) + N) / (2N)).
        for n in 1..=60usize {
            for left in 0..=n {
                for right in left..=n {
                    let mut cohort = vec![0.0; left];
                    cohort.extend(std::iter::repeat_n(1.0, right - left));
                    cohort.extend(std::iter::repeat_n(2.0, n - right));
                    let pr =
                        percentile_of_score(&cohort, 1.0, PercentileKind::Mean).expect("defined");
                    let exact = (100 * (left + right) + n) / (2 * n);
                    assert_eq!(
                        round_half_up(pr) as usize,
                        exact,
                        "n={n} L={left} R={right}"
                    );
                }
            }
        }
        assert_eq!(round_half_up(12.5), 13);
        assert_eq!(round_half_up(12.499), 12);
        assert_eq!(round_half_up(100.00000000000001), 100);
    }

    #[test]
    fn every_metric_comes_from_its_own_analytic() {
        let data = example();
        let p = compute(&data, "a0", ts(AS_OF), &Config::default());
        // No events: every engagement score and velocity is 0, so all tie: PR = 50.
        let e = released(&p, PeerMetric::EngagementScore);
        assert_eq!((e.value, e.percentile, e.median), (0.0, 50, 0.0));
        let v = released(&p, PeerMetric::CurrentVelocity);
        assert_eq!((v.value, v.percentile), (0.0, 50));
        // No targets and no responses: masteryProgress has no ratio, for anyone.
        assert_eq!(
            serde_json::to_value(metric(&p, PeerMetric::MasteryRatio)).expect("serialises"),
            serde_json::json!({"name": "masteryRatio", "value": null, "reason": "no_value"})
        );
        assert_eq!(p.header.reasons, ["no_value"]);
        let perf = crate::learner::performance::compute(&data, "a0", ts(AS_OF), &Config::default());
        assert_eq!(
            Some(released(&p, PeerMetric::MeanFirstAttemptScore).value),
            perf.mean_first_attempt_score
        );
        let names: Vec<PeerMetric> = p
            .metrics
            .iter()
            .map(|r| match r {
                MetricRow::Released(m) => m.name,
                MetricRow::Suppressed(m) => m.name,
                MetricRow::Unavailable(m) => m.name,
            })
            .collect();
        assert_eq!(names, PeerMetric::ALL);
    }

    #[test]
    fn as_of_is_truncated_to_the_day_so_intra_day_requests_are_identical() {
        let mut data = example();
        // A seventh learner of role rA makes a first attempt at 08:00 on asOf's day.
        data.users.push(member("late", "o1", "rA", Some("d1")));
        let n = data.attempts.len();
        data.attempts.push(attempt(
            &format!("t{n}"),
            "a1",
            "late",
            "2025-06-30T08:00:00Z",
            100.0,
            true,
        ));
        let morning = compute(&data, "a2", ts("2025-06-30T00:00:00Z"), &Config::default());
        let noon = compute(&data, "a2", ts(AS_OF), &Config::default());
        let night = compute(&data, "a2", ts("2025-06-30T23:59:59Z"), &Config::default());
        assert_eq!(noon.header.as_of, ts("2025-06-30T00:00:00Z"));
        assert_eq!(morning, noon);
        assert_eq!(noon, night);
        // The 08:00 attempt is invisible until the next day's snapshot.
        assert_eq!(
            released(&noon, PeerMetric::MeanFirstAttemptScore).percentile,
            50
        );
        let next = compute(&data, "a2", ts("2025-07-01T06:00:00Z"), &Config::default());
        // .4 .5 .6 .6 .7 .8 1.0: B = 2, E = 2 → 100·3/7 = 42.86 → 43.
        assert_eq!(
            released(&next, PeerMetric::MeanFirstAttemptScore).percentile,
            43
        );
    }

    #[test]
    fn the_payload_holds_no_size_extreme_or_peer_value() {
        let data = example();
        for subject in ["a0", "a2", "b0", "b1"] {
            let p = compute(&data, subject, ts(AS_OF), &Config::default());
            let json = serde_json::to_value(&p).expect("serialises");
            let mut keys = Vec::new();
            collect_keys(&json, &mut keys);
            for forbidden in [
                "min",
                "max",
                "size",
                "cohortSize",
                "count",
                "members",
                "peers",
                "values",
                "N",
                "userId",
                "minimum",
                "maximum",
            ] {
                assert!(
                    !keys.contains(&forbidden.to_owned()),
                    "{forbidden} in {json}"
                );
            }
            let n_keys: Vec<&String> = p.header.n.keys().collect();
            assert_eq!(n_keys, ["metrics", "released", "suppressed", "unavailable"]);
        }
        // The cohort's extremes (a0's .4; .8 in role rA, b1's .9 in the department) appear
        // nowhere in the payloads of learners in between.
        for (subject, extremes) in [("a2", [0.4, 0.8]), ("b0", [0.4, 0.9])] {
            let p = compute(&data, subject, ts(AS_OF), &Config::default());
            let mut numbers = Vec::new();
            collect_numbers(&serde_json::to_value(&p).expect("serialises"), &mut numbers);
            for x in extremes {
                assert!(
                    !numbers.contains(&x),
                    "{x} released to {subject}: {numbers:?}"
                );
            }
        }
    }

    fn collect_numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Number(x) => out.extend(x.as_f64()),
            serde_json::Value::Object(map) => map.values().for_each(|v| collect_numbers(v, out)),
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_numbers(v, out)),
            _ => {}
        }
    }

    fn collect_keys(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    collect_keys(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn payload_json_has_the_documented_field_names_and_round_trips() {
        let p = compute(&example(), "a2", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&p).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&p).expect("serialises");
        assert_eq!(
            json["cohort"],
            serde_json::json!({"type": "job_role", "sizeBand": "≥5"})
        );
        let m = &json["metrics"][2];
        for key in [
            "name",
            "value",
            "percentile",
            "median",
            "p25",
            "p75",
            "cohort",
        ] {
            assert!(m.get(key).is_some(), "missing metrics.{key}: {m}");
        }
        assert_eq!(m["name"], "meanFirstAttemptScore");
        assert!(m["percentile"].is_u64());
        let back: PeerComparison = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, p);
    }

    #[test]
    fn an_unknown_or_not_yet_created_user_is_insufficient_data() {
        let mut data = example();
        let p = compute(&data, "ghost", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::InsufficientData);
        assert_eq!(p.header.reasons, ["unknown_user"]);
        assert!(p.metrics.is_empty() && p.cohort.is_none());
        data.users[0].created_at = ts("2025-06-30T06:00:00Z");
        let p = compute(&data, "a0", ts(AS_OF), &Config::default());
        assert_eq!(p.header.reasons, ["unknown_user"]);
    }

    #[test]
    fn an_inactive_subject_is_still_compared_with_the_active_members() {
        let mut data = example();
        data.users[2].status = crate::input::UserStatus::Inactive; // a2
        let p = compute(&data, "a2", ts(AS_OF), &Config::default());
        let m = released(&p, PeerMetric::MeanFirstAttemptScore);
        // Cohort rA is still the six learners: a2 is counted as the subject.
        assert_eq!(
            (m.percentile, m.cohort.cohort_type),
            (50, CohortType::JobRole)
        );
        // a0's role cohort lost a2: five members, four peers < k = 5 → department (8 − 1 = 7).
        let q = compute(&data, "a0", ts(AS_OF), &Config::default());
        let m = released(&q, PeerMetric::MeanFirstAttemptScore);
        assert_eq!(m.cohort.cohort_type, CohortType::Department);
        // .4 among .4 .5 .6 .7 .8 .55 .9: (0 + .5)/7 = 7.14 → 7.
        assert_eq!(m.percentile, 7);
    }

    #[test]
    fn one_memo_gives_every_member_the_payload_of_a_fresh_computation() {
        let data = example();
        let idx = data.index();
        let cfg = Config::default();
        let memo = CohortMemo::new();
        assert_eq!(snapshot_day(ts(AS_OF)), ts("2025-06-30T00:00:00Z"));
        for u in &data.users {
            assert_eq!(
                compute_shared(&idx, &u.id, ts(AS_OF), &cfg, &memo),
                compute_indexed(&idx, &u.id, ts(AS_OF), &cfg),
                "{}",
                u.id
            );
        }
        assert_eq!(
            compute(&data, "b1", ts(AS_OF), &cfg),
            compute_indexed(&idx, "b1", ts(AS_OF), &cfg)
        );
    }

    mod properties {
        //! peerComparison on small random datasets: no panic, no NaN or infinity, every
        //! released cohort holds at least k + 1 members of the subject's organisation sharing
        //! the cohort's attribute, nothing after `asOf` matters, and snapshots agree.

        use super::*;
        use crate::test_support::{arb_as_of, non_finite_paths};
        use crate::trainer::testdata::{arb_org_dataset, cut_at_as_of};
        use chrono::TimeDelta;
        use proptest::prelude::*;

        const SUBJECTS: [&str; 5] = ["u0", "u1", "u2", "u3", "ghost"];

        /// [`arb_org_dataset`] plus a fourth learner u3 (a copy of u0, sometimes in another
        /// organisation with the same role and department).
        fn arb_data() -> impl Strategy<Value = Dataset> {
            (arb_org_dataset(), any::<bool>()).prop_map(|(mut data, other_org)| {
                let mut u3 = data.users[0].clone();
                u3.id = "u3".into();
                if other_org {
                    u3.org_id = "o2".into();
                    let mut o2 = data.organizations[0].clone();
                    o2.id = "o2".into();
                    data.organizations.push(o2);
                }
                data.users.push(u3);
                let copies: Vec<_> = data
                    .attempts
                    .iter()
                    .filter(|a| a.user_id == "u0")
                    .cloned()
                    .map(|mut a| {
                        a.user_id = "u3".into();
                        a.id.push_str("-u3");
                        a
                    })
                    .collect();
                data.attempts.extend(copies);
                data
            })
        }

        fn check(
            idx: &DatasetIndex<'_>,
            subject: &str,
            p: &PeerComparison,
            as_of: DateTime<Utc>,
            cfg: &Config,
        ) -> Result<(), TestCaseError> {
            prop_assert!(
                non_finite_paths(p).is_empty(),
                "non-finite: {:?}",
                non_finite_paths(p)
            );
            prop_assert_eq!(p.header.as_of, snapshot_day(as_of));
            let k = usize::try_from(cfg.samples.k_anonymity.max(1)).unwrap_or(usize::MAX);
            let cohorts = released_cohorts(idx, subject, as_of, cfg);
            let released: Vec<&ReleasedMetric> = p
                .metrics
                .iter()
                .filter_map(|r| match r {
                    MetricRow::Released(m) => Some(m),
                    _ => None,
                })
                .collect();
            prop_assert_eq!(released.len(), cohorts.len());
            prop_assert_eq!(released.is_empty(), p.header.status != Status::Ok);
            let me = idx.user(subject);
            for (m, c) in released.iter().zip(&cohorts) {
                prop_assert_eq!(m.name, c.metric);
                prop_assert_eq!(m.cohort.cohort_type, c.cohort_type);
                // N ≥ k and N − 1 ≥ k, i.e. N > k.
                let n = c.members.len();
                prop_assert!(n > k, "cohort of {n} at k = {k}");
                prop_assert!(c.members.iter().any(|x| x.user_id == subject));
                let me = me.ok_or_else(|| TestCaseError::fail("released for an unknown user"))?;
                for x in &c.members {
                    prop_assert_eq!(&x.org_id, &me.org_id);
                    let peer = idx.user(&x.user_id);
                    match c.cohort_type {
                        CohortType::JobRole => {
                            prop_assert!(x.job_role_id.is_some());
                            prop_assert_eq!(&x.job_role_id, &me.job_role_id);
                            prop_assert_eq!(
                                peer.and_then(|u| u.job_role_id.clone()),
                                me.job_role_id.clone()
                            );
                        }
                        CohortType::Department => {
                            prop_assert!(x.department.is_some());
                            prop_assert_eq!(&x.department, &me.department);
                        }
                        CohortType::Organization => {
                            prop_assert!(x.job_role_id.is_none() && x.department.is_none());
                        }
                    }
                }
                prop_assert!(m.percentile <= 100);
                prop_assert!(m.p25 <= m.median && m.median <= m.p75);
                prop_assert_eq!(&m.cohort.size_band, &format!("≥{k}"));
            }
            let json = serde_json::to_string(p).unwrap_or_default();
            for forbidden in ["\"min\"", "\"max\"", "\"members\"", "\"size\""] {
                prop_assert!(!json.contains(forbidden), "{} in {}", forbidden, json);
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            #[test]
            fn peer_comparison_never_panics_and_releases_only_cohorts_of_k_plus_one(
                data in arb_data(),
                k in 1u32..4,
                shift in -3i64..3,
            ) {
                let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
                let mut cfg = Config::default();
                cfg.samples.k_anonymity = k;
                let idx = data.index();
                for subject in SUBJECTS {
                    let p = compute_indexed(&idx, subject, as_of, &cfg);
                    check(&idx, subject, &p, as_of, &cfg)?;
                }
                let memo = CohortMemo::new();
                for subject in SUBJECTS {
                    prop_assert_eq!(
                        compute_shared(&idx, subject, as_of, &cfg, &memo),
                        compute_indexed(&idx, subject, as_of, &cfg)
                    );
                }
            }

            #[test]
            fn records_stamped_after_as_of_never_change_peer_comparison(
                data in arb_data(),
                k in 1u32..4,
            ) {
                let as_of = arb_as_of();
                let mut cfg = Config::default();
                cfg.samples.k_anonymity = k;
                let cut = cut_at_as_of(&data);
                for subject in SUBJECTS {
                    prop_assert_eq!(
                        compute(&data, subject, as_of, &cfg),
                        compute(&cut, subject, as_of, &cfg)
                    );
                }
            }
        }
    }
}
