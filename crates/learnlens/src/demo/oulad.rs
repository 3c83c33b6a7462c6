//! The OULAD data set as demo sources (`learnlens sources --dataset oulad`): its entities as a
//! [`Dataset`] for the JSON contracts, and its 10.6 million click rows as a compact index for
//! the statements resource ([`OuladStatements`]).
//!
//! Mapping (sources.md, "Demo sources"; the functions are [`crate::oulad::map`]): one
//! organisation; a user per student; a course per presentation; an enrollment per
//! registration with a `studentInfo` row; an assessment per `assessments` row; an attempt per
//! scored `studentAssessment` row; one `experienced` statement per `studentVle` row. OULAD has
//! no job roles, skills, content items, feedback, trainers or item responses, and none are
//! invented: those collections are empty and a course's `trainerId` is empty.
//!
//! The click index: at start-up every presentation's `studentVle` rows are streamed (one
//! Parquet row group at a time) into one vector of 16-byte rows (student, day, presentation,
//! site, clicks), sized from the Parquet footers and sorted in that order, about 170 MB. An `agent` query is a binary search; the unfiltered stream is
//! a scan in that order; a statement is built only when its page is served. The cursor is the
//! row's index, and the statement id is derived from it.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use learnlens_analytics::Dataset;
use uuid::Uuid;

use super::statements::{
    BadCursor, Cursor, Statement, StatementFilter, StatementPage, StatementStore,
};
use crate::oulad::{FinalResult, Oulad, Presentation, StudentVleRow, day_noon, map};

const DAY_SECS: i64 = 86_400;
const NOON_SECS: i64 = 43_200;

/// One click row, packed (16 bytes with padding). The derived order, field by field, is the
/// stream's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Click {
    student: u32,
    /// Days since 1970-01-01 (the presentation's start plus OULAD's `date`): absolute, so
    /// that a student's rows of two presentations sort by time.
    day: i16,
    /// Index into [`OuladStatements::presentations`].
    presentation: u8,
    site: u32,
    clicks: u32,
}

/// What a statement needs of its presentation.
#[derive(Debug, Clone)]
struct PresentationInfo {
    course_id: String,
    start: DateTime<Utc>,
    /// Days from 1970-01-01 to the start (a presentation starts at midnight UTC).
    start_day: i64,
}

/// The statements of OULAD's click rows, from a packed index in memory.
pub struct OuladStatements {
    rows: Vec<Click>,
    presentations: Vec<PresentationInfo>,
}

/// Builds an [`OuladStatements`]: push rows in any order, then [`ClickIndexBuilder::finish`].
pub struct ClickIndexBuilder {
    rows: Vec<Click>,
    presentations: Vec<PresentationInfo>,
}

