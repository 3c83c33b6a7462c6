//! [`Digest`]: what the cohort analytics read of one user's events, so that they can be
//! computed without holding the events.
//!
//! The trainer and organisation analytics, peerComparison and the drop-off model aggregate,
//! over many users, quantities that each come from one user's own events: the courses the
//! user was active in lately, the user's engagement score, weekly learning units, hours in a
//! window, the four peer metrics, drop-off features. (dropOffRisk reads only the learner's
//! own events, but a batch that computes learners in chunks scores them after the model is
//! trained from every chunk, so it keeps their features at `asOf` too.) A digest holds exactly those quantities for one user at one `asOf` under one
//! configuration. Each part is defined, and computed, by the analytic that reads it:
//!
//! | part | computed by (in the analytic's module) | read by |
//! |---|---|---|
//! | `recentCourses` | `trainer::recent_courses` | coursePerformance, studentDistribution |
//! | `engagement` | engagementScore's score | studentDistribution (metric `engagement`) |
//! | `velocity` | [`learning_velocity::VelocityPart`] | orgLearningVelocity |
//! | `culture` | [`learning_culture::CulturePart`] | learningCulture |
//! | `alignment` | [`strategic_alignment::AlignmentPart`] | strategicAlignment |
//! | `peer` | `peer_comparison::values_of`: the four metric values at the snapshot day | peerComparison |
//! | `dropOffExamples` | [`features::ExampleDigest`]: the learner's training examples | the drop-off model's training ([`features::training_set_of_digests`], after [`take_examples`]) |
//! | `dropOffCurrent` | [`features::Features`] at `asOf` of the enrollments dropOffRisk scores | dropOffRisk |
//!
//! The cohort analytics read another user's events only through the user's digest in the
//! cohort memo: a part is computed from the index on first use and kept, or the whole digest
//! is given ([`CohortMemo::with_digests`](crate::memo::CohortMemo::with_digests)) by a
//! computation that holds no events, such as a batch that computed an organisation's
//! learners in chunks and kept only their digests.
//!
//! Invariants: a part is a function of the user's own events and of the data set's records
//! other than events, never of another user's events; the cohort analytics computed from
//! digests (round-tripped through JSON) over an index without events equal those computed from
//! the events, bit for bit (tested below).

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::comparison::peer_comparison;
use crate::config::Config;
use crate::input::DatasetIndex;
use crate::learner::engagement;
use crate::org::{learning_culture, learning_velocity, strategic_alignment};
use crate::predictive::{drop_off, features};
use crate::trainer;

/// One user's digest: every part, computed (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    pub recent_courses: BTreeSet<String>,
    pub engagement: f64,
    pub velocity: learning_velocity::VelocityPart,
    pub culture: learning_culture::CulturePart,
    pub alignment: strategic_alignment::AlignmentPart,
    pub peer: [Option<f64>; 4],
    pub drop_off_examples: Vec<features::ExampleDigest>,
    pub drop_off_current: Vec<features::Features>,
}

/// Takes every digest's drop-off training examples out of `digests`, by user id: what the
/// model's training reads ([`features::training_set_of_digests`]) and nothing else does, so
/// that a computation can train first and then compute with lighter digests.
pub fn take_examples(
    digests: &mut [(String, Digest)],
) -> HashMap<String, Vec<features::ExampleDigest>> {
    digests
        .iter_mut()
        .map(|(user, d)| (user.clone(), std::mem::take(&mut d.drop_off_examples)))
        .collect()
}

/// A digest whose parts are computed when first read; held by a cohort memo, so for one
/// index, one `asOf` and one configuration.
#[derive(Debug, Default)]
pub(crate) struct UserDigest {
    user_id: String,
    recent_courses: OnceCell<BTreeSet<String>>,
    engagement: OnceCell<f64>,
    velocity: OnceCell<learning_velocity::VelocityPart>,
    culture: OnceCell<learning_culture::CulturePart>,
    alignment: OnceCell<strategic_alignment::AlignmentPart>,
    peer: OnceCell<[Option<f64>; 4]>,
    drop_off_examples: OnceCell<Vec<features::ExampleDigest>>,
    drop_off_current: OnceCell<Vec<features::Features>>,
}

impl UserDigest {
    pub(crate) fn new(user_id: &str) -> Self {
        UserDigest {
            user_id: user_id.to_owned(),
            ..Self::default()
        }
    }

    /// A digest with every part given.
    pub(crate) fn filled(user_id: &str, digest: Digest) -> Self {
        UserDigest {
            user_id: user_id.to_owned(),
            recent_courses: OnceCell::from(digest.recent_courses),
            engagement: OnceCell::from(digest.engagement),
            velocity: OnceCell::from(digest.velocity),
            culture: OnceCell::from(digest.culture),
            alignment: OnceCell::from(digest.alignment),
            peer: OnceCell::from(digest.peer),
            drop_off_examples: OnceCell::from(digest.drop_off_examples),
            drop_off_current: OnceCell::from(digest.drop_off_current),
        }
    }

