//! Clients for the platform's source services (sources.md): four JSON contracts (directory,
//! skills, catalog, assessments) and an xAPI Learning Record Store (activity).
//!
//! Every call goes through one stack per service: deadline → retry → circuit breaker →
//! fallback (last-known-good snapshot in the store, then mock data), and says where its answer
//! came from ([`Provenance`]), so analytics built on fallback data are flagged.
//!
//! Invariants: timeouts, retries and breakers live only here; callers never see a transport
//! error for a read that a fallback could answer; a source answering garbage counts as a
//! failure for its breaker and never panics or crashes a job.

pub mod activity;
pub mod breaker;
pub mod contract;
pub mod dataset;
pub mod retry;
pub mod xapi;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::store::Store;
use activity::ActivityClient;
use breaker::{BreakerConfig, BreakerStatus, CircuitBreaker};
use contract::{ContractClient, ContractSettings, Fallback, Resilience};
use retry::RetryConfig;

/// The platform's services learnlens reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Directory,
    Skills,
    Catalog,
    Assessments,
    Activity,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Directory,
        Service::Skills,
        Service::Catalog,
        Service::Assessments,
        Service::Activity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Directory => "directory",
            Service::Skills => "skills",
            Service::Catalog => "catalog",
            Service::Assessments => "assessments",
            Service::Activity => "activity",
        }
    }

    /// The `dataQuality.sources` key of api.md (the catalog is shown as `courses`).
    pub fn quality_key(self) -> &'static str {
        match self {
            Service::Catalog => "courses",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// From the service, now.
    Live,
    /// The last good answer kept in the store (the service failed or its breaker is open).
    Snapshot,
    /// Deterministic synthetic data (no snapshot existed either).
    Mock,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Live => "live",
            Provenance::Snapshot => "snapshot",
            Provenance::Mock => "mock",
        }
    }
}

/// An answer and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T> {
    pub value: T,
    pub provenance: Provenance,
    /// When the data was fetched from the service (a snapshot's original time).
    pub fetched_at: chrono::DateTime<chrono::Utc>,
}

/// Answers a request from synthetic data when neither the service nor a snapshot can: the
/// seed's `getMockData`. Implemented by the demo data set.
pub trait MockSource: Send + Sync {
    /// The items `collection` would hold for `filters`, or `None` if it cannot say.
    fn query(
        &self,
        service: Service,
        collection: &str,
        filters: &[(String, String)],
    ) -> Option<Vec<serde_json::Value>>;
}

/// Source settings (`[sources]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesConfig {
    pub directory_url: String,
    pub skills_url: String,
    pub catalog_url: String,
    pub assessments_url: String,
    /// Bearer token sent to the four JSON services.
    pub token: String,
    /// One call, retries included, gives up after this long.
    pub deadline_ms: u64,
    pub page_limit: u32,
    pub max_pages: u32,
    /// Results built from fallback data are cached only this long.
    pub fallback_ttl_secs: u64,
    pub retry: RetryConfig,
    pub breaker: BreakerConfig,
    /// The Learning Record Store (`[sources.activity]`).
    pub activity: crate::config::ActivitySourceConfig,
}

impl SourcesConfig {
    pub fn url(&self, service: Service) -> Option<&str> {
        let url = match service {
            Service::Directory => &self.directory_url,
            Service::Skills => &self.skills_url,
            Service::Catalog => &self.catalog_url,
            Service::Assessments => &self.assessments_url,
            Service::Activity => return None,
        };
        Some(url.as_str()).filter(|u| !u.is_empty())
    }
}

/// The clients of every configured source, and one breaker per service.
pub struct Sources {
    contracts: BTreeMap<Service, ContractClient>,
    activity: Option<ActivityClient>,
    breakers: BTreeMap<Service, Arc<CircuitBreaker>>,
}

impl Sources {
    pub fn new(
        config: &SourcesConfig,
        store: &Store,
        clock: Arc<dyn Clock>,
        mock: Option<Arc<dyn MockSource>>,
    ) -> anyhow::Result<Sources> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.deadline_ms.max(1)))
            .user_agent(concat!("learnlens/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let breakers: BTreeMap<Service, Arc<CircuitBreaker>> = Service::ALL
            .into_iter()
            .map(|s| {
                (
                    s,
                    Arc::new(CircuitBreaker::new(config.breaker.clone(), clock.clone())),
                )
            })
            .collect();
        let resilience = |service: Service| Resilience {
            service,
            breaker: breakers[&service].clone(),
            retry: config.retry.clone(),
            deadline: Duration::from_millis(config.deadline_ms),
            http: http.clone(),
        };
        let fallback = |service: Service| Fallback {
            service,
            store: store.clone(),
            mock: mock.clone(),
            clock: clock.clone(),
        };
        let mut contracts = BTreeMap::new();
        for service in Service::ALL {
            let Some(url) = config.url(service) else {
                continue;
            };
            contracts.insert(
                service,
                ContractClient {
                    settings: ContractSettings {
                        base_url: url.to_owned(),
                        token: Some(config.token.clone()).filter(|t| !t.is_empty()),
                        page_limit: config.page_limit,
                        max_pages: config.max_pages,
                    },
                    resilience: resilience(service),
                    fallback: fallback(service),
                },
            );
        }
        let activity = match xapi::XapiClientOptions::from_config(&config.activity)? {
            Some(options) => Some(ActivityClient {
                xapi: xapi::XapiClient::new(options)?
                    .with_resilience(resilience(Service::Activity)),
                fallback: fallback(Service::Activity),
                snapshot_max_events: config.activity.snapshot_max_events,
            }),
            None => None,
        };
        Ok(Sources {
            contracts,
            activity,
            breakers,
        })
    }

    /// The activity (LRS) client, if an LRS is configured.
    pub fn activity(&self) -> Option<&ActivityClient> {
        self.activity.as_ref()
    }

    /// The client of a JSON-contract service, if its URL is configured.
    pub fn contract(&self, service: Service) -> Option<&ContractClient> {
        self.contracts.get(&service)
    }

    pub fn breaker(&self, service: Service) -> Option<&Arc<CircuitBreaker>> {
        self.breakers.get(&service)
    }

    /// Every service's breaker state, in [`Service::ALL`] order.
    pub fn statuses(&self) -> Vec<(Service, BreakerStatus)> {
        self.breakers
            .iter()
            .map(|(s, b)| (*s, b.status()))
            .collect()
    }

    /// Publishes the breaker states as the `learnlens_source_breaker_state` gauge.
    pub fn export_metrics(&self) {
        for (service, status) in self.statuses() {
            metrics::gauge!("learnlens_source_breaker_state", "service" => service.as_str())
                .set(status.state.gauge());
        }
    }
}
