//! Who may read what: the whole authorization table of api.md, in one place, as one pure
//! function. Handlers call [`decide`] after authentication and before any cache or store read,
//! so a denied request never touches data and the answer does not depend on whether the
//! subject exists (no existence oracle).

use crate::domain::{Id, Role};

use super::tokens::Principal;

/// What a request wants to touch, as far as authorization is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `learner/analytics/*` and the learner dashboard: a learner's own data.
    LearnerAnalytics,
    /// `trainer/analytics/*` and the trainer dashboard: a trainer's own courses.
    TrainerAnalytics,
    /// `org-admin/analytics/*` and the org dashboard: the admin's own organisation.
    OrgAnalytics,
    /// `comparison/analytics/peer-comparison`: a learner's own standing.
    PeerComparison,
    /// `comparison/analytics/skill-demand`: with an org, its admins; without, any role.
    SkillDemand { org: Option<Id> },
    /// `predictive/analytics/{drop-off-risk,performance-forecast}`.
    Predictive,
    /// `predictive/analytics/recommendations`.
    Recommendations,
    /// `POST /analytics/refresh` for `role` (which must be the active role).
    Refresh { role: Role },
    /// `GET|DELETE /jobs/:id`, owned by `owner`.
    Job { owner: Option<String> },
    /// `GET /system/sources`.
    SystemSources,
}

/// The outcome. `AllowCourses` narrows what may be shown to the listed courses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A trainer's view of a learner: only these courses (non-empty) may appear.
    AllowCourses(Vec<String>),
    /// 403 `forbidden`.
    Forbidden,
    /// 404 `not_found` (someone else's job: its existence is not revealed).
    NotFound,
}

