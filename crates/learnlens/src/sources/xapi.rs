//! The activity source: xAPI 1.0.3 statements from a Learning Record Store, normalised into
//! [`ActivityEvent`]s.
//!
//! Two halves, separately testable:
//! - [`parse_statements`] reads one `StatementResult` page (`{"statements": [...], "more": …}`)
//!   and maps each statement; it does no I/O. [`event_to_statement`] is its inverse, for the
//!   demo source server and tests.
//! - [`XapiClient`] pages through `GET {endpoint}/statements` following `more` (see
//!   `client.rs`).
//!
//! # Mapping (sources.md, "Activity: xAPI 1.0.3")
//! With the platform base IRI `B` (configuration `sources.activity.platform`, e.g.
//! `https://learn.example.com`):
//! - actor `{"account": {"homePage": B, "name": U}}` → user `U` (a trailing `/` on either side of
//!   the `homePage` comparison is ignored); actor `{"mbox": "mailto:E"}` → the user that the
//!   caller's [`EmailDirectory`] gives for `E` (compared in lower case). Other home pages,
//!   unknown e-mails, `mbox_sha1sum`, `openid` and groups are *unknown actors*.
//! - verb `http://adlnet.gov/expapi/verbs/{launched, experienced, progressed, completed,
//!   attempted, answered, passed, failed}` → [`Verb`]; other verbs are *unknown verbs*.
//! - object: an Activity whose id is `B/content/{id}` → content item `{id}`; other objects are
//!   *unknown objects*.
//! - course: the first `context.contextActivities.parent[].id` of the form `B/course/{id}`.
//! - In both IRIs `{id}` is percent-encoded: every byte outside `A–Z a–z 0–9 - . _ ~` is written
//!   `%XX`, so any opaque id round-trips, including ones containing `/`, `?` or `#`.
//! - `timestamp` (RFC 3339, any offset) → UTC; a statement without one falls back to `stored`.
//! - `result.duration` (ISO 8601, see [`parse_duration`]) → seconds; `result.score.scaled`
//!   (a number in [-1, 1]); `result.completion`, `result.success` (booleans); clicks from the
//!   result extension [`CLICKS_EXTENSION`] (an integer in 0..=2^32-1, OULAD's `sum_click`).
//!   A present but invalid result field becomes `None` and is counted in [`FieldCounts`]; the
//!   statement is kept.
//!
//! # Skipping
//! One bad statement never fails a page: it is skipped and counted once in [`SkipCounts`],
//! under the first reason found, checking in this order: the envelope (an object, an `id`
//! that is a UUID if present, a verb id, an object) → `malformed`; a voiding statement (verb
//! `http://adlnet.gov/expapi/verbs/voided` with a `StatementRef` object) → `voided`, and so is
//! the statement it voids; an object id, an actor, an RFC 3339 timestamp → `malformed`; the
//! actor's user → `malformed` (an ill-formed identifier) or `unknown_actor`; the verb →
//! `unknown_verb`; the object → `unknown_object`. Voiding is
//! applied within a page by [`parse_statements`] and across pages by [`XapiClient::fetch`]
//! (a conforming LRS already hides voided statements; Ralph's file backend does not).
//! So for every page: `events.len() + skipped.total() == seen`. Only a body that is not a
//! statement page (not JSON, no `statements` array, a `more` that is not a string) is an error.

mod client;
mod duration;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use learnlens_analytics::input::{ActivityEvent, Verb};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

pub use client::{FetchResult, RetryAfter, StatementQuery, XapiClient, XapiClientOptions};
pub use duration::{format_duration, parse_duration};

/// The prefix of the ADL verb ids learnlens reads.
pub const VERB_PREFIX: &str = "http://adlnet.gov/expapi/verbs/";
/// The verb of a voiding statement.
pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";
/// The result extension carrying a click count (OULAD's `sum_click`): a non-negative integer.
/// A URN because it names a learnlens convention, not a resolvable resource.
pub const CLICKS_EXTENSION: &str = "urn:learnlens:xapi:extension:clicks";

