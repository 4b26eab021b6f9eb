//! Storage of VIMs (`vims` + `vimauths`, spec §2.13) behind one engine-agnostic contract.
//!
//! Callers only see [`VimStore`]; the SQL of each engine stays in its own module
//! (`sqlite`, `postgres`, `mysql`), and every constraint that concurrent requests could
//! break (unique live name per tenant, one live default per tenant) is enforced by the
//! database, not by a check-then-insert in code: by unique indexes, and on MySQL (which has
//! no partial index) for the default by a row lock taken inside the writing transaction.

mod mysql;
mod postgres;
mod row;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDateTime;

use crate::model::Vim;
use crate::VimError;

pub use mysql::{MySqlVimStore, TACKER_HEAD};
pub use postgres::PostgresVimStore;
pub use sqlite::SqliteVimStore;

/// Whose VIMs a request may see (Tacker's SQL tenant scoping, spec §2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Admin context: every live VIM.
    All,
    /// Non-admin: VIMs of this tenant, plus shared ones.
    Tenant(String),
}

/// Columns of `vims` that list filters may name (spec §2.5); anything else is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VimColumn {
    Id,
    Type,
    TenantId,
    Name,
    Description,
    PlacementAttr,
    Shared,
    IsDefault,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    Extra,
}

impl VimColumn {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Self::Id,
            "type" => Self::Type,
            "tenant_id" => Self::TenantId,
            "name" => Self::Name,
            "description" => Self::Description,
            "placement_attr" => Self::PlacementAttr,
            "shared" => Self::Shared,
            "is_default" => Self::IsDefault,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "deleted_at" => Self::DeletedAt,
            "extra" => Self::Extra,
            _ => return None,
        })
    }

    /// The column name, identical in every engine.
    pub fn column(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Type => "type",
            Self::TenantId => "tenant_id",
            Self::Name => "name",
            Self::Description => "description",
            Self::PlacementAttr => "placement_attr",
            Self::Shared => "shared",
            Self::IsDefault => "is_default",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::DeletedAt => "deleted_at",
            Self::Extra => "extra",
        }
    }
}

/// A typed filter value, already parsed for its column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
}

/// `column IN (values)`: several values mean "any of" (deliberate fix; upstream 500s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VimFilter {
    pub column: VimColumn,
    pub values: Vec<FilterValue>,
}

impl VimFilter {
    /// Build a filter from a query key and its non-empty values. `None` when the key is not a
    /// `vims` column (ignored, as upstream). Values that can never match (a non-UUID `id`, a
    /// non-boolean for a boolean column) are dropped; a filter left without values matches
    /// nothing.
    pub fn parse(key: &str, raw_values: &[String]) -> Option<Self> {
        let column = VimColumn::from_name(key)?;
        let values = raw_values
            .iter()
            .filter_map(|v| match column {
                VimColumn::Id => uuid::Uuid::parse_str(v)
                    .ok()
                    .map(|_| FilterValue::Text(v.clone())),
                VimColumn::Shared | VimColumn::IsDefault => match v.to_lowercase().as_str() {
                    "true" | "1" => Some(FilterValue::Bool(true)),
                    "false" | "0" => Some(FilterValue::Bool(false)),
                    _ => None,
                },
                _ => Some(FilterValue::Text(v.clone())),
            })
            .collect();
        Some(Self { column, values })
    }
}

/// The VIM registry's storage contract. Every method is atomic.
#[async_trait]
pub trait VimStore: Send + Sync {
    /// Database connections checked out of the pool right now (for the metrics endpoint);
    /// `None` when the store has no pool.
    fn connections_in_use(&self) -> Option<usize> {
        None
    }

    /// Insert a live VIM and its `vimauths` row. A live VIM with the same `(tenant_id, name)`
    /// → `DuplicateEntity`; a second live default in the tenant →
    /// `VimDefaultDuplicate(existing_id)`. Nothing is left behind on failure.
    async fn create(&self, vim: &Vim) -> Result<(), VimError>;

    /// A live VIM by id within `scope`; `None` if missing, deleted or out of scope.
    async fn get(&self, id: &str, scope: &Scope) -> Result<Option<Vim>, VimError>;

    /// Live VIMs within `scope` matching every filter, sorted by id.
    async fn list(&self, scope: &Scope, filters: &[VimFilter]) -> Result<Vec<Vim>, VimError>;

    /// Write `name, description, is_default, placement_attr, extra, updated_at` and replace
    /// the `vimauths` data of the live VIM `vim.id`, if its stored credentials (`password`,
    /// `auth_cred`) are still those of `prior`, the row the update started from; otherwise
    /// `UpdateConflict` and nothing is written (the stored ciphertext must stay the one its
    /// key opens). The check and the write are one transaction, the `vimauths` row locked.
    /// Same constraint errors as `create`; `VimNotFound` if the VIM is no longer live.
    async fn update(&self, vim: &Vim, prior: &Vim) -> Result<(), VimError>;

