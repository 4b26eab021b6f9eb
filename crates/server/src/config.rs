//! `tacker.conf` with oslo.config semantics: `--config-file` (repeatable) and `--config-dir`
//! (its `*.conf`, sorted) are read in command-line order and later values override earlier
//! ones; the options this server reads are validated into typed structs, one per group.
//! Unknown options are warnings (oslo ignores them); bad values stop start-up with
//! `<file> [<section>] <option> = "<value>": <reason>`.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use tacker_auth::ExtOAuth2Options;
use tacker_common::config::{BadValue, Section};
use tacker_common::ini::{IniDocument, IniError};
use tacker_outbound::{KeyManagerOptions, ServiceAuthOptions};
use tacker_vim::PoolOptions;

use crate::listener::{ConnectionLimits, ForwardedClientCert};

/// Command line of `tacker-server` (the oslo.config options every OpenStack service takes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cli {
    /// `--config-file` and `--config-dir` in the order given.
    pub sources: Vec<ConfigSource>,
    /// What to do with the configuration.
    pub command: Command,
}

/// The subcommand; none serves the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Command {
    #[default]
    Serve,
    /// `check-config [--probe]`: report what the server would do with the configuration.
    CheckConfig { probe: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    /// Every `*.conf` in the directory, in sorted order.
    Dir(PathBuf),
}

/// `--config-file` and `--config-dir`, on the binary and on each subcommand.
fn with_source_args(cmd: clap::Command) -> clap::Command {
    cmd.arg(
        clap::Arg::new("config-file")
            .long("config-file")
            .value_name("PATH")
            .action(clap::ArgAction::Append)
            .value_parser(clap::value_parser!(PathBuf))
            .help("Path to a config file to use. Multiple config files can be specified, with values in later files taking precedence."),
    )
    .arg(
        clap::Arg::new("config-dir")
            .long("config-dir")
            .value_name("DIR")
            .action(clap::ArgAction::Append)
            .value_parser(clap::value_parser!(PathBuf))
            .help("Path to a config directory to pull *.conf files from (sorted); parsed after the --config-file arguments before it."),
    )
}

/// The sources of one command line level, in the order given (oslo.config processes the two
/// options in the order they appear).
fn sources_of(m: &clap::ArgMatches) -> Vec<ConfigSource> {
    let mut indexed: Vec<(usize, ConfigSource)> = Vec::new();
    for (id, ctor) in [
        (
            "config-file",
            ConfigSource::File as fn(PathBuf) -> ConfigSource,
        ),
        ("config-dir", ConfigSource::Dir),
    ] {
        if let (Some(values), Some(indices)) = (m.get_many::<PathBuf>(id), m.indices_of(id)) {
            indexed.extend(indices.zip(values.cloned().map(ctor)));
        }
    }
    indexed.sort_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, s)| s).collect()
}

impl Cli {
    /// The `clap` command: `--help` on the binary and on each subcommand, `--version`.
    pub fn command() -> clap::Command {
        with_source_args(
            clap::Command::new("tacker-server")
                .version(env!("CARGO_PKG_VERSION"))
                .about("Tacker-compatible VIM registry and SOL013 API server")
                .after_help("Without a subcommand the API server starts."),
        )
        .subcommand(with_source_args(
            clap::Command::new("check-config")
                .about("Report what the server would do with the configuration: paste pipelines per URL prefix, options in effect (secrets masked) and every problem. Exit status 0 when it would start, 1 otherwise.")
                .arg(
                    clap::Arg::new("probe")
                        .long("probe")
                        .action(clap::ArgAction::SetTrue)
                        .help("Also reach the introspection and token endpoints and the database, and report each."),
                ),
        ))
    }

    /// Parse `args` (without the program name). Both `--opt value` and `--opt=value` work.
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args = std::iter::once(OsString::from("tacker-server"))
            .chain(args.into_iter().map(Into::into));
        let m = Self::command().try_get_matches_from(args)?;
        let mut sources = sources_of(&m);
        let command = match m.subcommand() {
            Some(("check-config", sub)) => {
                sources.extend(sources_of(sub));
                Command::CheckConfig {
                    probe: sub.get_flag("probe"),
                }
            }
            _ => Command::Serve,
        };
        Ok(Self { sources, command })
    }

    /// oslo.config's default when nothing is given: the first of `~/.tacker/tacker.conf`,
    /// `~/tacker.conf`, `/etc/tacker/tacker.conf`, `/etc/tacker.conf` that exists.
    pub fn or_default_files(mut self) -> Self {
        if self.sources.is_empty() {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let mut candidates = Vec::new();
            if let Some(home) = &home {
                candidates.push(home.join(".tacker/tacker.conf"));
                candidates.push(home.join("tacker.conf"));
            }
            candidates.push(PathBuf::from("/etc/tacker/tacker.conf"));
            candidates.push(PathBuf::from("/etc/tacker.conf"));
            if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
                self.sources.push(ConfigSource::File(found));
            }
        }
        self
    }
}

