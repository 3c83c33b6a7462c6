//! The statement stream of the demo LRS: [`StatementStore`], the one abstraction behind
//! `GET /lrs/xAPI/statements`, and its two synthetic implementations (the OULAD one is in
//! [`super::oulad`]).
//!
//! A store has a fixed total order of its statements (the unfiltered stream). A [`Cursor`] is
//! an opaque position in that order, the place where the next page's scan resumes; every
//! filtered stream is the unfiltered one with non-matching statements left out, so any cursor
//! means the same thing in any query, and reading all pages of a query is one pass over the
//! statements it can touch. Statement ids are derived from the position, so a statement has
//! the same id in every query.
//!
//! - [`MemoryStatements`]: every event in memory, ordered by (timestamp, user): the stream of
//!   the `demo` and `small` synthetic sizes and of any [`Dataset`](learnlens_analytics::Dataset).
//! - [`SyntheticStatements`]: the events of a [`Generator`] regenerated per user on demand,
//!   users in generation order, each user's events chronologically: `medium` and `large`
//!   (2 and 20 million events) without holding them. An `agent` query generates that user
//!   only; a page examines at most [`SYNTHETIC_SCAN_BUDGET`] events, so a `since`/`until`
//!   query that matches little answers short (even empty) pages with `more` rather than
//!   generating the whole data set in one request.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use learnlens_analytics::input::ActivityEvent;
use uuid::Uuid;

use super::synthetic::Generator;

/// Which statements a query asks for (xAPI `agent`, `since`, `until`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementFilter {
    /// The user of an `account` agent.
    pub agent: Option<String>,
    /// Only statements stamped after this instant (exclusive).
    pub since: Option<DateTime<Utc>>,
    /// Only statements stamped at or before this instant.
    pub until: Option<DateTime<Utc>>,
}

impl StatementFilter {
    /// Whether a statement stamped `t` is inside the time window.
    pub fn admits_time(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| t > s) && self.until.is_none_or(|u| t <= u)
    }

    fn admits(&self, e: &ActivityEvent) -> bool {
        self.agent.as_deref().is_none_or(|a| *e.user_id == *a) && self.admits_time(e.timestamp)
    }
}

/// A position in a store's statement order, carried by the `more` URL. Opaque to clients;
/// each store gives the number its own meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(pub u64);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Cursor {
    type Err = BadCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadCursor);
        }
        s.parse().map(Cursor).map_err(|_| BadCursor)
    }
}

/// A cursor that is not a position of the store (malformed, or past its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not one of ours")]
pub struct BadCursor;

/// One statement: its id and the event it states.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub id: Uuid,
    pub event: ActivityEvent,
}

/// One page of statements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementPage {
    pub statements: Vec<Statement>,
    /// Where the next page resumes; `None` when the stream is exhausted.
    pub next: Option<Cursor>,
}

/// The statements a demo LRS serves.
pub trait StatementStore: Send + Sync {
    /// Up to `limit` statements matching `filter`, in the store's order, from position `from`
    /// (`None`: the start). A page may hold fewer than `limit` statements and still have a
    /// `next`; only `next == None` ends the stream.
    fn page(
        &self,
        filter: &StatementFilter,
        from: Option<Cursor>,
        limit: usize,
    ) -> Result<StatementPage, BadCursor>;

    /// The number of statements of the unfiltered stream.
    fn total(&self) -> u64;
}

/// Collects matches from an iterator of `(position, event)` pairs: stops at `limit` and sets
/// `next` to the position of the following match.
fn collect_page<'a>(
    candidates: impl Iterator<Item = (u64, Cow<'a, ActivityEvent>)>,
    filter: &StatementFilter,
    limit: usize,
    id_of: impl Fn(u64) -> Uuid,
) -> StatementPage {
    let mut page = StatementPage::default();
    for (position, event) in candidates {
        if !filter.admits(&event) {
            continue;
        }
        if page.statements.len() == limit {
            page.next = Some(Cursor(position));
            break;
        }
        page.statements.push(Statement {
            id: id_of(position),
            event: event.into_owned(),
        });
    }
    page
}

fn v5(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// in memory
// ---------------------------------------------------------------------------------------------

/// Every statement in memory, ordered by (timestamp, user); the cursor is the index.
pub struct MemoryStatements {
    events: Vec<ActivityEvent>,
}

impl MemoryStatements {
    /// Sorts `events` by (timestamp, user) (stable: ties keep their order).
    pub fn new(mut events: Vec<ActivityEvent>) -> MemoryStatements {
        events.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then_with(|| a.user_id.cmp(&b.user_id))
        });
        MemoryStatements { events }
    }
}

impl StatementStore for MemoryStatements {
    fn page(
        &self,
        filter: &StatementFilter,
        from: Option<Cursor>,
        limit: usize,
    ) -> Result<StatementPage, BadCursor> {
        let from = usize::try_from(from.map_or(0, |c| c.0)).map_err(|_| BadCursor)?;
        let rest = self.events.get(from..).ok_or(BadCursor)?;
        let candidates = rest
            .iter()
            .enumerate()
            .map(|(i, e)| ((from + i) as u64, Cow::Borrowed(e)));
        // The id names the event's place in the whole stream, as before cursors existed.
        Ok(collect_page(candidates, filter, limit, |p| {
            v5(&format!("learnlens-demo:{p}"))
        }))
    }

