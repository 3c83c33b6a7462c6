//! The command line: `learnlens [serve] | worker | batch | migrate | users
//! add|disable|enable|list | jobs list|retry|prune | cache clear | dataset | sources |
//! analytics | evaluate oulad`. Options are flags or `LEARNLENS_*` environment variables and
//! override the configuration files.
//!
//! `learnlens jobs list|retry|prune` is the operators' view of the job queue: the dead letters
//! (`list --status failed`), re-running one (`retry`), and retention on demand (`prune`).

use std::io::{BufRead as _, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::password::{self, Passwords};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Overrides, RunEnv};
use crate::demo::server::SourceSpec;
use crate::demo::synthetic::{Generator, Size, SyntheticSpec};
use crate::domain::{Email, Id, Role};
use crate::store::{JobStatus, NewUser, Store};

#[derive(Debug, Parser)]
#[command(name = "learnlens", version, about = "Learning analytics service")]
pub struct Cli {
    /// A TOML file over the embedded defaults (config/default.toml shows every key).
    #[arg(long, env = "LEARNLENS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// demo (default) or production.
    #[arg(long = "env", env = "LEARNLENS_ENV", global = true, value_enum)]
    pub run_env: Option<RunEnv>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "LEARNLENS_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// postgres://… or sqlite://PATH (default: a SQLite file in the data directory).
    #[arg(
        long,
        env = "LEARNLENS_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// redis://… (optional: shared cache and rate limits across replicas).
    #[arg(
        long,
        env = "LEARNLENS_REDIS_URL",
        global = true,
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// HS256 secret for access tokens, at least 32 bytes.
    #[arg(
        long,
        env = "LEARNLENS_JWT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// Folder for the demo database and generated secret (default ./data).
    #[arg(long, env = "LEARNLENS_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default command); also runs job workers unless
    /// `jobs.serve_runs_workers` is false.
    Serve,
    /// Run job workers and the scheduler only (no API), until Ctrl-C or SIGTERM.
    Worker,
    /// Run the nightly batch now, in the foreground, with a progress bar: every analytic of
    /// every subject of every organisation, written to the store.
    Batch(BatchArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage the cache of analytics results.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print a data set of the demo sources as JSON on standard output (`demo` and `small`
    /// only; `--summary` prints entity counts for any size).
    Dataset {
        /// synthetic, synthetic:SIZE or synthetic:SIZE:SEED, with SIZE one of demo (default),
        /// small, medium, large and SEED an unsigned integer (default 42).
        #[arg(default_value = "synthetic")]
        spec: SyntheticSpec,
        /// Print entity and event counts instead of the data.
        #[arg(long)]
        summary: bool,
    },
    /// Serve the five source contracts (four JSON services and an xAPI LRS) from a data set,
    /// on `--listen` (paths /directory, /skills, /catalog, /assessments, /lrs/xAPI).
    Sources {
        /// synthetic[:SIZE[:SEED]] (SIZE demo, small, medium or large) or oulad[:PATH]
        /// (default PATH: $LEARNLENS_OULAD_PATH, else ../shared/data/oulad).
        // The brackets are the help text's notation, not links.
        #[allow(rustdoc::broken_intra_doc_links)]
        #[arg(long, default_value = "synthetic")]
        dataset: SourceSpec,
    },
    /// Evaluate a model on a public data set (no database needed).
    #[command(subcommand)]
    Evaluate(EvaluateCommand),
    /// Compute analytics over a dataset file and print them as JSON (no database, no sources):
    /// every kind over every applicable subject, as the reference check reads them.
    Analytics(AnalyticsArgs),
    /// Inspect the job queue: list jobs, re-run a failed one, delete old ones.
    #[command(subcommand)]
    Jobs(JobsCommand),
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first, as tab-separated lines: id, kind, status, attempt/max,
    /// created, finished, error.
    List {
        /// Only jobs with this status (default: every status).
        #[arg(long, value_enum)]
        status: Option<JobStatusArg>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
    /// Put a failed job back in the queue with a fresh set of attempts.
    Retry {
        /// The job's id (from `jobs list --status failed`).
        job_id: String,
    },
    /// Delete finished jobs past retention now (`[jobs] retention_completed_days`,
    /// `retention_failed_days`), and the chunked runs of failed batches older than
    /// `retention_failed_days`; the scheduler also does it every hour.
    Prune,
    /// Queue a nightly batch now, for the workers (`serve`, `worker`) to run as they run the
    /// 02:00 one; prints its job id (`learnlens batch` runs one in the foreground instead).
    Batch {
        /// The batch's `asOf` (RFC 3339; default: when it starts).
        #[arg(long)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    },
}

/// A job status on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JobStatusArg {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl From<JobStatusArg> for JobStatus {
    fn from(s: JobStatusArg) -> JobStatus {
        match s {
            JobStatusArg::Queued => JobStatus::Queued,
            JobStatusArg::Running => JobStatus::Running,
            JobStatusArg::Completed => JobStatus::Completed,
            JobStatusArg::Failed => JobStatus::Failed,
            JobStatusArg::Cancelled => JobStatus::Cancelled,
        }
    }
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Only this organisation (default: every organisation in the directory, plus the global
    /// skillDemand).
    #[arg(long)]
    pub org: Option<String>,
    /// Compute as of this instant (RFC 3339; default: now).
    #[arg(long)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Organisations computed at once (default: the number of CPUs).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Only read and parse every organisation's data with the batch's source calls; compute
    /// and write nothing. The batch benchmark's floor (`scripts/bench-batch.sh`).
    #[arg(long)]
    pub fetch_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum EvaluateCommand {
    /// The drop-off model on OULAD: who, among those still registered on day d, will not pass.
    /// Trains on the 2013 presentations, tests on the 2014 ones.
    Oulad(OuladArgs),
}

#[derive(Debug, Args)]
pub struct OuladArgs {
    /// The OULAD folder [default: ../shared/data/oulad]
    #[arg(long, env = crate::oulad::PATH_ENV)]
    pub data: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Snapshot days (days since the presentation started), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = crate::evaluate::DEFAULT_DAYS)]
    pub days: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Json,
    Table,
}

/// Arguments of `learnlens analytics`.
#[derive(Debug, clap::Args)]
pub struct AnalyticsArgs {
    /// A `Dataset` JSON file (the entities of sources.md, e.g. from `learnlens dataset`).
    #[arg(long)]
    pub dataset: PathBuf,
    /// The `asOf` of every analytic, RFC 3339 (e.g. 2026-11-26T00:00:00Z).
    #[arg(long)]
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// Comma-separated analytics.md names (default: every kind of the catalogue).
    #[arg(long)]
    pub kinds: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Delete stored results from every layer (the store, Redis, and every replica's memory
    /// through an invalidation); the next read recomputes them.
    Clear {
        /// Only this subject's results (a user or organisation id, or `global`).
        #[arg(long)]
        subject: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account; the password is read from the first line of standard input.
    Add {
        /// The user id the directory source knows (so analytics and account meet).
        #[arg(long)]
        id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        org: String,
        /// Comma-separated: learner, trainer, org-admin.
        #[arg(long)]
        roles: String,
    },
    /// Disable an account and revoke its sessions.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Re-enable a disabled account.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// List accounts.
    List {
        #[arg(long)]
        org: Option<String>,
    },
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            env: self.run_env,
            listen: self.listen,
            database_url: self.database_url.clone(),
            redis_url: self.redis_url.clone(),
            jwt_secret: self.jwt_secret.clone(),
            data_dir: self.data_dir.clone(),
            demo_password: std::env::var("LEARNLENS_DEMO_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
            lrs_password: std::env::var("LEARNLENS_LRS_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
        }
    }

    pub fn load_config(&self) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref(), &self.overrides())
    }
}

/// Runs `learnlens analytics` with the `[analytics]` settings of the configuration.
pub fn analytics(config: &Config, args: &AnalyticsArgs) -> anyhow::Result<()> {
    crate::refcheck::main(
        &args.dataset,
        args.as_of,
        args.kinds.as_deref(),
        &config.analytics,
    )
}

/// Runs a command other than `serve`.
pub async fn run_admin(config: Config, command: Command) -> anyhow::Result<()> {
    if let Command::Evaluate(EvaluateCommand::Oulad(args)) = command {
        // CPU-bound for a minute or two, and needs no store.
        return tokio::task::spawn_blocking(move || evaluate_oulad(&config, &args))
            .await
            .context("the evaluation task failed")?;
    }
    let store =
        Store::connect(&config.database_url(), 2, config.database.acquire_timeout()).await?;
    store.migrate().await?;
    let now = SystemClock.now();
    match command {
        Command::Serve | Command::Worker | Command::Batch(_) => {
            bail!("not an admin command")
        }
        Command::Analytics(_) | Command::Dataset { .. } | Command::Sources { .. } => {
            bail!("not an admin command")
        }
        Command::Evaluate(_) => bail!("evaluate runs without the store"),
        Command::Migrate => println!("migrations applied to {:?} store", store.backend()),
        Command::Cache(CacheCommand::Clear { subject }) => {
            let subject = subject
                .map(|s| Id::parse(&s).map_err(|e| anyhow::anyhow!("--subject {e}")))
                .transpose()?;
            let redis = match config.redis_url() {
                Some(url) => Some(crate::redis_client::RedisClient::new(
                    url,
                    std::time::Duration::from_millis(config.redis.timeout_ms),
                )?),
                None => None,
            };
            let cache = crate::cache::Cache::new(
                &config.cache,
                store.clone(),
                redis,
                &config.redis.key_prefix,
                Arc::new(SystemClock),
            );
            let n = cache.clear(subject.as_ref().map(Id::as_str)).await?;
            println!("cleared {n} stored result(s) from every cache layer");
        }
        Command::Users(UsersCommand::Add {
            id,
            email,
            name,
            org,
            roles,
        }) => {
            let id = Id::parse(&id).map_err(|e| anyhow::anyhow!("--id {e}"))?;
            let org = Id::parse(&org).map_err(|e| anyhow::anyhow!("--org {e}"))?;
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
            let roles = Role::parse_list(&roles).map_err(|e| anyhow::anyhow!("--roles: {e}"))?;
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let password = read_password()?;
            let passwords = Passwords::new(1)?;
            let user = NewUser {
                id: id.into_inner(),
                org_id: org.into_inner(),
                email,
                name,
                roles,
                password_hash: passwords.hash(&password).await?,
            };
            store
                .create_user(&user, now)
                .await
                .context("creating the account")?;
            println!("created {} ({})", user.id, user.email);
        }
        Command::Users(UsersCommand::Disable { email }) => {
            set_disabled(&store, &email, true, now).await?
        }
        Command::Users(UsersCommand::Enable { email }) => {
            set_disabled(&store, &email, false, now).await?
        }
        Command::Jobs(command) => jobs(&store, &config, command, now).await?,
        Command::Users(UsersCommand::List { org }) => {
            for u in store.list_users(org.as_deref()).await? {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    u.id,
                    u.email,
                    u.org_id,
                    Role::join(&u.roles),
                    state,
                    u.name
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

/// `learnlens evaluate oulad`: the report on stdout, progress, runtime and peak memory on
/// stderr.
fn evaluate_oulad(config: &Config, args: &OuladArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let root = crate::oulad::locate(args.data.as_deref());
    let oulad = crate::oulad::Oulad::open(&root)?;
    eprintln!("reading OULAD from {}", root.display());
    let report = crate::evaluate::evaluate(&oulad, &args.days, &config.analytics, |line| {
        eprintln!("  {line}");
    })?;
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ReportFormat::Table => print!("{}", crate::evaluate::render_table(&report)),
    }
    eprintln!(
        "evaluated in {:.1} s, peak RSS {}",
        started.elapsed().as_secs_f64(),
        crate::evaluate::peak_rss_mib().map_or("unknown".to_owned(), |m| format!("{m:.0} MiB"))
    );
    if !report.signs_ok {
        eprintln!("warning: some coefficients do not have their expected sign (see the report)");
    }
    Ok(())
}

/// `learnlens jobs …`: the operators' commands over the queue.
async fn jobs(
    store: &Store,
    config: &Config,
    command: JobsCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    match command {
        JobsCommand::List { status, limit } => {
            let jobs = store.list_jobs(status.map(JobStatus::from), limit).await?;
            let time = |t: chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            };
            let mut out = std::io::stdout().lock();
            for j in jobs {
                // One line per job, whatever the error message holds.
                let error: String = j
                    .error
                    .unwrap_or_default()
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}/{}\t{}\t{}\t{}",
                    j.id,
                    j.kind,
                    j.status.as_str(),
                    j.attempt,
                    j.max_attempts,
                    time(j.created_at),
                    j.finished_at.map_or("-".to_owned(), time),
                    error
                )?;
            }
        }
        JobsCommand::Retry { job_id } => {
            if store.retry_failed_job(&job_id, now).await? {
                println!("re-queued {job_id}");
            } else {
                match store.get_job(&job_id).await? {
                    None => bail!("no job with id {job_id}"),
                    Some(j) => bail!(
                        "job {job_id} is {}; only failed jobs can be retried",
                        j.status.as_str()
                    ),
                }
            }
        }
        JobsCommand::Prune => {
            let (done, failed) = (
                config.jobs.retention_completed_days,
                config.jobs.retention_failed_days,
            );
            let failed_before = now - chrono::TimeDelta::days(i64::from(failed));
            let n = store
                .prune_jobs(
                    now - chrono::TimeDelta::days(i64::from(done)),
                    failed_before,
                )
                .await?;
            let runs = store.prune_chunked_runs(failed_before).await?;
            println!(
                "pruned {n} jobs (completed or cancelled over {done} days ago, failed over {failed} days ago) and {runs} chunked runs"
            );
        }
        JobsCommand::Batch { as_of } => {
            let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let job = crate::store::NewJob {
                kind: crate::jobs::BATCH_KIND.to_owned(),
                payload: match as_of {
                    Some(t) => serde_json::json!({ "asOf": t }),
                    None => serde_json::json!({}),
                },
                owner_id: None,
                parent_id: None,
                singleton_key: Some(format!("batch:manual:{stamp}")),
                max_attempts: crate::pipeline::batch::MAX_ATTEMPTS,
                run_at: now,
            };
            println!("{}", store.enqueue_job(&job, now).await?.id);
        }
    }
    Ok(())
}

async fn set_disabled(
    store: &Store,
    email: &str,
    disabled: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    if !store.set_user_disabled(&email, disabled, now).await? {
        bail!("no account with e-mail {email}");
    }
    println!("{} {email}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

/// The password comes from standard input, never from the command line (which other users
/// of the machine can see in the process list).
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    let len = password.chars().count();
    if !(password::MIN_LEN..=password::MAX_LEN).contains(&len) {
        bail!(
            "the password must be {}–{} characters",
            password::MIN_LEN,
            password::MAX_LEN
        );
    }
    Ok(password)
}

/// `learnlens dataset SPEC [--summary]`: writes the synthetic data set (or its counts) as JSON
/// to `out`. Needs no configuration, store or network.
///
/// `medium` and `large` are refused without `--summary`: their JSON would be gigabytes (the
/// events alone are ~2 and ~20 million records); the demo sources serve them page by page.
pub fn dataset(spec: SyntheticSpec, summary: bool, out: impl Write) -> anyhow::Result<()> {
    if !summary && matches!(spec.size, Size::Medium | Size::Large) {
        bail!(
            "synthetic:{} is too large to print as one JSON document (gigabytes); \
             use synthetic:demo or synthetic:small, or --summary for its counts",
            spec.size
        );
    }
    let generator = Generator::new(spec.size, spec.seed);
    let mut out = std::io::BufWriter::new(out);
    if summary {
        serde_json::to_writer_pretty(&mut out, &generator.summary())?;
    } else {
        serde_json::to_writer(&mut out, &generator.dataset())?;
    }
    writeln!(out)?;
    out.flush().context("writing the data set")?;
    Ok(())
}

/// What `serve` prints at start-up: where to go and, in demo mode, how to log in.
pub fn banner(config: &Config, addr: SocketAddr) -> String {
    let mut s = format!(
        "learnlens is listening on http://{addr}\n  API docs:  http://{addr}/docs\n  OpenAPI:   http://{addr}{}\n",
        crate::api::OPENAPI_PATH
    );
    if config.env == RunEnv::Demo {
        s.push_str(&format!(
            "  demo accounts (password: {}):\n",
            config.demo.password
        ));
        for a in &crate::demo::DEMO_ACCOUNTS {
            s.push_str(&format!("    {:<20} {}\n", a.email, Role::join(a.roles)));
        }
        s.push_str(&format!(
            "  try: curl -s http://{addr}/api/v1/auth/login -H 'content-type: application/json' \\\n        -d '{{\"email\":\"learner@demo.test\",\"password\":\"{}\"}}'\n",
            config.demo.password
        ));
    }
    s
}

/// Runs `serve` until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    let state = crate::build(config, Arc::new(SystemClock)).await?;
    println!("{}", banner(&state.config, addr));
    crate::serve(state, listener, shutdown_signal()).await
}

/// `learnlens worker`: the job workers of this process, until Ctrl-C or SIGTERM.
pub async fn worker(mut config: Config) -> anyhow::Result<()> {
    // It serves no reads, so the results it writes would fill an L1 no one reads.
    config.cache.l1_max_bytes = 0;
    let state = crate::build(config, Arc::new(SystemClock)).await?;
    let token = tokio_util::sync::CancellationToken::new();
    let mut tasks = state.jobs.spawn(token.clone());
    tasks.push(crate::jobs::scheduler::spawn(
        state.store.clone(),
        state.clock.clone(),
        &state.config.jobs,
        token.clone(),
    )?);
    println!(
        "learnlens worker: {} workers on the {:?} store",
        state.config.jobs.workers.max(1),
        state.store.backend()
    );
    shutdown_signal().await;
    token.cancel();
    futures::future::join_all(tasks).await;
    state.store.close().await;
    Ok(())
}

/// `learnlens batch`: the nightly batch's work in the foreground, with a progress bar on
/// standard error and a summary (learners/s, statements/s, peak memory) at the end.
pub async fn batch(mut config: Config, args: BatchArgs) -> anyhow::Result<()> {
    use futures::StreamExt as _;

    // It serves no reads, so the results it writes would fill an L1 no one reads.
    config.cache.l1_max_bytes = 0;
    let state = crate::build(config, Arc::new(SystemClock)).await?;
    let pipeline = &state.pipeline;
    let as_of = args.as_of.unwrap_or_else(|| state.clock.now());
    let orgs: Vec<String> = match &args.org {
        Some(org) => vec![org.clone()],
        None => pipeline
            .organizations()
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect(),
    };
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(orgs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} organisations {msg}",
        )?
        .progress_chars("=> "),
    );
    let concurrency = args
        .concurrency
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
        .max(1);
    let fetch_only = args.fetch_only;
    let runs: Vec<(String, anyhow::Result<crate::pipeline::batch::OrgRun>)> =
        futures::stream::iter(orgs)
            .map(|org| {
                let bar = &bar;
                async move {
                    let run = if fetch_only {
                        pipeline.fetch_org(&org, as_of).await.map_err(Into::into)
                    } else {
                        pipeline
                            .run_org(
                                &org,
                                crate::pipeline::Selection::default(),
                                as_of,
                                crate::pipeline::Reader::Batch,
                                None,
                            )
                            .await
                            .map_err(|e| anyhow::anyhow!("{e}"))
                    };
                    bar.inc(1);
                    bar.set_message(org.clone());
                    (org, run)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    if args.org.is_none() {
        if args.fetch_only {
            crate::pipeline::load_global(&pipeline.sources).await?;
        } else {
            pipeline.run_global(as_of).await?;
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let mut total = crate::pipeline::batch::OrgRun::default();
    let mut failed = Vec::new();
    for (org, run) in runs {
        match run {
            Ok(r) => {
                total.learners += r.learners;
                total.statements += r.statements;
                total.results += r.results;
            }
            Err(e) => failed.push(format!("{org}: {e}")),
        }
    }
    let rate = |n: u64| n as f64 / secs.max(1e-9);
    println!(
        "{}batch as of {}: {} learners, {} statements, {} results in {secs:.1} s ({:.0} learners/s, {:.0} statements/s), peak RSS {}",
        if args.fetch_only { "fetch-only " } else { "" },
        as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        total.learners,
        total.statements,
        total.results,
        rate(total.learners),
        rate(total.statements),
        crate::evaluate::peak_rss_mib().map_or("unknown".to_owned(), |m| format!("{m:.0} MiB"))
    );
    state.store.close().await;
    if !failed.is_empty() {
        bail!(
            "{} organisation(s) failed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown requested");
}

/// Runs `learnlens sources` until Ctrl-C or SIGTERM. Loading takes seconds for synthetic
/// `large` and OULAD; the time is printed with the addresses.
pub async fn sources(config: Config, spec: SourceSpec) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let label = spec.to_string();
    let data = tokio::task::spawn_blocking(move || {
        spec.load(|line| tracing::info!(dataset = %spec, "{line}"))
    })
    .await
    .context("the loading task failed")??;
    let loaded = started.elapsed();
    let platform = crate::sources::xapi::Platform::new(&config.sources.activity.platform)?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let auth = crate::demo::server::DemoAuth {
        token: Some(config.sources.token.clone()).filter(|t| !t.is_empty()),
        lrs: Some((
            config.sources.activity.username.clone(),
            config.sources.activity.password.clone(),
        ))
        .filter(|(u, _)| !u.is_empty()),
    };
    let statements = data.statements.total();
    let running = crate::demo::server::spawn(data, platform, auth, listener)?;
    let base = format!("http://{}", running.addr);
    println!(
        "demo sources ({label}, {statements} statements, loaded in {:.1} s) on {base}\n  directory   {base}/directory\n  skills      {base}/skills\n  catalog     {base}/catalog\n  assessments {base}/assessments\n  LRS (xAPI)  {base}/lrs/xAPI/",
        loaded.as_secs_f64()
    );
    shutdown_signal().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use learnlens_analytics::Dataset;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("learnlens").chain(args.iter().copied()))
    }

    #[test]
    fn jobs_commands_parse() {
        let cli = parse(&["jobs", "list", "--status", "failed", "--limit", "5"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Jobs(JobsCommand::List {
                status: Some(JobStatusArg::Failed),
                limit: 5
            }))
        ));
        let cli = parse(&["jobs", "list"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Jobs(JobsCommand::List {
                status: None,
                limit: 50
            }))
        ));
        let cli = parse(&["jobs", "retry", "abc"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Jobs(JobsCommand::Retry { job_id })) if job_id == "abc"
        ));
        assert!(parse(&["jobs", "list", "--status", "done"]).is_err());
        assert!(parse(&["jobs", "list", "--limit", "0"]).is_err());
        assert!(parse(&["jobs", "retry"]).is_err());
        assert!(matches!(
            parse(&["jobs", "prune"]).expect("parses").command,
            Some(Command::Jobs(JobsCommand::Prune))
        ));
    }

    #[test]
    fn dataset_takes_a_synthetic_spec() {
        let cli = parse(&["dataset", "synthetic:small:7"]).expect("parses");
        let Some(Command::Dataset { spec, summary }) = cli.command else {
            panic!("not the dataset command");
        };
        assert_eq!((spec.size, spec.seed, summary), (Size::Small, 7, false));
        let cli = parse(&["dataset"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Dataset { spec, .. }) if spec.size == Size::Demo
        ));
        assert!(parse(&["dataset", "synthetic:huge"]).is_err());
        assert!(parse(&["dataset", "oulad"]).is_err());
    }

