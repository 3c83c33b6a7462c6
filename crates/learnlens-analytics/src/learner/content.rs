//! Analytic 6, **contentEffectiveness**: (a) which content types work for this learner
//! (completion, time against the expected duration, accuracy after completing them), and
//! (b) classical item analysis (Crocker & Algina 1986) of the assessment items the learner met.
//!
//! Interpretations, part (a) (where `analytics.md` leaves a choice):
//! - The learner's events stamped ≤ `asOf` whose `objectId` is a content item of the dataset;
//!   events about unknown objects are ignored. **started** = distinct items of the type with any
//!   event; **completed** = distinct items with a completion signal (verb `completed` or
//!   `passed`, or `result.completion = true`, see
//!   [`crate::input::ActivityEvent::signals_completion`]); completionRate = completed /
//!   started. Only types with a started item are listed, in the order video, text, quiz, lab.
//! - **timeRatio** of a completed item = its time-on-task / its expected duration, where
//!   time-on-task is the sum over the learner's events on the item (all of them ≤ `asOf`,
//!   including revisits after completion) by the session rule of [`crate::common`]
//!   (`durationSec` capped at 4 h, else the gap to the next event of the session, 0 for the
//!   last; Kovanović et al. 2015 show this choice matters). `null` for an item not completed
//!   or with an expected duration ≤ 0. **medianTimeRatio** = `np.median` of the type's
//!   defined timeRatios.
//! - **postAccuracy** of a type = correct / answered over the learner's matched responses (see
//!   `super::responses`) submitted in `(t_c, t_c + 14 d]` after the first completion t_c of
//!   a completed item c of that type, whose assessment item shares a skill with c. A response
//!   counts once per type even when it follows several items. Responses of an assessment that
//!   is attached to c itself (`Assessment.contentItemId = c`) do not count for c: answering a
//!   quiz is not evidence of what completing that quiz taught. Items without skills contribute
//!   nothing. `nResponses` = the pooled count; postAccuracy is `null` when it is 0.
//! - **lift** = postAccuracy − the learner's overall accuracy (correct / answered over all
//!   matched responses ≤ `asOf`), from nResponses ≥ `content.lift_min_n` (5) on, else `null`.
//! - **bestType** = the type with the highest lift (ties: the earlier type in the order above),
//!   `null` when no type has a lift. A negative best lift is still the best.
//!
//! Part (b):
//! - `items` = one row per content item the learner started or whose attached assessment the
//!   learner attempted (≤ `asOf`), sorted by id, with `type`, `completed` and `timeRatio` as in
//!   (a). Content items missing from the dataset are skipped.
//! - **itemStats** analyses the assessments attached to the row's content item
//!   (`Assessment.contentItemId`) that the learner attempted; assessments without a content
//!   item (course-level pre/post/exam) have no row. One content item holds several questions,
//!   and classical item analysis is per question, so `itemStats` is a **list** with one entry
//!   per question (`assessmentId`, `itemId` added to the documented fields), in assessment-id
//!   then item order; `null` for a row without an attempted assessment, or when any of its
//!   assessments has fewer than N = 30 examinees (`samples.item_statistics_min_n`; the count
//!   is in `n.itemStatsBelowMinN`).
//! - **Examinees** = every user's first attempt (lowest `attemptNo`, then `submittedAt`, then
//!   id) at the assessment stamped ≤ `asOf`, the learner included. An examinee's item score x
//!   is 1 when the first attempt holds a correct response to the item, else 0 (an omitted item
//!   is wrong); the **total** is the number-correct score Σx over the assessment's distinct
//!   items, so total − x is exactly the rest score (points are not used: partial credit would
//!   put the item and the total on different scales).
//! - difficulty p = mean x. **pointBiserial** is the **corrected** item–total correlation
//!   r = corr(x, total − x) (`scipy.stats.pointbiserialr(item, total - item)`), not the
//!   uncorrected corr(x, total), which counts the item in its own criterion (0.791 vs 0.869
//!   in the golden vector); `null` when x or the rest score is constant.
//!   **discriminationIndex** D = p_upper − p_lower over the upper and lower
//!   round(0.27·N) examinees by total (ties by user id), `content.extreme_group_fraction`.
//! - **flags** (Ebel & Frisbie 1991): `too_hard` p < 0.2, `too_easy` p > 0.9,
//!   `low_discrimination` r < 0.2, `reject` r < 0 (a negative r also has `low_discrimination`,
//!   as it is below 0.2 too); no discrimination flag when r is `null`.
//! - Neither a started item nor an attempt: status `insufficient_data`, reason `no_activity`.
//!
//! `n`: `events` (≤ asOf), `contentEvents` (on known items), `responses` (matched, ≤ asOf),
//! `correctResponses`, `unmatchedResponses`, `itemStatsBelowMinN` (assessments).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::responses::{attempts_until, distinct_skills, matched_responses};
use crate::common::{Header, SessionRule, Status, time_on_task};
use crate::config::Config;
use crate::input::{Assessment, Attempt, ContentItem, ContentType, Dataset, DatasetIndex};
use crate::memo::{CohortMemo, remember};
use crate::stats;
use crate::stats::item::{discrimination_index_at, point_biserial};