/// Errors of the activity source. The HTTP variants are kept apart so that the circuit
/// breaker can classify them: see [`XapiError::counts_as_failure`].
#[derive(Debug, thiserror::Error)]
pub enum XapiError {
    /// The LRS answered with a non-success status.
    #[error("the LRS answered HTTP {status}")]
    Status {
        status: u16,
        /// `Retry-After` of a 429 or 503, when present and readable.
        retry_after: Option<RetryAfter>,
    },
    /// No complete answer within the client's timeout.
    #[error("the LRS did not answer in time")]
    Timeout,
    /// Connecting, sending or receiving failed.
    #[error("transport error talking to the LRS: {0}")]
    Transport(String),
    /// The body is not a statement page.
    #[error("the LRS answered a body that is not a statement page: {0}")]
    Body(String),
    /// A page body exceeded the configured cap; reading stopped there.
    #[error("an LRS page exceeded {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// Paging went on past the configured number of pages.
    #[error("the LRS kept paging past {max} pages")]
    TooManyPages { max: u32 },
    /// A `more` link that is not a URL on the configured LRS.
    #[error("the LRS sent an unusable `more` link: {0}")]
    BadMore(String),
    /// The client or the platform IRI is misconfigured; nothing was sent.
    #[error("invalid activity source configuration: {0}")]
    Config(String),
    /// The LRS's circuit breaker is open: nothing was sent.
    #[error("the LRS's circuit breaker is open")]
    Open,
}

impl XapiError {
    /// Whether the circuit breaker counts this as a failure of the source (sources.md): 5xx,
    /// 429, timeouts, transport errors and bodies that are not statement pages (including
    /// oversized ones and endless or foreign paging) are, and so is a redirect (not followed:
    /// the LRS is not answering where configured); other 4xx (our request is wrong, the LRS
    /// is fine) and configuration errors are not.
    pub fn counts_as_failure(&self) -> bool {
        match self {
            XapiError::Status { status, .. } => !(400..500).contains(status) || *status == 429,
            XapiError::Timeout
            | XapiError::Transport(_)
            | XapiError::Body(_)
            | XapiError::BodyTooLarge { .. }
            | XapiError::TooManyPages { .. }
            | XapiError::BadMore(_) => true,
            XapiError::Config(_) | XapiError::Open => false,
        }
    }

    /// Whether a retry of the same GET may succeed: timeouts, transport errors, 5xx and 429.
    pub fn is_retryable(&self) -> bool {
        match self {
            XapiError::Status { status, .. } => *status >= 500 || *status == 429,
            XapiError::Timeout | XapiError::Transport(_) => true,
            _ => false,
        }
    }

    /// The `Retry-After` the LRS asked for, if any.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            XapiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The platform's base IRI: actors' `account.homePage` and the prefix of content and course
/// IRIs (`{base}/content/{id}`, `{base}/course/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// As configured; written as `homePage`.
    home_page: String,
    /// Without a trailing `/`; the prefix of IRIs.
    base: String,
}

impl Platform {
    /// An absolute `http` or `https` IRI without query or fragment.
    pub fn new(iri: &str) -> Result<Platform, XapiError> {
        let url = reqwest::Url::parse(iri)
            .map_err(|e| XapiError::Config(format!("platform IRI `{iri}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(XapiError::Config(format!(
                "platform IRI `{iri}` must be http(s) without query or fragment"
            )));
        }
        Ok(Platform {
            home_page: iri.to_owned(),
            base: iri.trim_end_matches('/').to_owned(),
        })
    }

    /// The IRI as configured (the `account.homePage` written and matched).
    pub fn as_str(&self) -> &str {
        &self.home_page
    }

    pub fn content_iri(&self, content_id: &str) -> String {
        format!("{}/content/{}", self.base, percent_encode(content_id))
    }

    pub fn course_iri(&self, course_id: &str) -> String {
        format!("{}/course/{}", self.base, percent_encode(course_id))
    }

    /// The content item id of a content IRI of this platform.
    pub fn content_id(&self, iri: &str) -> Option<String> {
        self.id_under(iri, "/content/")
    }

    /// The course id of a course IRI of this platform.
    pub fn course_id(&self, iri: &str) -> Option<String> {
        self.id_under(iri, "/course/")
    }

    fn id_under(&self, iri: &str, segment: &str) -> Option<String> {
        let encoded = iri.strip_prefix(&self.base)?.strip_prefix(segment)?;
        percent_decode(encoded)
    }

    fn is_home_page(&self, home_page: &str) -> bool {
        home_page.trim_end_matches('/') == self.base
    }
}

/// Resolves `mailto:` actors to user ids (from the directory's `User.email`).
pub trait EmailDirectory: Send + Sync {
    /// The user id of the account with this e-mail address (given in lower case).
    fn user_id(&self, email: &str) -> Option<String>;
}

/// No e-mail is known: every `mbox` actor is an unknown actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEmails;

