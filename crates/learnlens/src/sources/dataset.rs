//! Answers the four JSON contracts from a [`Dataset`]: the query engine behind the demo source
//! server and the mock fallback (the seed's `getMockData`). One engine, so the demo sources
//! and the mock data can never disagree about what a request means.
//!
//! Collections and filters are exactly those of sources.md; an unknown collection or filter is
//! an error (the server answers 400), never silently ignored. `updatedSince` is accepted and
//! ignored: the entities carry no update time, so every item counts as updated.
//!
//! Paging ([`DatasetSource::page`]): a page position is an index into the collection, the
//! item where the scan resumes, so reading all pages is one pass over the collection and only
//! the items of a page are serialised. The demo source server's `cursor` is that position.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use learnlens_analytics::Dataset;
use serde::Serialize;
use serde_json::Value;

use super::{MockSource, Service};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("unknown collection `{0}`")]
    UnknownCollection(String),
    #[error("unknown or invalid filter `{0}`")]
    BadFilter(String),
    #[error("cursor is not one of ours")]
    BadCursor,
}

/// A dataset with the lookups the contract filters need.
pub struct DatasetSource {
    data: Arc<Dataset>,
    org_of_user: HashMap<String, String>,
    course_of_assessment: HashMap<String, String>,
}

/// The collections each service serves, with their filters.
pub const COLLECTIONS: &[(Service, &str, &[&str])] = &[
    (Service::Directory, "organizations", &[]),
    (Service::Directory, "job-roles", &["orgId"]),
    (Service::Directory, "users", &["orgId", "role"]),
    (Service::Skills, "skills", &[]),
    (Service::Skills, "user-skills", &["userId", "orgId"]),
    (Service::Catalog, "courses", &["trainerId", "orgId"]),
    (Service::Catalog, "content-items", &["courseId"]),
    (
        Service::Catalog,
        "enrollments",
        &["userId", "courseId", "orgId"],
    ),
    (Service::Catalog, "feedback", &["courseId", "trainerId"]),
    (Service::Assessments, "assessments", &["courseId"]),
    (
        Service::Assessments,
        "attempts",
        &["userId", "courseId", "orgId", "since"],
    ),
];

impl DatasetSource {
    pub fn new(data: Arc<Dataset>) -> DatasetSource {
        let org_of_user = data
            .users
            .iter()
            .map(|u| (u.id.clone(), u.org_id.clone()))
            .collect();
        let course_of_assessment = data
            .assessments
            .iter()
            .map(|a| (a.id.clone(), a.course_id.clone()))
            .collect();
        DatasetSource {
            data,
            org_of_user,
            course_of_assessment,
        }
    }

    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    /// The items of `collection` of `service` matching every filter, in the dataset's order.
    pub fn query(
        &self,
        service: Service,
        collection: &str,
        filters: &[(String, String)],
    ) -> Result<Vec<Value>, QueryError> {
        Ok(self
            .select(service, collection, filters, None, 0, usize::MAX)?
            .items)
    }

    /// One page of [`DatasetSource::query`]: at most `limit` items, examining the collection
    /// from position `from` (0, or the `next` of the previous page). Only the page's items are
    /// serialised, and a position is where the scan stopped, so reading every page of a
    /// collection costs one pass over it whatever the filters.
    pub fn page(
        &self,
        service: Service,
        collection: &str,
        filters: &[(String, String)],
        from: usize,
        limit: usize,
    ) -> Result<Page, QueryError> {
        self.select(service, collection, filters, None, from, limit)
    }

    /// One item by id, or `None`.
    pub fn get(
        &self,
        service: Service,
        collection: &str,
        id: &str,
    ) -> Result<Option<Value>, QueryError> {
        let page = self.select(service, collection, &[], Some(id), 0, 1)?;
        Ok(page.items.into_iter().next())
    }