    pub(crate) fn recent_courses(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> &BTreeSet<String> {
        self.recent_courses
            .get_or_init(|| trainer::recent_courses(idx, &self.user_id, as_of, cfg))
    }

    pub(crate) fn engagement(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> f64 {
        *self
            .engagement
            .get_or_init(|| engagement::compute_indexed(idx, &self.user_id, as_of, cfg).score)
    }

    pub(crate) fn velocity(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> &learning_velocity::VelocityPart {
        self.velocity
            .get_or_init(|| learning_velocity::part(idx, &self.user_id, as_of, cfg))
    }

    pub(crate) fn culture(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> &learning_culture::CulturePart {
        self.culture
            .get_or_init(|| learning_culture::part(idx, &self.user_id, as_of, cfg))
    }

    pub(crate) fn alignment(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> &strategic_alignment::AlignmentPart {
        self.alignment
            .get_or_init(|| strategic_alignment::part(idx, &self.user_id, as_of, cfg))
    }

    /// The four peer metric values at the snapshot day of `as_of`.
    pub(crate) fn peer(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> [Option<f64>; 4] {
        *self.peer.get_or_init(|| {
            peer_comparison::values_of(
                idx,
                &self.user_id,
                peer_comparison::snapshot_day(as_of),
                cfg,
            )
        })
    }

    /// The learner's drop-off training examples at the snapshot days of `cfg`.
    pub(crate) fn drop_off_examples(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> &[features::ExampleDigest] {
        self.drop_off_examples.get_or_init(|| {
            let days = features::snapshot_days(cfg);
            features::user_examples(idx, &self.user_id, as_of, &days, cfg)
                .iter()
                .map(features::ExampleDigest::from)
                .collect()
        })
    }

    /// The features at `as_of` of the enrollments dropOffRisk scores, in its order.
    pub(crate) fn drop_off_current(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> &[features::Features] {
        self.drop_off_current
            .get_or_init(|| drop_off::current_features(idx, &self.user_id, as_of, cfg))
    }

    /// Every part, computing those not read yet.
    pub(crate) fn complete(
        &self,
        idx: &DatasetIndex<'_>,
        as_of: DateTime<Utc>,
        cfg: &Config,
    ) -> Digest {
        Digest {
            recent_courses: self.recent_courses(idx, as_of, cfg).clone(),
            engagement: self.engagement(idx, as_of, cfg),
            velocity: self.velocity(idx, as_of, cfg).clone(),
            culture: self.culture(idx, as_of, cfg).clone(),
            alignment: self.alignment(idx, as_of, cfg).clone(),
            peer: self.peer(idx, as_of, cfg),
            drop_off_examples: self.drop_off_examples(idx, as_of, cfg).to_vec(),
            drop_off_current: self.drop_off_current(idx, as_of, cfg).to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Dataset;
    use crate::kind::{AnalyticsKind, Group, Models, compute_shared};
    use crate::memo::CohortMemo;
    use crate::test_support::*;
    use proptest::prelude::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    /// The kinds whose payloads read other users' events (through digests).
    fn cohort_kinds() -> Vec<AnalyticsKind> {
        AnalyticsKind::ALL
            .into_iter()
            .filter(|k| {
                matches!(k.group(), Group::Trainer | Group::OrgAdmin)
                    || *k == AnalyticsKind::PeerComparison
            })
            .collect()
    }

    /// Every subject of `kind` in `data`: users, trainers (of courses) or organisations.
    fn subjects(data: &Dataset, kind: AnalyticsKind) -> Vec<String> {
        let mut ids: Vec<String> = match kind.group() {
            Group::Trainer => data.courses.iter().map(|c| c.trainer_id.clone()).collect(),
            Group::OrgAdmin => data.organizations.iter().map(|o| o.id.clone()).collect(),
            _ => data.users.iter().map(|u| u.id.clone()).collect(),
        };
        ids.sort();
        ids.dedup();
        ids
    }

    /// Computes every cohort analytic of every subject twice: from the events, and from the
    /// digests (through JSON) over the same data without any event; the same for the drop-off
    /// model's training set and, with the model trained on it, every learner's dropOffRisk.
    /// Returns the first difference.
    fn first_difference(data: &Dataset, as_of: DateTime<Utc>, cfg: &Config) -> Option<String> {
        let idx = data.index();
        let memo = CohortMemo::new();
        let mut users: Vec<String> = data.users.iter().map(|u| u.id.clone()).collect();
        users.extend(data.enrollments.iter().map(|e| e.user_id.clone()));
        users.extend(data.events.iter().map(|e| e.user_id.to_string()));
        users.sort();
        users.dedup();
        let digests: Vec<(String, Digest)> = users
            .iter()
            .map(|u| (u.clone(), memo.digest_of(&idx, u, as_of, cfg)))
            .collect();
        let json = serde_json::to_string(&digests).ok()?;
        let digests: Vec<(String, Digest)> = serde_json::from_str(&json).ok()?;

        let mut without_events = data.clone();
        without_events.events.clear();
        let bare = without_events.index();
        let mut digests = digests;
        let from_digests =
            features::training_set_of_digests(&bare, as_of, cfg, take_examples(&mut digests));
        let given = CohortMemo::with_digests(digests);

        let days = features::snapshot_days(cfg);
        let examples = features::training_set_indexed(&idx, as_of, &days, cfg);
        if examples != from_digests {
            return Some("the drop-off training set".to_owned());
        }
        let model = drop_off::fit_examples(&examples, as_of, &days, &cfg.drop_off).ok();
        let models = Models {
            drop_off: model.as_ref(),
        };
        let kinds = cohort_kinds()
            .into_iter()
            .chain([AnalyticsKind::DropOffRisk]);
        for kind in kinds {
            for subject in subjects(data, kind) {
                let fresh = CohortMemo::new();
                let from_events = compute_shared(kind, &idx, &subject, as_of, cfg, models, &fresh);
                let from_digests =
                    compute_shared(kind, &bare, &subject, as_of, cfg, models, &given);
                if from_events.ok() != from_digests.ok() {
                    return Some(format!("{} of {subject}", kind.name()));
                }
            }
        }
        None
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn cohort_analytics_from_digests_equal_those_from_events(
            data in arb_dataset_with_attempts()
        ) {
            let diff = first_difference(&data, ts(AS_OF), &Config::default());
            prop_assert!(diff.is_none(), "{diff:?}");
        }
    }
}