/// The contentEffectiveness payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentEffectiveness {
    #[serde(flatten)]
    pub header: Header,
    pub by_type: Vec<TypeEffectiveness>,
    pub items: Vec<ItemEffectiveness>,
    pub best_type: Option<ContentType>,
}

/// Part (a): one content type for this learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeEffectiveness {
    #[serde(rename = "type")]
    pub content_type: ContentType,
    pub started: u64,
    pub completed: u64,
    /// completed / started, in \[0,1\].
    pub completion_rate: Option<f64>,
    /// Median of actual / expected duration over the completed items.
    pub median_time_ratio: Option<f64>,
    /// Accuracy on same-skill responses within 14 days after completing items of this type.
    pub post_accuracy: Option<f64>,
    /// postAccuracy − overall accuracy, from `lift_min_n` responses on.
    pub lift: Option<f64>,
    pub n_responses: u64,
}

/// Part (b): one content item the learner met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemEffectiveness {
    pub content_item_id: String,
    #[serde(rename = "type")]
    pub content_type: ContentType,
    pub completed: bool,
    /// Actual / expected duration of a completed item.
    pub time_ratio: Option<f64>,
    /// Per-question statistics of the attached assessments the learner attempted.
    pub item_stats: Option<Vec<ItemStats>>,
}

/// Classical item statistics of one assessment item over all examinees' first attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStats {
    pub assessment_id: String,
    pub item_id: String,
    /// p, the proportion of examinees answering correctly.
    pub difficulty: f64,
    /// Corrected point-biserial r = corr(item, total − item).
    pub point_biserial: Option<f64>,
    /// Kelley's D = p_upper − p_lower.
    pub discrimination_index: Option<f64>,
    pub n_examinees: u64,
    pub flags: Vec<ItemFlag>,
}

/// Ebel & Frisbie's item review flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemFlag {
    TooHard,
    TooEasy,
    LowDiscrimination,
    Reject,
}

/// What the learner did with one content item.
#[derive(Debug, Default)]
struct ItemUse {
    started: bool,
    first_completion: Option<DateTime<Utc>>,
    seconds: f64,
}

/// One matched response of the learner, reduced to what postAccuracy needs.
#[derive(Debug)]
struct Answer<'a> {
    at: DateTime<Utc>,
    /// The content item the response's assessment is attached to, when the index knows it
    /// (the same reference as the index gives for that id, so compared by address).
    content_item: Option<&'a ContentItem>,
    /// The item's distinct skills, as numbers of [`SkillNumbers`].
    skills: Vec<usize>,
    correct: bool,
}

/// A number for each skill id the learner's answers carry, so that postAccuracy compares
/// numbers, not strings, in its answers × completed items loop.
#[derive(Debug, Default)]
struct SkillNumbers<'a>(HashMap<&'a str, usize>);

impl<'a> SkillNumbers<'a> {
    fn number(&mut self, skill: &'a str) -> usize {
        let next = self.0.len();
        *self.0.entry(skill).or_insert(next)
    }

    /// `None` for a skill no answer carries: it cannot match.
    fn get(&self, skill: &str) -> Option<usize> {
        self.0.get(skill).copied()
    }
}

/// Computes contentEffectiveness for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> ContentEffectiveness {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes contentEffectiveness for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> ContentEffectiveness {
    compute_shared(idx, user_id, as_of, cfg, &CohortMemo::new())
}

