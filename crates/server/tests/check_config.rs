//! Issue 10, `tacker-server check-config`: passes (exit 0) on every shipped configuration,
//! fails (exit 1) naming file, section and option on one broken configuration of each kind,
//! warns about `thumbprint_verify` without any way for a client certificate to arrive,
//! `--probe` reaches the introspection and token endpoints and the database; `--config-dir`;
//! `--help` and `--version`.
//! A `tls_client_auth` filter without a client certificate is also a start-up error.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tacker_test_support::{free_port, repo_root};

const SECRET: &str = "check-config-secret-5d2a";

fn run(dir: &Path, args: &[&str]) -> (bool, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit status {:?}: {text}",
        out.status
    );
    (out.status.success(), text)
}

fn make_test_pki(root: &Path) {
    let out = Command::new("bash")
        .arg(root.join("scripts/make-test-pki"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn passes_on_every_shipped_configuration() {
    let root = repo_root();
    make_test_pki(&root);
    let (ok, out) = run(&root, &["check-config", "--config-file", "etc/tacker.conf"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("/v1.0: [composite:tackerapi_v1_0] request_id -> catch_errors -> extensions -> tackerapiapp_v1_0"),
        "{out}"
    );
    assert!(
        out.contains("auth_strategy = noauth    # etc/tacker.conf"),
        "{out}"
    );

    for path in std::fs::read_dir(root.join("etc/samples")).unwrap() {
        let path = path.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let sample = format!("etc/samples/{name}.conf");
        let (ok, out) = run(&root, &["check-config", "--config-file", &sample]);
        assert!(ok, "{sample}: {out}");
        assert!(
            out.contains("request_id -> catch_errors -> external_oauth2_token -> keystonecontext -> extensions -> tackerapiapp_v1_0"),
            "{sample}: {out}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        if let Some(secret) =
            tacker_test_support::ini_get(&text, "ext_oauth2_auth", "client_secret")
        {
            assert!(!out.contains(&secret), "{sample}: secret shown: {out}");
            assert!(out.contains("client_secret = ***"), "{sample}: {out}");
        }
        // As compose layers them.
        let compose = format!("etc/compose/{name}.conf");
        let (ok, out) = run(
            &root,
            &[
                "check-config",
                "--config-file",
                &sample,
                "--config-file",
                "etc/compose/tacker.conf",
                "--config-file",
                &compose,
            ],
        );
        assert!(ok, "{sample} + compose: {out}");
        assert!(
            !out.contains("tacker:tacker@"),
            "database password shown: {out}"
        );
        assert!(
            out.contains("postgresql://tacker:***@postgres:5432/tacker"),
            "{out}"
        );
    }
}

/// A noauth/keystone base configuration in `dir` with the guide's paste file.
fn base(dir: &Path, introspect_port: u16) -> PathBuf {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
    let conf = dir.join("base.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {}\nauth_strategy = keystone\n\
             api_paste_config = {}\n\
             [database]\nconnection = sqlite:///{}\n\
             [vim_keys]\nopenstack = {}\n\
             [ext_oauth2_auth]\nintrospect_endpoint = http://127.0.0.1:{introspect_port}/introspect\n\
             auth_method = client_secret_basic\nclient_id = tacker\nclient_secret = {SECRET}\n\
             audience = http://127.0.0.1/realms/x\n",
            free_port(),
            repo_root()
                .join("etc/api-paste-external-oauth2.ini")
                .display(),
            dir.join("t.db").display(),
            keys.display(),
        ),
    )
    .unwrap();
    conf
}

fn check_with(extra: &str) -> (bool, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let base = base(dir.path(), free_port());
    let broken = dir.path().join("broken.conf");
    std::fs::write(&broken, extra).unwrap();
    let (ok, out) = run(
        dir.path(),
        &[
            "check-config",
            "--config-file",
            base.to_str().unwrap(),
            "--config-file",
            broken.to_str().unwrap(),
        ],
    );
    assert!(!out.contains(SECRET), "secret shown: {out}");
    (ok, out, dir)
}

#[test]
fn the_base_configuration_passes() {
    let (ok, out, _dir) = check_with("");
    assert!(ok, "{out}");
    assert!(out.contains("client_secret = ***"), "{out}");
}

#[test]
fn a_filter_that_cannot_be_built_fails() {
    // The filter's own checks run as at start-up (here: upstream's "not set" for audience).
    let (ok, out, _dir) = check_with("[ext_oauth2_auth]\naudience =\n");
    assert!(!ok, "{out}");
    assert!(
        out.contains("The parameter is not set for \"audience\" in group [ext_oauth2_auth]"),
        "{out}"
    );
}

#[test]
fn an_unknown_option_fails_naming_file_section_option() {
    let (ok, out, _dir) = check_with("[DEFAULT]\nbind_prot = 1\n");
    assert!(!ok, "{out}");
    assert!(
        out.contains("ERROR: ") && out.contains("broken.conf [DEFAULT] bind_prot: unknown option"),
        "{out}"
    );
}

#[test]
fn an_unknown_ext_oauth2_auth_option_fails_naming_file_section_option() {
    let (ok, out, _dir) = check_with("[ext_oauth2_auth]\nintrospection_endpoint = http://x\n");
    assert!(!ok, "{out}");
    assert!(
        out.contains("broken.conf [ext_oauth2_auth] introspection_endpoint: unknown option"),
        "{out}"
    );
}

#[test]
fn a_bad_value_fails_naming_file_section_option() {
    let (ok, out, _dir) = check_with("[DEFAULT]\nauth_strategy = oauth2\n");
    assert!(!ok, "{out}");
    assert!(
        out.contains("broken.conf [DEFAULT] auth_strategy = \"oauth2\""),
        "{out}"
    );
}

#[test]
fn a_missing_file_fails_naming_file_section_option() {
    let (ok, out, _dir) = check_with("[ext_oauth2_auth]\ncafile = no-such-ca.pem\n");
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "broken.conf [ext_oauth2_auth] cafile = \"no-such-ca.pem\": the file does not exist"
        ),
        "{out}"
    );
}

#[test]
fn a_missing_listener_certificate_fails_once_and_only_with_use_ssl() {
    let (ok, out, _dir) = check_with("[DEFAULT]\nssl_cert_file = no-such-cert.pem\n");
    assert!(ok, "not read without use_ssl: {out}");
    let (ok, out, _dir) =
        check_with("[DEFAULT]\nuse_ssl = True\nssl_cert_file = no-such-cert.pem\n");
    assert!(!ok, "{out}");
    let needle = "broken.conf [DEFAULT] ssl_cert_file = \"no-such-cert.pem\"";
    assert_eq!(out.matches(needle).count(), 1, "{out}");
}

#[test]
fn tls_client_auth_without_a_client_certificate_fails_and_stops_start_up() {
    let extra = "[ext_oauth2_auth]\nauth_method = tls_client_auth\n";
    let (ok, out, dir) = check_with(extra);
    assert!(!ok, "{out}");
    assert!(
        out.contains("broken.conf [ext_oauth2_auth]")
            && out.contains(
                "certfile: auth_method = tls_client_auth needs a client certificate and key"
            ),
        "{out}"
    );
    // The server itself refuses to start with the same message.
    let (ok, out) = run(
        dir.path(),
        &[
            "--config-file",
            dir.path().join("base.conf").to_str().unwrap(),
            "--config-file",
            dir.path().join("broken.conf").to_str().unwrap(),
        ],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("[ext_oauth2_auth]")
            && out.contains("tls_client_auth needs a client certificate"),
        "{out}"
    );
}

#[test]
fn thumbprint_verify_without_client_certificates_is_a_warning() {
    let (ok, out, _dir) = check_with("[ext_oauth2_auth]\nthumbprint_verify = True\n");
    assert!(ok, "a warning only: {out}");
    assert!(
        out.contains("WARNING: ")
            && out.contains("broken.conf [ext_oauth2_auth] thumbprint_verify = True: no client certificate can reach this server"),
        "{out}"
    );
}

#[test]
fn a_readable_key_directory_fails_naming_file_section_option() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("loose");
    std::fs::create_dir(&keys).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (ok, out, _d) = check_with(&format!("[vim_keys]\nopenstack = {}\n", keys.display()));
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "broken.conf [vim_keys] openstack = \"{}\": mode 0755, group or others can read the VIM keys",
            keys.display()
        )),
        "{out}"
    );
}