/// Why the configuration cannot be used. Every variant stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no configuration file: pass --config-file PATH (none found in the default locations)"
    )]
    NoConfigFile,
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read config directory {path} (--config-dir): {source}")]
    ReadDir {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Syntax(#[from] IniError),
    /// `<file> [<section>] <option> = "<value>": <reason>`
    #[error("{described}: {reason}")]
    Value { described: String, reason: String },
    #[error("[{section}] {option} is not set in {files}: {reason}")]
    Missing {
        section: String,
        option: String,
        files: String,
        reason: String,
    },
    #[error("{described}: Unable to find {what} (searched: {searched})")]
    NotFound {
        described: String,
        what: String,
        searched: String,
    },
    /// `[ext_oauth2_auth]` as the `external_oauth2_token` filter converts it
    /// (keystonemiddleware's `Unable to convert the value of option ...` after the location).
    #[error(transparent)]
    ExtOAuth2(#[from] tacker_auth::AuthError),
    /// `[ext_oauth2_auth] use_ext_oauth2_auth` and the token source options Tacker's service
    /// context needs (upstream's `The parameter is not set for ...` texts).
    #[error(transparent)]
    ServiceAuth(#[from] tacker_outbound::TokenError),
}

impl From<BadValue> for ConfigError {
    fn from(bad: BadValue) -> Self {
        ConfigError::Value {
            described: bad.described,
            reason: bad.reason,
        }
    }
}

/// All sections of all config files merged, later files winning option by option.
#[derive(Clone, Default)]
pub struct RawConfig {
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// The `--config-dir` directories, in order.
    pub dirs: Vec<PathBuf>,
    sections: IndexMap<String, Section>,
}

impl RawConfig {
    pub fn load(sources: &[ConfigSource]) -> Result<Self, ConfigError> {
        if sources.is_empty() {
            return Err(ConfigError::NoConfigFile);
        }
        let mut raw = RawConfig::default();
        for source in sources {
            match source {
                ConfigSource::File(path) => raw.read_file(path)?,
                ConfigSource::Dir(dir) => {
                    let entries =
                        std::fs::read_dir(dir).map_err(|source| ConfigError::ReadDir {
                            path: dir.display().to_string(),
                            source,
                        })?;
                    let mut files: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
                        .collect();
                    files.sort();
                    raw.dirs.push(dir.clone());
                    for f in files {
                        raw.read_file(&f)?;
                    }
                }
            }
        }
        Ok(raw)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        self.merge(IniDocument::parse_oslo(&text, &path.display().to_string())?);
        self.files.push(path.to_path_buf());
        Ok(())
    }

    /// Merge one parsed file over what was read before.
    pub fn merge(&mut self, doc: IniDocument) {
        for (name, section) in doc.sections {
            let target = self
                .sections
                .entry(name.clone())
                .or_insert_with(|| Section::new(name));
            for (key, v) in section.options {
                target.set(key, v.value, v.origin);
            }
        }
    }

    /// A section as merged (empty if no file has it).
    pub fn section(&self, name: &str) -> Section {
        self.sections
            .get(name)
            .cloned()
            .unwrap_or_else(|| Section::new(name))
    }

    /// A section as merged, with its `$` references substituted.
    pub fn substituted(&self, name: &str) -> Result<Section, ConfigError> {
        substitute(self, name)
    }

    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }

    fn files_display(&self) -> String {
        let names: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        if names.is_empty() {
            "(no file)".to_owned()
        } else {
            names.join(", ")
        }
    }
}

/// `[DEFAULT] auth_strategy`: which key of each `pipeline_factory` composite is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStrategy {
    Keystone,
    Noauth,
}

impl AuthStrategy {
    /// The composite key it selects.
    pub fn key(self) -> &'static str {
        match self {
            AuthStrategy::Keystone => "keystone",
            AuthStrategy::Noauth => "noauth",
        }
    }
}

/// A file path option with where it was set, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredPath {
    pub path: PathBuf,
    /// `<origin> [<section>] <option> = "<path>"`.
    pub at: String,
}

impl ConfiguredPath {
    /// A `[DEFAULT]` path set by code (tests, tools) rather than a config file.
    pub fn new(option: &str, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let at = format!(
            "(set by caller) [DEFAULT] {option} = \"{}\"",
            path.display()
        );
        Self { path, at }
    }
}

/// `[DEFAULT]` options read by this server (`tacker/common/config.py`, `tacker/wsgi.py`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultOptions {
    /// Where and how the API listens (`bind_host`, `bind_port`, `use_ssl`, `ssl_*`).
    pub listener: ListenerOptions,
    /// `api_paste_config` (string, default `api-paste.ini`) resolved as oslo's `find_file`
    /// does: an absolute path, or the name looked up in the `--config-dir`s and the config
    /// files' directories (last file first), then `~/.tacker`, `~`, `/etc/tacker`, `/etc`.
    pub api_paste_config: PathBuf,
    /// `auth_strategy` (`keystone` | `noauth`, default `keystone`).
    pub auth_strategy: AuthStrategy,
    /// `debug` (bool, default false): log level DEBUG instead of INFO (`RUST_LOG` wins).
    pub debug: bool,
    /// oslo.log's `log_file`, `log_dir`, `use_stderr`, `use_json`, `watch_log_file`.
    pub logging: crate::logging::LoggingOptions,
}

