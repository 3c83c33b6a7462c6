//! Access tokens: issuing ours (HS256 JWT, `typ: at+jwt`, 15 minutes) and verifying ours and,
//! optionally, an external identity provider's (RS256/ES256 against its JWKS).
//!
//! Verification is stricter than jsonwebtoken's defaults (RFC 8725): an algorithm allow-list
//! per key, `kid` required and known, `jku`/`x5u`/`jwk`/`x5c`/`crit` headers refused, `iss`,
//! `aud`, `sub`, `exp`, `nbf` required, and the time claims checked here against the injected
//! clock with an explicit leeway. Every failure is the same [`AuthError::InvalidToken`].
//!
//! Our own tokens, once verified, are remembered by their exact text (signature included) for
//! at most their lifetime: a client sends the same token with every request, and decoding
//! and checking it was a fifth of a cached analytics read's CPU. Invariant: the time claims
//! are checked on every use, remembered or not; a token whose text differs in any byte is
//! verified afresh.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::config::AuthConfig;
use crate::domain::{Id, Role};

/// Tokens longer than this are refused before any parsing (a 16 KB header is an attack).
const MAX_TOKEN_LEN: usize = 4096;
/// Verified tokens of ours remembered at most (each about 1 KB with its principal).
const VERIFIED_CAPACITY: u64 = 20_000;
const ACCESS_TYP: &str = "at+jwt";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Any problem with a presented token; deliberately one variant, one answer.
    #[error("invalid or expired token")]
    InvalidToken,
    #[error("could not sign a token: {0}")]
    Signing(String),
    /// No JWT secret is configured (identity-provider-only deployment): we issue nothing.
    #[error("local login is disabled")]
    LocalDisabled,
}

/// The claims of an access token, ours or (mapped) an external provider's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub org: String,
    pub roles: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The refresh-token family (login session) this token belongs to; checked for revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Id,
    pub org_id: Id,
    pub roles: Vec<Role>,
    /// Our login session; `None` for an external provider's token.
    pub session: Option<String>,
}