#[tokio::test]
async fn probe_reaches_introspection_token_endpoint_and_database() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"active": false}"#))
        .expect(1)
        .mount(&idp)
        .await;
    // The outbound client-credentials grant (use_ext_oauth2_auth), with this client's id
    // and secret in the Basic header.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(wiremock::matchers::header(
            "authorization",
            format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("tacker:{SECRET}")
                )
            )
            .as_str(),
        ))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=client_credentials",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"access_token": "probe-outbound", "expires_in": 300, "token_type": "Bearer"}"#,
        ))
        .expect(1)
        .mount(&idp)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let base = base(dir.path(), idp.address().port());
    let over = dir.path().join("pg.conf");
    // PostgreSQL as the other tests find it (TACKER_TEST_POSTGRES_URL); outside CI a missing
    // server probes SQLite instead.
    let pg = std::env::var("TACKER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pg_up = url::Url::parse(&pg)
        .ok()
        .and_then(|u| Some((u.host_str()?.to_owned(), u.port().unwrap_or(5432))))
        .and_then(|(h, p)| {
            std::net::ToSocketAddrs::to_socket_addrs(&(h.as_str(), p))
                .ok()?
                .next()
        })
        .is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        });
    if !pg_up && std::env::var("CI").as_deref() == Ok("true") {
        panic!("PostgreSQL at {pg} is unreachable; CI=true requires it");
    }
    let (connection, expected) = if pg_up {
        (
            pg.clone(),
            format!("database {}: OK, connected", redacted(&pg)),
        )
    } else {
        eprintln!("skipping the PostgreSQL probe: {pg} is unreachable");
        let db = dir.path().join("probe.db");
        (
            format!("sqlite:///{}", db.display()),
            format!("database sqlite:///{}: OK", db.display()),
        )
    };
    std::fs::write(
        &over,
        format!(
            "[database]\nconnection = {connection}\n\
             [ext_oauth2_auth]\nuse_ext_oauth2_auth = True\ntoken_endpoint = {}/token\nscope = openstack\n",
            idp.uri()
        ),
    )
    .unwrap();
    let args: Vec<String> = vec![
        "check-config".into(),
        "--probe".into(),
        "--config-file".into(),
        base.display().to_string(),
        "--config-file".into(),
        over.display().to_string(),
    ];
    let args2 = args.clone();
    let d = dir.path().to_owned();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        run(&d, &args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "introspection http://127.0.0.1:{}/introspect: OK",
            idp.address().port()
        )),
        "{out}"
    );
    assert!(out.contains(&expected), "{out}");
    assert!(
        out.contains(&format!(
            "token {}/token: OK, a token was issued",
            idp.uri()
        )),
        "{out}"
    );
    assert!(
        !out.contains("probe-outbound"),
        "the token is not shown: {out}"
    );

    // Nothing listening where the endpoints point, and no database: each reported, exit 1.
    let dead = free_port();
    std::fs::write(
        &over,
        format!(
            "[database]\nconnection = postgresql://postgres@127.0.0.1:{dead}/test\n\
             [ext_oauth2_auth]\nintrospect_endpoint = http://127.0.0.1:{dead}/introspect\n\
             use_ext_oauth2_auth = True\ntoken_endpoint = http://127.0.0.1:{dead}/token\nscope = openstack\n"
        ),
    )
    .unwrap();
    let d = dir.path().to_owned();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        run(&d, &args2.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "ERROR: probe introspection http://127.0.0.1:{dead}/introspect:"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ERROR: probe database postgresql://postgres@127.0.0.1:{dead}/test:"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ERROR: probe token http://127.0.0.1:{dead}/token:"
        )),
        "{out}"
    );
}

