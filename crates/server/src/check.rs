//! `tacker-server check-config`: what the server would do with a configuration, without
//! starting it. Prints the paste pipelines per URL prefix (filters outermost first, then the
//! app), the options in effect with where each was set (secrets as `***`), and every problem
//! found, each naming file, section and option:
//!
//! - errors (exit status 1): anything that stops start-up (bad values, a missing paste file,
//!   a TLS file that cannot be loaded, `tls_client_auth` without a client certificate and
//!   key, a log file that cannot be opened), option files that do not exist, options no part
//!   of this server reads (as `oslo-config-validator` reports them), and a VIM key directory
//!   that group or others can read;
//! - warnings: `thumbprint_verify = True` where no client certificate can ever reach the
//!   server (every token would be refused), sections this server does not read.
//!
//! `--probe` also reaches the introspection endpoint (introspecting a dummy token, which
//! authenticates this client), the token endpoint (`use_ext_oauth2_auth`: one
//! client-credentials grant) and the database (connect, `SELECT 1`), and reports each;
//! a failed probe is an error.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use tacker_auth::ExtOAuth2Options;
use tacker_common::config::Section;
use tacker_outbound::ServiceAuthOptions;

use crate::config::{shown_value, ConfigSource, RawConfig, ServerConfig};
use crate::paste::{FilterKind, PasteApp, Target};

/// Sections this server reads; any other is reported as ignored.
const KNOWN_SECTIONS: &[&str] = &[
    "DEFAULT",
    "database",
    "vim_keys",
    "k8s_vim",
    "ext_oauth2_auth",
    "key_manager",
    "keystone_authtoken",
    "metrics",
];

/// Path options whose files must exist: (section, option).
const FILE_OPTIONS: &[(&str, &str)] = &[
    ("DEFAULT", "ssl_cert_file"),
    ("DEFAULT", "ssl_key_file"),
    ("DEFAULT", "ssl_ca_file"),
    ("ext_oauth2_auth", "certfile"),
    ("ext_oauth2_auth", "keyfile"),
    ("ext_oauth2_auth", "cafile"),
    ("ext_oauth2_auth", "jwt_key_file"),
];

#[derive(Default)]
struct Report {
    out: String,
    errors: Vec<String>,
    warnings: Vec<String>,
}

/// Run the check; the report goes to standard output. Returns whether the server would
/// start (no errors).
pub async fn run(sources: &[ConfigSource], probe: bool) -> bool {
    let mut r = Report::default();
    check(sources, probe, &mut r).await;
    if !r.warnings.is_empty() || !r.errors.is_empty() {
        r.out.push_str("\nProblems:\n");
    }
    for w in &r.warnings {
        let _ = writeln!(r.out, "  WARNING: {w}");
    }
    for e in &r.errors {
        let _ = writeln!(r.out, "  ERROR: {e}");
    }
    let _ = writeln!(
        r.out,
        "\n{}",
        if r.errors.is_empty() {
            format!(
                "OK: the server would start ({} warning(s))",
                r.warnings.len()
            )
        } else {
            format!(
                "FAILED: {} error(s), {} warning(s)",
                r.errors.len(),
                r.warnings.len()
            )
        }
    );
    print!("{}", r.out);
    r.errors.is_empty()
}

