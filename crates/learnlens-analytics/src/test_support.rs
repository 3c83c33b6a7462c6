//! Test helpers shared by the analytics' tests: entity builders, a proptest strategy for small
//! random datasets, and a check for non-finite floats in payloads.
//!
//! serde_json writes a NaN or an infinity as `null`, so checking the JSON cannot tell "undefined"
//! from "broken". [`non_finite_paths`] instead runs the payload through a serializer that sees
//! every `f32`/`f64` before any JSON encoding and reports the path of each non-finite one.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use serde::Serialize;
use serde::ser::{self, Serializer};

use crate::common::DAY_SECS;
use crate::input::*;

/// The paths (`skills.2.priority`) of every non-finite float in `value`.
pub fn non_finite_paths<T: Serialize + ?Sized>(value: &T) -> Vec<String> {
    let mut finder = Finder::default();
    // The finder itself never fails; a custom `Serialize` impl might, and then we report it.
    if let Err(e) = value.serialize(&mut finder) {
        finder.found.push(format!("<serialisation failed: {e}>"));
    }
    finder.found
}

/// Panics with the offending paths when `value` holds a non-finite float.
pub fn assert_all_finite<T: Serialize + ?Sized>(value: &T) {
    let paths = non_finite_paths(value);
    assert!(paths.is_empty(), "non-finite floats at {paths:?}");
}

// ---------------------------------------------------------------------------------------------
// builders and strategies
// ---------------------------------------------------------------------------------------------

/// Parses an RFC 3339 timestamp (test input only).
pub fn ts(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid RFC 3339 timestamp")
}

pub fn user(id: &str, org: &str, job_role: Option<&str>) -> User {
    User {
        id: id.into(),
        org_id: org.into(),
        email: format!("{id}@example.org"),
        name: id.into(),
        roles: vec!["learner".into()],
        department: Some("dept".into()),
        job_role_id: job_role.map(Into::into),
        status: UserStatus::Active,
        created_at: ts("2024-01-01T00:00:00Z"),
    }
}

pub fn course(id: &str, expected_hours: f64) -> Course {
    Course {
        id: id.into(),
        title: id.into(),
        trainer_id: "t1".into(),
        org_id: Some("o1".into()),
        skills: vec![],
        modules: vec![],
        expected_duration_hours: expected_hours,
        is_mandatory: false,
    }
}

pub fn item(id: &str, course: &str, minutes: f64) -> ContentItem {
    ContentItem {
        id: id.into(),
        course_id: course.into(),
        module_id: "m1".into(),
        content_type: ContentType::Video,
        expected_duration_min: minutes,
        skill_ids: vec![],
    }
}

pub fn enrollment(
    id: &str,
    user: &str,
    course: &str,
    enrolled_at: &str,
    status: EnrollmentStatus,
) -> Enrollment {
    Enrollment {
        id: id.into(),
        user_id: user.into(),
        course_id: course.into(),
        enrolled_at: ts(enrolled_at),
        status,
        completed_at: None,
        dropped_at: None,
        due_at: None,
        progress: 0.0,
        assigned_by: AssignedBy::SelfAssigned,
    }
}

