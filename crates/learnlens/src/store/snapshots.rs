//! Last-known-good source responses: the first fallback when a source service fails.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{DbTime, Store, StoreError, StoreResult, on_connection, on_pool};

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
    /// Keeps `body` as the latest good answer of `service` to `request_key`. A body of
    /// [`super::OWN_CONNECTION_BYTES`] or more (a large organisation's collection) is written
    /// on a connection of its own (`on_connection!`).
    pub async fn put_snapshot(
        &self,
        service: &str,
        request_key: &str,
        body: &serde_json::Value,
        fetched_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let body = serde_json::value::to_raw_value(body)
            .map_err(|e| StoreError::Corrupt(format!("a snapshot that does not serialise: {e}")))?;
        let own = body.get().len() >= super::OWN_CONNECTION_BYTES;
        on_connection!(self, own: own, conn => {
            sqlx::query(
                "INSERT INTO source_snapshots (service, request_key, body, fetched_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (service, request_key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
            )
            .bind(service)
            .bind(request_key)
            .bind(Json(&*body))
            .bind(DbTime::from(fetched_at))
            .execute(&mut *conn)
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
