//! Demo mode: the generated JWT secret kept in the data directory, the demo accounts, and the
//! demo sources: the [`synthetic`] data set, the [`oulad`] one, their [`statements`] streams
//! and the [`server`] that serves them.
//!
//! The demo organisation `demo-org` and its users have fixed ids (`demo-learner`,
//! `demo-trainer`, `demo-admin`, `demo-multi`) that the built-in demo sources also use, so the
//! accounts see analytics about themselves. Nothing here runs in production.

pub mod oulad;
pub mod server;
pub mod statements;
pub mod synthetic;

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::auth::password::Passwords;
use crate::auth::secret::new_jwt_secret;
use crate::domain::{Email, Role};
use crate::store::{NewUser, Store};

pub const DEMO_ORG: &str = "demo-org";

/// One demo account.
pub struct DemoAccount {
    pub id: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    pub roles: &'static [Role],
}

pub const DEMO_ACCOUNTS: [DemoAccount; 4] = [
    DemoAccount {
        id: "demo-learner",
        email: "learner@demo.test",
        name: "Demo Learner",
        roles: &[Role::Learner],
    },
    DemoAccount {
        id: "demo-trainer",
        email: "trainer@demo.test",
        name: "Demo Trainer",
        roles: &[Role::Trainer],
    },
    DemoAccount {
        id: "demo-admin",
        email: "admin@demo.test",
        name: "Demo Admin",
        roles: &[Role::OrgAdmin],
    },
    DemoAccount {
        id: "demo-multi",
        email: "multi@demo.test",
        name: "Demo Multi-role",
        roles: &[Role::Learner, Role::Trainer, Role::OrgAdmin],
    },
];

/// The JWT secret of demo mode: read from `<data_dir>/jwt-secret`, created on first start, so
/// tokens survive a restart.
pub fn jwt_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let secret = new_jwt_secret();
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// Creates the demo accounts that do not exist yet and gives all of them the configured
/// password, so the password printed at start-up is always the one that works.
pub async fn ensure_accounts(
    store: &Store,
    passwords: &Passwords,
    password: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let hash = passwords.hash(password).await?;
    for a in &DEMO_ACCOUNTS {
        let user = NewUser {
            id: a.id.into(),
            org_id: DEMO_ORG.into(),
            email: Email::parse(a.email).map_err(|e| anyhow::anyhow!("demo e-mail {e}"))?,
            name: a.name.into(),
            roles: a.roles.to_vec(),
            password_hash: hash.clone(),
        };
        if !store.create_user_if_absent(&user, now).await? {
            store.set_password_hash(a.id, &hash, now).await?;
        }
    }
    Ok(())
}