impl Principal {
    pub fn holds(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Issues and verifies access tokens.
pub struct TokenService {
    kid: String,
    issuer: String,
    audience: String,
    ttl: TimeDelta,
    leeway: i64,
    /// Our HS256 key; `None` when only an external provider's tokens are accepted.
    local: Option<(EncodingKey, DecodingKey)>,
    jwks: Option<Jwks>,
    /// Our tokens already verified, by their text; see the module documentation.
    verified: moka::sync::Cache<Box<str>, Arc<Verified>>,
}

/// A token of ours that passed every check but the time claims.
#[derive(Debug)]
struct Verified {
    principal: Arc<Principal>,
    nbf: i64,
    exp: i64,
}

impl TokenService {
    /// `secret` signs and verifies our own tokens; without one we issue none and accept only
    /// the identity provider's.
    pub fn new(cfg: &AuthConfig, secret: Option<&[u8]>) -> TokenService {
        let jwks = (!cfg.jwks_url.is_empty()).then(|| Jwks {
            url: cfg.jwks_url.clone(),
            issuer: cfg.jwks_issuer.clone(),
            audience: cfg.jwks_audience.clone(),
            min_refresh: TimeDelta::seconds(i64::try_from(cfg.jwks_min_refresh_secs).unwrap_or(60)),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
        });
        TokenService {
            kid: cfg.jwt_kid.clone(),
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            ttl: TimeDelta::seconds(i64::try_from(cfg.access_token_ttl_secs).unwrap_or(900)),
            leeway: i64::try_from(cfg.leeway_secs).unwrap_or(30),
            local: secret.map(|s| (EncodingKey::from_secret(s), DecodingKey::from_secret(s))),
            jwks,
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                // A token of ours lives `ttl`; the leeway and a margin for clock steps on top.
                .time_to_live(Duration::from_secs(
                    cfg.access_token_ttl_secs
                        .saturating_add(cfg.leeway_secs)
                        .saturating_add(60),
                ))
                .build(),
        }
    }

    pub fn access_ttl(&self) -> TimeDelta {
        self.ttl
    }

    /// Whether we sign tokens ourselves (local login is possible).
    pub fn issues_local(&self) -> bool {
        self.local.is_some()
    }

    /// Signs an access token for `user` in login session `session`.
    pub fn issue(
        &self,
        user_id: &str,
        org_id: &str,
        roles: &[Role],
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<String, AuthError> {
        let (encoding, _) = self.local.as_ref().ok_or(AuthError::LocalDisabled)?;
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TYP.into());
        header.kid = Some(self.kid.clone());
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.into(),
            org: org_id.into(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            sid: Some(session.into()),
        };
        jsonwebtoken::encode(&header, &claims, encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Verifies a bearer token and returns its principal. Does not check revocation (the
    /// caller does, with the session id), so it needs no store.
    pub async fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Principal>, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::InvalidToken);
        }
        if let Some(known) = self.verified.get(token) {
            self.check_times(known.nbf, known.exp, now)?;
            return Ok(known.principal.clone());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken)?;
        if header.jku.is_some()
            || header.x5u.is_some()
            || header.jwk.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
        {
            return Err(AuthError::InvalidToken);
        }
        let kid = header.kid.as_deref().ok_or(AuthError::InvalidToken)?;
        let (claims, ours): (AccessClaims, bool) = match header.alg {
            Algorithm::HS256 => {
                let (_, decoding) = self.local.as_ref().ok_or(AuthError::InvalidToken)?;
                if kid != self.kid || header.typ.as_deref() != Some(ACCESS_TYP) {
                    return Err(AuthError::InvalidToken);
                }
                let claims = decode(
                    token,
                    decoding,
                    Algorithm::HS256,
                    &self.issuer,
                    &self.audience,
                )?;
                (claims, true)
            }
            alg @ (Algorithm::RS256 | Algorithm::ES256) => {
                let jwks = self.jwks.as_ref().ok_or(AuthError::InvalidToken)?;
                let key = jwks
                    .key(kid, alg, now)
                    .await
                    .ok_or(AuthError::InvalidToken)?;
                let mut claims: AccessClaims =
                    decode(token, &key, alg, &jwks.issuer, &jwks.audience)?;
                claims.sid = None;
                // An identity provider's keys rotate: its tokens are verified at every use.
                (claims, false)
            }
            _ => return Err(AuthError::InvalidToken),
        };
        let (nbf, exp) = (claims.nbf, claims.exp);
        let principal = Arc::new(principal_of(claims)?);
        self.check_times(nbf, exp, now)?;
        if ours {
            let known = Verified {
                principal: principal.clone(),
                nbf,
                exp,
            };
            self.verified.insert(token.into(), Arc::new(known));
        }
        Ok(principal)
    }

    fn check_times(&self, nbf: i64, exp: i64, now: DateTime<Utc>) -> Result<(), AuthError> {
        let now = now.timestamp();
        // RFC 7519: reject when now >= exp (+ leeway); reject when now < nbf (- leeway).
        if now >= exp.saturating_add(self.leeway) || now < nbf.saturating_sub(self.leeway) {
            return Err(AuthError::InvalidToken);
        }
        Ok(())
    }
}

fn decode(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
    issuer: &str,
    audience: &str,
) -> Result<AccessClaims, AuthError> {
    let mut v = Validation::new(alg);
    v.algorithms = vec![alg];
    v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    // Times are checked by `check_times` against the injected clock.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.leeway = 0;
    jsonwebtoken::decode::<AccessClaims>(token, key, &v)
        .map(|d| d.claims)
        .map_err(|_| AuthError::InvalidToken)
}

fn principal_of(c: AccessClaims) -> Result<Principal, AuthError> {
    let user_id = Id::parse(&c.sub).map_err(|_| AuthError::InvalidToken)?;
    let org_id = Id::parse(&c.org).map_err(|_| AuthError::InvalidToken)?;
    let mut roles = Vec::with_capacity(c.roles.len());
    for r in &c.roles {
        roles.push(Role::parse(r).ok_or(AuthError::InvalidToken)?);
    }
    if roles.is_empty() {
        return Err(AuthError::InvalidToken);
    }
    Ok(Principal {
        user_id,
        org_id,
        roles,
        session: c.sid,
    })
}

/// An external provider's key set, fetched lazily and refreshed on an unknown `kid` at most
/// once per `min_refresh`.
struct Jwks {
    url: String,
    issuer: String,
    audience: String,
    min_refresh: TimeDelta,
    client: reqwest::Client,
    keys: RwLock<HashMap<String, (Algorithm, Arc<DecodingKey>)>>,
    last_fetch: Mutex<Option<DateTime<Utc>>>,
}

impl Jwks {
    async fn key(&self, kid: &str, alg: Algorithm, now: DateTime<Utc>) -> Option<DecodingKey> {
        if Id::parse(kid).is_err() {
            return None; // hostile kid: never fetch for it
        }
        if let Some(found) = self.lookup(kid, alg).await {
            return Some(found);
        }
        {
            let mut last = self.last_fetch.lock().await;
            if last.is_some_and(|t| now - t < self.min_refresh) {
                return None;
            }
            *last = Some(now);
            match self.fetch().await {
                Ok(keys) => *self.keys.write().await = keys,
                Err(e) => tracing::warn!(error = %e, "fetching the JWKS failed"),
            }
        }
        self.lookup(kid, alg).await
    }

    async fn lookup(&self, kid: &str, alg: Algorithm) -> Option<DecodingKey> {
        let keys = self.keys.read().await;
        keys.get(kid)
            .filter(|(a, _)| *a == alg)
            .map(|(_, k)| (**k).clone())
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, (Algorithm, Arc<DecodingKey>)>> {
        let set: JwkSet = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(alg)) = (jwk.common.key_id.clone(), jwk_algorithm(jwk)) else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (alg, Arc::new(key)));
            }
        }
        Ok(keys)
    }
}

