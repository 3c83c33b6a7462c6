//! Configuration: the embedded `config/default.toml`, an optional file over it, then flags and
//! `LEARNLENS_*` environment variables over both. [`Config::validate`] enforces what production
//! requires, so a misconfigured replica refuses to start instead of running insecurely.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The embedded defaults; every key is commented there.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Run mode. Demo fills every gap with something runnable; production fills none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RunEnv {
    Demo,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub env: RunEnv,
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub auth: AuthConfig,
    pub rate_limits: RateLimitsConfig,
    pub demo: DemoConfig,
    /// The source services (`[sources]`).
    pub sources: crate::sources::SourcesConfig,
    /// The job queue's workers (`[jobs]`).
    pub jobs: crate::jobs::JobsConfig,
    /// The cache layers (`[cache]`).
    pub cache: crate::cache::CacheConfig,
    /// The analytics engine's own settings (`[analytics]`).
    #[serde(default)]
    pub analytics: learnlens_analytics::Config,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    pub cors_allowed_origins: Vec<String>,
    pub shutdown_grace_secs: u64,
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    /// A query waiting longer for a connection fails as unavailable (503).
    pub acquire_timeout_ms: u64,
    pub migrate_on_start: bool,
}

impl DatabaseConfig {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: String,
    pub timeout_ms: u64,
    pub key_prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt_secret: String,
    pub jwt_kid: String,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u64,
    pub leeway_secs: u64,
    pub password_hash_concurrency: usize,
    pub jwks_url: String,
    pub jwks_issuer: String,
    pub jwks_audience: String,
    pub jwks_min_refresh_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsConfig {
    pub login: RateSpec,
    pub refresh: RateSpec,
    pub logout: RateSpec,
    pub me: RateSpec,
    pub analytics: RateSpec,
    pub analytics_refresh: RateSpec,
    pub job_status: RateSpec,
    pub job_cancel: RateSpec,
    pub system: RateSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    pub password: String,
}

/// The Learning Record Store of the activity source (`[sources.activity]`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivitySourceConfig {
    /// The LRS's xAPI endpoint; empty means none is configured.
    pub url: String,
    pub username: String,
    pub password: String,
    /// The platform's base IRI (actors' `homePage`, prefix of content and course IRIs).
    pub platform: String,
    pub timeout_ms: u64,
    pub page_limit: u32,
    pub max_pages: u32,
    pub max_page_bytes: usize,
    /// A learner's statements are kept as a fallback snapshot only up to this many events.
    pub snapshot_max_events: usize,
}

impl std::fmt::Debug for ActivitySourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivitySourceConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("platform", &self.platform)
            .field("timeout_ms", &self.timeout_ms)
            .field("page_limit", &self.page_limit)
            .field("max_pages", &self.max_pages)
            .field("max_page_bytes", &self.max_page_bytes)
            .field("snapshot_max_events", &self.snapshot_max_events)
            .finish()
    }
}

/// A rate limit written as `COUNT/PERIOD` (`5/min`, `100/h`, `2/s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    pub count: u32,
    pub period: Duration,
}

impl std::str::FromStr for RateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (count, unit) = s
            .split_once('/')
            .ok_or_else(|| format!("rate limit `{s}` is not COUNT/PERIOD"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("rate limit `{s}`: COUNT is not a positive integer"))?;
        if count == 0 {
            return Err(format!("rate limit `{s}`: COUNT must be at least 1"));
        }
        let period = match unit.trim() {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            other => {
                return Err(format!(
                    "rate limit `{s}`: unknown period `{other}` (s, min, h)"
                ));
            }
        };
        Ok(RateSpec { count, period })
    }
}

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Values given on the command line or in the environment; they win over every file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub env: Option<RunEnv>,
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub jwt_secret: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub demo_password: Option<String>,
    pub lrs_password: Option<String>,
}