    /// The matching items of one collection from position `from`, at most `limit`; with `id`,
    /// only the item with that id (the first one: ids are unique by the entity invariant).
    fn select(
        &self,
        service: Service,
        collection: &str,
        filters: &[(String, String)],
        id: Option<&str>,
        from: usize,
        limit: usize,
    ) -> Result<Page, QueryError> {
        let allowed = COLLECTIONS
            .iter()
            .find(|(s, c, _)| *s == service && *c == collection)
            .map(|(_, _, f)| *f)
            .ok_or_else(|| QueryError::UnknownCollection(collection.to_owned()))?;
        let mut f: HashMap<&str, &str> = HashMap::new();
        for (k, v) in filters {
            if k == "updatedSince" {
                continue;
            }
            if !allowed.contains(&k.as_str()) {
                return Err(QueryError::BadFilter(k.clone()));
            }
            f.insert(k.as_str(), v.as_str());
        }
        let eq = |key: &str, value: &str| f.get(key).is_none_or(|want| *want == value);
        let eq_opt =
            |key: &str, value: Option<&str>| f.get(key).is_none_or(|want| Some(*want) == value);
        let is = |item_id: &str| id.is_none_or(|want| want == item_id);
        let user_org = |user: &str| self.org_of_user.get(user).map(String::as_str);
        let d = &*self.data;
        let limit = if id.is_some() { 1 } else { limit };
        match collection {
            "organizations" => page_of(&d.organizations, from, limit, |o| is(&o.id)),
            "job-roles" => page_of(&d.job_roles, from, limit, |j| {
                is(&j.id) && eq("orgId", &j.org_id)
            }),
            "users" => page_of(&d.users, from, limit, |u| {
                is(&u.id)
                    && eq("orgId", &u.org_id)
                    && f.get("role").is_none_or(|r| u.roles.iter().any(|x| x == r))
            }),
            "skills" => page_of(&d.skills, from, limit, |s| is(&s.id)),
            // A user skill has no id of its own, so no get finds one.
            "user-skills" => page_of(&d.user_skills, from, limit, |s| {
                id.is_none() && eq("userId", &s.user_id) && eq_opt("orgId", user_org(&s.user_id))
            }),
            "courses" => page_of(&d.courses, from, limit, |c| {
                is(&c.id) && eq("trainerId", &c.trainer_id) && eq_opt("orgId", c.org_id.as_deref())
            }),
            "content-items" => page_of(&d.content_items, from, limit, |i| {
                is(&i.id) && eq("courseId", &i.course_id)
            }),
            "enrollments" => page_of(&d.enrollments, from, limit, |e| {
                is(&e.id)
                    && eq("userId", &e.user_id)
                    && eq("courseId", &e.course_id)
                    && eq_opt("orgId", user_org(&e.user_id))
            }),
            "feedback" => page_of(&d.feedback, from, limit, |x| {
                is(&x.id) && eq("courseId", &x.course_id) && eq("trainerId", &x.trainer_id)
            }),
            "assessments" => page_of(&d.assessments, from, limit, |a| {
                is(&a.id) && eq("courseId", &a.course_id)
            }),
            "attempts" => {
                let since = match f.get("since") {
                    Some(s) => Some(
                        DateTime::parse_from_rfc3339(s)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|_| QueryError::BadFilter("since".into()))?,
                    ),
                    None => None,
                };
                page_of(&d.attempts, from, limit, |a| {
                    is(&a.id)
                        && eq("userId", &a.user_id)
                        && eq_opt(
                            "courseId",
                            self.course_of_assessment
                                .get(&a.assessment_id)
                                .map(String::as_str),
                        )
                        && eq_opt("orgId", user_org(&a.user_id))
                        && since.is_none_or(|s| a.submitted_at >= s)
                })
            }
            other => Err(QueryError::UnknownCollection(other.to_owned())),
        }
    }

    /// Every user id of the dataset, for checks on actors (xAPI) and directories.
    pub fn user_ids(&self) -> HashSet<&str> {
        self.data.users.iter().map(|u| u.id.as_str()).collect()
    }
}

/// One page of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Value>,
    /// Where the next page starts: the position of the next matching item, `None` when there
    /// is none.
    pub next: Option<usize>,
}

