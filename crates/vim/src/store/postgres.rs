//! [`VimStore`] on PostgreSQL (sqlx, runtime queries). Everything PostgreSQL-specific lives
//! here: native `timestamp` / `boolean` columns, unique violations told apart by constraint
//! name, and the `to_regclass` probe for Tacker's legacy `vnf` table.
//!
//! Concurrency needs no extra locking: under READ COMMITTED a second insert into a unique
//! index waits for the first transaction and fails with SQLSTATE 23505 once it commits, so
//! the constraints of `migrations/postgres` alone decide which of concurrent writers wins.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{NaiveDate, NaiveDateTime, Timelike};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};

use super::row::{decode_vim, internal, json_text, same_credentials, Timestamps, SELECT};
use super::{FilterValue, PoolOptions, Scope, VimColumn, VimFilter, VimStore};
use crate::model::Vim;
use crate::VimError;

/// Unique key of the live name per tenant (same name as Tacker's and the SQLite schema's).
const UNIQUE_NAME: &str = "uniq_vims0tenant_id0name0deleted_at";
/// Partial unique index: one live default VIM per tenant.
const UNIQUE_DEFAULT: &str = "uniq_vims0tenant_id0live_default";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// `deleted_at` of a live row (Tacker's `datetime.min` sentinel).
fn live() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("0001-01-01 00:00:00 is a valid timestamp")
}

/// PostgreSQL-backed VIM store.
#[derive(Clone, Debug)]
pub struct PostgresVimStore {
    pool: PgPool,
}

impl PostgresVimStore {
    /// [`connect_with`](Self::connect_with) and oslo.db's default pool options.
    pub async fn connect(url: &str) -> Result<Self, VimError> {
        Self::connect_with(url, &PoolOptions::default()).await
    }

    /// Connect with a libpq-style URL (`postgres://user:password@host:port/db?...`), the pool
    /// sized and timed by `pool`, and apply migrations. Errors name host, port and database,
    /// never the password.
    pub async fn connect_with(url: &str, pool: &PoolOptions) -> Result<Self, VimError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| VimError::Internal(format!("invalid PostgreSQL URL: {e}")))?;
        let target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        // `test_before_acquire` (sqlx's default, kept explicit) pings a pooled connection
        // before handing it out, as oslo.db does on checkout: connections the database
        // dropped during an outage are replaced, never handed to a request.
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .max_lifetime(pool.max_lifetime)
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(|e| VimError::Internal(format!("connecting to PostgreSQL {target}: {e}")))?;
        // sqlx's migrator applies the migrations on one connection holding
        // `pg_advisory_lock` (a key derived from the database name) from before it creates
        // its bookkeeping table until the last migration: replicas started together on an
        // empty database wait for each other, and each migration runs once.
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| VimError::Internal(format!("applying migrations on {target}: {e}")))?;
        Ok(Self { pool })
    }

    /// The live default VIM of `tenant_id`, for the `VimDefaultDuplicate` message.
    async fn live_default(
        &self,
        tenant_id: &str,
        except: Option<&str>,
    ) -> Result<Option<String>, VimError> {
        let id = sqlx::query_scalar(
            "SELECT id FROM vims WHERE tenant_id = $1 AND is_default AND deleted_at = $2 \
             AND id <> $3 LIMIT 1",
        )
        .bind(tenant_id)
        .bind(live())
        .bind(except.unwrap_or(""))
        .fetch_optional(&self.pool)
        .await
        .map_err(internal)?;
        Ok(id)
    }

    /// Unique violations by constraint name; any other failure (a primary-key clash
    /// included) is internal.
    async fn constraint_error(&self, err: sqlx::Error, vim: &Vim) -> VimError {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                match db.constraint() {
                    Some(UNIQUE_NAME) => return VimError::DuplicateEntity,
                    Some(UNIQUE_DEFAULT) => {
                        // The conflicting transaction has committed (PostgreSQL reports the
                        // violation only then), so the existing default is visible.
                        let existing = self
                            .live_default(&vim.tenant_id, Some(&vim.id))
                            .await
                            .ok()
                            .flatten()
                            .unwrap_or_default();
                        return VimError::VimDefaultDuplicate(existing);
                    }
                    _ => {}
                }
            }
        }
        internal(err)
    }
}