impl Config {
    /// Defaults, then `file` if given, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut merged: toml::Table =
            toml::from_str(DEFAULT_TOML).context("embedded default.toml is invalid")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let user: toml::Table =
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            merge(&mut merged, user);
        }
        let mut config: Config = toml::Value::Table(merged)
            .try_into()
            .context("invalid configuration")?;
        config.apply(overrides);
        Ok(config)
    }

    fn apply(&mut self, o: &Overrides) {
        if let Some(env) = o.env {
            self.env = env;
        }
        if let Some(listen) = o.listen {
            self.server.listen = listen;
        }
        if let Some(url) = &o.database_url {
            self.database.url = url.clone();
        }
        if let Some(url) = &o.redis_url {
            self.redis.url = url.clone();
        }
        if let Some(secret) = &o.jwt_secret {
            self.auth.jwt_secret = secret.clone();
        }
        if let Some(dir) = &o.data_dir {
            self.data_dir = dir.clone();
        }
        if let Some(password) = &o.demo_password {
            self.demo.password = password.clone();
        }
        if let Some(password) = &o.lrs_password {
            self.sources.activity.password = password.clone();
        }
    }

    /// Refuses configurations that must not run. Production needs a real secret (or JWKS) and
    /// an explicit database; a secret that is set must be long enough in every mode.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.jobs.workers < 2 {
            bail!(
                "jobs.workers must be at least 2 (a nightly batch holds one worker while its organisations run on the others)"
            );
        }
        let secret_len = self.auth.jwt_secret.len();
        if secret_len > 0 && secret_len < 32 {
            bail!("auth.jwt_secret must be at least 32 bytes (got {secret_len})");
        }
        if self.env == RunEnv::Production {
            if secret_len == 0 && self.auth.jwks_url.is_empty() {
                bail!(
                    "production needs LEARNLENS_JWT_SECRET (>= 32 bytes) or auth.jwks_url; refusing to start"
                );
            }
            if self.database.url.is_empty() {
                bail!("production needs LEARNLENS_DATABASE_URL; refusing to start");
            }
            for service in crate::sources::Service::ALL {
                if service != crate::sources::Service::Activity
                    && self.sources.url(service).is_none()
                {
                    bail!(
                        "production needs sources.{service}_url; refusing to start (demo sources are for demo mode only)"
                    );
                }
            }
        }
        if self.database.max_connections == 0 {
            bail!("database.max_connections must be at least 1");
        }
        if self.database.acquire_timeout_ms == 0 {
            bail!("database.acquire_timeout_ms must be at least 1");
        }
        self.analytics
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid [analytics] configuration: {e}"))?;
        if self.auth.password_hash_concurrency == 0 {
            bail!("auth.password_hash_concurrency must be at least 1");
        }
        crate::sources::xapi::XapiClientOptions::from_config(&self.sources.activity)
            .map_err(|e| anyhow::anyhow!("invalid [sources.activity] configuration: {e}"))?;
        self.jobs
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid [jobs] configuration: {e}"))?;
        Ok(())
    }

    /// The database URL to use: the configured one, or the demo SQLite file.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("learnlens.db").display())
        } else {
            self.database.url.clone()
        }
    }

    pub fn redis_url(&self) -> Option<&str> {
        Some(self.redis.url.as_str()).filter(|u| !u.is_empty())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.server.request_timeout_secs)
    }
}