/// Scans `items` from `from` for up to `limit` items that `keep` admits, serialising only
/// those, then finds the next admitted item (the next page's start). A `from` beyond the
/// collection is a bad cursor.
fn page_of<T: Serialize>(
    items: &[T],
    from: usize,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> Result<Page, QueryError> {
    let rest = items.get(from..).ok_or(QueryError::BadCursor)?;
    let mut out = Vec::new();
    let mut next = None;
    for (i, item) in rest.iter().enumerate() {
        if !keep(item) {
            continue;
        }
        if out.len() == limit {
            next = Some(from + i);
            break;
        }
        // An item that does not serialise is left out, as in every answer of this engine.
        if let Ok(v) = serde_json::to_value(item) {
            out.push(v);
        }
    }
    Ok(Page { items: out, next })
}

impl MockSource for DatasetSource {
    fn query(
        &self,
        service: Service,
        collection: &str,
        filters: &[(String, String)],
    ) -> Option<Vec<Value>> {
        // A `get` falls back as a query with an `id` filter.
        if let Some((_, id)) = filters.iter().find(|(k, _)| k == "id") {
            return DatasetSource::get(self, service, collection, id)
                .ok()
                .map(|v| v.into_iter().collect());
        }
        DatasetSource::query(self, service, collection, filters).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnlens_analytics::input::{User, UserStatus};

    fn user(id: &str, org: &str, roles: &[&str]) -> User {
        User {
            id: id.into(),
            org_id: org.into(),
            email: format!("{id}@x.org"),
            name: id.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            department: None,
            job_role_id: None,
            status: UserStatus::Active,
            created_at: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
        }
    }

    fn source() -> DatasetSource {
        let data = Dataset {
            users: vec![
                user("a", "o1", &["learner"]),
                user("b", "o1", &["trainer"]),
                user("c", "o2", &["learner"]),
            ],
            ..Dataset::default()
        };
        DatasetSource::new(Arc::new(data))
    }

    fn ids(v: &[Value]) -> Vec<&str> {
        v.iter().filter_map(|x| x["id"].as_str()).collect()
    }

    #[test]
    fn filters_combine_and_unknown_ones_are_refused() {
        let s = source();
        let f = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            ids(&s
                .query(Service::Directory, "users", &[f("orgId", "o1")])
                .expect("ok")),
            ["a", "b"]
        );
        assert_eq!(
            ids(&s
                .query(
                    Service::Directory,
                    "users",
                    &[f("orgId", "o1"), f("role", "learner")]
                )
                .expect("ok")),
            ["a"]
        );
        assert_eq!(
            s.query(Service::Directory, "users", &[f("colour", "x")]),
            Err(QueryError::BadFilter("colour".into()))
        );
        assert_eq!(
            s.query(Service::Catalog, "users", &[]),
            Err(QueryError::UnknownCollection("users".into()))
        );
        assert!(
            s.query(
                Service::Directory,
                "users",
                &[f("updatedSince", "2020-01-01T00:00:00Z")]
            )
            .is_ok()
        );
        assert_eq!(
            s.get(Service::Directory, "users", "c")
                .expect("ok")
                .map(|u| u["orgId"].clone()),
            Some(Value::from("o2"))
        );
        assert_eq!(s.get(Service::Directory, "users", "zz").expect("ok"), None);
    }

    #[test]
    fn pages_resume_where_the_scan_stopped_and_a_cursor_past_the_end_is_refused() {
        let s = source();
        let f = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        let first = s
            .page(Service::Directory, "users", &f("role", "learner"), 0, 1)
            .expect("ok");
        assert_eq!(ids(&first.items), ["a"]);
        // The next learner is `c`, at position 2 (position 1 is the trainer `b`).
        assert_eq!(first.next, Some(2));
        let second = s
            .page(Service::Directory, "users", &f("role", "learner"), 2, 1)
            .expect("ok");
        assert_eq!((ids(&second.items), second.next), (vec!["c"], None));
        let all = s.page(Service::Directory, "users", &[], 0, 10).expect("ok");
        assert_eq!((all.items.len(), all.next), (3, None));
        let end = s.page(Service::Directory, "users", &[], 3, 10).expect("ok");
        assert_eq!((end.items.len(), end.next), (0, None));
        assert_eq!(
            s.page(Service::Directory, "users", &[], 4, 10),
            Err(QueryError::BadCursor)
        );
    }

    #[test]
    fn as_mock_it_answers_lists_and_gets() {
        let s = source();
        let m: &dyn MockSource = &s;
        assert_eq!(
            m.query(Service::Directory, "users", &[("id".into(), "b".into())])
                .map(|v| v.len()),
            Some(1)
        );
        assert_eq!(m.query(Service::Directory, "nope", &[]), None);
    }
}