/// The `[DEFAULT]` options of the API listener (Tacker `tacker/common/config.py` `bind_host`,
/// `bind_port`; `tacker/wsgi.py` `use_ssl`, `ssl_cert_file`, `ssl_key_file`, `ssl_ca_file`;
/// and this server's opt-in forwarded client certificate), validated.
/// [`crate::listener::ListenerConfig::from_options`] loads the TLS files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerOptions {
    /// `bind_host` (host address, default `0.0.0.0`): an IP address (IPv6 also in brackets,
    /// kept without them) or a host name.
    pub bind_host: String,
    /// `bind_port` (port, default `9890`).
    pub bind_port: u16,
    /// `bind_host`:`bind_port` resolved as Tacker's `socket.getaddrinfo(host, port)[0]`: the
    /// literal address, or the first address of the host name.
    pub addr: SocketAddr,
    /// `use_ssl` (bool, default false): serve HTTPS.
    pub use_ssl: bool,
    /// `ssl_cert_file` (path, no default; required with `use_ssl`): PEM server certificate
    /// chain, leaf first; may also hold the private key.
    pub ssl_cert_file: Option<ConfiguredPath>,
    /// `ssl_key_file` (path, no default = the key is in `ssl_cert_file`): PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    pub ssl_key_file: Option<ConfiguredPath>,
    /// `ssl_ca_file` (path, no default): when set, client certificates are required and must
    /// chain to one of its CAs.
    pub ssl_ca_file: Option<ConfiguredPath>,
    /// `ssl_client_cert_header` (header name, default unset = off) with
    /// `ssl_client_cert_trusted_proxies` (list of IP addresses, required with the header): the
    /// client certificate a TLS-terminating front end forwards.
    pub forwarded_client_cert: Option<ForwardedClientCert>,
    /// `client_handshake_timeout`, `client_socket_timeout`, `request_body_timeout`,
    /// `max_header_line`, `wsgi_keep_alive`, `max_connections`: what one connection may hold
    /// (each documented on [`ConnectionLimits`]).
    pub limits: ConnectionLimits,
}

/// The defaults of the listener options, in one place.
const DEFAULT_BIND_HOST: &str = "0.0.0.0";
const DEFAULT_BIND_PORT: u16 = 9890;

impl ListenerOptions {
    /// The listener options of a `[DEFAULT]` section whose `$` references are already
    /// substituted (tools and tests; [`ServerConfig`] reads them with the rest of `[DEFAULT]`).
    /// Warnings are logged.
    pub fn from_default_section(section: &Section) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();
        let options = Self::read(&Reader::new(section.clone()), &mut warnings)?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        Ok(options)
    }

    fn read(d: &Reader, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let bind_host = d.host("bind_host", DEFAULT_BIND_HOST)?;
        let bind_port = d.port("bind_port", DEFAULT_BIND_PORT)?;
        let addr = resolve(&bind_host, bind_port).ok_or_else(|| {
            d.bad(
                "bind_host",
                &bind_host,
                &format!(
                    "Unable to listen on {bind_host}:{bind_port}: not an address or a resolvable host name"
                ),
            )
        })?;
        Ok(Self {
            bind_host,
            bind_port,
            addr,
            use_ssl: d.bool("use_ssl", false)?,
            ssl_cert_file: d.path("ssl_cert_file"),
            ssl_key_file: d.path("ssl_key_file"),
            ssl_ca_file: d.path("ssl_ca_file"),
            forwarded_client_cert: d.forwarded_client_cert(warnings)?,
            limits: d.connection_limits()?,
        })
    }
}

/// `[database]` (oslo.db).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// `connection` (URL, required): `sqlite:///relative.db`, `sqlite:////absolute.db`,
    /// `sqlite://` (in memory), PostgreSQL `postgresql[+driver]://user:pw@host:port/db`, or
    /// MySQL / MariaDB `mysql[+driver]://` / `mariadb[+driver]://` (Tacker's own schema).
    /// May hold a password, so `Debug` hides it.
    pub connection: String,
    /// The PostgreSQL pool, from oslo.db's options: `max_pool_size` (int > 0, default 5) +
    /// `max_overflow` (int >= 0, default 50) connections at most, `pool_timeout` (int > 0
    /// seconds, default 30) to get one, `connection_recycle_time` (seconds > 0, or -1 for
    /// never; default 3600) before one is replaced. SQLite and MySQL keep their own pools.
    pub pool: PoolOptions,
}

impl fmt::Debug for DatabaseOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseOptions")
            .field("connection", &redact_url(&self.connection))
            .field("pool", &self.pool)
            .finish()
    }
}

impl DatabaseOptions {
    /// oslo.db's pool options of `[database]`, validated (see [`DatabaseOptions::pool`]).
    fn read_pool(db: &Reader) -> Result<PoolOptions, ConfigError> {
        let max_pool_size = db.int("max_pool_size", 5)?;
        if max_pool_size <= 0 {
            return Err(db.bad(
                "max_pool_size",
                &max_pool_size.to_string(),
                "must be at least 1 (0, SQLAlchemy's \"no limit\", is not supported: \
                 name the number of connections)",
            ));
        }
        let max_overflow = db.int("max_overflow", 50)?;
        if max_overflow < 0 {
            return Err(db.bad(
                "max_overflow",
                &max_overflow.to_string(),
                "must be 0 or more (-1, SQLAlchemy's \"no limit\", is not supported: name \
                 the number of connections)",
            ));
        }
        let max_connections = u32::try_from(max_pool_size + max_overflow).map_err(|_| {
            db.bad(
                "max_overflow",
                &max_overflow.to_string(),
                "max_pool_size + max_overflow is too large",
            )
        })?;
        let pool_timeout = db.int("pool_timeout", 30)?;
        if pool_timeout <= 0 {
            return Err(db.bad(
                "pool_timeout",
                &pool_timeout.to_string(),
                "must be a number of seconds above 0",
            ));
        }
        let recycle = db.int("connection_recycle_time", 3600)?;
        let max_lifetime = match recycle {
            -1 => None,
            n if n > 0 => Some(Duration::from_secs(n as u64)),
            n => {
                return Err(db.bad(
                    "connection_recycle_time",
                    &n.to_string(),
                    "must be a number of seconds above 0, or -1 (never recycle)",
                ))
            }
        };
        Ok(PoolOptions {
            max_connections,
            acquire_timeout: Duration::from_secs(pool_timeout as u64),
            max_lifetime,
        })
    }
}