pub fn event(user: &str, object: &str, verb: Verb, at: &str) -> ActivityEvent {
    ActivityEvent {
        user_id: user.into(),
        verb,
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

/// An assessment of course `c1` with `maxScore` 10 and `passScore` 6.
pub fn assessment(
    id: &str,
    kind: AssessmentKind,
    content_item: Option<&str>,
    items: Vec<AssessmentItem>,
) -> Assessment {
    Assessment {
        due_at: None,
        weight: None,
        id: id.into(),
        course_id: "c1".into(),
        content_item_id: content_item.map(Into::into),
        kind,
        max_score: 10.0,
        pass_score: 6.0,
        items,
    }
}

/// A one-point assessment item tagged with `skills`.
pub fn quiz_item(id: &str, skills: &[&str]) -> AssessmentItem {
    AssessmentItem {
        item_id: id.into(),
        skill_ids: skills.iter().map(|s| (*s).to_owned()).collect(),
        max_points: 1.0,
    }
}

/// A submitted attempt (`passed = false`; set it where it matters).
pub fn attempt(
    id: &str,
    assessment: &str,
    user: &str,
    attempt_no: u32,
    at: &str,
    score: f64,
    responses: Vec<Response>,
) -> Attempt {
    Attempt {
        id: id.into(),
        assessment_id: assessment.into(),
        user_id: user.into(),
        attempt_no,
        submitted_at: ts(at),
        score,
        passed: false,
        responses,
    }
}

/// The `asOf` of generated datasets; their timestamps lie within 200 days before and 10 days
/// after it.
pub fn arb_as_of() -> DateTime<Utc> {
    ts("2025-06-30T12:00:00Z")
}

fn arb_time() -> impl Strategy<Value = DateTime<Utc>> {
    let base = arb_as_of();
    // −200 days … +10 days, to the second; sometimes exactly on a bin boundary.
    prop_oneof![
        4 => (-200 * DAY_SECS..10 * DAY_SECS).prop_map(move |s| base + TimeDelta::seconds(s)),
        1 => (-30i64..2).prop_map(move |k| base + TimeDelta::seconds(k * DAY_SECS)),
    ]
}

/// Mostly ordinary non-negative values, sometimes zero, negative, huge or non-finite.
fn arb_measure(ordinary: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 0.0..ordinary,
        1 => Just(0.0),
        1 => prop_oneof![
            Just(-1.0), Just(f64::MAX), Just(1e300), Just(f64::NAN), Just(f64::INFINITY),
            Just(f64::MIN_POSITIVE),
        ],
    ]
}

fn pick(ids: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(ids).prop_map(str::to_owned)
}

const USERS: &[&str] = &["u0", "u1", "u2"];
const ITEMS: &[&str] = &["i0", "i1", "i2", "i3", "i4", "x9"];
const SKILLS: &[&str] = &["s0", "s1", "s2", "s3"];
const ROLES: &[&str] = &["r0", "r1"];

fn arb_event() -> impl Strategy<Value = ActivityEvent> {
    let verbs = [
        Verb::Launched,
        Verb::Experienced,
        Verb::Progressed,
        Verb::Completed,
        Verb::Attempted,
        Verb::Answered,
        Verb::Passed,
        Verb::Failed,
    ];
    (
        pick(USERS),
        proptest::sample::select(verbs.to_vec()),
        pick(ITEMS),
        arb_time(),
        proptest::option::of(arb_measure(20_000.0)),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(user_id, verb, object_id, timestamp, duration_sec, completion)| ActivityEvent {
                user_id: user_id.into(),
                verb,
                object_id: object_id.into(),
                course_id: None,
                timestamp,
                duration_sec,
                score_scaled: None,
                completion,
                success: None,
                clicks: None,
            },
        )
}

fn arb_enrollment() -> impl Strategy<Value = Enrollment> {
    let statuses = [
        EnrollmentStatus::Enrolled,
        EnrollmentStatus::InProgress,
        EnrollmentStatus::Completed,
        EnrollmentStatus::Dropped,
        EnrollmentStatus::Failed,
    ];
    (
        pick(USERS),
        pick(&["c0", "c1", "c2", "c9"]),
        arb_time(),
        proptest::sample::select(statuses.to_vec()),
        proptest::option::of(arb_time()),
        arb_measure(1.5),
    )
        .prop_map(
            |(user_id, course_id, enrolled_at, status, end, progress)| Enrollment {
                id: format!("e-{user_id}-{course_id}"),
                user_id,
                course_id,
                enrolled_at,
                status,
                completed_at: end,
                dropped_at: end,
                due_at: None,
                progress,
                assigned_by: AssignedBy::Manager,
            },
        )
}

fn arb_user_skill() -> impl Strategy<Value = UserSkill> {
    let sources = [
        SkillSource::SelfReported,
        SkillSource::Assessed,
        SkillSource::Inferred,
    ];
    (
        pick(USERS),
        pick(SKILLS),
        arb_measure(6.0),
        proptest::sample::select(sources.to_vec()),
        arb_time(),
    )
        .prop_map(
            |(user_id, skill_id, current_level, source, updated_at)| UserSkill {
                user_id,
                skill_id,
                current_level,
                source,
                updated_at,
            },
        )
}

fn arb_requirement() -> impl Strategy<Value = SkillRequirement> {
    (pick(SKILLS), arb_measure(6.0), arb_measure(3.0)).prop_map(
        |(skill_id, target_level, weight)| SkillRequirement {
            skill_id,
            target_level,
            weight,
        },
    )
}

fn arb_goal() -> impl Strategy<Value = StrategicGoal> {
    let scope = prop_oneof![
        Just(GoalScope::All),
        proptest::collection::vec(pick(ROLES), 0..3).prop_map(GoalScope::JobRoles),
    ];
    (pick(SKILLS), arb_measure(3.0), arb_measure(6.0), scope).prop_map(
        |(skill_id, weight, target_level, scope)| StrategicGoal {
            skill_id,
            weight,
            target_level,
            scope,
        },
    )
}

/// Small random datasets over a fixed vocabulary of ids (users u0–u2, courses c0–c2, items
/// i0–i4 plus an unknown object x9 and an unknown course c9), with random timestamps around
/// [`arb_as_of`] and occasionally hostile numbers.
pub fn arb_dataset() -> impl Strategy<Value = Dataset> {
    (
        proptest::collection::vec(arb_event(), 0..40),
        proptest::collection::vec(arb_enrollment(), 0..6),
        proptest::collection::vec(arb_user_skill(), 0..8),
        proptest::collection::vec(arb_requirement(), 0..5),
        proptest::collection::vec(arb_goal(), 0..4),
        proptest::collection::vec(arb_measure(120.0), 5),
        proptest::collection::vec(proptest::option::of(pick(ROLES)), 3),
        arb_measure(40.0),
    )
        .prop_map(
            |(events, enrollments, user_skills, requirements, goals, minutes, roles, hours)| {
                let items_per_course = ["c0", "c0", "c1", "c1", "c0"];
                Dataset {
                    organizations: vec![Organization {
                        id: "o1".into(),
                        name: "Org".into(),
                        strategic_goals: goals,
                    }],
                    job_roles: vec![
                        JobRole {
                            id: "r0".into(),
                            org_id: "o1".into(),
                            name: "R0".into(),
                            requirements,
                        },
                        JobRole {
                            id: "r1".into(),
                            org_id: "o1".into(),
                            name: "R1".into(),
                            requirements: vec![],
                        },
                    ],
                    users: USERS
                        .iter()
                        .zip(roles)
                        .map(|(id, role)| user(id, "o1", role.as_deref()))
                        .collect(),
                    skills: vec![],
                    user_skills,
                    courses: vec![course("c0", hours), course("c1", 3.0), course("c2", hours)],
                    content_items: ITEMS
                        .iter()
                        .zip(items_per_course)
                        .zip(minutes)
                        .map(|((id, c), m)| item(id, c, m))
                        .collect(),
                    enrollments,
                    feedback: vec![],
                    assessments: vec![],
                    attempts: vec![],
                    events,
                }
            },
        )
}

const ASSESSMENTS: &[&str] = &["a0", "a1", "a2", "a9"];
const QUESTIONS: &[&str] = &["q0", "q1", "q2", "q3", "q9"];

fn arb_assessment(id: &'static str) -> impl Strategy<Value = Assessment> {
    let kinds = [
        AssessmentKind::Pre,
        AssessmentKind::Post,
        AssessmentKind::Quiz,
        AssessmentKind::Exam,
    ];
    let items = proptest::collection::vec(
        (
            pick(&QUESTIONS[..4]),
            proptest::collection::vec(pick(SKILLS), 0..3),
            arb_measure(5.0),
        ),
        0..5,
    );
    (
        proptest::sample::select(kinds.to_vec()),
        proptest::option::of(pick(ITEMS)),
        arb_measure(20.0),
        arb_measure(20.0),
        items,
    )
        .prop_map(
            move |(kind, content_item_id, max_score, pass_score, items)| Assessment {
                due_at: None,
                weight: None,
                id: id.into(),
                course_id: "c0".into(),
                content_item_id,
                kind,
                max_score,
                pass_score,
                items: items
                    .into_iter()
                    .map(|(item_id, skill_ids, max_points)| AssessmentItem {
                        item_id,
                        skill_ids,
                        max_points,
                    })
                    .collect(),
            },
        )
}

fn arb_attempt() -> impl Strategy<Value = Attempt> {
    let responses = proptest::collection::vec(
        (pick(QUESTIONS), arb_measure(5.0), any::<bool>()).prop_map(
            |(item_id, points, correct)| Response {
                item_id,
                points,
                correct,
            },
        ),
        0..5,
    );
    (
        pick(USERS),
        pick(ASSESSMENTS),
        1u32..4,
        arb_time(),
        arb_measure(20.0),
        any::<bool>(),
        responses,
    )
        .prop_map(
            |(user_id, assessment_id, attempt_no, submitted_at, score, passed, responses)| {
                Attempt {
                    id: String::new(),
                    assessment_id,
                    user_id,
                    attempt_no,
                    submitted_at,
                    score,
                    passed,
                    responses,
                }
            },
        )
}

/// [`arb_dataset`] plus assessments a0–a2 (an unknown a9 is referenced too) with random kinds,
/// items, skills and occasionally hostile scores, attempts at them by u0–u2, random content
/// types for the items, and skill tags on the content items.
pub fn arb_dataset_with_attempts() -> impl Strategy<Value = Dataset> {
    let types = [
        ContentType::Video,
        ContentType::Text,
        ContentType::Quiz,
        ContentType::Lab,
    ];
    (
        arb_dataset(),
        (
            arb_assessment("a0"),
            arb_assessment("a1"),
            arb_assessment("a2"),
        ),
        proptest::collection::vec(arb_attempt(), 0..40),
        proptest::collection::vec(proptest::sample::select(types.to_vec()), 5),
        proptest::collection::vec(proptest::collection::vec(pick(SKILLS), 0..3), 5),
    )
        .prop_map(|(mut data, (a0, a1, a2), attempts, types, skills)| {
            data.assessments = vec![a0, a1, a2];
            data.attempts = attempts
                .into_iter()
                .enumerate()
                .map(|(i, mut a)| {
                    a.id = format!("t{i}");
                    a
                })
                .collect();
            for ((item, kind), skill_ids) in data.content_items.iter_mut().zip(types).zip(skills) {
                item.content_type = kind;
                item.skill_ids = skill_ids;
            }
            data
        })
}

#[derive(Default)]
struct Finder {
    path: Vec<String>,
    found: Vec<String>,
}

impl Finder {
    fn check(&mut self, v: f64) {
        if !v.is_finite() {
            self.found.push(self.path.join("."));
        }
    }

    fn nested<T: Serialize + ?Sized>(&mut self, segment: String, value: &T) -> Result<(), Error> {
        self.path.push(segment);
        let r = value.serialize(&mut *self);
        self.path.pop();
        r
    }
}

#[derive(Debug)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

struct Compound<'a> {
    finder: &'a mut Finder,
    index: usize,
    key: String,
}