/// [`compute_indexed`] with the item statistics of each assessment taken from (and added to)
/// `memo` (they are the same for every learner: every examinee's first attempt); the same
/// payload. Records the learner's `bestType` in `memo` for recommendations.
pub fn compute_shared(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> ContentEffectiveness {
    let mut header = Header::new(as_of);
    let cc = &cfg.content;

    // The learner's use of each known content item.
    let events = idx.events_until(user_id, as_of);
    let seconds = time_on_task(events, &SessionRule::from_config(&cfg.session));
    let mut uses: HashMap<&str, (&ContentItem, ItemUse)> = HashMap::new();
    let mut content_events = 0usize;
    for (event, secs) in events.iter().zip(&seconds) {
        let Some(item) = idx.content_item(&event.object_id) else {
            continue;
        };
        content_events += 1;
        let (_, u) = uses
            .entry(item.id.as_str())
            .or_insert_with(|| (item, ItemUse::default()));
        u.started = true;
        u.seconds = (u.seconds + secs).min(f64::MAX);
        if event.signals_completion() && u.first_completion.is_none() {
            u.first_completion = Some(event.timestamp);
        }
    }

    // The learner's matched responses.
    let attempts = attempts_until(idx, user_id, as_of);
    let mut answers: Vec<Answer<'_>> = Vec::new();
    let mut skill_numbers = SkillNumbers::default();
    let mut unmatched = 0usize;
    for attempt in &attempts {
        let (matched, missed) = matched_responses(idx, attempt);
        unmatched += missed;
        for m in matched {
            answers.push(Answer {
                at: attempt.submitted_at,
                content_item: m
                    .assessment
                    .content_item_id
                    .as_deref()
                    .and_then(|id| idx.content_item(id)),
                skills: distinct_skills(m.item)
                    .into_iter()
                    .map(|s| skill_numbers.number(s))
                    .collect(),
                correct: m.response.correct,
            });
        }
    }
    let correct_total = answers.iter().filter(|a| a.correct).count();
    let overall_accuracy =
        (!answers.is_empty()).then(|| correct_total as f64 / answers.len() as f64);

    // Part (a).
    let window = TimeDelta::try_days(i64::from(cc.post_window_days)).unwrap_or(TimeDelta::MAX);
    let lift_min_n = usize::try_from(cc.lift_min_n).unwrap_or(usize::MAX);
    let mut by_kind: BTreeMap<ContentType, Vec<(&ContentItem, &ItemUse)>> = BTreeMap::new();
    for (item, u) in uses.values() {
        by_kind
            .entry(item.content_type)
            .or_default()
            .push((item, u));
    }
    let mut by_type = Vec::with_capacity(by_kind.len());
    for (kind, items) in &by_kind {
        let started = items.iter().filter(|(_, u)| u.started).count();
        let completed: Vec<&(&ContentItem, &ItemUse)> = items
            .iter()
            .filter(|(_, u)| u.first_completion.is_some())
            .collect();
        let ratios: Vec<f64> = completed
            .iter()
            .filter_map(|(item, u)| time_ratio(item, u))
            .collect();
        let (n_post, correct_post) = post_responses(&completed, &answers, &skill_numbers, window);
        let post_accuracy = (n_post > 0).then(|| correct_post as f64 / n_post as f64);
        let lift = match (post_accuracy, overall_accuracy) {
            (Some(post), Some(all)) if n_post >= lift_min_n.max(1) => Some(post - all),
            _ => None,
        };
        by_type.push(TypeEffectiveness {
            content_type: *kind,
            started: u64::try_from(started).unwrap_or(u64::MAX),
            completed: u64::try_from(completed.len()).unwrap_or(u64::MAX),
            completion_rate: (started > 0)
                .then(|| (completed.len() as f64 / started as f64).clamp(0.0, 1.0)),
            median_time_ratio: stats::median(&ratios),
            post_accuracy,
            lift,
            n_responses: u64::try_from(n_post).unwrap_or(u64::MAX),
        });
    }
    let mut best_type: Option<(ContentType, f64)> = None;
    for t in &by_type {
        if let Some(lift) = t.lift
            && best_type.is_none_or(|(_, best)| lift > best)
        {
            best_type = Some((t.content_type, lift));
        }
    }

    // Part (b): the attached assessments the learner attempted, per content item.
    let mut attempted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for attempt in &attempts {
        if let Some(assessment) = idx.assessment(&attempt.assessment_id)
            && let Some(content_id) = assessment.content_item_id.as_deref()
            && idx.content_item(content_id).is_some()
        {
            attempted
                .entry(content_id)
                .or_default()
                .insert(assessment.id.as_str());
        }
    }
    let min_n = usize::try_from(cfg.samples.item_statistics_min_n).unwrap_or(usize::MAX);
    let mut below_min_n = 0usize;
    let mut row_ids: BTreeSet<&str> = uses.keys().copied().collect();
    row_ids.extend(attempted.keys().copied());
    let mut items = Vec::with_capacity(row_ids.len());
    for id in row_ids {
        let Some(content) = idx.content_item(id) else {
            continue;
        };
        let used = uses.get(id).map(|(_, u)| u);
        let item_stats = attempted.get(id).and_then(|assessment_ids| {
            let mut stats = Vec::new();
            let mut complete = true;
            for assessment_id in assessment_ids {
                let Some(assessment) = idx.assessment(assessment_id) else {
                    continue;
                };
                let shared = remember(&memo.item_stats, *assessment_id, || {
                    let examinees = first_attempts(idx, assessment_id, as_of);
                    (examinees.len() >= min_n.max(1))
                        .then(|| item_analysis(assessment, &examinees, cfg).into())
                });
                match shared {
                    Some(s) => stats.extend(s.iter().cloned()),
                    None => {
                        below_min_n += 1;
                        complete = false;
                    }
                }
            }
            complete.then_some(stats)
        });
        items.push(ItemEffectiveness {
            content_item_id: id.to_owned(),
            content_type: content.content_type,
            completed: used.is_some_and(|u| u.first_completion.is_some()),
            time_ratio: used.and_then(|u| time_ratio(content, u)),
            item_stats,
        });
    }

    if by_type.is_empty() && items.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_activity");
    }
    header.set_n("events", events.len());
    header.set_n("contentEvents", content_events);
    header.set_n("responses", answers.len());
    header.set_n("correctResponses", correct_total);
    header.set_n("unmatchedResponses", unmatched);
    header.set_n("itemStatsBelowMinN", below_min_n);

    let best_type = best_type.map(|(kind, _)| kind);
    memo.best_types
        .borrow_mut()
        .insert(user_id.to_owned(), best_type);
    ContentEffectiveness {
        header,
        by_type,
        items,
        best_type,
    }
}