/// `[vim_keys]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VimKeysOptions {
    /// `openstack` (directory, default `/etc/tacker/vim/fernet_keys`): per-VIM Fernet keys.
    pub openstack: PathBuf,
    /// `use_barbican` (bool, default false).
    pub use_barbican: bool,
    /// `orphan_key_grace_period` (seconds, default 300; this server's own option): how old a
    /// key file without a row must be before start-up removes it. Another replica sharing
    /// the directory (or Python Tacker) writes a VIM's key before its row commits; a younger
    /// file is looked at again once it is that old.
    pub orphan_key_grace: Duration,
}

/// `[k8s_vim]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct K8sVimOptions {
    /// `use_barbican` (bool, default true).
    pub use_barbican: bool,
}

/// `[vim_endpoints]` (this server's own group; Tacker has none): the addresses VIM endpoints
/// may have. `allowed_networks` (list of IP networks, default empty: all not denied),
/// `denied_networks` (list, default `169.254.0.0/16, fe80::/10`).
pub type VimEndpointsOptions = tacker_vim::drivers::EndpointPolicy;

/// The whole configuration of one server process. `Debug` redacts every secret (each typed
/// struct does).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub default: DefaultOptions,
    pub database: DatabaseOptions,
    pub vim_keys: VimKeysOptions,
    pub k8s_vim: K8sVimOptions,
    pub vim_endpoints: VimEndpointsOptions,
    /// `[ext_oauth2_auth]` as the `external_oauth2_token` filter reads it; the options of a
    /// paste `[filter:...]` section override it when the pipeline is built
    /// ([`ExtOAuth2Options::with_paste`]).
    pub ext_oauth2_auth: ExtOAuth2Options,
    /// How this service authenticates to Barbican: `[ext_oauth2_auth] use_ext_oauth2_auth`
    /// with its token source, or the `[keystone_authtoken]` service user.
    pub service_auth: ServiceAuthOptions,
    /// `[key_manager]` (Barbican endpoint and API version).
    pub key_manager: KeyManagerOptions,
    /// `[metrics]`: the Prometheus listener (off by default).
    pub metrics: crate::metrics::MetricsOptions,
    /// The files read, in order.
    files: Vec<PathBuf>,
}

/// `[DEFAULT]` options Tacker or oslo.log/oslo.service define that this server accepts and
/// ignores without a warning.
const DEFAULT_ACCEPTED: &[&str] = &[
    "backlog",
    "tcp_keepidle",
    "retry_until_window",
    "api_workers",
    "api_extensions_path",
    "service_plugins",
    "allow_bulk",
    "allow_pagination",
    "allow_sorting",
    "pagination_max_limit",
    "policy_file",
    "state_path",
    "host",
    "transport_url",
    "control_exchange",
    "verbose",
    "log_config_append",
    "use_syslog",
    "use_journal",
    "logging_context_format_string",
    "logging_default_format_string",
    "logging_debug_format_suffix",
    "logging_exception_prefix",
    "default_log_levels",
    "log_date_format",
    "publish_errors",
    "instance_format",
    "instance_uuid_format",
    "wsgi_log_format",
    "vnf_package_csar_path",
    "infra_driver",
];

impl ServerConfig {
    /// Read and validate. Returns the configuration and the warnings to log once logging is up.
    pub fn load(sources: &[ConfigSource]) -> Result<(Self, Vec<String>), ConfigError> {
        Self::from_raw(RawConfig::load(sources)?)
    }

