//! The input model: the entities of `sources.md` as plain serde structs, the normalised activity
//! event the xAPI client produces, the [`Dataset`] an analytic reads and the [`DatasetIndex`]
//! that answers lookups in O(1).
//!
//! Invariants and choices:
//! - JSON field names are exactly those of `sources.md` (camelCase); enum values are the
//!   snake_case words written there (`in_progress`, `self`, …).
//! - The reader is tolerant: unknown fields are ignored, because the source contracts may grow.
//!   Fields marked `?` in `sources.md` are `Option`s, omitted when absent. Two more fields are
//!   optional here although `sources.md` does not mark them: `User.department` and
//!   `User.jobRoleId`, because the OULAD adapter has neither.
//! - Numbers that the analytics treat as measurements (levels, weights, durations, scores,
//!   ratings, progress) are `f64`; the analytics themselves guard against non-finite or
//!   out-of-range values, so a bad record degrades one value, never a whole payload.
//! - Ids are opaque `String`s; when an id occurs twice in one collection the index keeps the
//!   first occurrence.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// directory
// ---------------------------------------------------------------------------------------------

/// An organisation and its strategic skill goals (directory service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub strategic_goals: Vec<StrategicGoal>,
}

/// A skill the organisation wants at `targetLevel`, with a relative `weight > 0`, for the users
/// selected by `scope`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategicGoal {
    pub skill_id: String,
    pub weight: f64,
    pub target_level: f64,
    pub scope: GoalScope,
}

/// Whom a strategic goal applies to.
///
/// JSON representation (our choice, `sources.md` only says "all or jobRoleIds[]"):
/// - `"all"`: every user of the organisation;
/// - `{"jobRoleIds": ["r1", "r2"]}`: users whose `jobRoleId` is listed.
///
/// A bare array `["r1", "r2"]` is also accepted on input and means the same as the object form;
/// output always uses `"all"` or the object form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "GoalScopeRepr", into = "GoalScopeRepr")]
pub enum GoalScope {
    All,
    JobRoles(Vec<String>),
}

impl GoalScope {
    /// Whether a user with this job role (possibly none) is in scope.
    pub fn includes(&self, job_role_id: Option<&str>) -> bool {
        match self {
            GoalScope::All => true,
            GoalScope::JobRoles(ids) => job_role_id.is_some_and(|r| ids.iter().any(|id| id == r)),
        }
    }
}

/// The wire forms of [`GoalScope`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum GoalScopeRepr {
    Keyword(ScopeKeyword),
    Object {
        #[serde(rename = "jobRoleIds")]
        job_role_ids: Vec<String>,
    },
    List(Vec<String>),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScopeKeyword {
    All,
}

impl From<GoalScopeRepr> for GoalScope {
    fn from(repr: GoalScopeRepr) -> Self {
        match repr {
            GoalScopeRepr::Keyword(ScopeKeyword::All) => GoalScope::All,
            GoalScopeRepr::Object { job_role_ids } | GoalScopeRepr::List(job_role_ids) => {
                GoalScope::JobRoles(job_role_ids)
            }
        }
    }
}

impl From<GoalScope> for GoalScopeRepr {
    fn from(scope: GoalScope) -> Self {
        match scope {
            GoalScope::All => GoalScopeRepr::Keyword(ScopeKeyword::All),
            GoalScope::JobRoles(job_role_ids) => GoalScopeRepr::Object { job_role_ids },
        }
    }
}

/// A job role and the skills it requires (directory service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRole {
    pub id: String,
    pub org_id: String,
    pub name: String,
    #[serde(default)]
    pub requirements: Vec<SkillRequirement>,
}

/// One requirement of a job role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillRequirement {
    pub skill_id: String,
    pub target_level: f64,
    pub weight: f64,
}

/// Whether a directory account is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Inactive,
}

/// A platform user (directory service). `roles` are kept as the directory's strings; the service
/// parses them into its own role type at the edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_role_id: Option<String>,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// skills
// ---------------------------------------------------------------------------------------------

/// A skill of the skills taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    pub id: String,
    pub name: String,
    pub max_level: f64,
}

/// Where a user's skill level comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillSource {
    /// Self-reported (`"self"`).
    #[serde(rename = "self")]
    SelfReported,
    Assessed,
    Inferred,
}

/// A user's current level in one skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSkill {
    pub user_id: String,
    pub skill_id: String,
    pub current_level: f64,
    pub source: SkillSource,
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// catalog
// ---------------------------------------------------------------------------------------------

/// A course of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Course {
    pub id: String,
    pub title: String,
    pub trainer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default)]
    pub skills: Vec<CourseSkill>,
    #[serde(default)]
    pub modules: Vec<CourseModule>,
    pub expected_duration_hours: f64,
    pub is_mandatory: bool,
}