    /// Soft delete (`deleted_at = at`); the name becomes reusable. `VimNotFound` if the VIM
    /// is not live.
    async fn soft_delete(&self, id: &str, at: NaiveDateTime) -> Result<(), VimError>;

    /// True when a legacy Tacker `vnf` row (sharing the database with Tacker) still uses
    /// the VIM. Databases without that table never have VIMs in use.
    async fn in_use(&self, id: &str, scope: &Scope) -> Result<bool, VimError>;

    /// A value that changes whenever a committed write, by this process or any other on the
    /// same database, may have changed what [`VimStore::list`] or [`VimStore::get`] return.
    /// Read before the data it guards, it lets a reader keep what it rendered until the next
    /// write anywhere (read-your-writes on every process). `None` when the engine cannot tell
    /// cheaply; then nothing is kept.
    async fn data_version(&self) -> Result<Option<DataVersion>, VimError> {
        Ok(None)
    }

    /// One trivial query (`SELECT 1`) through the pool, for `/healthcheck`: `Ok` when the
    /// database answers. The caller bounds how long it may take.
    async fn ping(&self) -> Result<(), VimError>;
}

/// See [`VimStore::data_version`]: equal values mean no write was committed in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataVersion {
    /// What the database reports (SQLite's `PRAGMA data_version` on a watching connection).
    shared: i64,
    /// Writes this store finished.
    local: u64,
}

impl DataVersion {
    pub fn new(shared: i64, local: u64) -> Self {
        Self { shared, local }
    }
}

/// How the PostgreSQL store's connection pool is sized and timed: oslo.db's `[database]`
/// pool options, converted once at start-up (`tacker-server` reads them).
///
/// SQLAlchemy's `QueuePool` keeps up to `max_pool_size` connections and opens up to
/// `max_overflow` more under load; sqlx has one bound, so `max_connections` is their sum. A
/// connection is checked before each use (oslo.db's ping on checkout) and replaced when
/// broken, so the pool reconnects by itself after the database comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// `max_pool_size` + `max_overflow` (oslo.db defaults 5 + 50).
    pub max_connections: u32,
    /// `pool_timeout` (default 30 s, SQLAlchemy's): how long a request waits for a
    /// connection, a new one to a database that refuses included, before it fails with 503.
    pub acquire_timeout: std::time::Duration,
    /// `connection_recycle_time` (default 3600 s; `None` for `-1`): a connection older than
    /// this is closed instead of reused.
    pub max_lifetime: Option<std::time::Duration>,
}

impl Default for PoolOptions {
    /// oslo.db's defaults.
    fn default() -> Self {
        Self {
            max_connections: 5 + 50,
            acquire_timeout: std::time::Duration::from_secs(30),
            max_lifetime: Some(std::time::Duration::from_secs(3600)),
        }
    }
}

/// [`connect_with`] and oslo.db's default pool options.
pub async fn connect(url: &str) -> Result<Arc<dyn VimStore>, VimError> {
    connect_with(url, &PoolOptions::default()).await
}

/// Open the database named by `[database] connection` (oslo.db URL) and apply migrations.
///
/// `sqlite:///relative.db`, `sqlite:////absolute.db` (file created if missing, WAL,
/// busy timeout) and `sqlite://` (in-memory, one shared connection);
/// `postgresql://user:password@host:port/db` (also `postgres://` and
/// `postgresql+psycopg2://`, the driver part ignored);
/// `mysql+pymysql://user:password@host:port/db?charset=utf8` (also `mysql://`, `mariadb://`,
/// any `+driver`), on Tacker's own schema (see [`MySqlVimStore`]).
///
/// `pool` sizes the PostgreSQL pool; the SQLite and MySQL stores keep their own fixed pools.
pub async fn connect_with(url: &str, pool: &PoolOptions) -> Result<Arc<dyn VimStore>, VimError> {
    if let Some(pg_url) = postgres_url(url) {
        return Ok(Arc::new(
            PostgresVimStore::connect_with(&pg_url, pool).await?,
        ));
    }
    if let Some(my_url) = mysql_url(url) {
        return Ok(Arc::new(MySqlVimStore::connect(&my_url).await?));
    }
    match sqlite_target(url) {
        Some(SqliteTarget::Memory) => Ok(Arc::new(SqliteVimStore::in_memory().await?)),
        Some(SqliteTarget::File(path)) => Ok(Arc::new(SqliteVimStore::open(&path).await?)),
        None => {
            let scheme = url.split(':').next().unwrap_or("");
            Err(VimError::Internal(format!(
                "unsupported database connection scheme {scheme:?} \
                 (supported: sqlite, postgresql, mysql, mariadb)"
            )))
        }
    }
}