async fn check(sources: &[ConfigSource], probe: bool, r: &mut Report) {
    let raw = match RawConfig::load(sources) {
        Ok(raw) => raw,
        Err(e) => {
            r.errors.push(e.to_string());
            return;
        }
    };
    let files: Vec<String> = raw.files.iter().map(|p| p.display().to_string()).collect();
    let _ = writeln!(r.out, "Configuration files: {}", files.join(", "));

    print_options(&raw, r);
    check_sections(&raw, r);
    check_ext_oauth2_options(&raw, r);
    check_files(&raw, r);

    let config = match ServerConfig::from_raw(raw.clone()) {
        Ok((config, warnings)) => {
            for w in warnings {
                // oslo-config-validator reports options nothing reads as errors.
                if w.contains("unknown option") {
                    r.errors.push(w);
                } else {
                    r.warnings.push(w);
                }
            }
            config
        }
        Err(e) => {
            r.errors.push(e.to_string());
            return;
        }
    };
    print_resolved(&config, r);
    check_key_directory(&config, &raw, r);
    // The TLS files load as at start-up (PEM content, key matching the certificate), unless a
    // missing one was already reported.
    let missing_tls_file = r.errors.iter().any(|e| e.contains("[DEFAULT] ssl_"));
    if !missing_tls_file {
        if let Err(e) = crate::listener::ListenerConfig::from_options(&config.default.listener) {
            r.errors.push(e.to_string());
        }
    }
    if let Some((path, at)) = config.default.logging.log_path() {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) {
            r.errors.push(format!(
                "{at}: the log file's directory {} does not exist",
                dir.unwrap_or(Path::new(".")).display()
            ));
        }
    }

    let paste = match PasteApp::load_file(
        &config.default.api_paste_config,
        config.default.auth_strategy,
    ) {
        Ok(p) => p,
        Err(e) => {
            r.errors.push(e.to_string());
            return;
        }
    };
    let token_filters = print_pipelines(&config, &paste, r);
    for options in &token_filters {
        check_thumbprint(&config, options, r);
    }
    if probe {
        probes(&config, &token_filters, r).await;
    }
}

fn print_options(raw: &RawConfig, r: &mut Report) {
    r.out.push_str("\nOptions in effect (secrets masked):\n");
    let names: Vec<String> = raw.section_names().map(str::to_owned).collect();
    for name in names {
        let section = raw
            .substituted(&name)
            .unwrap_or_else(|_| raw.section(&name));
        let _ = writeln!(r.out, "  [{name}]");
        for (key, v) in &section.options {
            let _ = writeln!(
                r.out,
                "    {key} = {}    # {}",
                shown_value(key, &v.value),
                v.origin
            );
        }
    }
}

/// What the options add up to, defaults included.
fn print_resolved(config: &ServerConfig, r: &mut Report) {
    let d = &config.default;
    let l = &d.listener;
    let _ = writeln!(r.out, "\nResolved (defaults included):");
    let _ = writeln!(
        r.out,
        "  API listener: {}://{} (client certificate required: {})",
        if l.use_ssl { "https" } else { "http" },
        l.addr,
        if l.use_ssl && l.ssl_ca_file.is_some() {
            "yes"
        } else {
            "no"
        }
    );
    let _ = writeln!(r.out, "  auth_strategy: {}", d.auth_strategy.key());
    let _ = writeln!(r.out, "  paste file: {}", d.api_paste_config.display());
    let _ = writeln!(
        r.out,
        "  database: {}",
        crate::config::redact_url(&config.database.connection)
    );
    let _ = writeln!(
        r.out,
        "  VIM keys: {} (Barbican for OpenStack VIMs: {}, for Kubernetes VIMs: {})",
        config.vim_keys.openstack.display(),
        config.vim_keys.use_barbican,
        config.k8s_vim.use_barbican
    );
    let log = match d.logging.log_path() {
        Some((path, _)) if d.logging.use_stderr => format!("{} and standard error", path.display()),
        Some((path, _)) => path.display().to_string(),
        None => "standard error".to_owned(),
    };
    let _ = writeln!(
        r.out,
        "  log: {log} (level {}, {})",
        if d.debug { "DEBUG" } else { "INFO" },
        if d.logging.use_json { "JSON" } else { "text" }
    );
    let _ = writeln!(
        r.out,
        "  metrics: {}",
        config
            .metrics
            .addr()
            .map_or_else(|| "off".to_owned(), |a| format!("http://{a}/metrics"))
    );
}

fn check_sections(raw: &RawConfig, r: &mut Report) {
    for name in raw.section_names() {
        if !KNOWN_SECTIONS.contains(&name) {
            let section = raw.section(name);
            let origin = section
                .options
                .values()
                .next()
                .map_or("(empty)", |v| v.origin.as_str());
            r.warnings.push(format!(
                "{origin} [{name}]: section not read by this server, ignored"
            ));
        }
    }
}

/// `[ext_oauth2_auth]` is read by the filter and by the outbound token source; anything else
/// there is a typo (the server itself does not warn about it, as keystonemiddleware).
fn check_ext_oauth2_options(raw: &RawConfig, r: &mut Report) {
    const OUTBOUND: &[&str] = &["use_ext_oauth2_auth", "token_endpoint", "scope"];
    let section = raw.section("ext_oauth2_auth");
    for (key, v) in &section.options {
        if !tacker_auth::is_filter_option(key) && !OUTBOUND.contains(&key.as_str()) {
            r.errors.push(format!(
                "{} [ext_oauth2_auth] {key}: unknown option, ignored",
                v.origin
            ));
        }
    }
}