impl EmailDirectory for NoEmails {
    fn user_id(&self, _email: &str) -> Option<String> {
        None
    }
}

/// A directory held in memory: lower-cased e-mail → user id.
#[derive(Debug, Clone, Default)]
pub struct EmailMap(HashMap<String, String>);

impl EmailMap {
    /// From `(email, user id)` pairs; e-mails are lower-cased, the first of duplicates wins.
    pub fn new<I, E, U>(pairs: I) -> EmailMap
    where
        I: IntoIterator<Item = (E, U)>,
        E: AsRef<str>,
        U: Into<String>,
    {
        let mut map = HashMap::new();
        for (email, user) in pairs {
            map.entry(email.as_ref().to_lowercase())
                .or_insert_with(|| user.into());
        }
        EmailMap(map)
    }
}

impl EmailDirectory for EmailMap {
    fn user_id(&self, email: &str) -> Option<String> {
        self.0.get(email).cloned()
    }
}

/// What [`parse_statements`] needs besides the body.
#[derive(Clone, Copy)]
pub struct Mapping<'a> {
    pub platform: &'a Platform,
    pub emails: &'a dyn EmailDirectory,
}

/// Statements skipped, by reason (each statement counted once; see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipCounts {
    pub voided: u64,
    pub malformed: u64,
    pub unknown_actor: u64,
    pub unknown_verb: u64,
    pub unknown_object: u64,
}

impl SkipCounts {
    pub fn total(&self) -> u64 {
        self.voided + self.malformed + self.unknown_actor + self.unknown_verb + self.unknown_object
    }

    pub fn add(&mut self, other: &SkipCounts) {
        self.voided += other.voided;
        self.malformed += other.malformed;
        self.unknown_actor += other.unknown_actor;
        self.unknown_verb += other.unknown_verb;
        self.unknown_object += other.unknown_object;
    }
}

/// Result fields that were present but invalid, dropped (`None`) from kept events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldCounts {
    /// `result` itself was not an object.
    pub result: u64,
    pub duration: u64,
    pub score: u64,
    pub completion: u64,
    pub success: u64,
    pub clicks: u64,
}

impl FieldCounts {
    pub fn total(&self) -> u64 {
        self.result + self.duration + self.score + self.completion + self.success + self.clicks
    }

    pub fn add(&mut self, other: &FieldCounts) {
        self.result += other.result;
        self.duration += other.duration;
        self.score += other.score;
        self.completion += other.completion;
        self.success += other.success;
        self.clicks += other.clicks;
    }
}

/// One page of statements, mapped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementPage {
    /// The kept statements, in page order.
    pub events: Vec<ActivityEvent>,
    /// The statement id of each event (`ids[i]` belongs to `events[i]`); `None` when the
    /// statement had no id.
    pub ids: Vec<Option<Uuid>>,
    /// Statements voided by this page that are not in it (another page may hold them).
    pub voids_elsewhere: Vec<Uuid>,
    /// The `more` link, when the LRS has more (an empty string means none).
    pub more: Option<String>,
    pub skipped: SkipCounts,
    pub invalid_fields: FieldCounts,
    /// Statements in the page: `events.len() + skipped.total()`.
    pub seen: u64,
}

/// A `StatementResult` with its statements still unparsed.
#[derive(serde::Deserialize)]
struct RawPage<'a> {
    #[serde(borrow)]
    statements: Vec<&'a RawValue>,
    #[serde(default)]
    more: Option<Value>,
}

/// Reads one statement page. Never panics; an `Err` only when `body` is not a statement page.
pub fn parse_statements(body: &[u8], mapping: &Mapping<'_>) -> Result<StatementPage, XapiError> {
    // Statements stay raw until each is parsed on its own, so that one statement the JSON
    // parser refuses (a number beyond f64, say) is one malformed statement, not a lost page.
    // serde would also take a `[statements, more]` array for the struct; a page is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(XapiError::Body("not a JSON object".into()));
    }
    let page: RawPage<'_> =
        serde_json::from_slice(body).map_err(|e| XapiError::Body(e.to_string()))?;
    let more = match page.more {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(XapiError::Body("`more` is not a string".into())),
    };
    let mut out = StatementPage {
        more,
        seen: page.statements.len() as u64,
        ..StatementPage::default()
    };
    let mut voided_targets = HashSet::new();
    for raw in page.statements {
        let mapped = serde_json::from_str::<Value>(raw.get())
            .map_err(|_| Skip::Malformed)
            .and_then(|statement| map_statement(&statement, mapping, &mut out.invalid_fields));
        match mapped {
            Ok((id, event)) => {
                out.ids.push(id);
                out.events.push(event);
            }
            Err(Skip::Voiding(target)) => {
                out.skipped.voided += 1;
                voided_targets.insert(target);
            }
            Err(Skip::Malformed) => out.skipped.malformed += 1,
            Err(Skip::UnknownVerb) => out.skipped.unknown_verb += 1,
            Err(Skip::UnknownActor) => out.skipped.unknown_actor += 1,
            Err(Skip::UnknownObject) => out.skipped.unknown_object += 1,
        }
    }
    if !voided_targets.is_empty() {
        let removed = remove_voided(&mut out.events, &mut out.ids, &mut voided_targets);
        out.skipped.voided += removed;
        out.voids_elsewhere = voided_targets.into_iter().collect();
    }
    Ok(out)
}