/// The algorithm a JWK may be used with: its `alg` if given, else what its key type implies.
/// Only RS256 and ES256 are ever accepted from a provider.
fn jwk_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, KeyAlgorithm};
    match (jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
        (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(_)) => {
            Some(Algorithm::ES256)
        }
        (None, AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
        (None, AlgorithmParameters::EllipticCurve(_)) => Some(Algorithm::ES256),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn service() -> TokenService {
        let cfg = AuthConfig {
            jwt_secret: String::new(),
            jwt_kid: "k1".into(),
            issuer: "learnlens".into(),
            audience: "learnlens-api".into(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            leeway_secs: 30,
            password_hash_concurrency: 1,
            jwks_url: String::new(),
            jwks_issuer: String::new(),
            jwks_audience: String::new(),
            jwks_min_refresh_secs: 60,
        };
        TokenService::new(&cfg, Some(b"unit-test-secret-unit-test-secret-0001"))
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0)
            .single()
            .expect("time")
            + TimeDelta::seconds(secs)
    }

    fn issue(s: &TokenService) -> String {
        let user = "0b5e2a3c-3f43-4b55-9d3c-3b1e6a2b7c01";
        let org = "5f0c9b1e-7a8d-4c2e-9b6f-1d2e3f4a5b6c";
        s.issue(user, org, &[Role::Learner], "session-1", at(0))
            .expect("issue")
    }

    #[tokio::test]
    async fn a_remembered_token_is_still_checked_against_its_time_claims() {
        let s = service();
        let token = issue(&s);
        s.verify(&token, at(0)).await.expect("valid when issued");
        assert!(s.verified.contains_key(token.as_str()), "remembered");
        // exp = 900 s, leeway 30 s: valid at 929 s, refused at 930 s; nbf = 0: from -30 s.
        s.verify(&token, at(929)).await.expect("before the edge");
        assert_eq!(
            s.verify(&token, at(930)).await,
            Err(AuthError::InvalidToken)
        );
        s.verify(&token, at(-30)).await.expect("within the leeway");
        assert_eq!(
            s.verify(&token, at(-31)).await,
            Err(AuthError::InvalidToken)
        );
    }

    #[tokio::test]
    async fn a_token_one_byte_away_from_a_remembered_one_is_verified_afresh() {
        let s = service();
        let token = issue(&s);
        s.verify(&token, at(0)).await.expect("valid");
        let flip = |i: usize| {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).expect("ascii")
        };
        let payload = token.find('.').expect("dot") + 5;
        for forged in [flip(token.len() - 2), flip(payload)] {
            assert_eq!(
                s.verify(&forged, at(0)).await,
                Err(AuthError::InvalidToken),
                "{forged}"
            );
            assert!(!s.verified.contains_key(forged.as_str()));
        }
    }

    #[tokio::test]
    async fn an_expired_token_is_not_remembered() {
        let s = service();
        let token = issue(&s);
        assert_eq!(
            s.verify(&token, at(930)).await,
            Err(AuthError::InvalidToken)
        );
        assert!(!s.verified.contains_key(token.as_str()));
    }
}
