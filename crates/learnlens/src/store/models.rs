//! Trained models, versioned per kind and organisation (analytics.md, dropOffRisk: "the model
//! … is stored versioned in the store").
//!
//! Invariants: versions of a (kind, organisation) count up from 1 and are never reused while
//! a row of that version exists; a model's id is `{kind}:{org}:v{version}`; saving keeps the
//! newest [`MODEL_VERSIONS_KEPT`] versions and deletes the older ones.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{DbTime, Store, StoreError, StoreResult, on_pool};

/// Versions kept per (kind, organisation).
pub const MODEL_VERSIONS_KEPT: i64 = 10;

/// Attempts at taking the next version when another writer takes it at the same time.
const VERSION_ATTEMPTS: usize = 5;

/// One stored model.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub id: String,
    pub kind: String,
    pub org_id: String,
    pub version: i64,
    /// Everything needed to use the model (for dropOffRisk: the whole `DropOffModel`).
    pub params: serde_json::Value,
    /// Its training figures, for operators.
    pub metrics: serde_json::Value,
    pub trained_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    org_id: String,
    version: i64,
    params: Json<serde_json::Value>,
    metrics: Json<serde_json::Value>,
    trained_at: DbTime,
}

impl From<Row> for StoredModel {
    fn from(r: Row) -> Self {
        StoredModel {
            id: r.id,
            kind: r.kind,
            org_id: r.org_id,
            version: r.version,
            params: r.params.0,
            metrics: r.metrics.0,
            trained_at: r.trained_at.into(),
        }
    }
}

impl Store {
    /// Saves a newly trained model as the next version of (`kind`, `org_id`) and deletes the
    /// versions older than the newest [`MODEL_VERSIONS_KEPT`].
    pub async fn save_model(
        &self,
        kind: &str,
        org_id: &str,
        params: &serde_json::Value,
        metrics: &serde_json::Value,
        trained_at: DateTime<Utc>,
    ) -> StoreResult<StoredModel> {
        for _ in 0..VERSION_ATTEMPTS {
            let latest: Option<i64> = on_pool!(self, pool => {
                sqlx::query_scalar("SELECT MAX(version) FROM models WHERE kind = $1 AND org_id = $2")
                    .bind(kind)
                    .bind(org_id)
                    .fetch_one(pool)
                    .await?
            });
            let version = latest.unwrap_or(0) + 1;
            let model = StoredModel {
                id: format!("{kind}:{org_id}:v{version}"),
                kind: kind.to_owned(),
                org_id: org_id.to_owned(),
                version,
                params: params.clone(),
                metrics: metrics.clone(),
                trained_at,
            };
            let inserted = on_pool!(self, pool => {
                sqlx::query(
                    "INSERT INTO models (id, kind, org_id, version, params, metrics, trained_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&model.id)
                .bind(kind)
                .bind(org_id)
                .bind(version)
                .bind(Json(params))
                .bind(Json(metrics))
                .bind(DbTime::from(trained_at))
                .execute(pool)
                .await
                .map(|_| ())
            });
            match inserted.map_err(StoreError::from) {
                Ok(_) => {}
                // Another writer took this version: take the next one.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
            on_pool!(self, pool => {
                sqlx::query("DELETE FROM models WHERE kind = $1 AND org_id = $2 AND version <= $3")
                    .bind(kind)
                    .bind(org_id)
                    .bind(version - MODEL_VERSIONS_KEPT)
                    .execute(pool)
                    .await?;
            });
            return Ok(model);
        }
        Err(StoreError::Conflict(
            "the next model version was taken by other writers every time",
        ))
    }

    /// The newest version of (`kind`, `org_id`), if any.
    pub async fn latest_model(&self, kind: &str, org_id: &str) -> StoreResult<Option<StoredModel>> {
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, kind, org_id, version, params, metrics, trained_at FROM models
                 WHERE kind = $1 AND org_id = $2 ORDER BY version DESC LIMIT 1",
            )
            .bind(kind)
            .bind(org_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(StoredModel::from))
    }

    /// Every stored version of (`kind`, `org_id`), newest first.
    pub async fn model_versions(&self, kind: &str, org_id: &str) -> StoreResult<Vec<i64>> {
        let versions = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT version FROM models WHERE kind = $1 AND org_id = $2 ORDER BY version DESC")
                .bind(kind)
                .bind(org_id)
                .fetch_all(pool)
                .await?
        });
        Ok(versions)
    }
}