fn check_files(raw: &RawConfig, r: &mut Report) {
    // The listener's files are read only with use_ssl (as Tacker's wsgi).
    let use_ssl = raw
        .substituted("DEFAULT")
        .ok()
        .and_then(|d| d.bool("use_ssl", false).ok())
        .unwrap_or(false);
    for (section_name, key) in FILE_OPTIONS {
        if *section_name == "DEFAULT" && !use_ssl {
            continue;
        }
        let Ok(section) = raw.substituted(section_name) else {
            continue;
        };
        let Some(v) = section.get(key) else { continue };
        let value = v.value.trim();
        if value.is_empty() {
            continue;
        }
        if !Path::new(value).is_file() {
            r.errors.push(format!(
                "{}: the file does not exist (relative paths are relative to the working directory)",
                section.describe(key, value)
            ));
        }
    }
}

/// `[vim_keys] openstack` holds the Fernet keys of every VIM: readable by group or others,
/// any local user can decrypt the VIM credentials.
fn check_key_directory(config: &ServerConfig, raw: &RawConfig, r: &mut Report) {
    let dir = &config.vim_keys.openstack;
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    let section = raw
        .substituted("vim_keys")
        .unwrap_or_else(|_| Section::new("vim_keys"));
    let at = section.describe("openstack", &dir.display().to_string());
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_dir() {
        r.errors.push(format!("{at}: not a directory"));
        return;
    }
    if mode & 0o077 != 0 {
        r.errors.push(format!(
            "{at}: mode {mode:04o}, group or others can read the VIM keys (chmod 700)"
        ));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if let Ok(m) = entry.metadata() {
                let mode = m.permissions().mode() & 0o777;
                if m.is_file() && mode & 0o077 != 0 {
                    r.errors.push(format!(
                        "{at}: key file {} has mode {mode:04o}, group or others can read it (chmod 600)",
                        entry.file_name().to_string_lossy()
                    ));
                }
            }
        }
    }
}

/// Print each prefix's pipeline; returns the effective options of each distinct token filter
/// (and records its problems).
fn print_pipelines(
    config: &ServerConfig,
    paste: &PasteApp,
    r: &mut Report,
) -> Vec<ExtOAuth2Options> {
    let _ = writeln!(
        r.out,
        "\nPipelines ({}, auth_strategy = {}):",
        paste.origin,
        config.default.auth_strategy.key()
    );
    let mut seen: Vec<String> = Vec::new();
    let mut token_filters = Vec::new();
    for (prefix, target) in &paste.urlmap {
        let shown = if prefix.is_empty() { "/" } else { prefix };
        match target {
            Target::App(app) => {
                let _ = writeln!(r.out, "  {shown}: {} (app, no filters)", app.name);
            }
            Target::Pipeline {
                composite,
                filters,
                app,
            } => {
                let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
                let _ = writeln!(
                    r.out,
                    "  {shown}: [{composite}] {} -> {}",
                    names.join(" -> "),
                    app.name
                );
                for f in filters {
                    if f.kind == FilterKind::ExternalOAuth2Token && !seen.contains(&f.name) {
                        seen.push(f.name.clone());
                        // As start-up builds the filter: the options, then the layer (the
                        // client's TLS files and credentials; nothing is sent).
                        let built =
                            crate::pipeline::token_filter_options(config, f).and_then(|o| {
                                tacker_auth::ExternalOAuth2Layer::from_options(o.clone())
                                    .map(|_| o)
                                    .map_err(|e| {
                                        crate::PipelineError::Filter(format!(
                                            "{} [filter:{}]: {e}",
                                            f.origin, f.name
                                        ))
                                    })
                            });
                        match built {
                            Ok(o) => token_filters.push(o),
                            Err(e) => r.errors.push(e.to_string()),
                        }
                    }
                }
            }
        }
    }
    token_filters
}

