//! Tier-3 test harness: test PKI, free loopback ports, throw-away MySQL databases, and the real
//! peer processes (the `tacker-server` binary, the `oidc-provider` authorization server,
//! keystonemiddleware, Barbican, Python Tacker), started and stopped by pid with readiness
//! polled against a deadline.
//!
//! Every process listens on loopback only and is killed (its whole process group) when its
//! handle is dropped, also when a test fails. Readiness is polled, never slept for.
//!
//! The peers are installed by the project's setup scripts (`scripts/setup/authz.sh`,
//! `scripts/setup/kmw.sh`, `scripts/setup/debian-packages.sh`); a missing installation is
//! reported with the script to run.
//!
//! Entry points:
//! * [`TestPki::new`]: CA, server and client certificates, an untrusted same-subject CA, the
//!   RSA key of `private_key_jwt`; PEM files in a temporary directory.
//! * [`AuthzServer::start`]: the realm (`token`, `token_for`, `token_with_cert`, `introspect`,
//!   `revoke`, `stats`/`reset_stats`, `stop`/`restart` on the same port, `ext_oauth2_conf`).
//! * [`KmwReference::start`]: keystonemiddleware 13.0.1 in front of an echo app.
//! * [`BarbicanServer::start`]: Barbican 23.0.0 behind keystonemiddleware, SQLite.
//! * [`Memcached::start`]: Debian's memcached on a free port (`stop`/`restart`, raw items).
//! * [`TackerServer::start`] / [`TackerServer::start_with`]: the binary under test.
//! * [`OAuth2Stack::start`]: realm + server configured like the guide, `start_reference()`.
//! * [`MySqlTestDb::create`]: a database of its own on the machine's MariaDB, dropped on drop.
//! * [`PgTestDb::create`]: the same on the machine's PostgreSQL; [`PgInstance::start`]: a
//!   PostgreSQL server of the test's own (initdb on a free port) that may be stopped and
//!   started again.
//! * [`PythonTacker::start`] / [`tacker_db_manage`]: real Tacker 16.0.0 on a shared database
//!   (`scripts/setup/tacker.sh`).

mod authz;
mod barbican;
mod conf;
mod kmw;
mod memcached;
mod mysql;
mod pki;
mod postgres;
mod process;
mod stack;
mod tacker;
mod tacker_py;

pub use authz::{
    guide_claims, AuthMethod, AuthzOptions, AuthzServer, AuthzStats, ClientSpec, RealmClient,
};
pub use barbican::BarbicanServer;
pub use conf::{ext_oauth2_section, rewrite_ini, ExtOAuth2Conf, IniEdit};
pub use kmw::{upstream_cache_key, KmwOptions, KmwReference};
pub use memcached::Memcached;
pub use mysql::{mysql_admin_url, MySqlTestDb};
pub use pki::{CertFiles, TestPki, CA_CN, CLIENT_CN};
pub use postgres::{postgres_admin_url, PgInstance, PgTestDb};
pub use process::{
    free_port, repo_root, wait_for_line, wait_ready_http, ChildGuard, DEFAULT_DEADLINE,
};
pub use stack::{upstream, OAuth2Stack, StackOptions, GUIDE_API_PASTE};
pub use tacker::{ini_get, tacker_server_binary, TackerOptions, TackerServer};
pub use tacker_py::{tacker_db_manage, tacker_venv, PythonTacker, PYTHON_TACKER_DEADLINE};

/// The project of the guide's log samples, which the realm's clients carry in their tokens.
pub const PROJECT_ID: &str = "2e189ea6c1df4e4ba6d89de254b3a534";
/// The user of the guide's log samples.
pub const USER_ID: &str = "173c59254d3040969e359e5df0a3b475";
