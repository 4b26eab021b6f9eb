//! [`VimStore`] on SQLite (sqlx, runtime queries). Everything SQLite-specific lives here:
//! WAL + busy timeout so concurrent writers queue instead of failing, `BEGIN IMMEDIATE`
//! transactions, and the mapping of SQLite's unique-constraint messages.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::row::{decode_vim, internal, json_text, same_credentials, Timestamps, SELECT};
use super::{DataVersion, FilterValue, Scope, VimFilter, VimStore};
use crate::model::Vim;
use crate::VimError;

/// `deleted_at` of a live row (Tacker's `datetime.min` sentinel).
const LIVE: &str = "0001-01-01 00:00:00";
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// SQLite-backed VIM store.
#[derive(Clone)]
pub struct SqliteVimStore {
    pool: SqlitePool,
    /// Writes this store has finished (committed or not), counted after each one returns.
    writes: Arc<AtomicU64>,
    /// A connection of its own that only runs `PRAGMA data_version`, whose value changes when
    /// any other connection (this process's pool, another process) commits to the file.
    /// Called on the request's own thread (a WAL read of the shared-memory index, no thread
    /// hop as sqlx's worker would take). `None` for the in-memory database, where this store
    /// is the only writer.
    watch: Option<Arc<std::sync::Mutex<rusqlite::Connection>>>,
}

impl std::fmt::Debug for SqliteVimStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteVimStore")
            .field("pool", &self.pool)
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl SqliteVimStore {
    /// Open (creating if missing) the database file and apply migrations. A new file is
    /// created 0600 (it holds the VIMs' encrypted credentials; SQLite gives its `-wal` and
    /// `-shm` files the same mode); an existing one keeps its mode, with a warning when group
    /// or others can read it.
    pub async fn open(path: &Path) -> Result<Self, VimError> {
        create_private(path).map_err(|e| {
            VimError::Internal(format!("creating database {}: {e}", path.display()))
        })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| VimError::Internal(format!("opening database {}: {e}", path.display())))?;
        let mut store = Self::migrated(pool).await?;
        let watch = open_watch(path)
            .map_err(|e| VimError::Internal(format!("opening database {}: {e}", path.display())))?;
        store.watch = Some(Arc::new(std::sync::Mutex::new(watch)));
        Ok(store)
    }

    /// A private in-memory database on one shared connection (`sqlite://`).
    pub async fn in_memory() -> Result<Self, VimError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(internal)?
            .foreign_keys(true);
        // One connection that is never recycled: closing it would drop the database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(internal)?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<Self, VimError> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| VimError::Internal(format!("applying migrations: {e}")))?;
        Ok(Self {
            pool,
            writes: Arc::new(AtomicU64::new(0)),
            watch: None,
        })
    }

    /// Count a finished write. Called after the write returns, never before its commit: a
    /// reader that sees the new count reads data at least as new as the write.
    fn wrote<T>(&self, result: T) -> T {
        self.writes.fetch_add(1, Ordering::Release);
        result
    }

    /// `create`'s transaction: both rows or neither.
    async fn insert(&self, vim: &Vim) -> Result<(), VimError> {
        let result: Result<(), sqlx::Error> = async {
            // IMMEDIATE: take the write lock first, so concurrent writers wait on the busy
            // timeout instead of failing a read-to-write upgrade.
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
            .bind(ts(&vim.created_at))
            .bind(vim.updated_at.as_ref().map(ts))
            .bind(LIVE)
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
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.constraint_error(e, vim).await),
        }
    }

    /// `update`'s transaction: the credential check and both rows.
    async fn rewrite(&self, vim: &Vim, prior: &Vim) -> Result<(), VimError> {
        let result: Result<Result<u64, VimError>, sqlx::Error> = async {
            // IMMEDIATE: the write lock is held from the credential check to the commit.
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            let current: Option<(Option<String>, Option<String>)> =
                sqlx::query_as("SELECT password, auth_cred FROM vimauths WHERE vim_id = ?")
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
                "UPDATE vims SET name = ?, description = ?, is_default = ?, placement_attr = ?, \
                 extra = ?, updated_at = ? WHERE id = ? AND deleted_at = ?",
            )
            .bind(&vim.name)
            .bind(&vim.description)
            .bind(vim.is_default)
            .bind(vim.placement_attr.as_ref().map(json_text))
            .bind(json_text(&vim.extra))
            .bind(vim.updated_at.as_ref().map(ts))
            .bind(&vim.id)
            .bind(LIVE)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                tx.rollback().await?;
                return Ok(Ok(0));
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

    /// `soft_delete`'s statement.
    async fn mark_deleted(&self, id: &str, at: NaiveDateTime) -> Result<(), VimError> {
        let changed = sqlx::query("UPDATE vims SET deleted_at = ? WHERE id = ? AND deleted_at = ?")
            .bind(ts_micro(&at))
            .bind(id)
            .bind(LIVE)
            .execute(&self.pool)
            .await
            .map_err(internal)?
            .rows_affected();
        if changed == 0 {
            return Err(VimError::VimNotFound(id.to_owned()));
        }
        Ok(())
    }

    /// The live default VIM of `tenant_id`, for the `VimDefaultDuplicate` message.
    async fn live_default(
        &self,
        tenant_id: &str,
        except: Option<&str>,
    ) -> Result<Option<String>, VimError> {
        let row = sqlx::query(
            "SELECT id FROM vims WHERE tenant_id = ? AND is_default = 1 AND deleted_at = ? \
             AND id != ? LIMIT 1",
        )
        .bind(tenant_id)
        .bind(LIVE)
        .bind(except.unwrap_or(""))
        .fetch_optional(&self.pool)
        .await
        .map_err(internal)?;
        Ok(row.map(|r| r.get::<String, _>("id")))
    }

    async fn constraint_error(&self, err: sqlx::Error, vim: &Vim) -> VimError {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                if db.message().contains("vims.name") {
                    return VimError::DuplicateEntity;
                }
                let existing = self
                    .live_default(&vim.tenant_id, Some(&vim.id))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                return VimError::VimDefaultDuplicate(existing);
            }
        }
        internal(err)
    }
}