/// RFC 8705 certificate-bound tokens need the caller's certificate: from the TLS handshake
/// (`use_ssl` with `ssl_ca_file`) or a trusted proxy's header (`ssl_client_cert_header`).
fn check_thumbprint(config: &ServerConfig, options: &ExtOAuth2Options, r: &mut Report) {
    let l = &config.default.listener;
    let can_arrive = (l.use_ssl && l.ssl_ca_file.is_some()) || l.forwarded_client_cert.is_some();
    if options.thumbprint_verify && !can_arrive {
        let files: Vec<String> = config
            .files()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        r.warnings.push(format!(
            "{} [ext_oauth2_auth] thumbprint_verify = True: no client certificate can reach this server \
             (neither use_ssl with ssl_ca_file nor ssl_client_cert_header is set), so every token is refused",
            files.join(", ")
        ));
    }
}

async fn probes(config: &ServerConfig, token_filters: &[ExtOAuth2Options], r: &mut Report) {
    r.out.push_str("\nProbes:\n");
    let clock: Arc<dyn tacker_oauth2_client::Clock> = Arc::new(tacker_oauth2_client::SystemClock);
    for options in token_filters {
        let Some(endpoint) = &options.introspect_endpoint else {
            continue;
        };
        let result = async {
            let client = tacker_oauth2_client::OAuth2Client::new(&options.client, clock.clone())
                .map_err(|e| e.to_string())?;
            let resp = client
                .post_form(endpoint, &[("token", "tacker-check-config-probe")])
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            if status.is_success() {
                Ok(format!("HTTP {status}, this client is accepted"))
            } else {
                Err(format!("HTTP {status} (client authentication refused?)"))
            }
        }
        .await;
        report_probe(r, &format!("introspection {endpoint}"), result);
    }
    if let ServiceAuthOptions::ExtOAuth2(token) = &config.service_auth {
        let result = match tacker_outbound::TokenSource::from_options(token, clock.clone()) {
            Ok(source) => source
                .token()
                .await
                .map(|_| "a token was issued".to_owned())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        report_probe(r, &format!("token {}", token.token_endpoint), result);
    }
    let url = &config.database.connection;
    let result = probe_database(url).await;
    report_probe(
        r,
        &format!("database {}", crate::config::redact_url(url)),
        result,
    );
}

fn report_probe(r: &mut Report, what: &str, result: Result<String, String>) {
    match result {
        Ok(ok) => {
            let _ = writeln!(r.out, "  {what}: OK, {ok}");
        }
        Err(e) => {
            let _ = writeln!(r.out, "  {what}: FAILED");
            r.errors.push(format!("probe {what}: {e}"));
        }
    }
}

/// Connect and `SELECT 1`, without creating or migrating anything.
async fn probe_database(url: &str) -> Result<String, String> {
    use sqlx::Connection;
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "not a database URL".to_owned())?;
    let dialect = scheme
        .split('+')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    let timeout = std::time::Duration::from_secs(10);
    match dialect.as_str() {
        "postgresql" | "postgres" => {
            let fut = async {
                let mut c = sqlx::PgConnection::connect(&format!("postgres://{rest}")).await?;
                sqlx::query("SELECT 1").execute(&mut c).await?;
                c.close().await
            };
            tokio::time::timeout(timeout, fut)
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())?;
            Ok("connected, SELECT 1".into())
        }
        "mysql" | "mariadb" => {
            let fut = async {
                let mut c = sqlx::MySqlConnection::connect(&format!("mysql://{rest}")).await?;
                sqlx::query("SELECT 1").execute(&mut c).await?;
                c.close().await
            };
            tokio::time::timeout(timeout, fut)
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())?;
            Ok("connected, SELECT 1".into())
        }
        "sqlite" => {
            let path = rest.strip_prefix('/').unwrap_or(rest);
            if path.is_empty() {
                return Ok("in memory".into());
            }
            let path = path.split('?').next().unwrap_or(path);
            let p = Path::new(path);
            if p.is_file() {
                Ok(format!("{} exists", p.display()))
            } else {
                let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
                match dir {
                    Some(d) if !d.is_dir() => {
                        Err(format!("the directory {} does not exist", d.display()))
                    }
                    _ => Ok(format!("{} is created at start-up", p.display())),
                }
            }
        }
        other => Err(format!("unsupported database scheme {other:?}")),
    }
}
