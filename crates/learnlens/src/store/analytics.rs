//! Cache layer 3: the latest result of each analytic per (subject, role, type).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{DbTime, Store, StoreResult, on_pool};

/// One stored analytics result (also the value of cache layers 1 and 2).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsRow {
    pub subject_id: String,
    pub role: String,
    pub analytics_type: String,
    pub data: serde_json::Value,
    pub data_quality: serde_json::Value,
    pub calculated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    subject_id: String,
    role: String,
    analytics_type: String,
    data: Json<serde_json::Value>,
    data_quality: Json<serde_json::Value>,
    calculated_at: DbTime,
    expires_at: DbTime,
}

impl From<Row> for AnalyticsRow {
    fn from(r: Row) -> Self {
        AnalyticsRow {
            subject_id: r.subject_id,
            role: r.role,
            analytics_type: r.analytics_type,
            data: r.data.0,
            data_quality: r.data_quality.0,
            calculated_at: r.calculated_at.into(),
            expires_at: r.expires_at.into(),
        }
    }
}

/// Rows per INSERT: 7 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535.
const UPSERT_CHUNK: usize = 500;

impl Store {
    /// Inserts or replaces results, all in one transaction, `UPSERT_CHUNK` rows per
    /// statement (a batch writes hundreds of thousands). When a key occurs twice, the later
    /// row wins.
    pub async fn upsert_analytics(&self, rows: &[AnalyticsRow]) -> StoreResult<()> {
        // One statement may not touch a key twice (PostgreSQL refuses it): keep the last.
        let mut last: HashMap<(&str, &str, &str), usize> = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            last.insert((&r.subject_id, &r.role, &r.analytics_type), i);
        }
        let unique: Vec<&AnalyticsRow> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| last.get(&(&*r.subject_id, &*r.role, &*r.analytics_type)) == Some(i))
            .map(|(_, r)| r)
            .collect();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in unique.chunks(UPSERT_CHUNK) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO analytics_results
                        (subject_id, role, analytics_type, data, data_quality, calculated_at, expires_at) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.subject_id)
                        .push_bind(&r.role)
                        .push_bind(&r.analytics_type)
                        .push_bind(Json(&r.data))
                        .push_bind(Json(&r.data_quality))
                        .push_bind(DbTime::from(r.calculated_at))
                        .push_bind(DbTime::from(r.expires_at));
                });
                q.push(
                    " ON CONFLICT (subject_id, role, analytics_type) DO UPDATE SET
                        data = excluded.data, data_quality = excluded.data_quality,
                        calculated_at = excluded.calculated_at, expires_at = excluded.expires_at",
                );
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The stored result, fresh or not (the caller decides what stale means).
    pub async fn get_analytics(
        &self,
        subject_id: &str,
        role: &str,
        analytics_type: &str,
    ) -> StoreResult<Option<AnalyticsRow>> {
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT subject_id, role, analytics_type, data, data_quality, calculated_at, expires_at
                 FROM analytics_results WHERE subject_id = $1 AND role = $2 AND analytics_type = $3",
            )
            .bind(subject_id)
            .bind(role)
            .bind(analytics_type)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(AnalyticsRow::from))
    }

    /// The seed's `findByUserAndRole`: unexpired results of a subject in a role, newest first.
    pub async fn fresh_analytics_of(
        &self,
        subject_id: &str,
        role: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<AnalyticsRow>> {
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT subject_id, role, analytics_type, data, data_quality, calculated_at, expires_at
                 FROM analytics_results WHERE subject_id = $1 AND role = $2 AND expires_at > $3
                 ORDER BY calculated_at DESC",
            )
            .bind(subject_id)
            .bind(role)
            .bind(DbTime::from(now))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(AnalyticsRow::from).collect())
    }

    /// Deletes one result; returns whether it existed.
    pub async fn delete_analytic(
        &self,
        subject_id: &str,
        role: &str,
        analytics_type: &str,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM analytics_results WHERE subject_id = $1 AND role = $2 AND analytics_type = $3")
                .bind(subject_id)
                .bind(role)
                .bind(analytics_type)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// The (subject, role, analytics type) of every stored result, or of one subject's.
    pub async fn analytics_keys(
        &self,
        subject_id: Option<&str>,
    ) -> StoreResult<Vec<(String, String, String)>> {
        let rows: Vec<(String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT subject_id, role, analytics_type FROM analytics_results
                 WHERE ($1 IS NULL OR subject_id = $1)",
            )
            .bind(subject_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Deletes the results of one subject, or all of them; returns how many rows went.
    pub async fn delete_analytics(&self, subject_id: Option<&str>) -> StoreResult<u64> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM analytics_results WHERE ($1 IS NULL OR subject_id = $1)")
                .bind(subject_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}
