//! [`VimStore`] on MySQL / MariaDB, in Tacker's own schema, so this server and Python Tacker
//! API nodes can share one database.
//!
//! The schema belongs to Tacker's alembic migrations (`tacker-db-manage`), not to this server:
//! * a database that has an `alembic_version` table is used exactly as it is, when its revision
//!   is one whose `vims` / `vimauths` layout this store knows ([`KNOWN_REVISIONS`]); any other
//!   revision stops start-up with a message naming it. Nothing is created or altered;
//! * a database without tables gets Tacker's whole schema at 16.0.0's head
//!   (`migrations/mysql`), stamped in `alembic_version`, so `tacker-db-manage` can take over.
//!
//! Rows are written in Tacker's stored form: `deleted_at` `0001-01-01 00:00:00` while live,
//! `DATETIME` to the second, booleans as `tinyint(1)`, JSON columns as `json.dumps` text.
//!
//! MySQL has no partial unique index, so "one live default VIM per tenant" is kept by row
//! locking: a create or update that makes a default first reads the tenant's live defaults
//! `FOR UPDATE` inside its transaction (REPEATABLE READ, so an empty result locks the gap its
//! insert would fill). Concurrent writers then queue, or one of them loses a deadlock and the
//! whole transaction is retried, as oslo.db's `retry_on_deadlock` does.
//!
//! Two empty locking reads of one gap both succeed (gap locks are shared) and then deadlock on
//! their inserts, so many default writes of one tenant at once would mostly lose deadlocks and
//! retry. Within one process they therefore run one at a time per tenant ([`DefaultLocks`]);
//! the database lock and the retry are what keeps replicas apart, where a handful of writers
//! meet at most.

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use rand::Rng;
use sqlx::mysql::{
    MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPool, MySqlPoolOptions, MySqlRow,
};
use sqlx::{Connection, Executor, MySql, QueryBuilder, Row};

use super::row::{decode_vim, internal, joined_select, json_text, same_credentials, Timestamps};
use super::{FilterValue, Scope, VimColumn, VimFilter, VimStore};
use crate::model::Vim;
use crate::VimError;

/// Alembic head of Tacker 16.0.0 (unchanged since 10.0.0): the revision a database this
/// server creates is stamped with.
pub const TACKER_HEAD: &str = "ca2ad037c320";

/// Alembic revisions whose `vims` / `vimauths` tables have the layout this store reads and
/// writes, with the first Tacker release at each: `de6bfa5bea46` dropped `vims.status`, and no
/// later migration up to 16.0.0's head touches either table.
const KNOWN_REVISIONS: [(&str, &str); 5] = [
    ("de6bfa5bea46", "9.0.0"),
    ("2531c976c0f1", "10.0.0"),
    ("34cfceb25a49", "10.0.0"),
    ("4c0e2e2c2e02", "10.0.0"),
    (TACKER_HEAD, "10.0.0"),
];

/// Tacker's tables at [`TACKER_HEAD`], as `tacker-db-manage upgrade head` creates them.
const SCHEMA: &str = include_str!("../../../../migrations/mysql/tacker_ca2ad037c320.sql");

/// Tacker's unique key of the live name per tenant; the default-VIM lock reads through it so
/// that it locks one tenant's range, not the table.
const UNIQUE_NAME: &str = "uniq_vims0tenant_id0name0deleted_at";

/// Same pool bounds as the PostgreSQL store (oslo.db's default is 5 + 50 overflow).
const POOL_SIZE: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a starting server waits for another one creating the schema.
const SCHEMA_LOCK_TIMEOUT_S: u32 = 120;

/// MySQL `ER_LOCK_DEADLOCK`: the transaction was rolled back and may simply be run again
/// (also what Galera reports for a certification conflict).
const ER_LOCK_DEADLOCK: u16 = 1213;
/// Transactions that lost a deadlock are run again up to this many times in all.
const DEADLOCK_ATTEMPTS: u32 = 30;
/// Soft deletes of one name within one second collide on the unique key (`deleted_at` has no
/// fraction on MySQL); the next free second is used instead, up to this many seconds later.
const SOFT_DELETE_SECONDS: i64 = 60;