    pub fn from_raw(raw: RawConfig) -> Result<(Self, Vec<String>), ConfigError> {
        let mut warnings = Vec::new();

        let d = Reader::new(substitute(&raw, "DEFAULT")?);
        let api_paste = d.string("api_paste_config", "api-paste.ini");
        let default = DefaultOptions {
            listener: ListenerOptions::read(&d, &mut warnings)?,
            api_paste_config: find_paste_file(&raw, &d, &api_paste)?,
            auth_strategy: match d.choice("auth_strategy", "keystone", &["keystone", "noauth"])? {
                "noauth" => AuthStrategy::Noauth,
                _ => AuthStrategy::Keystone,
            },
            debug: d.bool("debug", false)?,
            logging: crate::logging::LoggingOptions {
                log_file: d.path("log_file"),
                log_dir: d.path("log_dir"),
                use_stderr: d.bool("use_stderr", false)?,
                use_json: d.bool("use_json", false)?,
                watch_log_file: d.bool("watch_log_file", false)?,
            },
        };
        d.warn_unknown(DEFAULT_ACCEPTED, &mut warnings);

        let db = Reader::new(substitute(&raw, "database")?);
        let connection = db.string("connection", "");
        if connection.is_empty() {
            return Err(ConfigError::Missing {
                section: "database".into(),
                option: "connection".into(),
                files: raw.files_display(),
                reason: "set a database URL, e.g. sqlite:///tacker.db".into(),
            });
        }
        if !connection.contains("://") {
            return Err(db.bad(
                "connection",
                &redact_url(&connection),
                "not a database URL (expected e.g. sqlite:///tacker.db)",
            ));
        }
        let pool = DatabaseOptions::read_pool(&db)?;
        // The remaining oslo.db options (retries, SQL modes, tracing) are accepted and not
        // used.
        db.warn_unknown(
            &[
                "backend",
                "max_retries",
                "retry_interval",
                "idle_timeout",
                "mysql_sql_mode",
                "sqlite_synchronous",
                "slave_connection",
                "connection_debug",
                "connection_trace",
                "db_max_retries",
                "db_retry_interval",
                "db_inc_retry_interval",
                "db_max_retry_interval",
                "use_db_reconnect",
            ],
            &mut warnings,
        );
        let database = DatabaseOptions { connection, pool };

        let vk = Reader::new(substitute(&raw, "vim_keys")?);
        let vim_keys = VimKeysOptions {
            openstack: PathBuf::from(vk.string("openstack", "/etc/tacker/vim/fernet_keys")),
            use_barbican: vk.bool("use_barbican", false)?,
            orphan_key_grace: Duration::from_secs(vk.int_at_least(
                "orphan_key_grace_period",
                300,
                0,
            )?),
        };
        vk.warn_unknown(&["default_secret_key"], &mut warnings);

        let k8s = Reader::new(substitute(&raw, "k8s_vim")?);
        let k8s_vim = K8sVimOptions {
            use_barbican: k8s.bool("use_barbican", true)?,
        };
        k8s.warn_unknown(&[], &mut warnings);

        let ve = Reader::new(substitute(&raw, "vim_endpoints")?);
        let vim_endpoints = VimEndpointsOptions {
            allowed: ve.networks("allowed_networks", &[])?,
            denied: ve.networks("denied_networks", &tacker_vim::drivers::DEFAULT_DENIED)?,
        };
        ve.warn_unknown(&[], &mut warnings);

        // The groups other crates consume are converted by those crates' own option types,
        // once, here: a bad value stops start-up whether or not the pipeline or a driver
        // would have read it.
        let ext = substitute(&raw, "ext_oauth2_auth")?;
        let ext_oauth2_auth = ExtOAuth2Options::from_conf(&ext)?;
        let service_auth =
            ServiceAuthOptions::from_sections(&ext, &substitute(&raw, "keystone_authtoken")?)?;
        if let ServiceAuthOptions::ExtOAuth2(token) = &service_auth {
            if let Some(reason) = tls_client_auth_problem(&token.client) {
                return Err(ConfigError::Missing {
                    section: "ext_oauth2_auth".into(),
                    option: "certfile".into(),
                    files: raw.files_display(),
                    reason,
                });
            }
        }
        let key_manager = KeyManagerOptions::from_section(&substitute(&raw, "key_manager")?);

        let m = Reader::new(substitute(&raw, "metrics")?);
        let metrics_host = m.string("bind_host", "127.0.0.1");
        let metrics = crate::metrics::MetricsOptions {
            bind_host: metrics_host
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| m.bad("bind_host", &metrics_host, "not an IP address"))?,
            bind_port: match m.raw("bind_port").map(str::trim).filter(|v| !v.is_empty()) {
                None => None,
                Some(_) => Some(m.port("bind_port", 0)?),
            },
        };
        m.warn_unknown(&[], &mut warnings);
        Ok((
            Self {
                default,
                database,
                vim_keys,
                k8s_vim,
                vim_endpoints,
                ext_oauth2_auth,
                service_auth,
                key_manager,
                metrics,
                files: raw.files,
            },
            warnings,
        ))
    }

    /// The config files read, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// `auth_method = tls_client_auth` authenticates with the client certificate alone: without
/// `certfile` (and a key, in `keyfile` or in `certfile`) every request to the authorization
/// server would fail, so it is refused at start-up. `None` when the options are usable.
pub fn tls_client_auth_problem(client: &tacker_oauth2_client::ClientOptions) -> Option<String> {
    if client.auth_method != tacker_oauth2_client::AuthMethod::TlsClientAuth {
        return None;
    }
    let Some(certfile) = &client.certfile else {
        return Some(
            "auth_method = tls_client_auth needs a client certificate and key (certfile, and keyfile unless certfile holds the key)"
                .into(),
        );
    };
    if client.keyfile.is_none() {
        // The key may be in the certificate file (requests' `cert=` takes either form).
        let holds_key = std::fs::read_to_string(certfile)
            .map(|pem| pem.contains("PRIVATE KEY-----"))
            .unwrap_or(true);
        if !holds_key {
            return Some(format!(
                "auth_method = tls_client_auth: keyfile is not set and certfile \"{}\" holds no private key",
                certfile.display()
            ));
        }
    }
    None
}

/// Validating reader over one section; remembers which keys it consumed.
struct Reader {
    section: Section,
    used: std::cell::RefCell<Vec<String>>,
}

impl Reader {
    fn new(section: Section) -> Self {
        Self {
            section,
            used: Default::default(),
        }
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.used.borrow_mut().push(key.to_owned());
        self.section.get(key).map(|v| v.value.as_str())
    }