/// Actual / expected duration of a completed item with a positive expected duration.
fn time_ratio(item: &ContentItem, u: &ItemUse) -> Option<f64> {
    let expected_secs = item.expected_hours() * 3600.0;
    // `expected_hours` is finite and ≥ 0, so this also rules out NaN.
    if u.first_completion.is_none() || expected_secs <= 0.0 {
        return None;
    }
    stats::finite(u.seconds / expected_secs)
}

/// (answered, correct) over the responses that follow a completed item of the group within
/// `window`, share a skill with it and do not belong to its own assessment; each response once.
fn post_responses(
    completed: &[&(&ContentItem, &ItemUse)],
    answers: &[Answer<'_>],
    skill_numbers: &SkillNumbers<'_>,
    window: TimeDelta,
) -> (usize, usize) {
    // Each completed item's window and skills, computed once rather than once per answer.
    struct After<'i> {
        done: DateTime<Utc>,
        end: DateTime<Utc>,
        item: &'i ContentItem,
        skills: Vec<usize>,
    }
    let windows: Vec<After<'_>> = completed
        .iter()
        .filter_map(|(item, u)| {
            let done = u.first_completion?;
            Some(After {
                done,
                end: done
                    .checked_add_signed(window)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
                item,
                skills: item
                    .skill_ids
                    .iter()
                    .filter_map(|s| skill_numbers.get(s))
                    .collect(),
            })
        })
        .collect();
    let (mut n, mut correct) = (0usize, 0usize);
    for answer in answers {
        let follows = windows.iter().any(|w| {
            w.done < answer.at
                && answer.at <= w.end
                && !answer.content_item.is_some_and(|c| std::ptr::eq(c, w.item))
                && w.skills.iter().any(|s| answer.skills.contains(s))
        });
        if follows {
            n += 1;
            if answer.correct {
                correct += 1;
            }
        }
    }
    (n, correct)
}

/// Every user's first attempt (≤ `as_of`) at each of the `needed` assessments, sorted by
/// user id.
fn first_attempts<'a>(
    idx: &DatasetIndex<'a>,
    assessment_id: &str,
    as_of: DateTime<Utc>,
) -> Vec<&'a Attempt> {
    let mut first: BTreeMap<&'a str, &'a Attempt> = BTreeMap::new();
    for attempt in idx.attempts_on(assessment_id) {
        if attempt.submitted_at > as_of {
            continue;
        }
        let held = first.entry(attempt.user_id.as_str()).or_insert(attempt);
        if first_key(attempt) < first_key(held) {
            *held = attempt;
        }
    }
    first.into_values().collect()
}

/// The order that picks an examinee's first attempt: number, then time, then id.
fn first_key(a: &Attempt) -> (u32, DateTime<Utc>, &str) {
    (a.attempt_no, a.submitted_at, a.id.as_str())
}