    fn total(&self) -> u64 {
        self.events.len() as u64
    }
}

// ---------------------------------------------------------------------------------------------
// synthetic, regenerated on demand
// ---------------------------------------------------------------------------------------------

/// The most events one page of [`SyntheticStatements`] generates and examines (after the
/// first user it touches, which is always finished): about 60 ms in a release build.
pub const SYNTHETIC_SCAN_BUDGET: u64 = 200_000;

/// The events of a [`Generator`], regenerated per user. Order: users in generation order,
/// each user's events chronologically ([`Generator::events_of`]). The cursor packs
/// (user position, offset in that user's events) as `position << 32 | offset`.
pub struct SyntheticStatements {
    generator: Arc<Generator>,
}

impl SyntheticStatements {
    pub fn new(generator: Arc<Generator>) -> SyntheticStatements {
        SyntheticStatements { generator }
    }

    /// `(user position, offset)` of a cursor, checked against the data.
    fn decode(&self, cursor: Cursor) -> Result<(usize, u64), BadCursor> {
        let user = usize::try_from(cursor.0 >> 32).map_err(|_| BadCursor)?;
        let offset = cursor.0 & 0xFFFF_FFFF;
        let users = self.generator.user_count();
        if user > users || (user == users && offset != 0) {
            return Err(BadCursor);
        }
        if user < users && offset > self.count(user) {
            return Err(BadCursor);
        }
        Ok((user, offset))
    }

    fn count(&self, user: usize) -> u64 {
        self.generator
            .user_id_at(user)
            .map_or(0, |id| self.generator.event_count(id))
    }

    fn cursor(user: usize, offset: u64) -> Cursor {
        Cursor(((user as u64) << 32) | (offset & 0xFFFF_FFFF))
    }

    fn id(&self, user_id: &str, offset: u64) -> Uuid {
        v5(&format!(
            "learnlens-synthetic:{}:{}:{user_id}:{offset}",
            self.generator.size(),
            self.generator.seed()
        ))
    }

    /// The events of the user at `user` from `offset`, with their positions.
    fn events_from(&self, user: usize, offset: u64) -> Vec<(u64, ActivityEvent)> {
        let Some(id) = self.generator.user_id_at(user) else {
            return Vec::new();
        };
        self.generator
            .events_of(id)
            .enumerate()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .map(|(k, e)| (k as u64, e))
            .collect()
    }
}

impl StatementStore for SyntheticStatements {
    fn page(
        &self,
        filter: &StatementFilter,
        from: Option<Cursor>,
        limit: usize,
    ) -> Result<StatementPage, BadCursor> {
        let (mut user, mut offset) = match from {
            Some(c) => self.decode(c)?,
            None => (0, 0),
        };
        let users = self.generator.user_count();
        let mut page = StatementPage::default();
        if let Some(agent) = &filter.agent {
            // Only this user's events can match: generate them alone.
            let Some(target) = self.generator.user_position(agent) else {
                return Ok(page);
            };
            if user > target {
                return Ok(page);
            }
            if user < target {
                offset = 0;
            }
            let events = self.events_from(target, offset);
            let user_id = agent.as_str();
            let candidates = events.into_iter().map(|(k, e)| (k, Cow::Owned(e)));
            let inner = collect_page(candidates, filter, limit, |k| self.id(user_id, k));
            return Ok(StatementPage {
                statements: inner.statements,
                next: inner.next.map(|c| Self::cursor(target, c.0)),
            });
        }
        let mut examined = 0u64;
        while user < users {
            let count = self.count(user);
            if offset >= count {
                user += 1;
                offset = 0;
                continue;
            }
            if examined >= SYNTHETIC_SCAN_BUDGET {
                // Resume here on the next page.
                page.next = Some(Self::cursor(user, offset));
                return Ok(page);
            }
            examined += count - offset;
            let user_id = self
                .generator
                .user_id_at(user)
                .unwrap_or_default()
                .to_owned();
            for (k, event) in self.events_from(user, offset) {
                if !filter.admits_time(event.timestamp) {
                    continue;
                }
                if page.statements.len() == limit {
                    page.next = Some(Self::cursor(user, k));
                    return Ok(page);
                }
                page.statements.push(Statement {
                    id: self.id(&user_id, k),
                    event,
                });
            }
            user += 1;
            offset = 0;
        }
        Ok(page)
    }