/// `deleted_at` of a live row (Tacker's `datetime.min` sentinel).
fn live() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("0001-01-01 00:00:00 is a valid timestamp")
}

/// Whole seconds, as a `DATETIME` column keeps them (MariaDB truncates, MySQL would round).
fn whole_seconds(t: &NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(0).unwrap_or(*t)
}

/// Writes that make a VIM its tenant's default, one at a time per tenant within this process:
/// a fixed set of async locks, a tenant hashed onto one (tenants that share a lock only wait
/// for each other's default writes, never for anything else).
#[derive(Debug)]
struct DefaultLocks([tokio::sync::Mutex<()>; DEFAULT_LOCKS]);

const DEFAULT_LOCKS: usize = 64;

impl DefaultLocks {
    fn new() -> Self {
        Self(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }

    fn of(&self, tenant_id: &str) -> &tokio::sync::Mutex<()> {
        let mut hasher = DefaultHasher::new();
        tenant_id.hash(&mut hasher);
        &self.0[(hasher.finish() % DEFAULT_LOCKS as u64) as usize]
    }
}

/// MySQL / MariaDB-backed VIM store.
#[derive(Clone, Debug)]
pub struct MySqlVimStore {
    pool: MySqlPool,
    default_locks: Arc<DefaultLocks>,
}

impl MySqlVimStore {
    /// Connect with a `mysql://user:password@host:port/db?...` URL (oslo.db query options as
    /// [`connect_options`] reads them), check or create the schema, and open the pool. Errors
    /// name host, port and database, never the password.
    pub async fn connect(url: &str) -> Result<Self, VimError> {
        let options = connect_options(url)?;
        let database = options.get_database().unwrap_or("").to_owned();
        if database.is_empty() {
            return Err(VimError::Internal(
                "the MySQL URL names no database (mysql+pymysql://user:password@host/tacker)"
                    .to_owned(),
            ));
        }
        let target = format!("{}:{}/{}", options.get_host(), options.get_port(), database);
        prepare_schema(&options, &target).await?;
        let pool = MySqlPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // The default-VIM lock needs next-key locking; a server configured for
                    // READ COMMITTED would let two empty locking reads both insert.
                    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| VimError::Internal(format!("connecting to MySQL {target}: {e}")))?;
        Ok(Self {
            pool,
            default_locks: Arc::new(DefaultLocks::new()),
        })
    }