/// `created_at` / `updated_at` keep whole seconds, as on Tacker's MariaDB DATETIME columns
/// (and the SQLite store); truncated, since PostgreSQL's `timestamp(0)` would round.
fn whole_seconds(t: &NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(0).unwrap_or(*t)
}

fn row_to_vim(row: &PgRow) -> Result<Vim, VimError> {
    let deleted_at: NaiveDateTime = row.try_get("deleted_at").map_err(internal)?;
    let created_at: Option<NaiveDateTime> = row.try_get("created_at").map_err(internal)?;
    let ts = Timestamps {
        created_at: created_at
            .ok_or_else(|| VimError::Internal("database: vims.created_at is NULL".into()))?,
        updated_at: row.try_get("updated_at").map_err(internal)?,
        deleted_at: (deleted_at != live()).then_some(deleted_at),
    };
    decode_vim(row, ts)
}

fn push_scope(qb: &mut QueryBuilder<'_, Postgres>, scope: &Scope) {
    if let Scope::Tenant(t) = scope {
        qb.push(" AND (v.tenant_id = ")
            .push_bind(t.clone())
            .push(" OR v.shared)");
    }
}

/// A filter value bound with the column's PostgreSQL type.
enum Bound {
    Text(String),
    Bool(bool),
    Timestamp(NaiveDateTime),
}

/// Timestamp columns compare as timestamps (text as SQLite stores and the API shows them,
/// `YYYY-MM-DD HH:MM:SS[.ffffff]`); text that is no timestamp can never match and is dropped,
/// where binding it would make PostgreSQL fail the whole query.
fn bound_values(f: &VimFilter) -> Vec<Bound> {
    let timestamp = matches!(
        f.column,
        VimColumn::CreatedAt | VimColumn::UpdatedAt | VimColumn::DeletedAt
    );
    f.values
        .iter()
        .filter_map(|v| match v {
            FilterValue::Bool(b) => Some(Bound::Bool(*b)),
            FilterValue::Text(t) if timestamp => {
                NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
                    .ok()
                    .map(Bound::Timestamp)
            }
            FilterValue::Text(t) => Some(Bound::Text(t.clone())),
        })
        .collect()
}

#[async_trait]
impl VimStore for PostgresVimStore {
    fn connections_in_use(&self) -> Option<usize> {
        Some((self.pool.size() as usize).saturating_sub(self.pool.num_idle()))
    }

