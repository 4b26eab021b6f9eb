//! What the engines share when reading and writing rows: the joined `vims` + `vimauths`
//! select, JSON text columns, and assembling a [`Vim`] from a row. Only the timestamp columns
//! differ by engine (text on SQLite, `timestamp` on PostgreSQL, `DATETIME` on MySQL), so each
//! engine decodes those and hands them in.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{ColumnIndex, Decode, Row, Type};
use tacker_common::to_py_json;

use crate::model::Vim;
use crate::VimError;

/// The joined select of one VIM with `$extra` as the expression that reads `vims.extra` as
/// text (MySQL's native `JSON` type needs a cast).
macro_rules! joined_select {
    ($extra:literal) => {
        concat!(
            "SELECT v.id, v.type, v.tenant_id, v.name, v.description, ",
            "v.placement_attr, v.shared, v.is_default, v.created_at, v.updated_at, v.deleted_at, ",
            $extra,
            ", a.password, a.auth_url, a.vim_project, a.auth_cred ",
            "FROM vims v JOIN vimauths a ON a.vim_id = v.id"
        )
    };
}
pub(super) use joined_select;

/// The joined row of one VIM; engines append their own `WHERE` / `ORDER BY`.
pub(super) const SELECT: &str = joined_select!("v.extra");

/// A failed store operation: `DatabaseUnavailable` (503) when the database could not be
/// reached, else the generic 500. Either way the cause is logged, never sent.
pub(super) fn internal(e: impl StoreFailure) -> VimError {
    if e.unavailable() {
        VimError::DatabaseUnavailable(format!("database: {e}"))
    } else {
        VimError::Internal(format!("database: {e}"))
    }
}

/// What a store operation can fail with; only the database driver's errors can say that the
/// database is out of reach.
pub(super) trait StoreFailure: std::fmt::Display {
    fn unavailable(&self) -> bool {
        false
    }
}

impl StoreFailure for serde_json::Error {}
impl StoreFailure for chrono::ParseError {}
impl StoreFailure for rusqlite::Error {}

impl StoreFailure for sqlx::Error {
    /// No connection (refused, reset, timed out, closed by the server), none free within the
    /// pool timeout, or the server saying it cannot serve now: SQLSTATE class 08 (connection
    /// exception; MySQL's `08S01` server shutdown / lost link and `08004` too many
    /// connections included), PostgreSQL's `57P01`-`57P03` (shutting down, crash recovery,
    /// starting up) and `53300` (too many connections). What oslo.db would raise as
    /// `DBConnectionError`.
    fn unavailable(&self) -> bool {
        match self {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
            }),
            _ => false,
        }
    }
}

/// A JSON column as Tacker stores it: `types.Json` binds `jsonutils.dumps(value)`, Python's
/// `json.dumps` text (`", "` / `": "` separators, ASCII only).
pub(super) fn json_text<T: Serialize + ?Sized>(v: &T) -> String {
    to_py_json(v)
}

fn parse_map(s: Option<String>) -> Result<Map<String, Value>, VimError> {
    match s {
        None => Ok(Map::new()),
        Some(s) => match serde_json::from_str::<Value>(&s).map_err(internal)? {
            Value::Object(o) => Ok(o),
            _ => Ok(Map::new()),
        },
    }
}

/// The row's timestamps, decoded by the engine; `deleted_at` is `None` for a live row.
pub(super) struct Timestamps {
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
}

/// Assemble a [`Vim`] from a [`SELECT`] row and its engine-decoded timestamps.
pub(super) fn decode_vim<R>(row: &R, ts: Timestamps) -> Result<Vim, VimError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let text = |c: &str| -> Result<String, VimError> { row.try_get(c).map_err(internal) };
    let opt_text =
        |c: &str| -> Result<Option<String>, VimError> { row.try_get(c).map_err(internal) };
    let placement_attr = opt_text("placement_attr")?
        .map(|s| serde_json::from_str(&s).map_err(internal))
        .transpose()?;
    Ok(Vim {
        id: text("id")?,
        vim_type: text("type")?,
        tenant_id: text("tenant_id")?,
        name: text("name")?,
        description: opt_text("description")?.unwrap_or_default(),
        placement_attr,
        shared: row.try_get("shared").map_err(internal)?,
        is_default: row.try_get("is_default").map_err(internal)?,
        created_at: ts.created_at,
        updated_at: ts.updated_at,
        deleted_at: ts.deleted_at,
        extra: parse_map(opt_text("extra")?)?,
        auth_url: text("auth_url")?,
        vim_project: parse_map(opt_text("vim_project")?)?,
        auth_cred: parse_map(opt_text("auth_cred")?)?,
        password: opt_text("password")?,
    })
}

/// True when the `vimauths` columns read inside the writing transaction still hold `prior`'s
/// credentials (compared as values: the text may have been written by Python Tacker).
pub(super) fn same_credentials(
    password: Option<String>,
    auth_cred: Option<String>,
    prior: &Vim,
) -> Result<bool, VimError> {
    Ok(password == prior.password && parse_map(auth_cred)? == prior.auth_cred)
}