    fn bad(&self, key: &str, shown: &str, reason: &str) -> ConfigError {
        ConfigError::Value {
            described: self.section.describe(key, shown),
            reason: reason.to_owned(),
        }
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.raw(key).unwrap_or(default).to_owned()
    }

    /// A path option; an empty value is unset (oslo: `opt =` leaves a StrOpt falsy).
    fn path(&self, key: &str) -> Option<ConfiguredPath> {
        let v = self.raw(key).map(str::trim).filter(|v| !v.is_empty())?;
        Some(ConfiguredPath {
            path: PathBuf::from(v),
            at: self.section.describe(key, v),
        })
    }

    /// A list of IP networks (oslo `ListOpt`: comma-separated, blanks dropped); an address
    /// without a prefix is that one address.
    fn networks(
        &self,
        key: &str,
        default: &[&str],
    ) -> Result<Vec<tacker_vim::drivers::IpNetwork>, ConfigError> {
        self.used.borrow_mut().push(key.to_owned());
        let Some(v) = self.raw(key) else {
            return Ok(default
                .iter()
                .map(|n| n.parse().expect("the default networks parse"))
                .collect());
        };
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                item.parse()
                    .map_err(|reason: String| self.bad(key, v, &reason))
            })
            .collect()
    }

    /// oslo `BoolOpt` ([`Section::bool`]).
    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.used.borrow_mut().push(key.to_owned());
        Ok(self.section.bool(key, default)?)
    }

    /// oslo `IntOpt`: an integer (surrounding blanks ignored).
    fn int(&self, key: &str, default: i64) -> Result<i64, ConfigError> {
        let Some(v) = self.raw(key) else {
            return Ok(default);
        };
        v.trim()
            .parse::<i64>()
            .map_err(|_| self.bad(key, v, "Should be an integer"))
    }

    /// oslo `PortOpt`: an integer in 0..=65535.
    fn port(&self, key: &str, default: u16) -> Result<u16, ConfigError> {
        let Some(v) = self.raw(key) else {
            return Ok(default);
        };
        v.trim()
            .parse::<u16>()
            .map_err(|_| self.bad(key, v, "Should be an integer in the range 0..65535"))
    }

    /// oslo `IntOpt` with a minimum.
    fn int_at_least(&self, key: &str, default: u64, min: u64) -> Result<u64, ConfigError> {
        let Some(v) = self.raw(key) else {
            return Ok(default);
        };
        match v.trim().parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(self.bad(key, v, &format!("Should be an integer >= {min}"))),
        }
    }

    /// A timeout in whole seconds; 0 = none where `zero_is_none`, else refused.
    fn seconds(
        &self,
        key: &str,
        default: Duration,
        zero_is_none: bool,
    ) -> Result<Option<Duration>, ConfigError> {
        let n = self.int_at_least(key, default.as_secs(), u64::from(!zero_is_none))?;
        Ok((n > 0).then(|| Duration::from_secs(n)))
    }

    /// The per-connection limits ([`ConnectionLimits`]).
    fn connection_limits(&self) -> Result<ConnectionLimits, ConfigError> {
        let d = ConnectionLimits::default();
        let handshake_timeout = self
            .seconds("client_handshake_timeout", d.handshake_timeout, false)?
            .unwrap_or(d.handshake_timeout);
        let idle = d.idle_timeout.unwrap_or_default();
        let body = d.body_timeout.unwrap_or_default();
        let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(ConnectionLimits {
            handshake_timeout,
            idle_timeout: self.seconds("client_socket_timeout", idle, true)?,
            body_timeout: self.seconds("request_body_timeout", body, true)?,
            // eventlet refuses lines longer than this; below a request line it is useless.
            max_header_line: to_usize(self.int_at_least(
                "max_header_line",
                d.max_header_line as u64,
                256,
            )?),
            keep_alive: self.bool("wsgi_keep_alive", d.keep_alive)?,
            max_connections: to_usize(self.int_at_least(
                "max_connections",
                d.max_connections as u64,
                1,
            )?),
        })
    }

    fn choice<'c>(
        &self,
        key: &str,
        default: &'c str,
        choices: &[&'c str],
    ) -> Result<&'c str, ConfigError> {
        let v = self.raw(key).unwrap_or(default);
        choices.iter().find(|c| **c == v).copied().ok_or_else(|| {
            self.bad(
                key,
                v,
                &format!("Valid values are [{}]", choices.join(", ")),
            )
        })
    }

    /// oslo `HostAddressOpt`: an IP address or a host name. An IPv6 address may also be
    /// written in brackets (`[::1]`); the value is kept without them.
    fn host(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        let written = self.raw(key).unwrap_or(default);
        let v = written
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .filter(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
            .unwrap_or(written);
        let is_ip = v.parse::<IpAddr>().is_ok();
        let is_hostname = !v.is_empty()
            && v.len() <= 253
            && v.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if is_ip || is_hostname {
            Ok(v.to_owned())
        } else {
            Err(self.bad(
                key,
                written,
                "is neither a valid IP address nor a valid host name",
            ))
        }
    }

    /// `ssl_client_cert_header` and `ssl_client_cert_trusted_proxies` (comma-separated IP
    /// addresses). The list without the header is ignored with a warning; the header without
    /// a list is refused: it would let any client choose its certificate or, read strictly,
    /// never apply.
    fn forwarded_client_cert(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<Option<ForwardedClientCert>, ConfigError> {
        let non_empty = |key| self.raw(key).map(str::trim).filter(|v| !v.is_empty());
        let header = non_empty("ssl_client_cert_header");
        let proxies = non_empty("ssl_client_cert_trusted_proxies");
        let Some(header_value) = header else {
            if let Some(p) = proxies {
                warnings.push(format!(
                    "{}: ignored because ssl_client_cert_header is not set",
                    self.section.describe("ssl_client_cert_trusted_proxies", p)
                ));
            }
            return Ok(None);
        };
        let header = http::HeaderName::from_bytes(header_value.as_bytes()).map_err(|_| {
            self.bad(
                "ssl_client_cert_header",
                header_value,
                "not a valid HTTP header name",
            )
        })?;
        let proxies_value = proxies.unwrap_or("");
        let mut trusted = Vec::new();
        for item in proxies_value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let ip = item.parse::<IpAddr>().map_err(|_| {
                self.bad(
                    "ssl_client_cert_trusted_proxies",
                    proxies_value,
                    &format!("{item:?} is not an IP address"),
                )
            })?;
            trusted.push(ip);
        }
        if trusted.is_empty() {
            return Err(self.bad(
                "ssl_client_cert_trusted_proxies",
                proxies_value,
                "ssl_client_cert_header is set, so the proxy addresses trusted to set it must be listed",
            ));
        }
        Ok(Some(ForwardedClientCert::new(header, trusted)))
    }

    fn warn_unknown(&self, also_known: &[&str], warnings: &mut Vec<String>) {
        let used = self.used.borrow();
        for (key, v) in &self.section.options {
            if !used.iter().any(|u| u == key) && !also_known.contains(&key.as_str()) {
                // The value is never shown: unknown options may be secrets.
                warnings.push(format!(
                    "{} [{}] {}: unknown option, ignored",
                    v.origin, self.section.name, key
                ));
            }
        }
    }
}

