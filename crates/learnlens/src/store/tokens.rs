//! Refresh-token families (RFC 9700 §4.14.2). Only hashes are stored. A family has exactly one
//! live token, `current_hash`; rotation is a compare-and-swap on it, so of any number of
//! concurrent refreshes with the same token at most one succeeds.

use chrono::{DateTime, Utc};

use super::{DbTime, Store, StoreResult, on_pool};

/// A family as found through one of its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: String,
    pub user_id: String,
    /// Whether the presented token is the family's live one (false: it was rotated away).
    pub is_current: bool,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

#[derive(sqlx::FromRow)]
struct FamilyRow {
    id: String,
    user_id: String,
    current_hash: String,
    expires_at: DbTime,
    revoked_at: Option<DbTime>,
}

/// What a rotation attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated,
    /// The presented token was no longer current (reuse or a lost race): nothing changed.
    NotCurrent,
}

impl Store {
    /// Starts a family for a new login, with its first token.
    pub async fn create_refresh_family(
        &self,
        family_id: &str,
        user_id: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (now, expires_at) = (DbTime::from(now), DbTime::from(expires_at));
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO refresh_families (id, user_id, current_hash, generation, created_at, expires_at)
                 VALUES ($1, $2, $3, 0, $4, $5)",
            )
            .bind(family_id)
            .bind(user_id)
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, created_at) VALUES ($1, $2, $3)")
                .bind(token_hash)
                .bind(family_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The family a token (live or rotated) belongs to.
    pub async fn refresh_family_of(&self, token_hash: &str) -> StoreResult<Option<RefreshFamily>> {
        let row: Option<FamilyRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT f.id, f.user_id, f.current_hash, f.expires_at, f.revoked_at
                 FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
                 WHERE t.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| RefreshFamily {
            is_current: r.current_hash == token_hash,
            id: r.id,
            user_id: r.user_id,
            expires_at: r.expires_at.into(),
            revoked: r.revoked_at.is_some(),
        }))
    }

    /// Replaces the live token `old_hash` of a live family by `new_hash`, atomically.
    pub async fn rotate_refresh_token(
        &self,
        family_id: &str,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<RotateOutcome> {
        let now = DbTime::from(now);
        let outcome = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let swapped = sqlx::query(
                "UPDATE refresh_families SET current_hash = $1, generation = generation + 1
                 WHERE id = $2 AND current_hash = $3 AND revoked_at IS NULL AND expires_at > $4",
            )
            .bind(new_hash)
            .bind(family_id)
            .bind(old_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if swapped == 1 {
                sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, created_at) VALUES ($1, $2, $3)")
                    .bind(new_hash)
                    .bind(family_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                RotateOutcome::Rotated
            } else {
                tx.rollback().await?;
                RotateOutcome::NotCurrent
            }
        });
        Ok(outcome)
    }

    /// Revokes a family (logout, or reuse detected); idempotent.
    pub async fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = DbTime::from(now);
        on_pool!(self, pool => {
            sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(family_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Every stored token hash, for the test that no plaintext token is ever stored.
    pub async fn all_refresh_token_hashes(&self) -> StoreResult<Vec<String>> {
        let hashes = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT token_hash FROM refresh_tokens UNION ALL SELECT current_hash FROM refresh_families")
                .fetch_all(pool)
                .await?
        });
        Ok(hashes)
    }
}

impl Store {
    /// Whether a login session may still be used: family neither revoked nor expired, and its
    /// account not disabled. Checked (through a short cache) on every authenticated request.
    pub async fn refresh_family_is_live(
        &self,
        family_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let found: Option<i32> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT 1 FROM refresh_families f JOIN users u ON u.id = f.user_id
                 WHERE f.id = $1 AND f.revoked_at IS NULL AND f.expires_at > $2 AND u.disabled = FALSE",
            )
            .bind(family_id)
            .bind(DbTime::from(now))
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }
}