/// Classical statistics of each distinct item of `assessment` over the examinees' first
/// attempts (sorted by user id).
fn item_analysis(assessment: &Assessment, examinees: &[&Attempt], cfg: &Config) -> Vec<ItemStats> {
    let cc = &cfg.content;
    let mut seen: HashSet<&str> = HashSet::new();
    let questions: Vec<&str> = assessment
        .items
        .iter()
        .map(|i| i.item_id.as_str())
        .filter(|id| seen.insert(id))
        .collect();
    // x[e][q]: the first response of examinee e to question q is correct.
    let scores: Vec<Vec<f64>> = examinees
        .iter()
        .map(|attempt| {
            questions
                .iter()
                .map(|q| {
                    let correct = attempt
                        .responses
                        .iter()
                        .find(|r| r.item_id == *q)
                        .is_some_and(|r| r.correct);
                    if correct { 1.0 } else { 0.0 }
                })
                .collect()
        })
        .collect();
    let totals: Vec<f64> = scores.iter().map(|row| row.iter().sum()).collect();
    let n = examinees.len();
    questions
        .iter()
        .enumerate()
        .map(|(q, item_id)| {
            let x: Vec<f64> = scores
                .iter()
                .map(|row| row.get(q).copied().unwrap_or(0.0))
                .collect();
            let difficulty = stats::mean(&x).unwrap_or(0.0).clamp(0.0, 1.0);
            let r = point_biserial(&x, &totals, true);
            let records: Vec<(&str, bool, f64)> = examinees
                .iter()
                .zip(&x)
                .zip(&totals)
                .map(|((a, xi), t)| (a.user_id.as_str(), *xi == 1.0, *t))
                .collect();
            let d = discrimination_index_at(&records, cc.extreme_group_fraction);
            let mut flags = Vec::new();
            if difficulty < cc.difficulty_low {
                flags.push(ItemFlag::TooHard);
            }
            if difficulty > cc.difficulty_high {
                flags.push(ItemFlag::TooEasy);
            }
            if let Some(r) = r {
                if r < cc.discrimination_min {
                    flags.push(ItemFlag::LowDiscrimination);
                }
                if r < 0.0 {
                    flags.push(ItemFlag::Reject);
                }
            }
            ItemStats {
                assessment_id: assessment.id.clone(),
                item_id: (*item_id).to_owned(),
                difficulty,
                point_biserial: r,
                discrimination_index: d,
                n_examinees: u64::try_from(n).unwrap_or(u64::MAX),
                flags,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{ActivityEvent, AssessmentKind, Response, Verb};
    use crate::stats::testutil::assert_t1;
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn answer(item: &str, correct: bool) -> Response {
        Response {
            item_id: item.into(),
            points: if correct { 1.0 } else { 0.0 },
            correct,
        }
    }

    fn content(id: &str, kind: ContentType, minutes: f64, skills: &[&str]) -> ContentItem {
        let mut c = item(id, "c1", minutes);
        c.content_type = kind;
        c.skill_ids = skills.iter().map(|s| (*s).to_owned()).collect();
        c
    }

    fn ev(object: &str, verb: Verb, at: &str, secs: Option<f64>) -> ActivityEvent {
        let mut e = event("u1", object, verb, at);
        e.duration_sec = secs;
        e
    }

    /// Part (a) example (hand-computed in the tests below):
    /// - v1 video 60 min [s1]: 1800 s + 1800 s, completed 06-01T10:30 → ratio 1;
    /// - v2 video 30 min [s2]: started only (its completion is after asOf);
    /// - t1 text 20 min [s1]: 600 s + 0 s, completed 06-03T09:10 → ratio 0.5;
    /// - k1 quiz 10 min [s1], with its own assessment aq: passed 06-04T09:00, 300 s → 0.5;
    /// - l1 lab 0 min []: completed, no ratio.
    ///
    /// Responses (ax: p1 [s1], p2 [s2], p3 [s1, s2]; aq: qa [s1]):
    /// - A1 ax 05-30: F T F (before every completion);
    /// - A2 ax 06-02T12:00: T F T;
    /// - A3 aq 06-04T09:05: T;
    /// - A5 ax 06-10: T T F;
    /// - A4 ax 06-20: F (after every 14-day window).
    fn example() -> Dataset {
        let ax = assessment(
            "ax",
            AssessmentKind::Quiz,
            None,
            vec![
                quiz_item("p1", &["s1"]),
                quiz_item("p2", &["s2"]),
                quiz_item("p3", &["s1", "s2"]),
            ],
        );
        let aq = assessment(
            "aq",
            AssessmentKind::Quiz,
            Some("k1"),
            vec![quiz_item("qa", &["s1"])],
        );
        let mut flagged = ev("t1", Verb::Experienced, "2025-06-03T09:10:00Z", Some(0.0));
        flagged.completion = Some(true);
        Dataset {
            content_items: vec![
                content("v1", ContentType::Video, 60.0, &["s1"]),
                content("v2", ContentType::Video, 30.0, &["s2"]),
                content("t1", ContentType::Text, 20.0, &["s1"]),
                content("k1", ContentType::Quiz, 10.0, &["s1"]),
                content("l1", ContentType::Lab, 0.0, &[]),
            ],
            events: vec![
                ev("v1", Verb::Launched, "2025-06-01T10:00:00Z", Some(1800.0)),
                ev("v1", Verb::Completed, "2025-06-01T10:30:00Z", Some(1800.0)),
                ev("v2", Verb::Experienced, "2025-06-02T10:00:00Z", Some(900.0)),
                ev("t1", Verb::Experienced, "2025-06-03T09:00:00Z", Some(600.0)),
                flagged,
                ev("k1", Verb::Passed, "2025-06-04T09:00:00Z", Some(300.0)),
                ev("l1", Verb::Completed, "2025-06-05T09:00:00Z", Some(60.0)),
                ev("x9", Verb::Completed, "2025-06-05T10:00:00Z", Some(60.0)),
                ev("v2", Verb::Completed, "2025-07-01T10:00:00Z", Some(60.0)),
            ],
            assessments: vec![ax, aq],
            attempts: vec![
                attempt(
                    "A1",
                    "ax",
                    "u1",
                    1,
                    "2025-05-30T00:00:00Z",
                    1.0,
                    vec![answer("p1", false), answer("p2", true), answer("p3", false)],
                ),
                attempt(
                    "A2",
                    "ax",
                    "u1",
                    2,
                    "2025-06-02T12:00:00Z",
                    2.0,
                    vec![answer("p1", true), answer("p2", false), answer("p3", true)],
                ),
                attempt(
                    "A3",
                    "aq",
                    "u1",
                    1,
                    "2025-06-04T09:05:00Z",
                    1.0,
                    vec![answer("qa", true)],
                ),
                attempt(
                    "A4",
                    "ax",
                    "u1",
                    4,
                    "2025-06-20T00:00:00Z",
                    0.0,
                    vec![answer("p1", false)],
                ),
                attempt(
                    "A5",
                    "ax",
                    "u1",
                    3,
                    "2025-06-10T00:00:00Z",
                    2.0,
                    vec![answer("p1", true), answer("p2", true), answer("p3", false)],
                ),
            ],
            ..Dataset::default()
        }
    }

    fn of_type(c: &ContentEffectiveness, kind: ContentType) -> &TypeEffectiveness {
        c.by_type
            .iter()
            .find(|t| t.content_type == kind)
            .expect("type listed")
    }

    #[test]
    fn completion_rate_and_median_time_ratio_per_type() {
        let c = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(c.header.status, Status::Ok);
        let kinds: Vec<ContentType> = c.by_type.iter().map(|t| t.content_type).collect();
        assert_eq!(
            kinds,
            [
                ContentType::Video,
                ContentType::Text,
                ContentType::Quiz,
                ContentType::Lab
            ]
        );
        let video = of_type(&c, ContentType::Video);
        assert_eq!((video.started, video.completed), (2, 1));
        assert_eq!(video.completion_rate, Some(0.5));
        assert_eq!(video.median_time_ratio, Some(1.0));
        let text = of_type(&c, ContentType::Text);
        assert_eq!(
            (text.completion_rate, text.median_time_ratio),
            (Some(1.0), Some(0.5))
        );
        assert_eq!(of_type(&c, ContentType::Quiz).median_time_ratio, Some(0.5));
        let lab = of_type(&c, ContentType::Lab);
        assert_eq!((lab.completed, lab.median_time_ratio), (1, None));
        assert_eq!(c.header.n.get("contentEvents"), Some(&7));
        assert_eq!(c.header.n.get("events"), Some(&8));
    }

    #[test]
    fn post_accuracy_pools_same_skill_responses_within_fourteen_days_after_completion() {
        let c = compute(&example(), "u1", ts(AS_OF), &Config::default());
        // Video (v1 done 06-01T10:30, s1): A2 p1 T, p3 T; A3 qa T; A5 p1 T, p3 F → 4/5.
        let video = of_type(&c, ContentType::Video);
        assert_eq!(video.n_responses, 5);
        assert_t1(video.post_accuracy.expect("post"), 0.8);
        // Text (t1 done 06-03T09:10): A3 qa T; A5 p1 T, p3 F → 2/3.
        let text = of_type(&c, ContentType::Text);
        assert_eq!(text.n_responses, 3);
        assert_t1(text.post_accuracy.expect("post"), 2.0 / 3.0);
        // Quiz (k1 done 06-04T09:00): its own assessment aq does not count; A5 p1, p3 → 1/2.
        let quiz = of_type(&c, ContentType::Quiz);
        assert_eq!(quiz.n_responses, 2);
        assert_t1(quiz.post_accuracy.expect("post"), 0.5);
        // Lab: no skills, nothing follows.
        let lab = of_type(&c, ContentType::Lab);
        assert_eq!((lab.n_responses, lab.post_accuracy), (0, None));
    }

    #[test]
    fn lift_needs_five_post_responses_and_best_type_has_the_highest_lift() {
        let c = compute(&example(), "u1", ts(AS_OF), &Config::default());
        // Overall: 6 of 11 responses correct.
        assert_eq!(c.header.n.get("responses"), Some(&11));
        assert_eq!(c.header.n.get("correctResponses"), Some(&6));
        assert_t1(
            of_type(&c, ContentType::Video).lift.expect("n = 5"),
            0.8 - 6.0 / 11.0,
        );
        assert_eq!(of_type(&c, ContentType::Text).lift, None);
        assert_eq!(of_type(&c, ContentType::Quiz).lift, None);
        assert_eq!(c.best_type, Some(ContentType::Video));

        let mut cfg = Config::default();
        cfg.content.lift_min_n = 2;
        let c = compute(&example(), "u1", ts(AS_OF), &cfg);
        assert_t1(
            of_type(&c, ContentType::Text).lift.expect("n = 3"),
            2.0 / 3.0 - 6.0 / 11.0,
        );
        assert_t1(
            of_type(&c, ContentType::Quiz).lift.expect("n = 2"),
            0.5 - 6.0 / 11.0,
        );
        assert_eq!(c.best_type, Some(ContentType::Video));
    }

    #[test]
    fn a_negative_best_lift_is_still_the_best_type() {
        let mut data = example();
        // Every answer after the first attempt wrong: post-video accuracy 0/5, overall 1/11.
        for a in &mut data.attempts {
            if a.id != "A1" {
                a.responses.iter_mut().for_each(|r| r.correct = false);
            }
        }
        let c = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_t1(
            of_type(&c, ContentType::Video).lift.expect("lift"),
            -1.0 / 11.0,
        );
        assert_eq!(c.best_type, Some(ContentType::Video));
    }

    #[test]
    fn without_any_lift_best_type_is_null() {
        let mut data = example();
        // Without A3 the video pool has only 4 responses.
        data.attempts.retain(|a| a.id != "A3");
        let c = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(of_type(&c, ContentType::Video).n_responses, 4);
        assert!(c.by_type.iter().all(|t| t.lift.is_none()));
        assert_eq!(c.best_type, None);
    }

    #[test]
    fn items_list_started_and_attempted_content_with_item_stats_null_below_thirty() {
        let c = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let rows: Vec<(&str, bool, Option<f64>)> = c
            .items
            .iter()
            .map(|i| (i.content_item_id.as_str(), i.completed, i.time_ratio))
            .collect();
        assert_eq!(
            rows,
            [
                ("k1", true, Some(0.5)),
                ("l1", true, None),
                ("t1", true, Some(0.5)),
                ("v1", true, Some(1.0)),
                ("v2", false, None),
            ]
        );
        // k1's assessment has one examinee: below N = 30.
        assert!(c.items.iter().all(|i| i.item_stats.is_none()));
        assert_eq!(c.header.n.get("itemStatsBelowMinN"), Some(&1));
    }

    /// An item id and whether examinee i answers it correctly.
    type Pattern = (&'static str, fn(usize) -> bool);

    /// 30 examinees u00…u29 of quiz k1 (assessment aq, items q1…q8), first attempts by the
    /// patterns below; retakes (all correct) and an attempt after asOf must not count.
    fn item_data(examinees: usize) -> Dataset {
        let patterns: [Pattern; 8] = [
            ("q1", |i| i >= 10),
            ("q2", |i| i >= 26),
            ("q3", |i| i != 3),
            ("q4", |_| false), // omitted by everyone
            ("q5", |i| i < 8),
            ("q6", |i| i >= 15),
            ("q7", |i| i >= 5 && i % 4 != 0),
            ("q8", |i| (i * 7) % 10 < 5),
        ];
        let items: Vec<_> = patterns
            .iter()
            .map(|(q, _)| quiz_item(q, &["s1"]))
            .collect();
        let mut attempts = Vec::new();
        for i in 0..examinees {
            let user = format!("u{i:02}");
            let responses = patterns
                .iter()
                .filter(|(q, _)| *q != "q4")
                .map(|(q, f)| answer(q, f(i)))
                .collect();
            attempts.push(attempt(
                &format!("f{i}"),
                "aq",
                &user,
                1,
                "2025-06-10T00:00:00Z",
                1.0,
                responses,
            ));
            if i % 5 == 0 {
                let all = patterns.iter().map(|(q, _)| answer(q, true)).collect();
                attempts.push(attempt(
                    &format!("r{i}"),
                    "aq",
                    &user,
                    2,
                    "2025-06-11T00:00:00Z",
                    8.0,
                    all,
                ));
            }
        }
        attempts.push(attempt(
            "late",
            "aq",
            "u99",
            1,
            "2025-07-10T00:00:00Z",
            0.0,
            vec![],
        ));
        Dataset {
            content_items: vec![content("k1", ContentType::Quiz, 10.0, &["s1"])],
            assessments: vec![assessment("aq", AssessmentKind::Quiz, Some("k1"), items)],
            attempts,
            ..Dataset::default()
        }
    }

    #[test]
    fn item_analysis_matches_scipy_over_every_examinees_first_attempt() {
        let c = compute(&item_data(30), "u05", ts(AS_OF), &Config::default());
        assert_eq!(c.items.len(), 1);
        let row = &c.items[0];
        assert_eq!((row.content_item_id.as_str(), row.completed), ("k1", false));
        let stats = row.item_stats.as_ref().expect("N = 30");
        // numpy mean, scipy.stats.pointbiserialr(x, total - x), and Kelley's D with
        // g = round(0.27·30) = 8, ties by user id (reference script alongside the design).
        let want: [(&str, f64, Option<f64>, f64); 8] = [
            ("q1", 0.6666666666666666, Some(0.31622776601683794), 0.375),
            ("q2", 0.13333333333333333, Some(0.2836322754279955), 0.375),
            ("q3", 0.9666666666666667, Some(0.11816976065812389), 0.125),
            ("q4", 0.0, None, 0.0),
            ("q5", 0.26666666666666666, Some(-0.708300211202276), -0.25),
            ("q6", 0.5, Some(0.3490050304482666), 0.625),
            ("q7", 0.6333333333333333, Some(0.17266763669698532), 0.75),
            ("q8", 0.5, Some(-0.09370425713316365), 0.625),
        ];
        assert_eq!(stats.len(), want.len());
        for (got, (id, p, r, d)) in stats.iter().zip(want) {
            assert_eq!(
                (got.assessment_id.as_str(), got.item_id.as_str()),
                ("aq", id)
            );
            assert_eq!(got.n_examinees, 30);
            assert_t1(got.difficulty, p);
            match (got.point_biserial, r) {
                (Some(g), Some(w)) => assert_t1(g, w),
                (g, w) => assert_eq!(g, w, "{id}"),
            }
            assert_t1(got.discrimination_index.expect("D"), d);
        }
        // q8: the uncorrected r would be +0.352 (scipy), the corrected one is negative.
        use ItemFlag::*;
        let flags: Vec<&[ItemFlag]> = stats.iter().map(|s| s.flags.as_slice()).collect();
        assert_eq!(
            flags,
            [
                &[][..],
                &[TooHard][..],
                &[TooEasy, LowDiscrimination][..],
                &[TooHard][..],
                &[LowDiscrimination, Reject][..],
                &[][..],
                &[LowDiscrimination][..],
                &[LowDiscrimination, Reject][..],
            ]
        );
    }

    #[test]
    fn twenty_nine_examinees_give_null_item_stats() {
        let c = compute(&item_data(29), "u05", ts(AS_OF), &Config::default());
        assert_eq!(c.items[0].item_stats, None);
        assert_eq!(c.header.n.get("itemStatsBelowMinN"), Some(&1));
    }

    #[test]
    fn a_constant_rest_score_gives_a_null_point_biserial() {
        // One-item quiz: total − item = 0 for everyone.
        let mut data = item_data(30);
        data.assessments[0].items.truncate(1);
        let c = compute(&data, "u05", ts(AS_OF), &Config::default());
        let stats = c.items[0].item_stats.as_ref().expect("N = 30");
        assert_eq!(stats.len(), 1);
        assert_eq!(stats[0].point_biserial, None);
        assert!(stats[0].flags.is_empty());
        assert_eq!(stats[0].discrimination_index, Some(1.0)); // 8 right on top, 8 wrong below
    }

    #[test]
    fn a_learner_who_did_not_attempt_the_quiz_gets_no_item_row() {
        let c = compute(&item_data(30), "nobody", ts(AS_OF), &Config::default());
        assert!(c.items.is_empty() && c.by_type.is_empty());
        assert_eq!(c.header.status, Status::InsufficientData);
        assert_eq!(c.header.reasons, ["no_activity"]);
        assert_eq!(c.best_type, None);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let c = compute(&item_data(30), "u05", ts(AS_OF), &Config::default());
        let a = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&a).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&a).expect("serialises");
        for key in ["byType", "items", "bestType"] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["bestType"], "video");
        for key in [
            "type",
            "started",
            "completed",
            "completionRate",
            "medianTimeRatio",
            "postAccuracy",
            "lift",
            "nResponses",
        ] {
            assert!(json["byType"][0].get(key).is_some(), "byType.{key}");
        }
        for key in [
            "contentItemId",
            "type",
            "completed",
            "timeRatio",
            "itemStats",
        ] {
            assert!(json["items"][0].get(key).is_some(), "items.{key}");
        }
        let json = serde_json::to_value(&c).expect("serialises");
        for key in [
            "assessmentId",
            "itemId",
            "difficulty",
            "pointBiserial",
            "discriminationIndex",
            "nExaminees",
            "flags",
        ] {
            assert!(
                json["items"][0]["itemStats"][0].get(key).is_some(),
                "itemStats.{key}"
            );
        }
        assert_eq!(json["items"][0]["itemStats"][4]["flags"][1], "reject");
        let back: ContentEffectiveness = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, c);
    }
}
