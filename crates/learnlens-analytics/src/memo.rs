//! [`CohortMemo`]: the quantities of a whole cohort that many subjects' analytics read,
//! computed once and shared instead of once per subject.
//!
//! Without it a batch is quadratic in an organisation's size: every learner's
//! recommendations would scan every enrolled learner of every catalogue course (pre/post
//! gains, completion outcomes), every learner's contentEffectiveness every examinee of every
//! assessment, every learner's peerComparison every member of the organisation.
//!
//! What is shared:
//! - the classical item statistics of each assessment (contentEffectiveness, and through it
//!   the best content type of recommendations);
//! - each learner's best content type (contentEffectiveness's `bestType`), which
//!   recommendations reads instead of computing contentEffectiveness again;
//! - each organisation's catalogue with its courses' pre/post gains, and each course's
//!   completion-based effectiveness and dominant content type (recommendations);
//! - each organisation's peerComparison snapshot;
//! - each user's [`Digest`]: what the trainer and organisation analytics, peerComparison and
//!   the drop-off model read of the user's events, computed part by part on first use or given whole
//!   ([`CohortMemo::with_digests`]) when the events are not held.
//!
//! Invariant: a memo is valid for one index, one `asOf` and one configuration — a batch keeps
//! one per organisation's computation, a cold read one per subject — and a payload computed
//! through it equals the payload computed alone (tested in each analytic).

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use crate::comparison::peer_comparison::OrgSnapshot;
use crate::digest::{Digest, UserDigest};
use crate::input::ContentType;
use crate::learner::content::ItemStats;
use crate::predictive::recommendations::Catalogue;

/// See the module documentation. Single-threaded: one computation owns it.
#[derive(Debug, Default)]
pub struct CohortMemo<'a> {
    /// By assessment id: `None` when fewer examinees than `item_statistics_min_n`.
    pub(crate) item_stats: RefCell<HashMap<String, Option<Rc<[ItemStats]>>>>,
    /// By organisation id: the recommendations' catalogue with each course's gain.
    pub(crate) catalogues: RefCell<HashMap<String, Rc<Catalogue<'a>>>>,
    /// By course id: completion rate × mean final score, when both exist.
    pub(crate) course_completion: RefCell<HashMap<String, Option<f64>>>,
    /// By user id: contentEffectiveness's `bestType`, recorded by that analytic.
    pub(crate) best_types: RefCell<HashMap<String, Option<ContentType>>>,
    /// By course id: the content type with the most expected time.
    pub(crate) dominant_type: RefCell<HashMap<String, Option<ContentType>>>,
    /// By organisation id.
    pub(crate) peer_snapshots: RefCell<HashMap<String, Rc<OrgSnapshot<'a>>>>,
    /// By user id.
    digests: RefCell<HashMap<String, Rc<UserDigest>>>,
}

impl CohortMemo<'_> {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// A memo holding the given users' digests, computed at the same `asOf` under the same
    /// configuration as what will be computed through it. A user without one gets a digest
    /// computed from the index: with an index that holds no events, a user without events.
    pub fn with_digests(digests: impl IntoIterator<Item = (String, Digest)>) -> Self {
        let memo = Self::new();
        memo.digests.replace(
            digests
                .into_iter()
                .map(|(id, d)| {
                    let user = Rc::new(UserDigest::filled(&id, d));
                    (id, user)
                })
                .collect(),
        );
        memo
    }

    /// `user_id`'s digest, its parts computed when first read.
    pub(crate) fn digest(&self, user_id: &str) -> Rc<UserDigest> {
        remember(&self.digests, user_id, || Rc::new(UserDigest::new(user_id)))
    }

    /// `user_id`'s whole digest at `as_of`, for a computation that will not hold the events.
    pub fn digest_of(
        &self,
        idx: &crate::input::DatasetIndex<'_>,
        user_id: &str,
        as_of: chrono::DateTime<chrono::Utc>,
        cfg: &crate::config::Config,
    ) -> Digest {
        self.digest(user_id).complete(idx, as_of, cfg)
    }
}

/// The value under `key` in `map`, computed by `make` the first time. `make` may use the
/// memo itself: no borrow is held while it runs.
pub(crate) fn remember<K, Q, T>(
    map: &RefCell<HashMap<K, T>>,
    key: &Q,
    make: impl FnOnce() -> T,
) -> T
where
    K: Borrow<Q> + Hash + Eq,
    Q: ToOwned<Owned = K> + Hash + Eq + ?Sized,
    T: Clone,
{
    if let Some(v) = map.borrow().get(key) {
        return v.clone();
    }
    let v = make();
    map.borrow_mut().insert(key.to_owned(), v.clone());
    v
}