/// The watching connection: the file the pool opened (never created here), no writes, and a
/// short busy timeout (a WAL reader waits only while a crashed writer's log is recovered).
fn open_watch(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        // The umask can only remove bits; set the mode explicitly anyway.
        Ok(file) => file.set_permissions(std::fs::Permissions::from_mode(0o600)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{mode:o}"),
                    "the database file is accessible to group or others; 0600 is expected"
                );
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn ts(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn ts_micro(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

fn parse_ts(s: &str) -> Result<NaiveDateTime, VimError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").map_err(internal)
}

fn row_to_vim(row: &SqliteRow) -> Result<Vim, VimError> {
    let text = |c: &str| -> Result<String, VimError> { row.try_get(c).map_err(internal) };
    let deleted_at = text("deleted_at")?;
    let updated_at: Option<String> = row.try_get("updated_at").map_err(internal)?;
    let ts = Timestamps {
        created_at: parse_ts(&text("created_at")?)?,
        updated_at: updated_at.as_deref().map(parse_ts).transpose()?,
        deleted_at: if deleted_at == LIVE {
            None
        } else {
            Some(parse_ts(&deleted_at)?)
        },
    };
    decode_vim(row, ts)
}

fn push_scope(qb: &mut QueryBuilder<'_, Sqlite>, scope: &Scope) {
    if let Scope::Tenant(t) = scope {
        qb.push(" AND (v.tenant_id = ")
            .push_bind(t.clone())
            .push(" OR v.shared = 1)");
    }
}

#[async_trait]
impl VimStore for SqliteVimStore {
    fn connections_in_use(&self) -> Option<usize> {
        Some((self.pool.size() as usize).saturating_sub(self.pool.num_idle()))
    }

    async fn create(&self, vim: &Vim) -> Result<(), VimError> {
        let result = self.insert(vim).await;
        self.wrote(result)
    }

    async fn data_version(&self) -> Result<Option<DataVersion>, VimError> {
        // Read the count first: a write counted after the pragma would be missed otherwise.
        let local = self.writes.load(Ordering::Acquire);
        let shared = match &self.watch {
            Some(watch) => {
                let conn = watch.lock().unwrap_or_else(|e| e.into_inner());
                conn.prepare_cached("PRAGMA data_version")
                    .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)))
                    .map_err(internal)?
            }
            None => 0,
        };
        Ok(Some(DataVersion::new(shared, local)))
    }

    async fn get(&self, id: &str, scope: &Scope) -> Result<Option<Vim>, VimError> {
        let mut qb = QueryBuilder::<Sqlite>::new(SELECT);
        qb.push(" WHERE v.id = ").push_bind(id.to_owned());
        qb.push(" AND v.deleted_at = ").push_bind(LIVE);
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
        if filters.iter().any(|f| f.values.is_empty()) {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Sqlite>::new(SELECT);
        qb.push(" WHERE v.deleted_at = ").push_bind(LIVE);
        push_scope(&mut qb, scope);
        for f in filters {
            qb.push(" AND v.").push(f.column.column()).push(" IN (");
            let mut sep = qb.separated(", ");
            for v in &f.values {
                match v {
                    FilterValue::Text(t) => sep.push_bind(t.clone()),
                    FilterValue::Bool(b) => sep.push_bind(*b),
                };
            }
            qb.push(")");
        }
        qb.push(" ORDER BY v.id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(internal)?;
        rows.iter().map(row_to_vim).collect()
    }

    async fn update(&self, vim: &Vim, prior: &Vim) -> Result<(), VimError> {
        let result = self.rewrite(vim, prior).await;
        self.wrote(result)
    }

    async fn soft_delete(&self, id: &str, at: NaiveDateTime) -> Result<(), VimError> {
        let result = self.mark_deleted(id, at).await;
        self.wrote(result)
    }

    async fn ping(&self) -> Result<(), VimError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(internal)
    }

    async fn in_use(&self, id: &str, scope: &Scope) -> Result<bool, VimError> {
        // Only a database shared with Tacker has the legacy `vnf` table.
        let has_vnf: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'vnf'",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(internal)?;
        if has_vnf.is_none() {
            return Ok(false);
        }
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM vnf WHERE vim_id = ");
        qb.push_bind(id.to_owned());
        qb.push(" AND deleted_at = ").push_bind(LIVE);
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