/// A skill a course teaches, up to `level`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseSkill {
    pub skill_id: String,
    pub level: f64,
}

/// A module of a course and its content items, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseModule {
    pub id: String,
    #[serde(default)]
    pub content_item_ids: Vec<String>,
}

/// The kind of a content item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    Video,
    Text,
    Quiz,
    Lab,
}

/// One piece of content of a course (the object of activity statements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentItem {
    pub id: String,
    pub course_id: String,
    pub module_id: String,
    #[serde(rename = "type")]
    pub content_type: ContentType,
    pub expected_duration_min: f64,
    #[serde(default)]
    pub skill_ids: Vec<String>,
}

impl ContentItem {
    /// Expected duration in hours; 0 when the source value is negative or not finite.
    pub fn expected_hours(&self) -> f64 {
        nonneg_finite(self.expected_duration_min) / 60.0
    }
}

/// The lifecycle state of an enrollment, as the catalogue reports it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    Enrolled,
    InProgress,
    Completed,
    Dropped,
    Failed,
}

/// Who put the learner on the course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignedBy {
    /// The learner chose it (`"self"`).
    #[serde(rename = "self")]
    SelfAssigned,
    Manager,
    Mandatory,
}

/// A learner's enrollment in a course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    pub id: String,
    pub user_id: String,
    pub course_id: String,
    pub enrolled_at: DateTime<Utc>,
    pub status: EnrollmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Fraction of the course done, in \[0,1\] (clamp before use: sources may send slightly off
    /// values).
    pub progress: f64,
    pub assigned_by: AssignedBy,
}

impl Enrollment {
    /// Whether the enrollment was completed at or before `as_of` (status `completed` with a
    /// `completedAt ≤ as_of`; a completion without a date cannot be placed in time and is not
    /// counted).
    pub fn completed_by(&self, as_of: DateTime<Utc>) -> bool {
        self.status == EnrollmentStatus::Completed && self.completed_at.is_some_and(|t| t <= as_of)
    }

    /// Whether the enrollment was active (started, not yet ended) at `as_of`.
    ///
    /// The catalogue reports the status *now*, so the state at an earlier `as_of` is
    /// reconstructed from the timestamps: an enrollment that exists at `as_of` is active when its
    /// status is `enrolled`/`in_progress`, or when it is `completed`/`dropped` with an end date
    /// after `as_of`. A `failed` enrollment, or a completed/dropped one without an end date, is
    /// treated as ended (its end cannot be placed in time).
    pub fn is_active_at(&self, as_of: DateTime<Utc>) -> bool {
        if self.enrolled_at > as_of {
            return false;
        }
        match self.status {
            EnrollmentStatus::Enrolled | EnrollmentStatus::InProgress => true,
            EnrollmentStatus::Completed => self.completed_at.is_some_and(|t| t > as_of),
            EnrollmentStatus::Dropped => self.dropped_at.is_some_and(|t| t > as_of),
            EnrollmentStatus::Failed => false,
        }
    }

    /// `progress` clamped to \[0,1\]; 0 when not finite.
    pub fn progress_clamped(&self) -> f64 {
        if self.progress.is_finite() {
            self.progress.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// A learner's rating of a course and its trainer (1–5 each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    pub id: String,
    pub user_id: String,
    pub course_id: String,
    pub trainer_id: String,
    pub course_rating: f64,
    pub trainer_rating: f64,
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// assessments
// ---------------------------------------------------------------------------------------------

/// The role of an assessment in its course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentKind {
    Pre,
    Post,
    Quiz,
    Exam,
}

/// An assessment and its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    pub id: String,
    pub course_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_item_id: Option<String>,
    pub kind: AssessmentKind,
    pub max_score: f64,
    pub pass_score: f64,
    /// When the assessment is due, if the course has a schedule (not in `sources.md`'s list:
    /// an optional addition, see `docs/decisions.md`, "Drop-off features"; OULAD's
    /// `assessments.date`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// The assessment's share of the course grade, if the source says; 0 marks a formative
    /// (ungraded) assessment. An optional addition like `dueAt` (OULAD's `assessments.weight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    #[serde(default)]
    pub items: Vec<AssessmentItem>,
}

/// One scored item (question) of an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentItem {
    pub item_id: String,
    #[serde(default)]
    pub skill_ids: Vec<String>,
    pub max_points: f64,
}

/// One submitted attempt at an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub id: String,
    pub assessment_id: String,
    pub user_id: String,
    pub attempt_no: u32,
    pub submitted_at: DateTime<Utc>,
    pub score: f64,
    pub passed: bool,
    #[serde(default)]
    pub responses: Vec<Response>,
}