impl ClickIndexBuilder {
    /// A builder for the rows of `presentations` (at most 256), with room for `capacity` rows.
    pub fn new(presentations: &[Presentation], capacity: usize) -> anyhow::Result<Self> {
        if presentations.len() > usize::from(u8::MAX) + 1 {
            anyhow::bail!("more than 256 presentations");
        }
        let presentations = presentations
            .iter()
            .map(|p| {
                let start = p.start()?;
                Ok(PresentationInfo {
                    course_id: p.course_id(),
                    start,
                    start_day: start.timestamp().div_euclid(DAY_SECS),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(ClickIndexBuilder {
            rows: Vec::with_capacity(capacity),
            presentations,
        })
    }

    /// Adds a row of the presentation at `presentation`; a value that does not fit the packed
    /// row (or a day that cannot be stamped) is an error, never a truncation.
    pub fn push(&mut self, presentation: usize, row: &StudentVleRow) -> anyhow::Result<()> {
        let info = self
            .presentations
            .get(presentation)
            .context("no such presentation")?;
        let bad = |what: &str| {
            anyhow::anyhow!(
                "{}: click row of student {} on site {}: {what} out of range",
                info.course_id,
                row.id_student,
                row.id_site
            )
        };
        day_noon(info.start, row.date).ok_or_else(|| bad("date"))?;
        let day = info
            .start_day
            .checked_add(row.date)
            .and_then(|d| i16::try_from(d).ok())
            .ok_or_else(|| bad("date"))?;
        let click = Click {
            student: u32::try_from(row.id_student).map_err(|_| bad("id_student"))?,
            day,
            presentation: u8::try_from(presentation).map_err(|_| bad("presentation"))?,
            site: u32::try_from(row.id_site).map_err(|_| bad("id_site"))?,
            clicks: row.sum_click,
        };
        self.rows.push(click);
        Ok(())
    }

    /// Sorts the rows by (student, day, presentation, site, clicks). Rows equal in every
    /// field are indistinguishable, so the order, and with it every cursor and statement id,
    /// depends only on the data (not on the order of the pushes).
    pub fn finish(self) -> OuladStatements {
        let ClickIndexBuilder {
            mut rows,
            presentations,
        } = self;
        rows.sort_unstable();
        rows.shrink_to_fit();
        OuladStatements {
            rows,
            presentations,
        }
    }
}

impl OuladStatements {
    /// The statement of the row at `index`.
    fn statement(&self, index: usize, r: &Click) -> Option<Statement> {
        let p = self.presentations.get(usize::from(r.presentation))?;
        let row = StudentVleRow {
            id_student: i64::from(r.student),
            id_site: i64::from(r.site),
            date: i64::from(r.day) - p.start_day,
            sum_click: r.clicks,
        };
        Some(Statement {
            id: Uuid::new_v5(
                &Uuid::NAMESPACE_OID,
                format!("learnlens-oulad:{index}").as_bytes(),
            ),
            event: map::event(&row, &p.course_id, p.start)?,
        })
    }

    /// The rows of a student: a binary search.
    fn student_range(&self, student: u32) -> (usize, usize) {
        let lo = self.rows.partition_point(|r| r.student < student);
        let hi = self.rows.partition_point(|r| r.student <= student);
        (lo, hi)
    }

    /// Bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Click>()
    }
}

/// The days (since 1970-01-01) whose noon is inside the filter's window, as an inclusive
/// range: noon of day d is after `since` and at or before `until`.
fn day_window(filter: &StatementFilter) -> (i64, i64) {
    // Noon of day d is the whole second d·86400 + 43200, so "after since" is "at or after the
    // next whole second", and "at or before until" is "at or before its whole second".
    let lo = filter.since.map_or(i64::MIN, |s| {
        let first = s.timestamp() + 1 - NOON_SECS;
        (first + DAY_SECS - 1).div_euclid(DAY_SECS)
    });
    let hi = filter.until.map_or(i64::MAX, |u| {
        (u.timestamp() - NOON_SECS).div_euclid(DAY_SECS)
    });
    (lo, hi)
}

impl StatementStore for OuladStatements {
    fn page(
        &self,
        filter: &StatementFilter,
        from: Option<Cursor>,
        limit: usize,
    ) -> Result<StatementPage, BadCursor> {
        let from = usize::try_from(from.map_or(0, |c| c.0)).map_err(|_| BadCursor)?;
        if from > self.rows.len() {
            return Err(BadCursor);
        }
        let (lo_day, hi_day) = day_window(filter);
        let mut page = StatementPage::default();
        let (start, end) = match &filter.agent {
            None => (from, self.rows.len()),
            Some(agent) => {
                // Students are numbers; any other name is nobody.
                let Ok(student) = agent.parse::<u32>() else {
                    return Ok(page);
                };
                let (lo, hi) = self.student_range(student);
                let rows = self.rows.get(lo..hi).unwrap_or(&[]);
                let first = lo + rows.partition_point(|r| i64::from(r.day) < lo_day);
                let last = lo + rows.partition_point(|r| i64::from(r.day) <= hi_day);
                (from.max(first), last)
            }
        };
        for (i, r) in self.rows.get(start..end).unwrap_or(&[]).iter().enumerate() {
            let day = i64::from(r.day);
            if day < lo_day || day > hi_day {
                continue;
            }
            let index = start + i;
            if page.statements.len() == limit {
                page.next = Some(Cursor(index as u64));
                break;
            }
            if let Some(s) = self.statement(index, r) {
                page.statements.push(s);
            }
        }
        Ok(page)
    }

    fn total(&self) -> u64 {
        self.rows.len() as u64
    }
}

/// The OULAD sources: entities and statements.
pub struct OuladSources {
    pub entities: Dataset,
    pub statements: OuladStatements,
    /// Registrations without a `studentInfo` row or with a date that cannot be stamped: no
    /// enrollment.
    pub skipped_registrations: usize,
}

/// Reads the data set at `oulad`: the small tables whole, the click rows streamed into the
/// index. `progress` receives one line per presentation.
pub fn load(oulad: &Oulad, mut progress: impl FnMut(&str)) -> anyhow::Result<OuladSources> {
    let mut courses = oulad.courses()?;
    courses.sort_by(|a, b| a.presentation.cmp(&b.presentation));
    let presentations: Vec<Presentation> = courses.iter().map(|c| c.presentation.clone()).collect();
    let mut total = 0u64;
    for p in &presentations {
        total += oulad.student_vle_len(p)?;
    }
    let mut builder = ClickIndexBuilder::new(
        &presentations,
        usize::try_from(total).context("too many click rows")?,
    )?;
    for (i, p) in presentations.iter().enumerate() {
        let mut n = 0u64;
        for row in oulad.student_vle(p)? {
            builder.push(i, &row?)?;
            n += 1;
        }
        progress(&format!("{}: {n} click rows", p.course_id()));
    }
    let statements = builder.finish();
    progress(&format!(
        "click index: {} rows, {} MiB",
        statements.total(),
        statements.heap_bytes() >> 20
    ));

    let (entities, skipped_registrations) = entities(oulad, &courses)?;
    Ok(OuladSources {
        entities,
        statements,
        skipped_registrations,
    })
}

/// The entities of the JSON contracts, without events.
fn entities(
    oulad: &Oulad,
    courses: &[crate::oulad::CourseRow],
) -> anyhow::Result<(Dataset, usize)> {
    let mut starts: HashMap<&Presentation, (DateTime<Utc>, i64)> = HashMap::new();
    for c in courses {
        starts.insert(&c.presentation, (c.presentation.start()?, c.length_days));
    }
    let info = oulad.student_info()?;
    let results: HashMap<(&Presentation, i64), FinalResult> = info
        .iter()
        .map(|s| ((&s.presentation, s.id_student), s.final_result))
        .collect();

    let mut data = Dataset {
        organizations: vec![map::organization()],
        courses: courses
            .iter()
            .map(|c| map::course(&c.presentation))
            .collect(),
        ..Dataset::default()
    };
    let mut first_seen: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut skipped = 0;
    for reg in oulad.registrations()? {
        let (Some(&result), Some(&(start, length))) = (
            results.get(&(&reg.presentation, reg.id_student)),
            starts.get(&reg.presentation),
        ) else {
            skipped += 1;
            continue;
        };
        let Some(e) = map::enrollment(&reg, result, start, length) else {
            skipped += 1;
            continue;
        };
        first_seen
            .entry(reg.id_student)
            .and_modify(|t| *t = (*t).min(e.enrolled_at))
            .or_insert(e.enrolled_at);
        data.enrollments.push(e);
    }
    // One user per student, in studentInfo order; a student without a usable registration is
    // created at the start of the presentation of their first studentInfo row.
    let mut seen = std::collections::HashSet::new();
    for s in &info {
        if !seen.insert(s.id_student) {
            continue;
        }
        let created = match first_seen.get(&s.id_student) {
            Some(t) => *t,
            None => s.presentation.start()?,
        };
        data.users.push(map::user(s.id_student, created));
    }

    let assessments = oulad.assessments()?;
    let mut start_of_assessment: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for a in &assessments {
        let Some(&(start, _)) = starts.get(&a.presentation) else {
            continue;
        };
        start_of_assessment.insert(a.id_assessment, start);
        data.assessments.push(map::assessment(a, start));
    }
    for s in oulad.student_assessments()? {
        if let Some(&start) = start_of_assessment.get(&s.id_assessment)
            && let Some(attempt) = map::attempt(&s, start)
        {
            data.attempts.push(attempt);
        }
    }
    Ok((data, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().expect("timestamp")
    }

    fn row(student: i64, site: i64, date: i64, clicks: u32) -> StudentVleRow {
        StudentVleRow {
            id_student: student,
            id_site: site,
            date,
            sum_click: clicks,
        }
    }

    /// Two presentations eight months apart; student 7 is in both.
    fn index() -> OuladStatements {
        let ps = [
            Presentation::new("AAA", "2013J"),
            Presentation::new("BBB", "2014B"),
        ];
        let mut b = ClickIndexBuilder::new(&ps, 0).expect("builder");
        for (p, r) in [
            (1, row(7, 10, 0, 1)),
            (0, row(7, 11, 5, 2)),
            (0, row(3, 12, -2, 3)),
            (0, row(7, 13, 5, 4)),
            (1, row(9, 14, 1, 5)),
            (0, row(7, 11, 0, 6)),
        ] {
            b.push(p, &r).expect("push");
        }
        b.finish()
    }

    fn all(store: &dyn StatementStore, filter: &StatementFilter, limit: usize) -> Vec<Statement> {
        let mut out = Vec::new();
        let mut from = None;
        loop {
            let page = store.page(filter, from, limit).expect("page");
            out.extend(page.statements);
            match page.next {
                Some(c) => from = Some(c),
                None => return out,
            }
        }
    }

    fn summary(s: &[Statement]) -> Vec<(String, String, Option<u32>, DateTime<Utc>)> {
        s.iter()
            .map(|s| {
                (
                    s.event.user_id.to_string(),
                    s.event.course_id.as_deref().unwrap_or_default().to_owned(),
                    s.event.clicks,
                    s.event.timestamp,
                )
            })
            .collect()
    }

    #[test]
    fn the_stream_is_ordered_by_student_then_time_across_presentations() {
        let idx = index();
        assert_eq!(idx.total(), 6);
        let s = all(&idx, &StatementFilter::default(), 4);
        let got = summary(&s);
        let want = vec![
            (
                "3".into(),
                "AAA-2013J".into(),
                Some(3),
                ts("2013-09-29T12:00:00Z"),
            ),
            (
                "7".into(),
                "AAA-2013J".into(),
                Some(6),
                ts("2013-10-01T12:00:00Z"),
            ),
            (
                "7".into(),
                "AAA-2013J".into(),
                Some(2),
                ts("2013-10-06T12:00:00Z"),
            ),
            (
                "7".into(),
                "AAA-2013J".into(),
                Some(4),
                ts("2013-10-06T12:00:00Z"),
            ),
            (
                "7".into(),
                "BBB-2014B".into(),
                Some(1),
                ts("2014-02-01T12:00:00Z"),
            ),
            (
                "9".into(),
                "BBB-2014B".into(),
                Some(5),
                ts("2014-02-02T12:00:00Z"),
            ),
        ];
        assert_eq!(got, want);
        let e = &s[0].event;
        assert_eq!(e.verb, learnlens_analytics::input::Verb::Experienced);
        assert_eq!(&*e.object_id, "12");
        let ids: std::collections::HashSet<Uuid> = s.iter().map(|x| x.id).collect();
        assert_eq!(ids.len(), 6);
        // Ids do not depend on the query.
        let seven = all(
            &idx,
            &StatementFilter {
                agent: Some("7".into()),
                ..StatementFilter::default()
            },
            1,
        );
        assert_eq!(
            seven.iter().map(|x| x.id).collect::<Vec<_>>(),
            s[1..5].iter().map(|x| x.id).collect::<Vec<_>>()
        );
    }

    #[test]
    fn since_is_exclusive_and_until_inclusive_at_noon() {
        let idx = index();
        let q = |agent: Option<&str>, since: Option<&str>, until: Option<&str>| {
            let f = StatementFilter {
                agent: agent.map(str::to_owned),
                since: since.map(ts),
                until: until.map(ts),
            };
            summary(&all(&idx, &f, 2))
                .into_iter()
                .map(|(u, _, c, _)| (u, c))
                .collect::<Vec<_>>()
        };
        let noon = "2013-10-06T12:00:00Z";
        let just_before = "2013-10-06T11:59:59.999Z";
        assert_eq!(q(Some("7"), Some(noon), None), [("7".into(), Some(1))]);
        assert_eq!(q(Some("7"), Some(just_before), None).len(), 3);
        assert_eq!(
            q(None, None, Some(noon)),
            [
                ("3".into(), Some(3)),
                ("7".into(), Some(6)),
                ("7".into(), Some(2)),
                ("7".into(), Some(4))
            ]
        );
        assert_eq!(q(None, None, Some(just_before)).len(), 2);
        assert_eq!(
            q(None, Some("2013-10-01T12:00:00Z"), Some(noon)),
            [("7".into(), Some(2)), ("7".into(), Some(4))]
        );
        assert_eq!(q(Some("8"), None, None), []);
        assert_eq!(q(Some("not-a-student"), None, None), []);
        assert_eq!(q(Some("9"), None, Some("2014-02-01T00:00:00Z")), []);
    }

    #[test]
    fn a_cursor_past_the_end_is_refused_and_the_end_is_an_empty_page() {
        let idx = index();
        let any = StatementFilter::default();
        assert_eq!(idx.page(&any, Some(Cursor(7)), 10), Err(BadCursor));
        assert_eq!(
            idx.page(&any, Some(Cursor(6)), 10),
            Ok(StatementPage::default())
        );
        // An agent's cursor before its rows starts at its first row.
        let nine = StatementFilter {
            agent: Some("9".into()),
            ..StatementFilter::default()
        };
        let page = idx.page(&nine, Some(Cursor(0)), 10).expect("page");
        assert_eq!(page.statements.len(), 1);
    }

    #[test]
    fn values_that_do_not_fit_the_packed_row_are_errors() {
        let ps = [Presentation::new("AAA", "2013J")];
        let mut b = ClickIndexBuilder::new(&ps, 0).expect("builder");
        assert!(b.push(0, &row(-1, 1, 0, 1)).is_err());
        assert!(b.push(0, &row(1, 1 << 40, 0, 1)).is_err());
        assert!(b.push(0, &row(1, 1, 40_000, 1)).is_err());
        assert!(b.push(1, &row(1, 1, 0, 1)).is_err());
        assert!(b.push(0, &row(1, 1, 0, 1)).is_ok());
        assert_eq!(std::mem::size_of::<Click>(), 16);
    }
}
