//! Last-known-good source responses: the first fallback when a source service fails.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{DbTime, Store, StoreResult, on_pool};

/// A stored successful response of one source request.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub body: serde_json::Value,
    pub fetched_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    body: Json<serde_json::Value>,
    fetched_at: DbTime,
}

impl Store {
    /// Keeps `body` as the latest good answer of `service` to `request_key`.
    pub async fn put_snapshot(
        &self,
        service: &str,
        request_key: &str,
        body: &serde_json::Value,
        fetched_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO source_snapshots (service, request_key, body, fetched_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (service, request_key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
            )
            .bind(service)
            .bind(request_key)
            .bind(Json(body))
            .bind(DbTime::from(fetched_at))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn get_snapshot(
        &self,
        service: &str,
        request_key: &str,
    ) -> StoreResult<Option<Snapshot>> {
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as("SELECT body, fetched_at FROM source_snapshots WHERE service = $1 AND request_key = $2")
                .bind(service)
                .bind(request_key)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|r| Snapshot {
            body: r.body.0,
            fetched_at: r.fetched_at.into(),
        }))
    }
}
