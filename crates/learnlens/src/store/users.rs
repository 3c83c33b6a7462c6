//! Accounts: who can log in, with which roles, in which organisation.

use chrono::{DateTime, Utc};

use super::{DbTime, Store, StoreError, StoreResult, on_pool};
use crate::domain::{Email, Role};

/// An account. `id` is the directory source's user id, so accounts and analytics meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// What creating an account needs; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub org_id: String,
    pub email: Email,
    pub name: String,
    pub roles: Vec<Role>,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    org_id: String,
    email: String,
    name: String,
    roles: String,
    password_hash: String,
    disabled: bool,
    created_at: DbTime,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, Self::Error> {
        let roles = Role::parse_list(&r.roles).map_err(StoreError::Corrupt)?;
        Ok(User {
            id: r.id,
            org_id: r.org_id,
            email: r.email,
            name: r.name,
            roles,
            password_hash: r.password_hash,
            disabled: r.disabled,
            created_at: r.created_at.into(),
        })
    }
}

/// `SELECT <user columns> FROM users` followed by the given clause, as one literal.
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT id, org_id, email, name, roles, password_hash, disabled, created_at FROM users",
            $tail
        )
    };
}

impl Store {
    /// Creates an account; `Conflict` when the id or e-mail is taken.
    pub async fn create_user(&self, u: &NewUser, now: DateTime<Utc>) -> StoreResult<()> {
        let now = DbTime::from(now);
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO users (id, org_id, email, name, roles, password_hash, disabled, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $7)",
            )
            .bind(&u.id)
            .bind(&u.org_id)
            .bind(u.email.as_str())
            .bind(&u.name)
            .bind(Role::join(&u.roles))
            .bind(&u.password_hash)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Creates the account unless one with that id or e-mail exists; returns whether it did.
    pub async fn create_user_if_absent(
        &self,
        u: &NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        match self.create_user(u, now).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(select_user!(" WHERE email = $1"))
                .bind(email.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(User::try_from).transpose()
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(select_user!(" WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(User::try_from).transpose()
    }

    /// All accounts, or those of one organisation, ordered by e-mail.
    pub async fn list_users(&self, org_id: Option<&str>) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(select_user!(
                " WHERE ($1 IS NULL OR org_id = $1) ORDER BY email"
            ))
            .bind(org_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(User::try_from).collect()
    }

    /// Enables or disables an account by e-mail; returns whether it exists. Disabling also
    /// revokes every refresh-token family of the account.
    pub async fn set_user_disabled(
        &self,
        email: &Email,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let now = DbTime::from(now);
        let changed = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<String> = sqlx::query_scalar(
                "UPDATE users SET disabled = $1, updated_at = $2 WHERE email = $3 RETURNING id",
            )
            .bind(disabled)
            .bind(now)
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(id), true) = (&id, disabled) {
                sqlx::query(
                    "UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            id.is_some()
        });
        Ok(changed)
    }

    /// Replaces an account's password hash; returns whether the account exists.
    pub async fn set_password_hash(
        &self,
        id: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(DbTime::from(now))
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}