/// oslo.config value substitution over one section: `$name` / `${name}` (same section, then
/// `[DEFAULT]`, then the few Tacker defaults a sample config refers to), `${group.name}`, and
/// `$$` for a literal `$`.
fn substitute(raw: &RawConfig, section_name: &str) -> Result<Section, ConfigError> {
    let mut section = raw.section(section_name);
    let default = raw.section("DEFAULT");
    let lookup = |group: Option<&str>, name: &str| -> Option<String> {
        let from = |s: &Section| s.get(name).map(|v| v.value.clone());
        match group {
            Some(g) => from(&raw.section(g)),
            None => from(&raw.section(section_name))
                .or_else(|| from(&default))
                .or_else(|| (name == "state_path").then(|| "/var/lib/tacker".to_owned())),
        }
    };
    let keys: Vec<String> = section.options.keys().cloned().collect();
    for key in keys {
        let value = section.options[&key].value.clone();
        if !value.contains('$') {
            continue;
        }
        let expanded = expand(&value, &lookup, 0).map_err(|reason| ConfigError::Value {
            // A database URL may carry a password; secrets are never shown.
            described: section.describe(&key, &shown_value(&key, &value)),
            reason,
        })?;
        section.options.get_mut(&key).expect("key exists").value = expanded;
    }
    Ok(section)
}