/// The answer to one item within an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub item_id: String,
    pub points: f64,
    pub correct: bool,
}

// ---------------------------------------------------------------------------------------------
// activity (xAPI, normalised)
// ---------------------------------------------------------------------------------------------

/// The ADL verbs learnlens reads (`http://adlnet.gov/expapi/verbs/{verb}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    Launched,
    Experienced,
    Progressed,
    Completed,
    Attempted,
    Answered,
    Passed,
    Failed,
}

/// An id that many events repeat (their user, object and course): shared, not copied, when
/// whoever gathers the events interns them (the pipeline does, per organisation, with an
/// [`IdInterner`]), because an organisation's events are most of a batch's memory.
pub type Id = std::sync::Arc<str>;

/// One xAPI statement, normalised by the activity client: actor → `userId`, object IRI →
/// `objectId` (a content item id), parent context → `courseId`, `result.duration` → seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEvent {
    pub user_id: Id,
    pub verb: Verb,
    /// The content item the statement is about.
    pub object_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_id: Option<Id>,
    pub timestamp: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_sec: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_scaled: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// OULAD's `sum_click`, carried as a result extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicks: Option<u32>,
}

/// Makes equal ids of many events one shared [`Id`]: whoever gathers an organisation's events
/// passes each through one interner (the pipeline does, as each learner's statements arrive).
#[derive(Debug, Default)]
pub struct IdInterner(std::collections::HashSet<Id>);

impl IdInterner {
    /// The shared id equal to `id`.
    pub fn id(&mut self, id: &Id) -> Id {
        if let Some(known) = self.0.get(&**id) {
            return known.clone();
        }
        self.0.insert(id.clone());
        id.clone()
    }

    /// Replaces `event`'s ids with the shared ones.
    pub fn event(&mut self, event: &mut ActivityEvent) {
        event.user_id = self.id(&event.user_id);
        event.object_id = self.id(&event.object_id);
        if let Some(course) = &event.course_id {
            event.course_id = Some(self.id(course));
        }
    }
}

impl ActivityEvent {
    /// Whether the statement says its object was completed: verb `completed` or `passed`, or
    /// `result.completion == true`.
    pub fn signals_completion(&self) -> bool {
        matches!(self.verb, Verb::Completed | Verb::Passed) || self.completion == Some(true)
    }
}

// ---------------------------------------------------------------------------------------------
// dataset and index
// ---------------------------------------------------------------------------------------------

/// All source data an analytic may read: one organisation's data (batch) or one subject's data
/// (cold request). The analytics filter by subject and `asOf` themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Dataset {
    pub organizations: Vec<Organization>,
    pub job_roles: Vec<JobRole>,
    pub users: Vec<User>,
    pub skills: Vec<Skill>,
    pub user_skills: Vec<UserSkill>,
    pub courses: Vec<Course>,
    pub content_items: Vec<ContentItem>,
    pub enrollments: Vec<Enrollment>,
    pub feedback: Vec<Feedback>,
    pub assessments: Vec<Assessment>,
    pub attempts: Vec<Attempt>,
    pub events: Vec<ActivityEvent>,
}

impl Dataset {
    /// Builds the lookup index (O(n log n) once; every lookup after that is O(1)).
    pub fn index(&self) -> DatasetIndex<'_> {
        DatasetIndex::new(self)
    }
}

/// Lookups over a [`Dataset`], built once and shared by every analytic of a batch.
///
/// Per-user and per-course lists keep the dataset's order, except events, which are sorted by
/// timestamp (stable: equal timestamps keep the dataset's order).
#[derive(Debug, Clone)]
pub struct DatasetIndex<'a> {
    data: &'a Dataset,
    organizations: HashMap<&'a str, &'a Organization>,
    job_roles: HashMap<&'a str, &'a JobRole>,
    users: HashMap<&'a str, &'a User>,
    skills: HashMap<&'a str, &'a Skill>,
    courses: HashMap<&'a str, &'a Course>,
    content_items: HashMap<&'a str, &'a ContentItem>,
    assessments: HashMap<&'a str, &'a Assessment>,
    assessments_by_course: HashMap<&'a str, Vec<&'a Assessment>>,
    user_skills_by_user: HashMap<&'a str, Vec<&'a UserSkill>>,
    enrollments_by_user: HashMap<&'a str, Vec<&'a Enrollment>>,
    enrollments_by_course: HashMap<&'a str, Vec<&'a Enrollment>>,
    content_items_by_course: HashMap<&'a str, Vec<&'a ContentItem>>,
    feedback_by_course: HashMap<&'a str, Vec<&'a Feedback>>,
    attempts_by_user: HashMap<&'a str, Vec<&'a Attempt>>,
    attempts_by_assessment: HashMap<&'a str, Vec<&'a Attempt>>,
    events_by_user: HashMap<&'a str, Vec<&'a ActivityEvent>>,
}