    #[test]
    fn sources_takes_a_synthetic_spec_of_any_size_or_oulad_with_an_optional_path() {
        let spec = |args: &[&str]| match parse(args).map(|c| c.command) {
            Ok(Some(Command::Sources { dataset })) => Ok(dataset),
            Ok(_) => panic!("not the sources command"),
            Err(e) => Err(e),
        };
        assert_eq!(
            spec(&["sources"]).expect("default"),
            SourceSpec::Synthetic(SyntheticSpec {
                size: Size::Demo,
                seed: crate::demo::synthetic::DEFAULT_SEED
            })
        );
        assert_eq!(
            spec(&["sources", "--dataset", "synthetic:large:7"]).expect("large"),
            SourceSpec::Synthetic(SyntheticSpec {
                size: Size::Large,
                seed: 7
            })
        );
        assert_eq!(
            spec(&["sources", "--dataset", "oulad"]).expect("oulad"),
            SourceSpec::Oulad(None)
        );
        assert_eq!(
            spec(&["sources", "--dataset", "oulad:/data/my:oulad"]).expect("path"),
            SourceSpec::Oulad(Some(PathBuf::from("/data/my:oulad")))
        );
        for bad in [
            "synthetic:huge",
            "ouladx",
            "csv:/tmp/x",
            "synthetic:small:x",
        ] {
            assert!(spec(&["sources", "--dataset", bad]).is_err(), "{bad}");
        }
        let err = "nope".parse::<SourceSpec>().expect_err("unknown");
        assert!(err.to_string().contains("oulad[:PATH]"), "{err}");
    }

    #[test]
    fn dataset_prints_the_demo_data_as_json() {
        let spec: SyntheticSpec = "synthetic:demo:3".parse().expect("spec");
        let mut out = Vec::new();
        dataset(spec, false, &mut out).expect("prints");
        let expected = Generator::new(Size::Demo, 3).dataset();
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            serde_json::to_string(&expected).expect("serialises") + "\n"
        );
        let data: Dataset = serde_json::from_str(&text).expect("a Dataset");
        assert_eq!(data.users.len(), expected.users.len());
        assert!(data.users.iter().any(|u| u.id == "demo-learner"));
        assert!(!data.events.is_empty());
    }

    #[test]
    fn dataset_refuses_to_print_medium_and_large_but_summarises_them() {
        for spec in ["synthetic:medium", "synthetic:large:1"] {
            let mut out = Vec::new();
            let err = dataset(spec.parse().expect("spec"), false, &mut out).expect_err("refused");
            assert!(err.to_string().contains("too large"), "{err}");
            assert!(out.is_empty());
        }
        let mut out = Vec::new();
        dataset("synthetic:small:1".parse().expect("spec"), true, &mut out).expect("summary");
        let summary: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(summary["learners"], 1_000);
        assert_eq!(summary["size"], "small");
    }
}