/// Removes the events whose statement id is in `targets`, and the ids it found from
/// `targets`. Returns how many events were removed.
pub(crate) fn remove_voided(
    events: &mut Vec<ActivityEvent>,
    ids: &mut Vec<Option<Uuid>>,
    targets: &mut HashSet<Uuid>,
) -> u64 {
    let before = events.len();
    let mut kept_events = Vec::with_capacity(before);
    let mut kept_ids = Vec::with_capacity(ids.len());
    let mut found = HashSet::new();
    for (event, id) in events.drain(..).zip(ids.drain(..)) {
        match id {
            Some(id) if targets.contains(&id) => {
                found.insert(id);
            }
            _ => {
                kept_events.push(event);
                kept_ids.push(id);
            }
        }
    }
    let removed = (before - kept_events.len()) as u64;
    *events = kept_events;
    *ids = kept_ids;
    targets.retain(|t| !found.contains(t));
    removed
}

/// Why a statement was not kept.
enum Skip {
    Malformed,
    /// A voiding statement and the id it voids.
    Voiding(Uuid),
    UnknownVerb,
    UnknownActor,
    UnknownObject,
}

fn map_statement(
    statement: &Value,
    mapping: &Mapping<'_>,
    invalid: &mut FieldCounts,
) -> Result<(Option<Uuid>, ActivityEvent), Skip> {
    let s = statement.as_object().ok_or(Skip::Malformed)?;
    let id = match s.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(Uuid::parse_str(id).map_err(|_| Skip::Malformed)?),
        Some(_) => return Err(Skip::Malformed),
    };
    let verb_id = s
        .get("verb")
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str)
        .ok_or(Skip::Malformed)?;
    let object = s.get("object").and_then(Value::as_object);
    let object = object.ok_or(Skip::Malformed)?;
    if verb_id == VOIDED_VERB {
        let is_ref = object.get("objectType").and_then(Value::as_str) == Some("StatementRef");
        let target = object.get("id").and_then(Value::as_str);
        return match (is_ref, target.and_then(|t| Uuid::parse_str(t).ok())) {
            (true, Some(target)) => Err(Skip::Voiding(target)),
            _ => Err(Skip::Malformed),
        };
    }
    // Agents, groups and sub-statements are valid objects without an `id`: unknown, not bad.
    let is_activity = match object.get("objectType") {
        None | Some(Value::Null) => true,
        Some(t) => t.as_str() == Some("Activity"),
    };
    let object_id = match object.get("id") {
        Some(Value::String(id)) => Some(id.as_str()),
        _ if !is_activity => None,
        _ => return Err(Skip::Malformed),
    };
    let actor = s
        .get("actor")
        .and_then(Value::as_object)
        .ok_or(Skip::Malformed)?;
    let timestamp = match s.get("timestamp").or_else(|| s.get("stored")) {
        Some(Value::String(t)) => parse_timestamp(t).ok_or(Skip::Malformed)?,
        _ => return Err(Skip::Malformed),
    };
    let user_id = actor_user_id(actor, mapping)?;
    let verb = verb_from_iri(verb_id).ok_or(Skip::UnknownVerb)?;
    let object_id = object_id
        .filter(|_| is_activity)
        .and_then(|iri| mapping.platform.content_id(iri))
        .ok_or(Skip::UnknownObject)?;
    let course_id = course_of(s.get("context"), mapping.platform);

    let mut event = ActivityEvent {
        user_id: user_id.into(),
        verb,
        object_id: object_id.into(),
        course_id: course_id.map(Into::into),
        timestamp,
        duration_sec: None,
        score_scaled: None,
        completion: None,
        success: None,
        clicks: None,
    };
    read_result(s.get("result"), &mut event, invalid);
    Ok((id, event))
}