fn expand(
    value: &str,
    lookup: &dyn Fn(Option<&str>, &str) -> Option<String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 10 {
        return Err("substitution is recursive".to_owned());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let close = braced
                .find('}')
                .ok_or_else(|| "unterminated ${...} substitution".to_owned())?;
            (&braced[..close], &braced[close + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            return Err("'$' must be followed by an option name or '$'".to_owned());
        }
        let (group, opt) = match name.split_once('.') {
            Some((g, o)) => (Some(g), o),
            None => (None, name),
        };
        let found = lookup(group, opt)
            .ok_or_else(|| format!("substitution refers to an undefined option {name:?}"))?;
        out.push_str(&expand(&found, lookup, depth + 1)?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

fn find_paste_file(raw: &RawConfig, d: &Reader, name: &str) -> Result<PathBuf, ConfigError> {
    let candidate = Path::new(name);
    let mut searched: Vec<PathBuf> = Vec::new();
    if candidate.is_absolute() {
        searched.push(candidate.to_path_buf());
    } else {
        for dir in &raw.dirs {
            searched.push(dir.join(candidate));
        }
        for file in raw.files.iter().rev() {
            let dir = file.parent().unwrap_or(Path::new(""));
            searched.push(dir.join(candidate));
        }
        if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
            searched.push(home.join(".tacker").join(candidate));
            searched.push(home.join(candidate));
        }
        searched.push(Path::new("/etc/tacker").join(candidate));
        searched.push(Path::new("/etc").join(candidate));
    }
    if let Some(found) = searched.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    Err(ConfigError::NotFound {
        described: d.section.describe("api_paste_config", name),
        what: "the paste config file".into(),
        searched: searched
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// `socket.getaddrinfo(host, port, AF_UNSPEC, SOCK_STREAM)[0]` as Tacker does: the literal
/// address, or the first address of a host name.
fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    (host, port).to_socket_addrs().ok()?.next()
}

/// Options whose values are secrets: their values never appear in messages.
const SECRET_OPTIONS: &[&str] = &["client_secret", "memcache_secret_key", "password"];

/// A value as an error message or `check-config` may show it: secrets as `***`, database
/// URLs without their password.
pub fn shown_value(key: &str, value: &str) -> String {
    if SECRET_OPTIONS.contains(&key) || key.contains("secret") || key.contains("password") {
        "***".to_owned()
    } else {
        redact_url(value)
    }
}

/// `scheme://user:***@host/db` for logs, errors and `Debug`. The user name runs to the first
/// `:`, `/` or `@` (as SQLAlchemy reads it). After a `:` a password runs to the last `@`: a
/// password may hold `/`, `?`, `#` or `@` unescaped and is still hidden, and an `@` later in
/// the URL only hides more (`host:port/db?x=a@b` shows as `host:***@b`: too much, never too
/// little). A user name without a password ends at its `@`, so an `@` in a later query value
/// shows nothing. A password given as a query option (`?password=...`, also `passwd`, `pwd`)
/// is hidden too.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let user_end = rest.find([':', '/', '@']);
    let (userinfo, after) = match user_end.map(|i| (i, rest.as_bytes()[i])) {
        Some((i, b'@')) => (Some(&rest[..i]), &rest[i + 1..]),
        Some((_, b':')) => match rest.rsplit_once('@') {
            Some((userinfo, after)) => (Some(userinfo), after),
            None => (None, rest),
        },
        _ => (None, rest),
    };
    let (location, query) = match after.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (after, None),
    };
    let mut shown = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _)) => shown.push_str(&format!("{user}:***@")),
            None => shown.push_str(&format!("{userinfo}@")),
        }
    }
    shown.push_str(location);
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _))
                    if ["password", "passwd", "pwd"]
                        .contains(&key.to_ascii_lowercase().as_str()) =>
                {
                    format!("{key}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(files: &[(&str, &str)]) -> RawConfig {
        let mut raw = RawConfig::default();
        for (origin, text) in files {
            raw.merge(IniDocument::parse_oslo(text, origin).unwrap());
            raw.files.push(PathBuf::from(origin));
        }
        raw
    }

    #[test]
    fn cli_keeps_command_line_order() {
        let cli = Cli::parse_from([
            "--config-file",
            "a.conf",
            "--config-dir=d",
            "--config-file",
            "b.conf",
        ])
        .unwrap();
        assert_eq!(
            cli.sources,
            [
                ConfigSource::File("a.conf".into()),
                ConfigSource::Dir("d".into()),
                ConfigSource::File("b.conf".into())
            ]
        );
        assert!(Cli::parse_from(["--bogus"]).is_err());
    }

    #[test]
    fn later_files_override_earlier_ones() {
        let r = raw(&[
            (
                "one.conf",
                "[DEFAULT]\nbind_port = 1\nbind_host = 127.0.0.1\n",
            ),
            ("two.conf", "[DEFAULT]\nbind_port = 2\n"),
        ]);
        let d = r.section("DEFAULT");
        assert_eq!(d.get("bind_port").unwrap().value, "2");
        assert_eq!(d.get("bind_port").unwrap().origin, "two.conf");
        assert_eq!(d.get("bind_host").unwrap().origin, "one.conf");
    }

    #[test]
    fn redacts_database_password() {
        assert_eq!(
            redact_url("postgresql://tacker:s3cret@db:5432/tacker"),
            "postgresql://tacker:***@db:5432/tacker"
        );
        assert_eq!(redact_url("sqlite:///tacker.db"), "sqlite:///tacker.db");
        // Every form a password can take in an oslo.db URL.
        for (url, shown) in [
            (
                "postgresql://tacker:pa/ss@db/tacker",
                "postgresql://tacker:***@db/tacker",
            ),
            (
                "mysql+pymysql://tacker:p@ss?w#rd/x@db:3306/tacker?charset=utf8",
                "mysql+pymysql://tacker:***@db:3306/tacker?charset=utf8",
            ),
            (
                "postgresql://db/tacker?user=tacker&password=s3cret&sslmode=disable",
                "postgresql://db/tacker?user=tacker&password=***&sslmode=disable",
            ),
            (
                "mysql://tacker@db/tacker?PASSWD=s3cret",
                "mysql://tacker@db/tacker?PASSWD=***",
            ),
            (
                "mysql://db/tacker?unix_socket=/run/a@b",
                "mysql://db/tacker?unix_socket=/run/a@b",
            ),
            // An `@` in a query value after a user name without a password, or with no user
            // at all: the query's password is still found.
            (
                "mysql://tacker@db/tacker?password=p@ss",
                "mysql://tacker@db/tacker?password=***",
            ),
            (
                "mysql+pymysql://tacker@db:3306/tacker?password=p@ss&charset=utf8",
                "mysql+pymysql://tacker@db:3306/tacker?password=***&charset=utf8",
            ),
            (
                "postgresql://db/t?password=s3cret&application_name=a@b",
                "postgresql://db/t?password=***&application_name=a@b",
            ),
            // A port and an `@` later on: more is hidden than needed, nothing is shown.
            (
                "postgresql://db:5432/t?password=s3cret&application_name=a@b",
                "postgresql://db:***@b",
            ),
            ("mysql://tacker:@db/tacker", "mysql://tacker:***@db/tacker"),
            ("mysql://@db/tacker", "mysql://@db/tacker"),
            (
                "postgresql://db:5432/tacker?password=s3cret",
                "postgresql://db:5432/tacker?password=***",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        let db = DatabaseOptions {
            connection: "postgresql://u:s3cret@h/d".into(),
            pool: PoolOptions::default(),
        };
        assert!(!format!("{db:?}").contains("s3cret"));
    }
}