fn by_id<'a, T>(items: &'a [T], id: impl Fn(&'a T) -> &'a str) -> HashMap<&'a str, &'a T> {
    let mut map = HashMap::with_capacity(items.len());
    for item in items {
        // First occurrence wins.
        map.entry(id(item)).or_insert(item);
    }
    map
}

fn group_by<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> &'a str) -> HashMap<&'a str, Vec<&'a T>> {
    let mut map: HashMap<&'a str, Vec<&'a T>> = HashMap::new();
    for item in items {
        map.entry(key(item)).or_default().push(item);
    }
    map
}

impl<'a> DatasetIndex<'a> {
    /// Indexes `data`.
    pub fn new(data: &'a Dataset) -> Self {
        let mut events_by_user = group_by(&data.events, |e| &*e.user_id);
        for events in events_by_user.values_mut() {
            events.sort_by_key(|e| e.timestamp);
        }
        DatasetIndex {
            data,
            organizations: by_id(&data.organizations, |o| o.id.as_str()),
            job_roles: by_id(&data.job_roles, |r| r.id.as_str()),
            users: by_id(&data.users, |u| u.id.as_str()),
            skills: by_id(&data.skills, |s| s.id.as_str()),
            courses: by_id(&data.courses, |c| c.id.as_str()),
            content_items: by_id(&data.content_items, |c| c.id.as_str()),
            assessments: by_id(&data.assessments, |a| a.id.as_str()),
            assessments_by_course: group_by(&data.assessments, |a| a.course_id.as_str()),
            user_skills_by_user: group_by(&data.user_skills, |s| s.user_id.as_str()),
            enrollments_by_user: group_by(&data.enrollments, |e| e.user_id.as_str()),
            enrollments_by_course: group_by(&data.enrollments, |e| e.course_id.as_str()),
            content_items_by_course: group_by(&data.content_items, |c| c.course_id.as_str()),
            feedback_by_course: group_by(&data.feedback, |f| f.course_id.as_str()),
            attempts_by_user: group_by(&data.attempts, |a| a.user_id.as_str()),
            attempts_by_assessment: group_by(&data.attempts, |a| a.assessment_id.as_str()),
            events_by_user,
        }
    }

    /// The indexed dataset.
    pub fn dataset(&self) -> &'a Dataset {
        self.data
    }

    pub fn organization(&self, id: &str) -> Option<&'a Organization> {
        self.organizations.get(id).copied()
    }

    pub fn job_role(&self, id: &str) -> Option<&'a JobRole> {
        self.job_roles.get(id).copied()
    }

    pub fn user(&self, id: &str) -> Option<&'a User> {
        self.users.get(id).copied()
    }

    pub fn skill(&self, id: &str) -> Option<&'a Skill> {
        self.skills.get(id).copied()
    }

    pub fn course(&self, id: &str) -> Option<&'a Course> {
        self.courses.get(id).copied()
    }

    pub fn content_item(&self, id: &str) -> Option<&'a ContentItem> {
        self.content_items.get(id).copied()
    }

    pub fn assessment(&self, id: &str) -> Option<&'a Assessment> {
        self.assessments.get(id).copied()
    }

    /// The course's assessments, in dataset order (an id listed twice appears twice).
    pub fn assessments_in(&self, course_id: &str) -> &[&'a Assessment] {
        slice_of(&self.assessments_by_course, course_id)
    }

    /// The user's skill records (all sources, all dates).
    pub fn user_skills_of(&self, user_id: &str) -> &[&'a UserSkill] {
        slice_of(&self.user_skills_by_user, user_id)
    }

    /// The user's enrollments (all dates).
    pub fn enrollments_of(&self, user_id: &str) -> &[&'a Enrollment] {
        slice_of(&self.enrollments_by_user, user_id)
    }

    /// The course's enrollments (all dates).
    pub fn enrollments_in(&self, course_id: &str) -> &[&'a Enrollment] {
        slice_of(&self.enrollments_by_course, course_id)
    }

    /// The feedback given on a course (all dates).
    pub fn feedback_on(&self, course_id: &str) -> &[&'a Feedback] {
        slice_of(&self.feedback_by_course, course_id)
    }

    /// The user's attempts (all dates).
    pub fn attempts_of(&self, user_id: &str) -> &[&'a Attempt] {
        slice_of(&self.attempts_by_user, user_id)
    }

    /// Every user's attempts at an assessment (all dates).
    pub fn attempts_on(&self, assessment_id: &str) -> &[&'a Attempt] {
        slice_of(&self.attempts_by_assessment, assessment_id)
    }

    /// The user's activity events, sorted by timestamp (all dates: filter by `asOf`, e.g. with
    /// [`DatasetIndex::events_until`]).
    pub fn events_of(&self, user_id: &str) -> &[&'a ActivityEvent] {
        slice_of(&self.events_by_user, user_id)
    }

    /// The user's events stamped at or before `as_of`, sorted by timestamp.
    pub fn events_until(&self, user_id: &str, as_of: DateTime<Utc>) -> &[&'a ActivityEvent] {
        let events = self.events_of(user_id);
        let end = events.partition_point(|e| e.timestamp <= as_of);
        events.get(..end).unwrap_or(&[])
    }

    /// The content items of a course: those whose `courseId` is the course plus those listed by
    /// its modules (module order first, then the remaining items in dataset order), without
    /// duplicates. Ids listed by a module but absent from the dataset are skipped.
    pub fn course_items(&self, course: &Course) -> Vec<&'a ContentItem> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut items = Vec::new();
        for module in &course.modules {
            for id in &module.content_item_ids {
                if let Some(item) = self.content_item(id)
                    && seen.insert(item.id.as_str())
                {
                    items.push(item);
                }
            }
        }
        for item in slice_of(&self.content_items_by_course, &course.id) {
            if seen.insert(item.id.as_str()) {
                items.push(*item);
            }
        }
        items
    }
}

