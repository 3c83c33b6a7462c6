//! Answers the four JSON contracts from a [`Dataset`]: the query engine behind the demo source
//! server and the mock fallback (the seed's `getMockData`). One engine, so the demo sources
//! and the mock data can never disagree about what a request means.
//!
//! Collections and filters are exactly those of sources.md; an unknown collection or filter is
//! an error (the server answers 400), never silently ignored. `updatedSince` is accepted and
//! ignored: the entities carry no update time, so every item counts as updated.

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
        let user_org = |user: &str| self.org_of_user.get(user).map(String::as_str);
        let d = &*self.data;
        let items = match collection {
            "organizations" => to_values(d.organizations.iter()),
            "job-roles" => to_values(d.job_roles.iter().filter(|j| eq("orgId", &j.org_id))),
            "users" => to_values(d.users.iter().filter(|u| {
                eq("orgId", &u.org_id)
                    && f.get("role").is_none_or(|r| u.roles.iter().any(|x| x == r))
            })),
            "skills" => to_values(d.skills.iter()),
            "user-skills" => to_values(
                d.user_skills
                    .iter()
                    .filter(|s| eq("userId", &s.user_id) && eq_opt("orgId", user_org(&s.user_id))),
            ),
            "courses" => to_values(d.courses.iter().filter(|c| {
                eq("trainerId", &c.trainer_id) && eq_opt("orgId", c.org_id.as_deref())
            })),
            "content-items" => to_values(
                d.content_items
                    .iter()
                    .filter(|i| eq("courseId", &i.course_id)),
            ),
            "enrollments" => to_values(d.enrollments.iter().filter(|e| {
                eq("userId", &e.user_id)
                    && eq("courseId", &e.course_id)
                    && eq_opt("orgId", user_org(&e.user_id))
            })),
            "feedback" => to_values(
                d.feedback
                    .iter()
                    .filter(|x| eq("courseId", &x.course_id) && eq("trainerId", &x.trainer_id)),
            ),
            "assessments" => to_values(
                d.assessments
                    .iter()
                    .filter(|a| eq("courseId", &a.course_id)),
            ),
            "attempts" => {
                let since = match f.get("since") {
                    Some(s) => Some(
                        DateTime::parse_from_rfc3339(s)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|_| QueryError::BadFilter("since".into()))?,
                    ),
                    None => None,
                };
                to_values(d.attempts.iter().filter(|a| {
                    eq("userId", &a.user_id)
                        && eq_opt(
                            "courseId",
                            self.course_of_assessment
                                .get(&a.assessment_id)
                                .map(String::as_str),
                        )
                        && eq_opt("orgId", user_org(&a.user_id))
                        && since.is_none_or(|s| a.submitted_at >= s)
                }))
            }
            other => return Err(QueryError::UnknownCollection(other.to_owned())),
        };
        Ok(items)
    }

    /// One item by id, or `None`.
    pub fn get(
        &self,
        service: Service,
        collection: &str,
        id: &str,
    ) -> Result<Option<Value>, QueryError> {
        let items = self.query(service, collection, &[])?;
        Ok(items
            .into_iter()
            .find(|v| v.get("id").and_then(Value::as_str) == Some(id)))
    }

    /// Every user id of the dataset, for checks on actors (xAPI) and directories.
    pub fn user_ids(&self) -> HashSet<&str> {
        self.data.users.iter().map(|u| u.id.as_str()).collect()
    }
}

fn to_values<'a, T: Serialize + 'a>(items: impl Iterator<Item = &'a T>) -> Vec<Value> {
    items.filter_map(|i| serde_json::to_value(i).ok()).collect()
}

impl MockSource for DatasetSource {
    fn query(
        &self,
        service: Service,
        collection: &str,
        filters: &[(String, String)],
    ) -> Option<Vec<Value>> {
        // A learner's statements, as events.
        if service == Service::Activity {
            let (_, user) = filters.iter().find(|(k, _)| k == "agent")?;
            return (collection == super::activity::STATEMENTS)
                .then(|| to_values(self.data.events.iter().filter(|e| &e.user_id == user)));
        }
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