    /// Retry `attempt` while it loses deadlocks, with a short random pause so that the
    /// transactions that collided do not meet again in step.
    async fn retrying<'a, F, Fut, T>(&'a self, vim: &'a Vim, attempt: F) -> Result<T, VimError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Result<T, VimError>, sqlx::Error>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Ok(outcome) => return outcome,
                Err(e) if is_deadlock(&e) && tries < DEADLOCK_ATTEMPTS => {
                    let pause = rand::thread_rng().gen_range(1..=(5 * tries as u64).min(100));
                    tracing::debug!(vim_id = %vim.id, tries, "deadlock, retrying the transaction");
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                Err(e) => return Err(constraint_error(e)),
            }
        }
    }

    async fn try_create(&self, vim: &Vim) -> Result<Result<(), VimError>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if vim.is_default {
            if let Some(existing) = locked_default(&mut tx, &vim.tenant_id, &vim.id).await? {
                tx.rollback().await?;
                return Ok(Err(VimError::VimDefaultDuplicate(existing)));
            }
        }
        sqlx::query(
            "INSERT INTO vims (id, type, tenant_id, name, description, placement_attr, \
             shared, is_default, created_at, updated_at, deleted_at, extra) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&vim.id)
        .bind(&vim.password)
        .bind(&vim.auth_url)
        .bind(json_text(&vim.vim_project))
        .bind(json_text(&vim.auth_cred))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn try_update(
        &self,
        vim: &Vim,
        prior: &Vim,
    ) -> Result<Result<(), VimError>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // FOR UPDATE: a concurrent update waits here until this one ends, then reads what
        // it wrote (a locking read sees the latest committed row under REPEATABLE READ).
        let current: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT password, auth_cred FROM vimauths WHERE vim_id = ? FOR UPDATE")
                .bind(&vim.id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((password, auth_cred)) = current {
            match same_credentials(password, auth_cred, prior) {
                Ok(true) => {}
                Ok(false) => {
                    tx.rollback().await?;
                    return Ok(Err(VimError::UpdateConflict(vim.id.clone())));
                }
                Err(e) => {
                    tx.rollback().await?;
                    return Ok(Err(e));
                }
            }
        }
        if vim.is_default {
            if let Some(existing) = locked_default(&mut tx, &vim.tenant_id, &vim.id).await? {
                tx.rollback().await?;
                return Ok(Err(VimError::VimDefaultDuplicate(existing)));
            }
        }
        // sqlx asks for CLIENT_FOUND_ROWS: rows matched, also when nothing changed.
        let matched = sqlx::query(
            "UPDATE vims SET name = ?, description = ?, is_default = ?, placement_attr = ?, \
             extra = ?, updated_at = ? WHERE id = ? AND deleted_at = ?",
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
        if matched == 0 {
            tx.rollback().await?;
            return Ok(Err(VimError::VimNotFound(vim.id.clone())));
        }
        sqlx::query(
            "UPDATE vimauths SET password = ?, auth_url = ?, vim_project = ?, auth_cred = ? \
             WHERE vim_id = ?",
        )
        .bind(&vim.password)
        .bind(&vim.auth_url)
        .bind(json_text(&vim.vim_project))
        .bind(json_text(&vim.auth_cred))
        .bind(&vim.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

/// The tenant's live default VIMs other than `except`, read with `FOR UPDATE` through the
/// tenant's range of the name key: the rows found stay locked until the transaction ends,
/// and when there are none the range stays locked against inserts (InnoDB next-key locks
/// under REPEATABLE READ), so no concurrent transaction can add a default meanwhile.
async fn locked_default(
    tx: &mut MySqlConnection,
    tenant_id: &str,
    except: &str,
) -> Result<Option<String>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM vims FORCE INDEX ({UNIQUE_NAME}) \
         WHERE tenant_id = ? AND is_default = 1 AND deleted_at = ? AND id <> ? FOR UPDATE"
    ))
    .bind(tenant_id)
    .bind(live())
    .bind(except)
    .fetch_all(&mut *tx)
    .await?;
    Ok(ids.into_iter().min())
}

fn mysql_error_number(err: &sqlx::Error) -> Option<u16> {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(MySqlDatabaseError::number),
        _ => None,
    }
}

fn is_deadlock(err: &sqlx::Error) -> bool {
    mysql_error_number(err) == Some(ER_LOCK_DEADLOCK)
}

/// A violation of the unique name key: MySQL names the key in its message ("Duplicate entry
/// ... for key 'uniq_vims0tenant_id0name0deleted_at'", MySQL 8 prefixes the table).
fn is_duplicate_name(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation() && db.message().contains(UNIQUE_NAME),
        _ => false,
    }
}

/// A duplicate live name per tenant is `DuplicateEntity`; any other failure (a primary-key
/// clash included) is internal.
fn constraint_error(err: sqlx::Error) -> VimError {
    if is_duplicate_name(&err) {
        return VimError::DuplicateEntity;
    }
    internal(err)
}

/// The joined select, `vims.extra` cast to text (native `JSON` on MySQL is no string type).
const SELECT: &str = joined_select!("CAST(v.extra AS CHAR) AS extra");

fn row_to_vim(row: &MySqlRow) -> Result<Vim, VimError> {
    let deleted_at: Option<NaiveDateTime> = row.try_get("deleted_at").map_err(internal)?;
    let created_at: Option<NaiveDateTime> = row.try_get("created_at").map_err(internal)?;
    let ts = Timestamps {
        created_at: created_at
            .ok_or_else(|| VimError::Internal("database: vims.created_at is NULL".into()))?,
        updated_at: row.try_get("updated_at").map_err(internal)?,
        deleted_at: deleted_at.filter(|d| *d != live()),
    };
    decode_vim(row, ts)
}

