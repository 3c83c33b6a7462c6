//! The command line: `learnlens [serve] | migrate | users add|disable|enable|list |
//! analytics`. Options are flags or `LEARNLENS_*` environment variables and override the
//! configuration files.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::auth::password::{self, Passwords};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Overrides, RunEnv};
use crate::domain::{Email, Id, Role};
use crate::store::{NewUser, Store};

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
    /// Serve the API (the default command).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Compute analytics over a dataset file and print them as JSON (no database, no sources):
    /// every kind over every applicable subject, as the reference check reads them.
    Analytics(AnalyticsArgs),
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
    let store = Store::connect(&config.database_url(), 2).await?;
    store.migrate().await?;
    let now = SystemClock.now();
    match command {
        Command::Serve => bail!("serve is not an admin command"),
        Command::Analytics(args) => analytics(&config, &args)?,
        Command::Migrate => println!("migrations applied to {:?} store", store.backend()),
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