    fn total(&self) -> u64 {
        self.generator.total_events()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::synthetic::{DEFAULT_SEED, Size};

    fn all_pages(
        store: &dyn StatementStore,
        filter: &StatementFilter,
        limit: usize,
    ) -> (Vec<Statement>, usize) {
        let mut out = Vec::new();
        let mut from = None;
        let mut pages = 0;
        loop {
            let page = store.page(filter, from, limit).expect("page");
            pages += 1;
            assert!(page.statements.len() <= limit);
            out.extend(page.statements);
            match page.next {
                Some(next) => from = Some(next),
                None => return (out, pages),
            }
        }
    }

    fn key(e: &ActivityEvent) -> String {
        serde_json::to_string(e).unwrap_or_default()
    }

    #[test]
    fn cursors_are_decimal_positions_and_anything_else_is_refused() {
        assert_eq!("42".parse::<Cursor>(), Ok(Cursor(42)));
        assert_eq!(Cursor(7).to_string(), "7");
        for bad in ["", "-1", "1e3", " 1", "abc", "18446744073709551616"] {
            assert_eq!(bad.parse::<Cursor>(), Err(BadCursor), "{bad:?}");
        }
    }

    #[test]
    fn the_lazy_stream_pages_through_the_same_events_as_the_generator() {
        let generator = Arc::new(Generator::new(Size::Demo, DEFAULT_SEED));
        let store = SyntheticStatements::new(generator.clone());
        let (statements, pages) = all_pages(&store, &StatementFilter::default(), 997);
        let expected: Vec<ActivityEvent> = generator.all_events().collect();
        assert_eq!(store.total(), expected.len() as u64);
        assert_eq!(pages, expected.len().div_ceil(997));
        let events: Vec<ActivityEvent> = statements.iter().map(|s| s.event.clone()).collect();
        assert_eq!(events, expected, "users in order, each chronologically");
        let ids: std::collections::HashSet<Uuid> = statements.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), statements.len(), "ids are unique");

        // The same stream from memory holds the same events, in time order.
        let memory = MemoryStatements::new(generator.all_events().collect());
        let (from_memory, _) = all_pages(&memory, &StatementFilter::default(), 1000);
        let mut a: Vec<String> = events.iter().map(key).collect();
        let mut b: Vec<String> = from_memory.iter().map(|s| key(&s.event)).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn filters_and_cursors_agree_between_the_lazy_and_the_memory_stream() {
        let generator = Arc::new(Generator::new(Size::Demo, DEFAULT_SEED));
        let lazy = SyntheticStatements::new(generator.clone());
        let memory = MemoryStatements::new(generator.all_events().collect());
        let since = generator.as_of() - chrono::TimeDelta::days(30);
        let until = generator.as_of() - chrono::TimeDelta::days(10);
        for filter in [
            StatementFilter {
                agent: Some("demo-learner".into()),
                ..StatementFilter::default()
            },
            StatementFilter {
                agent: Some("demo-learner".into()),
                since: Some(since),
                until: Some(until),
            },
            StatementFilter {
                since: Some(since),
                until: Some(until),
                ..StatementFilter::default()
            },
            StatementFilter {
                agent: Some("nobody".into()),
                ..StatementFilter::default()
            },
        ] {
            let (from_lazy, _) = all_pages(&lazy, &filter, 13);
            let (from_memory, _) = all_pages(&memory, &filter, 13);
            let mut a: Vec<String> = from_lazy.iter().map(|s| key(&s.event)).collect();
            let mut b: Vec<String> = from_memory.iter().map(|s| key(&s.event)).collect();
            assert!(from_lazy.iter().all(|s| filter.admits(&s.event)));
            a.sort();
            b.sort();
            assert_eq!(a, b, "{filter:?}");
        }
        let learner: Vec<ActivityEvent> = generator.events_of("demo-learner").collect();
        let (agent, _) = all_pages(
            &lazy,
            &StatementFilter {
                agent: Some("demo-learner".into()),
                ..StatementFilter::default()
            },
            7,
        );
        let agent: Vec<ActivityEvent> = agent.into_iter().map(|s| s.event).collect();
        assert_eq!(agent, learner);
    }

    #[test]
    fn a_cursor_that_is_not_a_position_is_refused() {
        let generator = Arc::new(Generator::new(Size::Demo, DEFAULT_SEED));
        let lazy = SyntheticStatements::new(generator.clone());
        let users = generator.user_count() as u64;
        let any = StatementFilter::default();
        assert_eq!(
            lazy.page(&any, Some(Cursor((users + 1) << 32)), 10),
            Err(BadCursor)
        );
        assert_eq!(
            lazy.page(&any, Some(Cursor((users << 32) | 1)), 10),
            Err(BadCursor)
        );
        let first = generator.user_id_at(0).unwrap_or_default();
        let beyond = generator.event_count(first) + 1;
        assert_eq!(lazy.page(&any, Some(Cursor(beyond)), 10), Err(BadCursor));
        // The end itself is a position: an empty last page.
        let end = lazy.page(&any, Some(Cursor(users << 32)), 10).expect("end");
        assert_eq!(end, StatementPage::default());

        let memory = MemoryStatements::new(generator.all_events().collect());
        let n = memory.total();
        assert!(memory.page(&any, Some(Cursor(n)), 10).is_ok());
        assert_eq!(memory.page(&any, Some(Cursor(n + 1)), 10), Err(BadCursor));
    }
}