/// The user of an actor, or why there is none.
fn actor_user_id(actor: &Map<String, Value>, mapping: &Mapping<'_>) -> Result<String, Skip> {
    match actor.get("objectType").and_then(Value::as_str) {
        None | Some("Agent") => {}
        Some("Group") => return Err(Skip::UnknownActor),
        Some(_) => return Err(Skip::Malformed),
    }
    if let Some(account) = actor.get("account") {
        let home_page = account.get("homePage").and_then(Value::as_str);
        let name = account.get("name").and_then(Value::as_str);
        let (Some(home_page), Some(name)) = (home_page, name) else {
            return Err(Skip::Malformed);
        };
        if name.is_empty() || !mapping.platform.is_home_page(home_page) {
            return Err(Skip::UnknownActor);
        }
        return Ok(name.to_owned());
    }
    if let Some(mbox) = actor.get("mbox") {
        let email = mbox
            .as_str()
            .and_then(|m| m.strip_prefix("mailto:"))
            .filter(|e| !e.is_empty())
            .ok_or(Skip::Malformed)?;
        return mapping
            .emails
            .user_id(&email.to_lowercase())
            .ok_or(Skip::UnknownActor);
    }
    if actor.contains_key("mbox_sha1sum") || actor.contains_key("openid") {
        return Err(Skip::UnknownActor);
    }
    Err(Skip::Malformed)
}

/// The course of the first parent activity that is a course IRI of the platform. xAPI allows
/// a single activity object in place of the array.
fn course_of(context: Option<&Value>, platform: &Platform) -> Option<String> {
    let parent = context?.get("contextActivities")?.get("parent")?;
    let course = |a: &Value| a.get("id")?.as_str().and_then(|id| platform.course_id(id));
    match parent {
        Value::Array(parents) => parents.iter().find_map(course),
        single => course(single),
    }
}

fn read_result(result: Option<&Value>, event: &mut ActivityEvent, invalid: &mut FieldCounts) {
    let result = match result {
        None | Some(Value::Null) => return,
        Some(Value::Object(r)) => r,
        Some(_) => {
            invalid.result += 1;
            return;
        }
    };
    if let Some(d) = result.get("duration") {
        event.duration_sec = d.as_str().and_then(parse_duration);
        invalid.duration += u64::from(event.duration_sec.is_none());
    }
    if let Some(score) = result.get("score") {
        event.score_scaled = match score.as_object().map(|s| s.get("scaled")) {
            // A score without `scaled` (raw/min/max only) is valid xAPI: nothing to read.
            Some(None) => None,
            Some(Some(v)) => {
                let scaled = v.as_f64().filter(|x| (-1.0..=1.0).contains(x));
                invalid.score += u64::from(scaled.is_none());
                scaled
            }
            None => {
                invalid.score += 1;
                None
            }
        };
    }
    if let Some(c) = result.get("completion") {
        event.completion = c.as_bool();
        invalid.completion += u64::from(event.completion.is_none());
    }
    if let Some(s) = result.get("success") {
        event.success = s.as_bool();
        invalid.success += u64::from(event.success.is_none());
    }
    if let Some(extensions) = result.get("extensions") {
        if let Some(clicks) = extensions.get(CLICKS_EXTENSION) {
            event.clicks = clicks.as_u64().and_then(|c| u32::try_from(c).ok());
            invalid.clicks += u64::from(event.clicks.is_none());
        } else if !extensions.is_object() {
            invalid.result += 1;
        }
    }
}

fn parse_timestamp(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// All verbs learnlens reads, for the mapping both ways.
const VERBS: [(Verb, &str); 8] = [
    (Verb::Launched, "launched"),
    (Verb::Experienced, "experienced"),
    (Verb::Progressed, "progressed"),
    (Verb::Completed, "completed"),
    (Verb::Attempted, "attempted"),
    (Verb::Answered, "answered"),
    (Verb::Passed, "passed"),
    (Verb::Failed, "failed"),
];

fn verb_from_iri(iri: &str) -> Option<Verb> {
    let name = iri.strip_prefix(VERB_PREFIX)?;
    VERBS.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
}

fn verb_name(verb: Verb) -> &'static str {
    VERBS
        .iter()
        .find(|(v, _)| *v == verb)
        .map_or("experienced", |(_, n)| n)
}

/// The xAPI id of a verb.
pub fn verb_iri(verb: Verb) -> String {
    format!("{VERB_PREFIX}{}", verb_name(verb))
}