    async fn create(&self, vim: &Vim) -> Result<(), VimError> {
        let result: Result<(), sqlx::Error> = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO vims (id, type, tenant_id, name, description, placement_attr, \
                 shared, is_default, created_at, updated_at, deleted_at, extra) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&vim.id)
            .bind(&vim.vim_type)
            .bind(&vim.tenant_id)
            .bind(&vim.name)
            .bind(&vim.description)
            .bind(vim.placement_attr.as_ref().map(json_text))
            .bind(vim.shared)
            .bind(vim.is_default)
            .bind(whole_seconds(&vim.created_at))
            .bind(vim.updated_at.as_ref().map(whole_seconds))
            .bind(live())
            .bind(json_text(&vim.extra))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO vimauths (id, vim_id, password, auth_url, vim_project, auth_cred) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&vim.id)
            .bind(&vim.password)
            .bind(&vim.auth_url)
            .bind(json_text(&vim.vim_project))
            .bind(json_text(&vim.auth_cred))
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.constraint_error(e, vim).await),
        }
    }

    async fn get(&self, id: &str, scope: &Scope) -> Result<Option<Vim>, VimError> {
        let mut qb = QueryBuilder::<Postgres>::new(SELECT);
        qb.push(" WHERE v.id = ").push_bind(id.to_owned());
        qb.push(" AND v.deleted_at = ").push_bind(live());
        push_scope(&mut qb, scope);
        qb.push(" LIMIT 1");
        let row = qb
            .build()
            .fetch_optional(&self.pool)
            .await
            .map_err(internal)?;
        row.as_ref().map(row_to_vim).transpose()
    }

    async fn list(&self, scope: &Scope, filters: &[VimFilter]) -> Result<Vec<Vim>, VimError> {
        let filters: Vec<(VimColumn, Vec<Bound>)> = filters
            .iter()
            .map(|f| (f.column, bound_values(f)))
            .collect();
        if filters.iter().any(|(_, values)| values.is_empty()) {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Postgres>::new(SELECT);
        qb.push(" WHERE v.deleted_at = ").push_bind(live());
        push_scope(&mut qb, scope);
        for (column, values) in filters {
            qb.push(" AND v.").push(column.column()).push(" IN (");
            let mut sep = qb.separated(", ");
            for v in values {
                match v {
                    Bound::Text(t) => sep.push_bind(t),
                    Bound::Bool(b) => sep.push_bind(b),
                    Bound::Timestamp(t) => sep.push_bind(t),
                };
            }
            qb.push(")");
        }
        qb.push(" ORDER BY v.id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(internal)?;
        rows.iter().map(row_to_vim).collect()
    }

    async fn update(&self, vim: &Vim, prior: &Vim) -> Result<(), VimError> {
        let result: Result<Result<u64, VimError>, sqlx::Error> = async {
            let mut tx = self.pool.begin().await?;
            // FOR UPDATE: a concurrent update waits here until this one ends, then reads
            // what it wrote.
            let current: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT password, auth_cred FROM vimauths WHERE vim_id = $1 FOR UPDATE",
            )
            .bind(&vim.id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((password, auth_cred)) = current {
                match same_credentials(password, auth_cred, prior) {
                    Ok(true) => {}
                    Ok(false) => return Ok(Err(VimError::UpdateConflict(vim.id.clone()))),
                    Err(e) => return Ok(Err(e)),
                }
            }
            let changed = sqlx::query(
                "UPDATE vims SET name = $1, description = $2, is_default = $3, \
                 placement_attr = $4, extra = $5, updated_at = $6 \
                 WHERE id = $7 AND deleted_at = $8",
            )
            .bind(&vim.name)
            .bind(&vim.description)
            .bind(vim.is_default)
            .bind(vim.placement_attr.as_ref().map(json_text))
            .bind(json_text(&vim.extra))
            .bind(vim.updated_at.as_ref().map(whole_seconds))
            .bind(&vim.id)
            .bind(live())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                tx.rollback().await?;
                return Ok(Ok(0));
            }
            sqlx::query(
                "UPDATE vimauths SET password = $1, auth_url = $2, vim_project = $3, \
                 auth_cred = $4 WHERE vim_id = $5",
            )
            .bind(&vim.password)
            .bind(&vim.auth_url)
            .bind(json_text(&vim.vim_project))
            .bind(json_text(&vim.auth_cred))
            .bind(&vim.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Ok(changed))
        }
        .await;
        // A failed statement (or an early return) rolls the transaction back when it is
        // dropped: no lock remains.
        match result {
            Ok(Ok(0)) => Err(VimError::VimNotFound(vim.id.clone())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(self.constraint_error(e, vim).await),
        }
    }

    async fn soft_delete(&self, id: &str, at: NaiveDateTime) -> Result<(), VimError> {
        let changed =
            sqlx::query("UPDATE vims SET deleted_at = $1 WHERE id = $2 AND deleted_at = $3")
                .bind(at)
                .bind(id)
                .bind(live())
                .execute(&self.pool)
                .await
                .map_err(internal)?
                .rows_affected();
        if changed == 0 {
            return Err(VimError::VimNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), VimError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(internal)
    }

    async fn in_use(&self, id: &str, scope: &Scope) -> Result<bool, VimError> {
        // Only a database shared with Tacker has the legacy `vnf` table; `to_regclass`
        // resolves it on the same search_path as the query below.
        let has_vnf: bool = sqlx::query_scalar("SELECT to_regclass('vnf') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(internal)?;
        if !has_vnf {
            return Ok(false);
        }
        let mut qb = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM vnf WHERE vim_id = ");
        qb.push_bind(id.to_owned());
        qb.push(" AND deleted_at = ").push_bind(live());
        if let Scope::Tenant(t) = scope {
            qb.push(" AND tenant_id = ").push_bind(t.clone());
        }
        let count: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(internal)?;
        Ok(count > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_sentinel_is_datetime_min() {
        assert_eq!(live().to_string(), "0001-01-01 00:00:00");
    }

    #[test]
    fn timestamp_filters_drop_what_can_never_match() {
        let f = VimFilter::parse(
            "created_at",
            &["2026-11-29 19:15:37".into(), "yesterday".into()],
        )
        .unwrap();
        let values = bound_values(&f);
        assert_eq!(values.len(), 1);
        assert!(matches!(values[0], Bound::Timestamp(_)));
    }
}
