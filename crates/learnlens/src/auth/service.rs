//! The login, refresh and logout flows, and request authentication (token + session check).
//! Every failure a client could cause is one answer, [`LoginError::InvalidCredentials`] or
//! [`AuthError::InvalidToken`], so nothing tells an attacker which part was wrong.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use super::password::{PasswordError, Passwords};
use super::secret::{hash_token, looks_like_refresh_token, new_refresh_token};
use super::tokens::{AuthError, Principal, TokenService};
use crate::clock::Clock;
use crate::domain::Email;
use crate::store::{RotateOutcome, Store, StoreError, User};

/// How long a "this session is live" answer is trusted before the store is asked again. A
/// logout on this process takes effect at once; elsewhere (another replica, the CLI disabling
/// an account) within this bound.
const SESSION_CHECK_TTL: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    /// This deployment accepts only its identity provider's tokens.
    #[error("local login is disabled")]
    LocalLoginDisabled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Token(#[from] AuthError),
}

/// What a successful login or refresh hands out.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub access_token: String,
    pub refresh_token: String,
}

pub struct AuthService {
    store: Store,
    passwords: Passwords,
    tokens: TokenService,
    clock: Arc<dyn Clock>,
    refresh_ttl: TimeDelta,
    live_sessions: moka::sync::Cache<String, ()>,
}

impl AuthService {
    pub fn new(
        store: Store,
        passwords: Passwords,
        tokens: TokenService,
        clock: Arc<dyn Clock>,
        refresh_ttl_days: u64,
    ) -> AuthService {
        AuthService {
            store,
            passwords,
            tokens,
            clock,
            refresh_ttl: TimeDelta::days(i64::try_from(refresh_ttl_days).unwrap_or(30)),
            live_sessions: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SESSION_CHECK_TTL)
                .build(),
        }
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    pub fn tokens(&self) -> &TokenService {
        &self.tokens
    }

    /// Checks e-mail and password and opens a session. Unknown e-mail, wrong password and a
    /// disabled account do the same work and give the same error.
    pub async fn login(&self, email: &Email, password: &str) -> Result<Session, LoginError> {
        if !self.tokens.issues_local() {
            return Err(LoginError::LocalLoginDisabled);
        }
        let user = self.store.user_by_email(email).await?;
        let matches = self
            .passwords
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let user = match user {
            Some(u) if matches && !u.disabled => u,
            _ => return Err(LoginError::InvalidCredentials),
        };
        let now = self.clock.now();
        let family = uuid::Uuid::new_v4().to_string();
        let refresh_token = new_refresh_token();
        self.store
            .create_refresh_family(
                &family,
                &user.id,
                &hash_token(&refresh_token),
                now,
                now + self.refresh_ttl,
            )
            .await?;
        let access_token = self
            .tokens
            .issue(&user.id, &user.org_id, &user.roles, &family, now)?;
        Ok(Session {
            user,
            access_token,
            refresh_token,
        })
    }

    /// Rotates a refresh token. Presenting a token that was already rotated revokes its whole
    /// family (RFC 9700 §4.14.2); so does losing a race against a concurrent refresh.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, LoginError> {
        if !self.tokens.issues_local() {
            return Err(LoginError::LocalLoginDisabled);
        }
        if !looks_like_refresh_token(refresh_token) {
            return Err(LoginError::InvalidCredentials);
        }
        let now = self.clock.now();
        let old_hash = hash_token(refresh_token);
        let Some(family) = self.store.refresh_family_of(&old_hash).await? else {
            return Err(LoginError::InvalidCredentials);
        };
        if family.revoked || family.expires_at <= now {
            return Err(LoginError::InvalidCredentials);
        }
        if !family.is_current {
            tracing::warn!(session.id = %family.id, "refresh token reuse detected: revoking the session");
            self.revoke(&family.id).await?;
            return Err(LoginError::InvalidCredentials);
        }
        let user = match self.store.user_by_id(&family.user_id).await? {
            Some(u) if !u.disabled => u,
            _ => {
                self.revoke(&family.id).await?;
                return Err(LoginError::InvalidCredentials);
            }
        };
        let new_token = new_refresh_token();
        match self
            .store
            .rotate_refresh_token(&family.id, &old_hash, &hash_token(&new_token), now)
            .await?
        {
            RotateOutcome::Rotated => {}
            RotateOutcome::NotCurrent => {
                // Someone else rotated this token between our read and our write: a reuse.
                self.revoke(&family.id).await?;
                return Err(LoginError::InvalidCredentials);
            }
        }
        let access_token =
            self.tokens
                .issue(&user.id, &user.org_id, &user.roles, &family.id, now)?;
        Ok(Session {
            user,
            access_token,
            refresh_token: new_token,
        })
    }

    /// Ends the caller's session and the family of `refresh_token` if it is the caller's.
    /// Idempotent; an unknown or foreign token changes nothing and is not reported.
    pub async fn logout(&self, who: &Principal, refresh_token: &str) -> Result<(), LoginError> {
        if looks_like_refresh_token(refresh_token)
            && let Some(family) = self
                .store
                .refresh_family_of(&hash_token(refresh_token))
                .await?
            && family.user_id == who.user_id.as_str()
        {
            self.revoke(&family.id).await?;
        }
        if let Some(session) = &who.session {
            self.revoke(session).await?;
        }
        Ok(())
    }

    async fn revoke(&self, family_id: &str) -> Result<(), StoreError> {
        self.live_sessions.invalidate(family_id);
        self.store
            .revoke_refresh_family(family_id, self.clock.now())
            .await
    }

    /// Authenticates a bearer token: signature and claims, then that its session is live.
    pub async fn authenticate(&self, bearer: &str) -> Result<Arc<Principal>, AuthenticateError> {
        let now = self.clock.now();
        let principal = self.tokens.verify(bearer, now).await?;
        if let Some(session) = &principal.session
            && !self.live_sessions.contains_key(session)
        {
            if !self.store.refresh_family_is_live(session, now).await? {
                return Err(AuthenticateError::Token(AuthError::InvalidToken));
            }
            self.live_sessions.insert(session.clone(), ());
        }
        Ok(principal)
    }
}

/// Why a request could not be authenticated: the client's fault (401) or the store's (503).
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error(transparent)]
    Token(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