/// The statement [`parse_statements`] maps back to `event` (without an `id`: an LRS assigns
/// one on POST; set one yourself to make the POST idempotent). Result fields that are `None`
/// are omitted, and so is a duration that has no ISO 8601 form (negative or not finite).
/// The same JSON as [`StatementJson`], as a `Value`.
pub fn event_to_statement(event: &ActivityEvent, platform: &Platform) -> Value {
    // Cannot fail: every map key is a string.
    serde_json::to_value(StatementJson {
        event,
        platform,
        id: None,
    })
    .unwrap_or(Value::Null)
}

/// The statement of an event, serialised directly (no `Value` tree in between): what a server
/// writing many statements uses. [`event_to_statement`] is this as a `Value`, so the two
/// cannot differ.
#[derive(Debug, Clone, Copy)]
pub struct StatementJson<'a> {
    pub event: &'a ActivityEvent,
    pub platform: &'a Platform,
    /// The statement id, if it has one.
    pub id: Option<Uuid>,
}

impl serde::Serialize for StatementJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;

        #[derive(serde::Serialize)]
        struct Agent<'a> {
            #[serde(rename = "objectType")]
            object_type: &'static str,
            account: Account<'a>,
        }
        #[derive(serde::Serialize)]
        struct Account<'a> {
            #[serde(rename = "homePage")]
            home_page: &'a str,
            name: &'a str,
        }
        #[derive(serde::Serialize)]
        struct VerbJson {
            id: String,
            display: Display,
        }
        #[derive(serde::Serialize)]
        struct Display {
            #[serde(rename = "en-US")]
            en_us: &'static str,
        }
        #[derive(serde::Serialize)]
        struct Activity {
            #[serde(rename = "objectType")]
            object_type: &'static str,
            id: String,
        }
        #[derive(serde::Serialize)]
        struct Context {
            #[serde(rename = "contextActivities")]
            context_activities: Parents,
        }
        #[derive(serde::Serialize)]
        struct Parents {
            parent: [Activity; 1],
        }
        #[derive(serde::Serialize)]
        struct ResultJson {
            #[serde(skip_serializing_if = "Option::is_none")]
            duration: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            score: Option<Score>,
            #[serde(skip_serializing_if = "Option::is_none")]
            completion: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            success: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            extensions: Option<Clicks>,
        }
        #[derive(serde::Serialize)]
        struct Score {
            scaled: f64,
        }
        struct Clicks(u32);
        impl serde::Serialize for Clicks {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(CLICKS_EXTENSION, &self.0)?;
                map.end()
            }
        }

        let e = self.event;
        let result = ResultJson {
            duration: e.duration_sec.and_then(format_duration),
            score: e.score_scaled.map(|scaled| Score { scaled }),
            completion: e.completion,
            success: e.success,
            extensions: e.clicks.map(Clicks),
        };
        let has_result = result.duration.is_some()
            || result.score.is_some()
            || result.completion.is_some()
            || result.success.is_some()
            || result.extensions.is_some();
        let mut map = serializer.serialize_map(None)?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry(
            "actor",
            &Agent {
                object_type: "Agent",
                account: Account {
                    home_page: self.platform.as_str(),
                    name: &e.user_id,
                },
            },
        )?;
        map.serialize_entry(
            "verb",
            &VerbJson {
                id: verb_iri(e.verb),
                display: Display {
                    en_us: verb_name(e.verb),
                },
            },
        )?;
        map.serialize_entry(
            "object",
            &Activity {
                object_type: "Activity",
                id: self.platform.content_iri(&e.object_id),
            },
        )?;
        map.serialize_entry(
            "timestamp",
            &e.timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        )?;
        if let Some(course) = &e.course_id {
            map.serialize_entry(
                "context",
                &Context {
                    context_activities: Parents {
                        parent: [Activity {
                            object_type: "Activity",
                            id: self.platform.course_iri(course),
                        }],
                    },
                },
            )?;
        }
        if has_result {
            map.serialize_entry("result", &result)?;
        }
        map.end()
    }
}

/// Bytes written as they are in an IRI path segment: the RFC 3986 unreserved set.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn percent_encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for &b in id.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The id in an encoded segment: non-empty, no `/ ? #`, valid `%XX` escapes, UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    if segment.is_empty() || segment.contains(['/', '?', '#']) {
        return None;
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| char::from(*b).to_digit(16))?;
            let lo = bytes.get(i + 2).and_then(|b| char::from(*b).to_digit(16))?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