fn push_scope(qb: &mut QueryBuilder<'_, MySql>, scope: &Scope) {
    if let Scope::Tenant(t) = scope {
        qb.push(" AND (v.tenant_id = ")
            .push_bind(t.clone())
            .push(" OR v.shared = 1)");
    }
}

/// A filter value bound with the column's MySQL type.
enum Bound {
    Text(String),
    Bool(bool),
    Timestamp(NaiveDateTime),
}

/// Timestamp columns compare as `DATETIME`s (the text the API shows); text that is no
/// timestamp can never match and is dropped, where MySQL would compare it as a string.
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
impl VimStore for MySqlVimStore {
    fn connections_in_use(&self) -> Option<usize> {
        Some((self.pool.size() as usize).saturating_sub(self.pool.num_idle()))
    }

    async fn create(&self, vim: &Vim) -> Result<(), VimError> {
        let _turn = match vim.is_default {
            true => Some(self.default_locks.of(&vim.tenant_id).lock().await),
            false => None,
        };
        self.retrying(vim, || self.try_create(vim)).await
    }

    async fn get(&self, id: &str, scope: &Scope) -> Result<Option<Vim>, VimError> {
        let mut qb = QueryBuilder::<MySql>::new(SELECT);
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
        let mut qb = QueryBuilder::<MySql>::new(SELECT);
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
        let _turn = match vim.is_default {
            true => Some(self.default_locks.of(&vim.tenant_id).lock().await),
            false => None,
        };
        self.retrying(vim, || self.try_update(vim, prior)).await
    }

    async fn soft_delete(&self, id: &str, at: NaiveDateTime) -> Result<(), VimError> {
        let at = whole_seconds(&at);
        let mut later = 0;
        let mut deadlocks = 0;
        loop {
            let result =
                sqlx::query("UPDATE vims SET deleted_at = ? WHERE id = ? AND deleted_at = ?")
                    .bind(at + TimeDelta::seconds(later))
                    .bind(id)
                    .bind(live())
                    .execute(&self.pool)
                    .await;
            match result {
                Ok(done) if done.rows_affected() == 0 => {
                    return Err(VimError::VimNotFound(id.to_owned()))
                }
                Ok(_) => return Ok(()),
                // The same name was deleted in the same second: take the next one (the API
                // never shows `deleted_at`).
                Err(e) if later < SOFT_DELETE_SECONDS && is_duplicate_name(&e) => later += 1,
                Err(e) if is_deadlock(&e) && deadlocks < DEADLOCK_ATTEMPTS => deadlocks += 1,
                Err(e) => return Err(internal(e)),
            }
        }
    }

    async fn ping(&self) -> Result<(), VimError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(internal)
    }

    async fn in_use(&self, id: &str, scope: &Scope) -> Result<bool, VimError> {
        let has_vnf: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = 'vnf'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(internal)?;
        if has_vnf == 0 {
            return Ok(false);
        }
        let mut qb = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM vnf WHERE vim_id = ");
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

/// oslo.db's MySQL URL as sqlx connect options. Of the query options SQLAlchemy hands to
/// PyMySQL, `charset` is kept and `unix_socket` becomes sqlx's `socket`; TLS options
/// (`ssl_ca`, `ssl_cert`, ...) are refused, since this server speaks no TLS to MySQL; any
/// other option (`plugin`, `read_default_file`, ...) configures the Python side only and is
/// ignored with a warning naming it.
pub(super) fn connect_options(url: &str) -> Result<MySqlConnectOptions, VimError> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| VimError::Internal(format!("invalid MySQL URL: {e}")))?;
    let mut kept = Vec::new();
    for (key, value) in parsed.query_pairs().into_owned() {
        match key.as_str() {
            "charset" => kept.push(("charset", value)),
            "unix_socket" => kept.push(("socket", value)),
            k if k.starts_with("ssl") => {
                return Err(VimError::Internal(format!(
                    "the MySQL URL option {k:?} asks for TLS, which this server does not \
                     support towards MySQL (connect over loopback, a UNIX socket or a \
                     trusted network)"
                )))
            }
            other => tracing::warn!(
                option = other,
                "[database] connection: MySQL URL option ignored (it configures PyMySQL only)"
            ),
        }
    }
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(kept);
    }
    MySqlConnectOptions::from_str(parsed.as_str())
        .map_err(|e| VimError::Internal(format!("invalid MySQL URL: {e}")))
}