impl<'a> Compound<'a> {
    fn new(finder: &'a mut Finder) -> Self {
        Compound {
            finder,
            index: 0,
            key: String::new(),
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let segment = self.index.to_string();
        self.index += 1;
        self.finder.nested(segment, value)
    }
}

impl<'a> Serializer for &'a mut Finder {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, _: bool) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.check(f64::from(v));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.check(v);
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.nested(variant.to_owned(), value)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(Compound::new(self))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::new(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::new(self))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(Compound::new(self))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // Keys are checked too (a float key would be odd, but not invisible).
        key.serialize(&mut *self.finder)?;
        self.key = serde_json::to_string(key).unwrap_or_default();
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let segment = std::mem::take(&mut self.key);
        self.finder
            .nested(segment.trim_matches('"').to_owned(), value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.finder.nested(key.to_owned(), value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.finder.nested(key.to_owned(), value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Asserts `got` equals `want` at tolerance T1 of analytics.md: |Δ| ≤ 1e-9·max(1,|ref|) is the
/// spec; the tests hold hand-computed values to the stricter 1e-12.
pub fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Inner {
        value: Option<f64>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        #[serde(flatten)]
        head: BTreeMap<String, f64>,
        items: Vec<Inner>,
        plain: f64,
    }

    #[test]
    fn finder_reports_the_path_of_each_non_finite_float() {
        let value = Outer {
            head: BTreeMap::from([("a".to_owned(), f64::INFINITY), ("b".to_owned(), 1.0)]),
            items: vec![
                Inner { value: Some(1.0) },
                Inner {
                    value: Some(f64::NAN),
                },
                Inner { value: None },
            ],
            plain: f64::NEG_INFINITY,
        };
        assert_eq!(
            non_finite_paths(&value),
            vec!["a", "items.1.value", "plain"]
        );
        // The JSON route would have hidden all three.
        let json = serde_json::to_value(&value).expect("serialises");
        assert!(json["plain"].is_null());
    }

    #[test]
    fn finder_accepts_a_finite_payload() {
        let value = Outer {
            head: BTreeMap::new(),
            items: vec![],
            plain: 0.5,
        };
        assert!(non_finite_paths(&value).is_empty());
        assert_all_finite(&value);
    }
}