/// Deep-merges `over` into `base`: tables merge key by key, everything else is replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_in_demo_mode() {
        let c = Config::load(None, &Overrides::default()).expect("defaults load");
        assert_eq!(c.env, RunEnv::Demo);
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.rate_limits.login.count, 5);
        assert_eq!(c.rate_limits.analytics.period, Duration::from_secs(3600));
        c.validate().expect("demo defaults are valid");
    }

    #[test]
    fn the_jobs_table_has_the_documented_defaults_and_refuses_a_bad_cron() {
        let mut c = Config::load(None, &Overrides::default()).expect("defaults load");
        assert_eq!(c.jobs, crate::jobs::JobsConfig::default());
        assert_eq!(c.jobs.nightly_batch_cron, "0 2 * * *");
        c.jobs.nightly_batch_cron = "0 25 * * *".into();
        let err = c.validate().expect_err("hour 25 refused");
        assert!(format!("{err:#}").contains("nightly_batch_cron"), "{err:#}");
        c.jobs.nightly_batch_cron = "0 0 2 * * *".into();
        assert!(c.validate().is_err(), "six fields refused");
        c.jobs.nightly_batch_cron = String::new();
        c.validate()
            .expect("an empty expression disables the schedule");
    }

    #[test]
    fn production_refuses_to_start_without_secret_or_database() {
        let mut o = Overrides {
            env: Some(RunEnv::Production),
            ..Default::default()
        };
        let c = Config::load(None, &o).expect("loads");
        assert!(c.validate().is_err());
        o.jwt_secret = Some("x".repeat(32));
        let c = Config::load(None, &o).expect("loads");
        let err = c.validate().expect_err("no database url").to_string();
        assert!(err.contains("DATABASE_URL"), "{err}");
        o.database_url = Some("postgres://localhost/x".into());
        let mut c = Config::load(None, &o).expect("loads");
        let err = c.validate().expect_err("no source URLs").to_string();
        assert!(err.contains("sources.directory_url"), "{err}");
        for url in [
            &mut c.sources.directory_url,
            &mut c.sources.skills_url,
            &mut c.sources.catalog_url,
            &mut c.sources.assessments_url,
        ] {
            *url = "https://platform.example/svc".into();
        }
        c.validate().expect("valid");
    }

    #[test]
    fn short_jwt_secret_is_refused_in_every_mode() {
        let o = Overrides {
            jwt_secret: Some("too-short".into()),
            ..Default::default()
        };
        assert!(Config::load(None, &o).expect("loads").validate().is_err());
    }

    #[test]
    fn analytics_settings_come_from_the_analytics_table() {
        let mut base: toml::Table = toml::from_str(DEFAULT_TOML).expect("defaults");
        let c: Config = toml::Value::Table(base.clone()).try_into().expect("config");
        assert_eq!(c.analytics, learnlens_analytics::Config::default());
        let over: toml::Table = toml::from_str("[analytics]\nno_such_key = 1\n").expect("toml");
        merge(&mut base, over);
        assert!(
            toml::Value::Table(base).try_into::<Config>().is_err(),
            "typos are refused"
        );
    }

    #[test]
    fn the_activity_source_is_configured_under_sources_activity() {
        let c = Config::load(None, &Overrides::default()).expect("defaults");
        assert_eq!(c.sources.activity.url, "");
        assert_eq!(c.sources.activity.page_limit, 500);
        assert_eq!(c.sources.activity.max_page_bytes, 32 << 20);
        let o = Overrides {
            lrs_password: Some("from-env".into()),
            ..Default::default()
        };
        let mut c = Config::load(None, &o).expect("loads");
        assert_eq!(c.sources.activity.password, "from-env");
        assert!(!format!("{c:?}").contains("from-env"), "password in Debug");
        c.sources.activity.url = "http://127.0.0.1:8100/xAPI/".into();
        c.validate().expect("valid");
        c.sources.activity.platform = "not an iri".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn rate_specs_parse_and_reject_garbage() {
        assert_eq!(
            "5/min".parse::<RateSpec>(),
            Ok(RateSpec {
                count: 5,
                period: Duration::from_secs(60)
            })
        );
        for bad in ["", "5", "0/min", "x/min", "5/day", "-1/s"] {
            assert!(bad.parse::<RateSpec>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn file_overrides_merge_key_by_key() {
        let mut base: toml::Table = toml::from_str(DEFAULT_TOML).expect("defaults");
        let over: toml::Table =
            toml::from_str("[server]\nrequest_timeout_secs = 5\n").expect("toml");
        merge(&mut base, over);
        let c: Config = toml::Value::Table(base).try_into().expect("config");
        assert_eq!(c.server.request_timeout_secs, 5);
        assert_eq!(c.server.body_limit_bytes, 65536);
    }
}