/// The statements of `migrations/mysql` (comment lines dropped), in order.
fn schema_statements() -> Vec<String> {
    SCHEMA
        .split(";\n")
        .map(|chunk| {
            chunk
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The tables `migrations/mysql` creates, lower-cased (`lower_case_table_names` may fold the
/// names a server reports).
fn schema_tables() -> BTreeSet<String> {
    schema_statements()
        .iter()
        .filter_map(|s| {
            s.strip_prefix("CREATE TABLE IF NOT EXISTS `")
                .and_then(|rest| rest.split('`').next())
                .map(str::to_ascii_lowercase)
        })
        .collect()
}

/// Check the database's alembic revision, or create Tacker's schema in an empty database, on
/// a connection of its own holding a per-database named lock, so that servers starting
/// together on an empty database create it once. Closing the connection releases the lock,
/// also after a failure.
async fn prepare_schema(options: &MySqlConnectOptions, target: &str) -> Result<(), VimError> {
    let mut conn = MySqlConnection::connect_with(options)
        .await
        .map_err(|e| VimError::Internal(format!("connecting to MySQL {target}: {e}")))?;
    let result = check_or_create_schema(&mut conn, target).await;
    if let Err(e) = conn.close().await {
        tracing::debug!(error = %e, "closing the schema connection");
    }
    result
}

async fn check_or_create_schema(conn: &mut MySqlConnection, target: &str) -> Result<(), VimError> {
    let failed =
        |what: &str, e: sqlx::Error| VimError::Internal(format!("{what} on MySQL {target}: {e}"));
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT GET_LOCK(CONCAT('tacker-schema-', SHA1(DATABASE())), ?)")
            .bind(SCHEMA_LOCK_TIMEOUT_S)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| failed("taking the schema lock", e))?;
    if locked != Some(1) {
        return Err(VimError::Internal(format!(
            "another server held the schema lock of MySQL {target} for \
             {SCHEMA_LOCK_TIMEOUT_S} s"
        )));
    }
    let tables: BTreeSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT CONVERT(table_name USING utf8mb4) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| failed("listing tables", e))?
    .into_iter()
    .map(|t| t.to_ascii_lowercase())
    .collect();

    if tables.contains("alembic_version") {
        let revisions: Vec<String> =
            sqlx::query_scalar("SELECT CONVERT(version_num USING utf8mb4) FROM alembic_version")
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| failed("reading alembic_version", e))?;
        let revision = known_revision(&revisions, target)?;
        for table in ["vims", "vimauths"] {
            if !tables.contains(table) {
                return Err(VimError::Internal(format!(
                    "MySQL {target} is at alembic revision {revision} but has no {table} table"
                )));
            }
        }
        tracing::info!(
            revision,
            "using Tacker's schema as it is (alembic revision known)"
        );
        return Ok(());
    }

    let ours = schema_tables();
    let foreign: Vec<&String> = tables.difference(&ours).collect();
    if !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(5).map(|t| t.as_str()).collect();
        return Err(VimError::Internal(format!(
            "MySQL {target} has tables but no alembic_version table, so it is neither \
             Tacker's database nor empty (tables: {}{})",
            shown.join(", "),
            if foreign.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    if !tables.is_empty() {
        tracing::warn!(
            "MySQL {target} holds part of Tacker's schema without alembic_version: completing it"
        );
    }
    for statement in schema_statements() {
        conn.execute(statement.as_str())
            .await
            .map_err(|e| failed("creating Tacker's schema", e))?;
    }
    sqlx::query("INSERT INTO alembic_version (version_num) VALUES (?)")
        .bind(TACKER_HEAD)
        .execute(&mut *conn)
        .await
        .map_err(|e| failed("stamping alembic_version", e))?;
    tracing::info!(
        revision = TACKER_HEAD,
        "created Tacker's schema on an empty database"
    );
    Ok(())
}

/// The one revision in `alembic_version`, when its `vims` / `vimauths` layout is known.
fn known_revision<'a>(revisions: &'a [String], target: &str) -> Result<&'a str, VimError> {
    let known = || {
        format!(
            "this server knows {} (Tacker {}) to {} (Tacker {} to 16.0.0)",
            KNOWN_REVISIONS[0].0,
            KNOWN_REVISIONS[0].1,
            TACKER_HEAD,
            KNOWN_REVISIONS[KNOWN_REVISIONS.len() - 1].1
        )
    };
    match revisions {
        [revision] if KNOWN_REVISIONS.iter().any(|(r, _)| r == revision) => Ok(revision),
        [revision] => Err(VimError::Internal(format!(
            "MySQL {target} is at alembic revision {revision}, whose vims/vimauths layout \
             this server does not know; {}",
            known()
        ))),
        [] => Err(VimError::Internal(format!(
            "MySQL {target} has an empty alembic_version table (a schema creation or \
             tacker-db-manage run that did not finish); {}",
            known()
        ))),
        several => Err(VimError::Internal(format!(
            "MySQL {target} is at several alembic revisions ({}), whose vims/vimauths \
             layout this server does not know; {}",
            several.join(", "),
            known()
        ))),
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
    fn schema_creates_tackers_tables_and_alembic_version_last() {
        let statements = schema_statements();
        let tables = schema_tables();
        assert_eq!(statements.len(), tables.len());
        for t in ["vims", "vimauths", "vnf", "alarmv1", "vnf_lcm_filters"] {
            assert!(tables.contains(t), "{t}");
        }
        assert!(statements
            .last()
            .unwrap()
            .starts_with("CREATE TABLE IF NOT EXISTS `alembic_version`"));
        // Referenced tables come first.
        let position = |t: &str| {
            statements
                .iter()
                .position(|s| s.contains(&format!("EXISTS `{t}`")))
                .unwrap()
        };
        assert!(position("vims") < position("vimauths"));
        assert!(position("vims") < position("vnf"));
    }

    #[test]
    fn known_revisions_end_at_the_head() {
        assert_eq!(KNOWN_REVISIONS[KNOWN_REVISIONS.len() - 1].0, TACKER_HEAD);
        let head = [TACKER_HEAD.to_owned()];
        assert_eq!(known_revision(&head, "h:3306/t").unwrap(), TACKER_HEAD);
        let err = known_revision(&["0123456789ab".to_owned()], "h:3306/t")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("0123456789ab") && err.contains(TACKER_HEAD),
            "{err}"
        );
        assert!(known_revision(&[], "h:3306/t").is_err());
        let two = [TACKER_HEAD.to_owned(), "4c0e2e2c2e02".to_owned()];
        assert!(known_revision(&two, "h:3306/t").is_err());
    }

    #[test]
    fn oslo_db_query_options() {
        let o = connect_options("mysql://tacker:pw@db:3307/tacker?charset=utf8&plugin=dbcounter")
            .unwrap();
        assert_eq!(o.get_charset(), "utf8");
        assert_eq!(o.get_port(), 3307);
        assert_eq!(o.get_database(), Some("tacker"));
        let o =
            connect_options("mysql://tacker@localhost/tacker?unix_socket=/run/mysqld/mysqld.sock")
                .unwrap();
        assert_eq!(
            o.get_socket().map(|p| p.display().to_string()).as_deref(),
            Some("/run/mysqld/mysqld.sock")
        );
        let err = connect_options("mysql://t:pw@db/tacker?ssl_ca=/etc/ca.pem")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ssl_ca") && !err.contains("pw"), "{err}");
    }

    #[test]
    fn whole_seconds_truncate() {
        let t = NaiveDateTime::parse_from_str("2026-11-29 15:51:07.999", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        assert_eq!(whole_seconds(&t).to_string(), "2026-11-29 15:51:07");
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