/// `scheme://user:***@host/...` as check-config shows a database URL with a password; a URL
/// without one is shown as it is.
fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[test]
fn help_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = run(dir.path(), &["--version"]);
    assert!(ok && out.starts_with("tacker-server "), "{out}");
    let (ok, out) = run(dir.path(), &["--help"]);
    assert!(
        ok && out.contains("check-config") && out.contains("--config-file"),
        "{out}"
    );
    let (ok, out) = run(dir.path(), &["check-config", "--help"]);
    assert!(
        ok && out.contains("--probe") && out.contains("--config-dir"),
        "{out}"
    );
}

/// `--config-dir`: every `*.conf` in the directory, in name order, after the files before it
/// (oslo.config); options from there are shown with their file, and a problem there is named
/// by that file.
#[test]
fn config_dir_files_are_read_in_name_order_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let base = base(dir.path(), free_port());
    let conf_d = dir.path().join("tacker.conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    std::fs::write(conf_d.join("10-debug.conf"), "[DEFAULT]\ndebug = False\n").unwrap();
    std::fs::write(conf_d.join("20-debug.conf"), "[DEFAULT]\ndebug = True\n").unwrap();
    std::fs::write(conf_d.join("README"), "not a config file [\n").unwrap();
    let args = [
        "check-config",
        "--config-file",
        base.to_str().unwrap(),
        "--config-dir",
        conf_d.to_str().unwrap(),
    ];
    let (ok, out) = run(dir.path(), &args);
    assert!(ok, "{out}");
    let later = conf_d.join("20-debug.conf");
    assert!(
        out.contains(&format!("debug = True    # {}", later.display())),
        "{out}"
    );

    std::fs::write(conf_d.join("30-broken.conf"), "[DEFAULT]\nbind_prot = 1\n").unwrap();
    let (ok, out) = run(dir.path(), &args);
    assert!(!ok, "{out}");
    assert!(
        out.contains("30-broken.conf [DEFAULT] bind_prot: unknown option"),
        "{out}"
    );
}