fn slice_of<'m, 'a, T>(map: &'m HashMap<&'a str, Vec<&'a T>>, key: &str) -> &'m [&'a T] {
    map.get(key).map(Vec::as_slice).unwrap_or(&[])
}

/// `x` when finite and ≥ 0, else 0.
pub(crate) fn nonneg_finite(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().expect("valid timestamp")
    }

    fn round_trip<T>(value: serde_json::Value) -> T
    where
        T: serde::de::DeserializeOwned + Serialize,
    {
        let parsed: T = serde_json::from_value(value.clone()).expect("parses");
        let back = serde_json::to_value(&parsed).expect("serialises");
        assert_eq!(back, value, "round trip changes the JSON");
        parsed
    }

    #[test]
    fn organization_round_trips_with_both_scope_forms() {
        let org: Organization = round_trip(json!({
            "id": "o1", "name": "Acme",
            "strategicGoals": [
                {"skillId": "s1", "weight": 2.0, "targetLevel": 3.0, "scope": "all"},
                {"skillId": "s2", "weight": 1.0, "targetLevel": 4.0,
                 "scope": {"jobRoleIds": ["r1", "r2"]}}
            ]
        }));
        assert_eq!(org.strategic_goals[0].scope, GoalScope::All);
        assert_eq!(
            org.strategic_goals[1].scope,
            GoalScope::JobRoles(vec!["r1".into(), "r2".into()])
        );
    }

    #[test]
    fn goal_scope_accepts_a_bare_list_of_job_roles() {
        let scope: GoalScope = serde_json::from_value(json!(["r1"])).expect("parses");
        assert_eq!(scope, GoalScope::JobRoles(vec!["r1".into()]));
        assert_eq!(
            serde_json::to_value(&scope).expect("serialises"),
            json!({"jobRoleIds": ["r1"]})
        );
        assert!(serde_json::from_value::<GoalScope>(json!("some")).is_err());
    }

    #[test]
    fn goal_scope_includes_only_listed_roles() {
        let scope = GoalScope::JobRoles(vec!["r1".into()]);
        assert!(scope.includes(Some("r1")));
        assert!(!scope.includes(Some("r2")));
        assert!(!scope.includes(None));
        assert!(GoalScope::All.includes(None));
    }

    #[test]
    fn job_role_and_user_round_trip() {
        round_trip::<JobRole>(json!({
            "id": "r1", "orgId": "o1", "name": "Engineer",
            "requirements": [{"skillId": "s1", "targetLevel": 3.0, "weight": 0.5}]
        }));
        let user: User = round_trip(json!({
            "id": "u1", "orgId": "o1", "email": "a@example.org", "name": "Ann",
            "roles": ["learner"], "department": "R&D", "jobRoleId": "r1",
            "status": "active", "createdAt": "2025-01-01T00:00:00Z"
        }));
        assert_eq!(user.status, UserStatus::Active);
        let without: User = round_trip(json!({
            "id": "u2", "orgId": "o1", "email": "b@example.org", "name": "Bo",
            "roles": [], "status": "inactive", "createdAt": "2025-01-01T00:00:00Z"
        }));
        assert_eq!(without.job_role_id, None);
    }

    #[test]
    fn skill_and_user_skill_round_trip_with_every_source() {
        round_trip::<Skill>(json!({"id": "s1", "name": "Rust", "maxLevel": 5.0}));
        for (word, source) in [
            ("self", SkillSource::SelfReported),
            ("assessed", SkillSource::Assessed),
            ("inferred", SkillSource::Inferred),
        ] {
            let us: UserSkill = round_trip(json!({
                "userId": "u1", "skillId": "s1", "currentLevel": 2.5, "source": word,
                "updatedAt": "2025-02-01T10:00:00Z"
            }));
            assert_eq!(us.source, source);
        }
    }

    #[test]
    fn course_and_content_item_round_trip() {
        let course: Course = round_trip(json!({
            "id": "c1", "title": "Rust 101", "trainerId": "t1", "orgId": "o1",
            "skills": [{"skillId": "s1", "level": 2.0}],
            "modules": [{"id": "m1", "contentItemIds": ["i1", "i2"]}],
            "expectedDurationHours": 10.0, "isMandatory": false
        }));
        assert_eq!(course.modules[0].content_item_ids.len(), 2);
        round_trip::<Course>(json!({
            "id": "c2", "title": "Global", "trainerId": "t1", "skills": [], "modules": [],
            "expectedDurationHours": 1.5, "isMandatory": true
        }));
        for (word, kind) in [
            ("video", ContentType::Video),
            ("text", ContentType::Text),
            ("quiz", ContentType::Quiz),
            ("lab", ContentType::Lab),
        ] {
            let item: ContentItem = round_trip(json!({
                "id": "i1", "courseId": "c1", "moduleId": "m1", "type": word,
                "expectedDurationMin": 90.0, "skillIds": ["s1"]
            }));
            assert_eq!(item.content_type, kind);
            assert_eq!(item.expected_hours(), 1.5);
        }
    }

    #[test]
    fn enrollment_round_trips_with_every_status_and_assigner() {
        for status in ["enrolled", "in_progress", "completed", "dropped", "failed"] {
            for assigned in ["self", "manager", "mandatory"] {
                round_trip::<Enrollment>(json!({
                    "id": "e1", "userId": "u1", "courseId": "c1",
                    "enrolledAt": "2025-01-01T00:00:00Z", "status": status,
                    "completedAt": "2025-02-01T00:00:00Z", "droppedAt": "2025-02-02T00:00:00Z",
                    "dueAt": "2025-03-01T00:00:00Z", "progress": 0.5, "assignedBy": assigned
                }));
            }
        }
        let minimal: Enrollment = round_trip(json!({
            "id": "e2", "userId": "u1", "courseId": "c1", "enrolledAt": "2025-01-01T00:00:00Z",
            "status": "in_progress", "progress": 0.0, "assignedBy": "self"
        }));
        assert_eq!(minimal.assigned_by, AssignedBy::SelfAssigned);
        assert_eq!(minimal.status, EnrollmentStatus::InProgress);
    }

    #[test]
    fn feedback_assessment_and_attempt_round_trip() {
        round_trip::<Feedback>(json!({
            "id": "f1", "userId": "u1", "courseId": "c1", "trainerId": "t1",
            "courseRating": 4.0, "trainerRating": 5.0, "createdAt": "2025-01-05T00:00:00Z"
        }));
        for kind in ["pre", "post", "quiz", "exam"] {
            round_trip::<Assessment>(json!({
                "id": "a1", "courseId": "c1", "contentItemId": "i3", "kind": kind,
                "maxScore": 100.0, "passScore": 60.0,
                "items": [{"itemId": "q1", "skillIds": ["s1"], "maxPoints": 10.0}]
            }));
        }
        let scheduled: Assessment = round_trip(json!({
            "id": "a2", "courseId": "c1", "kind": "quiz", "maxScore": 100.0, "passScore": 40.0,
            "dueAt": "2025-01-20T12:00:00Z", "weight": 0.0, "items": []
        }));
        assert_eq!(scheduled.due_at, Some(ts("2025-01-20T12:00:00Z")));
        assert_eq!(scheduled.weight, Some(0.0));
        let attempt: Attempt = round_trip(json!({
            "id": "t1", "assessmentId": "a1", "userId": "u1", "attemptNo": 2,
            "submittedAt": "2025-01-06T12:00:00Z", "score": 72.5, "passed": true,
            "responses": [{"itemId": "q1", "points": 10.0, "correct": true}]
        }));
        assert_eq!(attempt.attempt_no, 2);
    }

    #[test]
    fn activity_event_round_trips_with_every_verb() {
        for verb in [
            "launched",
            "experienced",
            "progressed",
            "completed",
            "attempted",
            "answered",
            "passed",
            "failed",
        ] {
            round_trip::<ActivityEvent>(json!({
                "userId": "u1", "verb": verb, "objectId": "i1", "courseId": "c1",
                "timestamp": "2025-01-06T12:00:00Z", "durationSec": 120.0, "scoreScaled": 0.8,
                "completion": true, "success": false, "clicks": 7
            }));
        }
        let bare: ActivityEvent = round_trip(json!({
            "userId": "u1", "verb": "experienced", "objectId": "i1",
            "timestamp": "2025-01-06T12:00:00Z"
        }));
        assert!(!bare.signals_completion());
    }

    #[test]
    fn unknown_fields_are_ignored_and_unknown_enum_values_rejected() {
        let item: Result<Skill, _> =
            serde_json::from_value(json!({"id": "s", "name": "n", "maxLevel": 5, "extra": 1}));
        assert!(item.is_ok());
        let bad: Result<Enrollment, _> = serde_json::from_value(json!({
            "id": "e", "userId": "u", "courseId": "c", "enrolledAt": "2025-01-01T00:00:00Z",
            "status": "paused", "progress": 0.0, "assignedBy": "self"
        }));
        assert!(bad.is_err());
    }

    /// Regression (reference check on the synthetic `small` set): a requirement weight written
    /// as `1.4000000000000001` (the f64 next to 1.4, as ryu prints it) was read back as 1.4 by
    /// serde_json's default float parser, which made two equal priorities of skillGapMatrix
    /// tie differently from the source data. Every float must parse to its nearest f64.
    #[test]
    fn floats_parse_to_the_nearest_f64_and_round_trip() {
        let weight = 1.4_f64.next_up();
        assert_eq!(weight.to_string(), "1.4000000000000001");
        let role: JobRole = serde_json::from_value(json!({
            "id": "r", "orgId": "o", "name": "R",
            "requirements": [{"skillId": "s", "targetLevel": 3.5, "weight": weight}]
        }))
        .expect("parses");
        let text = serde_json::to_string(&role).expect("serialises");
        let back: JobRole = serde_json::from_str(&text).expect("parses");
        assert_eq!(back.requirements[0].weight.to_bits(), weight.to_bits());
        for x in [
            0.1_f64,
            2.0 / 3.0,
            1e-300,
            123_456.789_012_345_68,
            0.300_000_000_000_000_04,
        ] {
            let parsed: f64 =
                serde_json::from_str(&serde_json::to_string(&x).expect("json")).expect("parses");
            assert_eq!(parsed.to_bits(), x.to_bits(), "{x:e}");
        }
    }

    #[test]
    fn dataset_deserialises_from_partial_json_with_defaults() {
        let data: Dataset = serde_json::from_value(json!({
            "users": [{"id": "u1", "orgId": "o1", "email": "a@b", "name": "A",
                       "status": "active", "createdAt": "2025-01-01T00:00:00Z"}]
        }))
        .expect("parses");
        assert_eq!(data.users.len(), 1);
        assert!(data.events.is_empty());
        let back: Dataset =
            serde_json::from_value(serde_json::to_value(&data).expect("serialises"))
                .expect("parses");
        assert_eq!(back, data);
    }

    #[test]
    fn an_interner_shares_equal_ids_and_changes_no_value() {
        let mut a = event("u1", "item", "2026-01-01T00:00:00Z");
        a.course_id = Some("c1".into());
        let mut b = event("u1", "item", "2026-01-02T00:00:00Z");
        b.course_id = Some("c1".into());
        let mut other = event("u2", "item2", "2026-01-02T00:00:00Z");
        let (a0, b0, other0) = (a.clone(), b.clone(), other.clone());
        assert!(!std::sync::Arc::ptr_eq(&a.user_id, &b.user_id));
        let mut ids = IdInterner::default();
        for e in [&mut a, &mut b, &mut other] {
            ids.event(e);
        }
        assert_eq!((&a, &b, &other), (&a0, &b0, &other0));
        assert!(std::sync::Arc::ptr_eq(&a.user_id, &b.user_id));
        assert!(std::sync::Arc::ptr_eq(&a.object_id, &b.object_id));
        let course = |e: &ActivityEvent| e.course_id.clone().expect("course");
        assert!(std::sync::Arc::ptr_eq(&course(&a), &course(&b)));
        assert!(!std::sync::Arc::ptr_eq(&a.user_id, &other.user_id));
    }

    fn event(user: &str, object: &str, at: &str) -> ActivityEvent {
        ActivityEvent {
            user_id: user.into(),
            verb: Verb::Experienced,
            object_id: object.into(),
            course_id: None,
            timestamp: ts(at),
            duration_sec: None,
            score_scaled: None,
            completion: None,
            success: None,
            clicks: None,
        }
    }

    fn item(id: &str, course: &str) -> ContentItem {
        ContentItem {
            id: id.into(),
            course_id: course.into(),
            module_id: "m".into(),
            content_type: ContentType::Text,
            expected_duration_min: 30.0,
            skill_ids: vec![],
        }
    }

    #[test]
    fn index_sorts_events_and_cuts_them_at_as_of() {
        let data = Dataset {
            events: vec![
                event("u1", "b", "2025-01-03T00:00:00Z"),
                event("u2", "x", "2025-01-01T00:00:00Z"),
                event("u1", "a", "2025-01-01T00:00:00Z"),
                event("u1", "c", "2025-01-05T00:00:00Z"),
            ],
            ..Dataset::default()
        };
        let idx = data.index();
        let ids: Vec<&str> = idx.events_of("u1").iter().map(|e| &*e.object_id).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(idx.events_until("u1", ts("2025-01-03T00:00:00Z")).len(), 2);
        assert!(idx.events_of("nobody").is_empty());
    }

    #[test]
    fn index_keeps_the_first_of_duplicate_ids_and_merges_course_items() {
        let mut first = item("i1", "c1");
        first.expected_duration_min = 10.0;
        let data = Dataset {
            content_items: vec![first, item("i1", "c1"), item("i2", "c1"), item("i3", "c2")],
            courses: vec![Course {
                id: "c1".into(),
                title: "C".into(),
                trainer_id: "t".into(),
                org_id: None,
                skills: vec![],
                modules: vec![CourseModule {
                    id: "m".into(),
                    content_item_ids: vec!["i3".into(), "missing".into()],
                }],
                expected_duration_hours: 1.0,
                is_mandatory: false,
            }],
            ..Dataset::default()
        };
        let idx = data.index();
        assert_eq!(
            idx.content_item("i1").map(|i| i.expected_duration_min),
            Some(10.0)
        );
        let course = idx.course("c1").expect("course");
        let ids: Vec<&str> = idx
            .course_items(course)
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(ids, ["i3", "i1", "i2"]);
    }

    #[test]
    fn index_groups_attempts_by_user_and_by_assessment() {
        let attempt = |id: &str, assessment: &str, user: &str| Attempt {
            id: id.into(),
            assessment_id: assessment.into(),
            user_id: user.into(),
            attempt_no: 1,
            submitted_at: ts("2025-01-01T00:00:00Z"),
            score: 1.0,
            passed: false,
            responses: vec![],
        };
        let data = Dataset {
            attempts: vec![
                attempt("t1", "a1", "u1"),
                attempt("t2", "a2", "u1"),
                attempt("t3", "a1", "u2"),
            ],
            ..Dataset::default()
        };
        let idx = data.index();
        let ids = |list: &[&Attempt]| list.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(idx.attempts_on("a1")), ["t1", "t3"]);
        assert_eq!(ids(idx.attempts_of("u1")), ["t1", "t2"]);
        assert!(idx.attempts_on("nothing").is_empty());
    }

    fn enrollment(status: EnrollmentStatus) -> Enrollment {
        Enrollment {
            id: "e".into(),
            user_id: "u".into(),
            course_id: "c".into(),
            enrolled_at: ts("2025-01-01T00:00:00Z"),
            status,
            completed_at: None,
            dropped_at: None,
            due_at: None,
            progress: 0.3,
            assigned_by: AssignedBy::SelfAssigned,
        }
    }

    #[test]
    fn an_enrollment_is_active_until_its_dated_end() {
        let as_of = ts("2025-02-01T00:00:00Z");
        assert!(enrollment(EnrollmentStatus::InProgress).is_active_at(as_of));
        assert!(!enrollment(EnrollmentStatus::InProgress).is_active_at(ts("2024-12-31T00:00:00Z")));
        let mut done = enrollment(EnrollmentStatus::Completed);
        done.completed_at = Some(ts("2025-03-01T00:00:00Z"));
        assert!(done.is_active_at(as_of));
        assert!(!done.completed_by(as_of));
        done.completed_at = Some(ts("2025-01-15T00:00:00Z"));
        assert!(!done.is_active_at(as_of));
        assert!(done.completed_by(as_of));
        assert!(!enrollment(EnrollmentStatus::Failed).is_active_at(as_of));
        assert!(!enrollment(EnrollmentStatus::Dropped).is_active_at(as_of));
    }
}