/// Decides whether `who`, acting as `active`, may access `resource` for `subject`.
///
/// `trainer_courses` is what the caller knows of the trainer–learner link: the trainer's
/// courses in which `subject` is actively enrolled. Only consulted for a trainer reading
/// predictive analytics; pass `None` when not looked up.
pub fn decide(
    who: &Principal,
    active: Role,
    resource: &Resource,
    subject: &Id,
    trainer_courses: Option<&[String]>,
) -> Decision {
    if !who.holds(active) {
        return Decision::Forbidden;
    }
    let own_user = *subject == who.user_id;
    let own_org = *subject == who.org_id;
    let allow = |ok: bool| {
        if ok {
            Decision::Allow
        } else {
            Decision::Forbidden
        }
    };
    match resource {
        Resource::LearnerAnalytics | Resource::PeerComparison | Resource::Recommendations => {
            allow(active == Role::Learner && own_user)
        }
        Resource::TrainerAnalytics => allow(active == Role::Trainer && own_user),
        Resource::OrgAnalytics => allow(active == Role::OrgAdmin && own_org),
        Resource::SkillDemand { org: Some(org) } => {
            allow(active == Role::OrgAdmin && *org == who.org_id)
        }
        Resource::SkillDemand { org: None } => Decision::Allow,
        Resource::Predictive => match active {
            Role::Learner => allow(own_user),
            Role::Trainer => match trainer_courses {
                Some(courses) if !courses.is_empty() => Decision::AllowCourses(courses.to_vec()),
                _ => Decision::Forbidden,
            },
            Role::OrgAdmin => Decision::Forbidden,
        },
        Resource::Refresh { role } => {
            let own_subject = if *role == Role::OrgAdmin {
                own_org
            } else {
                own_user
            };
            allow(*role == active && own_subject)
        }
        Resource::Job { owner } => {
            if owner.as_deref() == Some(who.user_id.as_str()) {
                Decision::Allow
            } else {
                Decision::NotFound
            }
        }
        Resource::SystemSources => allow(active == Role::OrgAdmin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse(s).expect("valid id")
    }

    fn principal(user: &str, org: &str, roles: &[Role]) -> Principal {
        Principal {
            user_id: id(user),
            org_id: id(org),
            roles: roles.to_vec(),
            session: None,
        }
    }

    /// The relation of a request's subject to the caller.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Subject {
        Own,
        OwnOrg,
        SameOrgOther,
        OtherOrg,
        Nonexistent,
    }

    fn subject(s: Subject) -> Id {
        match s {
            Subject::Own => id("u-me"),
            Subject::OwnOrg => id("org-a"),
            Subject::SameOrgOther => id("u-colleague"),
            Subject::OtherOrg => id("u-foreign"),
            Subject::Nonexistent => id("u-nobody"),
        }
    }

    const SUBJECTS: [Subject; 5] = [
        Subject::Own,
        Subject::OwnOrg,
        Subject::SameOrgOther,
        Subject::OtherOrg,
        Subject::Nonexistent,
    ];

    /// The expected answer, written from api.md's table independently of `decide`.
    fn expected(active: Role, r: &Resource, s: Subject, linked: bool) -> Decision {
        use Decision::*;
        match (r, active, s) {
            (
                Resource::LearnerAnalytics | Resource::PeerComparison | Resource::Recommendations,
                Role::Learner,
                Subject::Own,
            ) => Allow,
            (Resource::TrainerAnalytics, Role::Trainer, Subject::Own) => Allow,
            (Resource::OrgAnalytics, Role::OrgAdmin, Subject::OwnOrg) => Allow,
            (Resource::SkillDemand { org: None }, _, _) => Allow,
            (Resource::SkillDemand { org: Some(o) }, Role::OrgAdmin, _)
                if o.as_str() == "org-a" =>
            {
                Allow
            }
            (Resource::Predictive, Role::Learner, Subject::Own) => Allow,
            (Resource::Predictive, Role::Trainer, Subject::SameOrgOther) if linked => {
                AllowCourses(vec!["c-1".into()])
            }
            (
                Resource::Refresh {
                    role: Role::OrgAdmin,
                },
                Role::OrgAdmin,
                Subject::OwnOrg,
            ) => Allow,
            (Resource::Refresh { role }, a, Subject::Own) if *role == a && a != Role::OrgAdmin => {
                Allow
            }
            (Resource::SystemSources, Role::OrgAdmin, _) => Allow,
            _ => Forbidden,
        }
    }

    fn resources() -> Vec<Resource> {
        let mut v = vec![
            Resource::LearnerAnalytics,
            Resource::TrainerAnalytics,
            Resource::OrgAnalytics,
            Resource::PeerComparison,
            Resource::SkillDemand { org: None },
            Resource::SkillDemand {
                org: Some(id("org-a")),
            },
            Resource::SkillDemand {
                org: Some(id("org-b")),
            },
            Resource::Predictive,
            Resource::Recommendations,
            Resource::SystemSources,
        ];
        v.extend(Role::ALL.map(|role| Resource::Refresh { role }));
        v
    }

    #[test]
    fn every_role_resource_and_subject_matches_the_api_table() {
        let mut cells = 0;
        for active in Role::ALL {
            let who = principal("u-me", "org-a", &Role::ALL);
            for r in resources() {
                for s in SUBJECTS {
                    for linked in [false, true] {
                        // The caller learns of a link only for a learner of the trainer's course.
                        let link: Vec<String> = if linked && s == Subject::SameOrgOther {
                            vec!["c-1".into()]
                        } else {
                            vec![]
                        };
                        let got = decide(&who, active, &r, &subject(s), Some(&link));
                        let want = expected(active, &r, s, linked && s == Subject::SameOrgOther);
                        assert_eq!(
                            got, want,
                            "active={active} resource={r:?} subject={s:?} linked={linked}"
                        );
                        cells += 1;
                    }
                }
            }
        }
        assert_eq!(cells, 3 * 13 * 5 * 2);
    }

    #[test]
    fn an_active_role_that_is_not_held_is_always_forbidden() {
        let learner_only = principal("u-me", "org-a", &[Role::Learner]);
        for active in [Role::Trainer, Role::OrgAdmin] {
            for r in resources() {
                for s in SUBJECTS {
                    assert_eq!(
                        decide(&learner_only, active, &r, &subject(s), None),
                        Decision::Forbidden
                    );
                }
            }
        }
    }

    #[test]
    fn trainer_reads_a_learner_enrolled_in_their_course_filtered_to_those_courses() {
        let trainer = principal("t-1", "org-a", &[Role::Trainer]);
        let learner = id("u-2");
        let courses = vec!["c-1".to_string(), "c-7".to_string()];
        assert_eq!(
            decide(
                &trainer,
                Role::Trainer,
                &Resource::Predictive,
                &learner,
                Some(&courses)
            ),
            Decision::AllowCourses(courses.clone())
        );
        // Not enrolled in any of the trainer's courses, or not looked up: 403, same as a
        // learner who does not exist.
        assert_eq!(
            decide(
                &trainer,
                Role::Trainer,
                &Resource::Predictive,
                &learner,
                Some(&[])
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide(
                &trainer,
                Role::Trainer,
                &Resource::Predictive,
                &learner,
                None
            ),
            Decision::Forbidden
        );
        // Recommendations stay the learner's own, even for their trainer.
        assert_eq!(
            decide(
                &trainer,
                Role::Trainer,
                &Resource::Recommendations,
                &learner,
                Some(&courses)
            ),
            Decision::Forbidden
        );
    }

    #[test]
    fn someone_elses_job_is_not_found_and_ones_own_is_allowed() {
        let who = principal("u-me", "org-a", &[Role::Learner]);
        let own = Resource::Job {
            owner: Some("u-me".into()),
        };
        let other = Resource::Job {
            owner: Some("u-other".into()),
        };
        let system = Resource::Job { owner: None };
        assert_eq!(
            decide(&who, Role::Learner, &own, &id("j1"), None),
            Decision::Allow
        );
        assert_eq!(
            decide(&who, Role::Learner, &other, &id("j1"), None),
            Decision::NotFound
        );
        assert_eq!(
            decide(&who, Role::Learner, &system, &id("j1"), None),
            Decision::NotFound
        );
    }
}