/// oslo.db / SQLAlchemy name PostgreSQL `postgresql[+driver]://` (`postgres://` is accepted
/// too); the driver (`psycopg2`, ...) names a Python module and means nothing here. The rest
/// is a libpq URL, handed on as `postgres://...`.
fn postgres_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let dialect = scheme.split('+').next().unwrap_or(scheme);
    match dialect.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => Some(format!("postgres://{rest}")),
        _ => None,
    }
}

/// oslo.db / SQLAlchemy name MySQL `mysql[+driver]://` (`pymysql`, `mysqldb`, ...) and
/// MariaDB `mariadb[+driver]://`; both are the same protocol, handed on as `mysql://...`.
fn mysql_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let dialect = scheme.split('+').next().unwrap_or(scheme);
    match dialect.to_ascii_lowercase().as_str() {
        "mysql" | "mariadb" => Some(format!("mysql://{rest}")),
        _ => None,
    }
}

/// Where an oslo.db SQLite URL points.
#[derive(Debug, PartialEq, Eq)]
enum SqliteTarget {
    Memory,
    File(std::path::PathBuf),
}

/// oslo.db / SQLAlchemy: `sqlite://` is in-memory, `sqlite:///x.db` the relative path
/// `x.db`, `sqlite:////x.db` the absolute path `/x.db`; a query string is ignored.
fn sqlite_target(url: &str) -> Option<SqliteTarget> {
    let rest = url.strip_prefix("sqlite://")?;
    let rest = rest.split('?').next().unwrap_or(rest);
    let path = rest.strip_prefix('/').unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        Some(SqliteTarget::Memory)
    } else {
        Some(SqliteTarget::File(path.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_db_sqlite_urls() {
        assert_eq!(sqlite_target("sqlite://"), Some(SqliteTarget::Memory));
        assert_eq!(
            sqlite_target("sqlite:///:memory:"),
            Some(SqliteTarget::Memory)
        );
        assert_eq!(
            sqlite_target("sqlite:///tacker.db"),
            Some(SqliteTarget::File("tacker.db".into()))
        );
        assert_eq!(
            sqlite_target("sqlite:////var/lib/tacker/tacker.db?timeout=5"),
            Some(SqliteTarget::File("/var/lib/tacker/tacker.db".into()))
        );
        assert_eq!(sqlite_target("mysql+pymysql://u@h/tacker"), None);
    }

    #[test]
    fn oslo_db_postgresql_urls() {
        assert_eq!(
            postgres_url("postgresql://tacker@db:5432/tacker").as_deref(),
            Some("postgres://tacker@db:5432/tacker")
        );
        assert_eq!(
            postgres_url("postgresql+psycopg2://tacker:pw@db/tacker?client_encoding=utf8")
                .as_deref(),
            Some("postgres://tacker:pw@db/tacker?client_encoding=utf8")
        );
        assert_eq!(
            postgres_url("postgres://u@127.0.0.1/test").as_deref(),
            Some("postgres://u@127.0.0.1/test")
        );
        assert_eq!(postgres_url("mysql+pymysql://u@h/tacker"), None);
        assert_eq!(postgres_url("sqlite:///tacker.db"), None);
        assert_eq!(postgres_url("postgresql"), None);
    }

    #[test]
    fn oslo_db_mysql_urls() {
        assert_eq!(
            mysql_url("mysql+pymysql://tacker:pw@db/tacker?charset=utf8").as_deref(),
            Some("mysql://tacker:pw@db/tacker?charset=utf8")
        );
        assert_eq!(
            mysql_url("mysql://u@127.0.0.1:3306/t").as_deref(),
            Some("mysql://u@127.0.0.1:3306/t")
        );
        assert_eq!(
            mysql_url("mariadb+mariadbconnector://u@h/t").as_deref(),
            Some("mysql://u@h/t")
        );
        assert_eq!(mysql_url("postgresql://u@h/t"), None);
        assert_eq!(mysql_url("sqlite:///tacker.db"), None);
        assert_eq!(postgres_url("mysql://u@h/t"), None);
    }

    #[test]
    fn non_uuid_id_filter_matches_nothing() {
        let f = VimFilter::parse("id", &["abc".into()]).unwrap();
        assert!(f.values.is_empty());
    }

    #[test]
    fn boolean_filters_parse_true_false_1_0() {
        let f = VimFilter::parse("is_default", &["True".into(), "0".into(), "x".into()]).unwrap();
        assert_eq!(
            f.values,
            vec![FilterValue::Bool(true), FilterValue::Bool(false)]
        );
    }

    #[test]
    fn non_column_keys_are_ignored() {
        assert!(VimFilter::parse("auth_url", &["x".into()]).is_none());
        assert!(VimFilter::parse("foo", &["x".into()]).is_none());
    }
}
