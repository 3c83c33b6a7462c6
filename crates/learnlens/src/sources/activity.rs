//! The activity source as the pipeline reads it: one learner's statements from the LRS,
//! mapped to events, with the same fallback chain as the JSON services (sources.md): each page
//! goes through the LRS's resilience stack (deadline, retries, breaker); a good answer is kept
//! as the learner's snapshot; when the LRS fails, the snapshot answers, then mock data.
//!
//! Reads are per learner (`agent` filter) rather than one scan of the whole statement stream:
//! an organisation's batch reads only its own learners, a refresh only what it needs, and a
//! learner's snapshot is small. A snapshot is kept only up to
//! `[sources.activity] snapshot_max_events` events, so one very active learner cannot bloat the
//! store; above that, a failed read falls back to mock data or is unavailable.

use chrono::{DateTime, Utc};
use learnlens_analytics::input::ActivityEvent;

use super::contract::{CallError, Fallback, SourceError};
use super::xapi::{EmailDirectory, StatementQuery, XapiClient, XapiError};
use super::{Fetched, Provenance, Service};

/// The collection name of statements in snapshots and mock queries.
pub const STATEMENTS: &str = "statements";

/// A learner's statements, with fallback.
pub struct ActivityClient {
    pub xapi: XapiClient,
    pub fallback: Fallback,
    pub snapshot_max_events: usize,
}

impl ActivityClient {
    /// Every statement of `user_id` stored up to `until` (all of them when `None`), mapped to
    /// events; `mbox` actors are resolved through `emails`. A live answer is kept as the
    /// learner's snapshot when `keep` is set.
    pub async fn events_of(
        &self,
        user_id: &str,
        until: Option<DateTime<Utc>>,
        emails: &dyn EmailDirectory,
        keep: bool,
    ) -> Result<Fetched<Vec<ActivityEvent>>, SourceError> {
        let filters = [("agent".to_owned(), user_id.to_owned())];
        let key = super::contract::request_key(STATEMENTS, &filters);
        let query = StatementQuery {
            agent: Some(user_id.to_owned()),
            until,
            ..StatementQuery::default()
        };
        match self.xapi.fetch(&query, emails).await {
            Ok(result) => {
                let now = self.fallback.clock.now();
                if keep && result.events.len() <= self.snapshot_max_events {
                    self.fallback.keep(&key, &result.events, now).await;
                }
                Ok(Fetched {
                    value: result.events,
                    provenance: Provenance::Live,
                    fetched_at: now,
                })
            }
            Err(e) if !e.counts_as_failure() && !matches!(e, XapiError::Open) => {
                Err(SourceError::Refused {
                    service: Service::Activity,
                    cause: call_error(e),
                })
            }
            Err(e) => {
                let mut found = self
                    .fallback
                    .answer::<ActivityEvent>(&key, STATEMENTS, &filters, call_error(e))
                    .await?;
                if let Some(until) = until {
                    found.value.retain(|ev| ev.timestamp <= until);
                }
                Ok(found)
            }
        }
    }
}

/// The breaker's view of an LRS error.
fn call_error(e: XapiError) -> CallError {
    match e {
        XapiError::Open => CallError::Open,
        XapiError::Timeout => CallError::Timeout,
        XapiError::Transport(m) => CallError::Transport(m),
        XapiError::Status { status, .. } => CallError::Status(status),
        other => CallError::Body(other.to_string()),
    }
}
