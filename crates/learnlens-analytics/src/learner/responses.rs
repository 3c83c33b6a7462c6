//! The learner's attempts and item responses as analytics 4–6 read them: one place for the
//! ordering and matching rules, so that masteryProgress, performanceAnalytics and
//! contentEffectiveness see the same evidence.
//!
//! Rules:
//! - only attempts with `submittedAt ≤ asOf` exist;
//! - **chronological order** is `submittedAt`, then `attemptNo`, then the attempt id (a total,
//!   deterministic order even for attempts submitted in the same instant);
//! - a response is **matched** when its attempt's assessment is in the dataset and lists an item
//!   with the response's `itemId` (the first such item when an assessment lists an id twice).
//!   Unmatched responses carry no skills and no place in a test, so analytics skip them and
//!   count them;
//! - when an attempt holds several responses to the same item, only the first counts (a
//!   duplicate record must not count as a second opportunity).

use foldhash::{HashSet, HashSetExt};

use chrono::{DateTime, Utc};

use crate::input::{Assessment, AssessmentItem, Attempt, DatasetIndex, Response};

/// One matched response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Matched<'a> {
    pub assessment: &'a Assessment,
    pub item: &'a AssessmentItem,
    pub response: &'a Response,
}

/// The chronological key of an attempt.
pub(crate) fn chrono_key(a: &Attempt) -> (DateTime<Utc>, u32, &str) {
    (a.submitted_at, a.attempt_no, a.id.as_str())
}

/// The user's attempts stamped ≤ `as_of`, in chronological order.
pub(crate) fn attempts_until<'a>(
    idx: &DatasetIndex<'a>,
    user_id: &str,
    as_of: DateTime<Utc>,
) -> Vec<&'a Attempt> {
    let mut attempts: Vec<&'a Attempt> = idx
        .attempts_of(user_id)
        .iter()
        .filter(|a| a.submitted_at <= as_of)
        .copied()
        .collect();
    attempts.sort_by(|a, b| chrono_key(a).cmp(&chrono_key(b)));
    attempts
}

/// The matched responses of one attempt, in the attempt's response order, and the number of
/// responses that could not be matched (duplicates of an already matched item included).
pub(crate) fn matched_responses<'a>(
    idx: &DatasetIndex<'a>,
    attempt: &'a Attempt,
) -> (Vec<Matched<'a>>, usize) {
    let Some(assessment) = idx.assessment(&attempt.assessment_id) else {
        return (Vec::new(), attempt.responses.len());
    };
    let mut seen: HashSet<&str> = HashSet::new();
    let mut matched = Vec::with_capacity(attempt.responses.len());
    let mut unmatched = 0usize;
    for response in &attempt.responses {
        let item = assessment
            .items
            .iter()
            .find(|i| i.item_id == response.item_id);
        match item {
            Some(item) if seen.insert(response.item_id.as_str()) => matched.push(Matched {
                assessment,
                item,
                response,
            }),
            _ => unmatched += 1,
        }
    }
    (matched, unmatched)
}

/// The distinct skill ids an item is tagged with, in tag order.
pub(crate) fn distinct_skills(item: &AssessmentItem) -> Vec<&str> {
    let mut seen: HashSet<&str> = HashSet::new();
    item.skill_ids
        .iter()
        .map(String::as_str)
        .filter(|s| seen.insert(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{AssessmentKind, Dataset};
    use crate::test_support::*;

    fn response(item: &str, correct: bool) -> Response {
        Response {
            item_id: item.into(),
            points: if correct { 1.0 } else { 0.0 },
            correct,
        }
    }

    #[test]
    fn attempts_are_cut_at_as_of_and_ordered_by_time_then_number_then_id() {
        let mut b = attempt("b", "a1", "u1", 2, "2025-06-01T00:00:00Z", 5.0, vec![]);
        b.attempt_no = 1;
        let data = Dataset {
            attempts: vec![
                attempt("c", "a1", "u1", 1, "2025-06-02T00:00:00Z", 5.0, vec![]),
                attempt("z", "a1", "u1", 2, "2025-06-01T00:00:00Z", 5.0, vec![]),
                b,
                attempt("a", "a1", "u1", 1, "2025-06-01T00:00:00Z", 5.0, vec![]),
                attempt("late", "a1", "u1", 3, "2025-07-01T00:00:00Z", 5.0, vec![]),
            ],
            ..Dataset::default()
        };
        let idx = data.index();
        let ids: Vec<&str> = attempts_until(&idx, "u1", ts("2025-06-30T00:00:00Z"))
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "z", "c"]);
    }

    #[test]
    fn responses_match_assessment_items_once_and_the_rest_are_counted() {
        let data = Dataset {
            assessments: vec![assessment(
                "a1",
                AssessmentKind::Quiz,
                None,
                vec![
                    quiz_item("q1", &["s1"]),
                    quiz_item("q2", &["s2", "s1", "s2"]),
                ],
            )],
            attempts: vec![
                attempt(
                    "t1",
                    "a1",
                    "u1",
                    1,
                    "2025-06-01T00:00:00Z",
                    1.0,
                    vec![
                        response("q2", true),
                        response("q9", true),
                        response("q1", false),
                        response("q2", false),
                    ],
                ),
                attempt(
                    "t2",
                    "gone",
                    "u1",
                    1,
                    "2025-06-01T00:00:00Z",
                    1.0,
                    vec![response("q1", true)],
                ),
            ],
            ..Dataset::default()
        };
        let idx = data.index();
        let (matched, unmatched) = matched_responses(&idx, &data.attempts[0]);
        let items: Vec<(&str, bool)> = matched
            .iter()
            .map(|m| (m.item.item_id.as_str(), m.response.correct))
            .collect();
        assert_eq!(items, [("q2", true), ("q1", false)]);
        assert_eq!(unmatched, 2);
        assert_eq!(distinct_skills(matched[0].item), ["s2", "s1"]);
        let (none, unmatched) = matched_responses(&idx, &data.attempts[1]);
        assert!(none.is_empty());
        assert_eq!(unmatched, 1);
    }
}
