//! Issue 10, the Docker Compose deployment, checked without a Docker engine:
//! * `docker-compose.yml` validates and renders with a Compose implementation (Debian's
//!   `docker-compose`, which needs no engine for `config`), for the default and for each
//!   `TACKER_SAMPLE`; what it renders has the hostname settings that make a token fetched from
//!   the host valid for tacker-server (fixed frontend, dynamic backchannel), healthchecks and
//!   the start order;
//! * the realm (`etc/keycloak/testrealm-realm.json`) and the scope added to it
//!   (`etc/keycloak/openstack-client-scope.json`) agree with the five `etc/samples/*.conf`: one
//!   client per auth method with the sample's id, secret and algorithm, certificate-bound tokens
//!   where the sample verifies thumbprints, Keycloak's built-in `basic` scope kept, a claim at
//!   every path a `mapping_*` option reads;
//! * every layered configuration compose starts tacker-server with loads with the server's own
//!   loader;
//! * `shellcheck` passes on every shell script of the repository.
//!
//! Needs `scripts/setup/deploy-tools.sh` (docker-compose, shellcheck, openssl) and writes the
//! repository's git-ignored `var/pki/` with `scripts/make-test-pki` (the compose file reads
//! `var/pki/keycloak.env`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use secrecy::ExposeSecret;
use serde_json::Value;
use tacker_auth::ExtOAuth2Options;
use tacker_oauth2_client::AuthMethod;
use tacker_server::config::ConfigSource;
use tacker_server::ServerConfig;
use tacker_test_support::{repo_root, PROJECT_ID, USER_ID};

const SAMPLES: [&str; 5] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "client_secret_jwt",
    "tls_client_auth",
];
const DEFAULT_SAMPLE: &str = "client_secret_basic";
const REALM: &str = "testrealm";

fn root() -> PathBuf {
    repo_root()
}

fn tool(name: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{name} is not installed: run scripts/setup/deploy-tools.sh"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn make_test_pki() {
    run(Command::new("bash").arg(root().join("scripts/make-test-pki")));
}

/// `docker-compose [args]` in the repository root with `TACKER_SAMPLE` set to `sample` (unset
/// for `None`) and an empty env file, so that a developer's `.env` cannot change the result.
fn docker_compose(sample: Option<&str>, args: &[&str]) -> String {
    make_test_pki();
    let env_file = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(tool("docker-compose"));
    cmd.current_dir(root())
        .arg("--env-file")
        .arg(env_file.path())
        .args(["-f", "docker-compose.yml"])
        .args(args)
        .env_remove("TACKER_SAMPLE");
    if let Some(sample) = sample {
        cmd.env("TACKER_SAMPLE", sample);
    }
    run(&mut cmd)
}

/// The configuration as the Compose implementation resolved it, as JSON. docker-compose renders
/// YAML only; the Python that runs docker-compose (its shebang) has PyYAML, which it needs.
fn rendered(sample: Option<&str>) -> Value {
    let yaml = docker_compose(sample, &["config"]);
    let script = std::fs::read_to_string(tool("docker-compose")).unwrap();
    let python = script
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .expect("docker-compose starts with a shebang")
        .trim()
        .to_owned();
    let mut parts = python.split_whitespace();
    let mut cmd = Command::new(parts.next().unwrap());
    cmd.args(parts)
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("python of docker-compose");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "YAML to JSON");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let s = &compose["services"][name];
    assert!(s.is_object(), "no service {name}");
    s
}

/// A service's environment as a map (Compose allows a list `K=V` or a mapping).
fn environment(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| {
                i.as_str()?
                    .split_once('=')
                    .map(|(k, v)| (k.into(), v.into()))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The configuration the server reads from `files` (repository paths), with its own loader.
fn load(files: &[String]) -> ServerConfig {
    let sources: Vec<ConfigSource> = files
        .iter()
        .map(|f| ConfigSource::File(root().join(f)))
        .collect();
    ServerConfig::load(&sources)
        .unwrap_or_else(|e| panic!("{files:?}: {e}"))
        .0
}

fn ext_options(config: &ServerConfig) -> ExtOAuth2Options {
    config.ext_oauth2_auth.clone()
}

/// The raw value of `[section] key` across `files` as oslo.config reads them (last file wins).
fn raw_option(files: &[String], section: &str, key: &str) -> Option<String> {
    files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(root().join(f)).unwrap();
            let doc = tacker_common::ini::IniDocument::parse_oslo(&text, f).unwrap();
            doc.section(section)
                .and_then(|s| s.get(key))
                .map(|v| v.value.clone())
        })
        .next_back()
}

fn sample_options(sample: &str) -> ExtOAuth2Options {
    ext_options(&load(&[format!("etc/samples/{sample}.conf")]))
}

/// The files compose passes to tacker-server for `sample`, in order.
fn compose_layers(sample: &str) -> Vec<String> {
    vec![
        format!("etc/samples/{sample}.conf"),
        "etc/compose/tacker.conf".to_owned(),
        format!("etc/compose/{sample}.conf"),
    ]
}

fn realm_client<'a>(realm: &'a Value, client_id: &str) -> &'a Value {
    realm["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["clientId"] == client_id)
        .unwrap_or_else(|| panic!("realm has no client {client_id}"))
}

fn openssl(args: &[&str]) -> String {
    run(Command::new(tool("openssl")).current_dir(root()).args(args))
}

#[test]
fn compose_file_validates_and_starts_each_sample_by_one_variable() {
    docker_compose(None, &["config", "-q"]);
    for (sample, expect) in SAMPLES
        .iter()
        .map(|s| (Some(*s), *s))
        .chain([(None, DEFAULT_SAMPLE)])
    {
        docker_compose(sample, &["config", "-q"]);
        let compose = rendered(sample);
        let command: Vec<&str> = service(&compose, "tacker")["command"]
            .as_array()
            .expect("tacker command")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut want = Vec::new();
        for file in compose_layers(expect) {
            want.push("--config-file".to_owned());
            want.push(file);
        }
        assert_eq!(command, want, "TACKER_SAMPLE={sample:?}");
    }
}

#[test]
fn keycloak_frontend_url_is_fixed_and_its_backchannel_dynamic() {
    let compose = rendered(None);
    let keycloak = service(&compose, "keycloak");
    let env = environment(keycloak);
    let frontend = env.get("KC_HOSTNAME").expect("KC_HOSTNAME");
    assert!(
        frontend.starts_with("http://127.0.0.1:") || frontend.starts_with("https://127.0.0.1:"),
        "KC_HOSTNAME must be the full URL the host reaches Keycloak at: {frontend}"
    );
    assert_eq!(
        env.get("KC_HOSTNAME_BACKCHANNEL_DYNAMIC")
            .map(String::as_str),
        Some("true")
    );
    // The frontend URL is one of the ports published on the host.
    let port = frontend.rsplit(':').next().unwrap().trim_end_matches('/');
    let published = keycloak["ports"].to_string();
    assert!(
        published.contains(&format!("\"published\":{port}"))
            || published.contains(&format!("127.0.0.1:{port}:")),
        "KC_HOSTNAME port {port} is not published: {published}"
    );

    // Tokens name the frontend URL as issuer, and Keycloak checks client assertions against it:
    // every sample's `audience` is that issuer, also in compose where tacker-server calls
    // Keycloak by its service name.
    let issuer = format!("{}/realms/{REALM}", frontend.trim_end_matches('/'));
    for sample in SAMPLES {
        let layered_files = compose_layers(sample);
        let layered = ext_options(&load(&layered_files));
        assert_eq!(
            layered.client.audience.as_deref(),
            Some(issuer.as_str()),
            "{sample}"
        );
        let alone_files = vec![format!("etc/samples/{sample}.conf")];
        for key in ["introspect_endpoint", "token_endpoint"] {
            let value = |files: &[String]| {
                let v = raw_option(files, "ext_oauth2_auth", key).expect(key);
                url::Url::parse(&v).unwrap_or_else(|e| panic!("{sample} {key} = {v}: {e}"))
            };
            let (inside, outside) = (value(&layered_files), value(&alone_files));
            assert_eq!(
                inside.host_str(),
                Some("keycloak"),
                "{sample} {key} in compose"
            );
            assert_eq!(
                outside.host_str(),
                Some("127.0.0.1"),
                "{sample} {key} as is"
            );
            // Same listener and path in and outside compose: only the host differs.
            assert_eq!(
                (inside.scheme(), inside.port(), inside.path()),
                (outside.scheme(), outside.port(), outside.path()),
                "{sample} {key}"
            );
            let published = if inside.scheme() == "https" {
                8443
            } else {
                8080
            };
            assert_eq!(inside.port(), Some(published), "{sample} {key}");
        }
    }
}

#[test]
fn healthchecks_order_the_start_and_images_are_pinned() {
    let compose = rendered(None);
    for name in ["keycloak", "postgres", "tacker"] {
        let test = &service(&compose, name)["healthcheck"]["test"];
        assert!(
            test.as_array().is_some_and(|t| !t.is_empty()),
            "{name} has no healthcheck"
        );
    }
    let keycloak = service(&compose, "keycloak");
    let env = environment(keycloak);
    assert_eq!(
        env.get("KC_HEALTH_ENABLED").map(String::as_str),
        Some("true")
    );
    // Development mode binds localhost only (Keycloak 26.6): nothing could reach it.
    assert_eq!(env.get("KC_HTTP_HOST").map(String::as_str), Some("0.0.0.0"));
    // The probe speaks plain HTTP to the management port.
    assert_eq!(
        env.get("KC_HTTP_MANAGEMENT_SCHEME").map(String::as_str),
        Some("http")
    );
    let probe = keycloak["healthcheck"]["test"].to_string();
    assert!(
        probe.contains("/health/ready") && probe.contains("/dev/tcp/localhost/9000"),
        "{probe}"
    );
    assert!(service(&compose, "postgres")["healthcheck"]["test"]
        .to_string()
        .contains("pg_isready"),);
    // The server's own health check (database included), on both listeners the samples use.
    let probe = service(&compose, "tacker")["healthcheck"]["test"].to_string();
    assert!(
        probe.contains("https://127.0.0.1:9890/healthcheck")
            && probe.contains("http://127.0.0.1:9890/healthcheck"),
        "{probe}"
    );

    let depends = |name: &str| service(&compose, name)["depends_on"].clone();
    let tacker = depends("tacker");
    assert_eq!(tacker["postgres"]["condition"], "service_healthy");
    assert_eq!(tacker["keycloak"]["condition"], "service_healthy");
    assert_eq!(
        tacker["keycloak-setup"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        depends("keycloak-setup")["keycloak"]["condition"],
        "service_healthy"
    );

    // Official Keycloak 26 image at an exact release, the setup step on the same image.
    let image = keycloak["image"].as_str().unwrap();
    let version = image
        .strip_prefix("keycloak/keycloak:")
        .unwrap_or_else(|| panic!("{image}"));
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3 && parts[0] == "26" && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "not an exact Keycloak 26 release: {image}"
    );
    assert_eq!(service(&compose, "keycloak-setup")["image"], image);
    let postgres = service(&compose, "postgres")["image"].as_str().unwrap();
    assert!(
        postgres
            .rsplit(':')
            .next()
            .is_some_and(|t| t.split('.').count() >= 2),
        "postgres image not pinned to a minor release: {postgres}"
    );

    // Nothing listens beyond the host's loopback.
    for name in ["keycloak", "postgres", "tacker"] {
        for port in service(&compose, name)["ports"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let text = port.to_string();
            assert!(
                text.contains("127.0.0.1"),
                "{name} publishes {text} beyond loopback"
            );
        }
    }
}

/// Prometheus metrics are on in compose ([metrics] of etc/compose/tacker.conf, whatever the
/// sample), published on the host's loopback only, and compose-smoke checks them.
#[test]
fn metrics_listener_is_on_in_compose_and_published_on_loopback() {
    for sample in SAMPLES {
        let alone = load(&[format!("etc/samples/{sample}.conf")]);
        assert_eq!(
            alone.metrics.bind_port, None,
            "{sample}: off outside compose"
        );
        let layered = load(&compose_layers(sample));
        assert_eq!(layered.metrics.bind_port, Some(9891), "{sample}");
        // Every interface of the container, so that the published port reaches it.
        assert!(layered.metrics.bind_host.is_unspecified(), "{sample}");
        assert_ne!(
            layered.metrics.bind_port,
            Some(layered.default.listener.bind_port),
            "{sample}: the metrics listener is never the API port"
        );
    }
    let compose = rendered(None);
    let ports: Vec<String> = service(&compose, "tacker")["ports"]
        .as_array()
        .expect("tacker publishes ports")
        .iter()
        .map(Value::to_string)
        .collect();
    assert!(
        ports
            .iter()
            .any(|p| p.contains("9891") && p.contains("127.0.0.1")),
        "9891 not published on 127.0.0.1: {ports:?}"
    );
    let smoke = read("scripts/compose-smoke");
    assert!(
        smoke.contains("METRICS_PORT:-9891")
            && smoke.contains("/metrics")
            && smoke.contains("tacker_http_requests_total"),
        "compose-smoke does not check the metrics listener"
    );
}

#[test]
fn realm_has_one_client_per_sample_and_keeps_keycloaks_builtin_scopes() {
    make_test_pki();
    let realm = json("etc/keycloak/testrealm-realm.json");
    assert_eq!(realm["realm"], REALM);
    // Keycloak creates its built-in client scopes (`basic`: the `sub` claim) only for a realm
    // file without `clientScopes`, and gives them to clients that do not list their own.
    assert!(
        realm.get("clientScopes").is_none(),
        "a realm file with clientScopes loses Keycloak's built-in scopes, `basic` among them"
    );
    for key in ["defaultDefaultClientScopes", "defaultOptionalClientScopes"] {
        assert!(realm.get(key).is_none(), "{key} would drop built-in scopes");
    }
    let clients = realm["clients"].as_array().unwrap();
    assert_eq!(clients.len(), SAMPLES.len());
    for client in clients {
        for key in ["defaultClientScopes", "optionalClientScopes"] {
            assert!(
                client.get(key).is_none(),
                "{}: {key} would replace the realm's default scopes (basic)",
                client["clientId"]
            );
        }
        assert_eq!(client["enabled"], true);
        assert_eq!(client["publicClient"], false);
        assert_eq!(client["serviceAccountsEnabled"], true);
        assert_eq!(client["protocol"], "openid-connect");
    }

    let mut seen = Vec::new();
    for sample in SAMPLES {
        let opts = sample_options(sample);
        assert_eq!(opts.client.auth_method.as_str(), sample, "{sample}");
        let client_id = opts.client.client_id.clone().expect("client_id");
        let client = realm_client(&realm, &client_id);
        seen.push(client_id.clone());
        let attrs = &client["attributes"];
        let authenticator = match opts.client.auth_method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => "client-secret",
            AuthMethod::PrivateKeyJwt => "client-jwt",
            AuthMethod::ClientSecretJwt => "client-secret-jwt",
            AuthMethod::TlsClientAuth => "client-x509",
        };
        assert_eq!(client["clientAuthenticatorType"], authenticator, "{sample}");
        // The one method the guide's sample uses (Keycloak 26.6 enforces it for client secrets).
        assert_eq!(attrs["token.endpoint.auth.method"], sample, "{sample}");
        // Keycloak (since 26.6.2) answers an introspection `active: false` unless the
        // introspecting client is in the token's `aud`; here the client that gets the token is
        // the one tacker-server introspects with, as the guide's tacker_service.
        let audience = client["protocolMappers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["protocolMapper"] == "oidc-audience-mapper")
            .unwrap_or_else(|| panic!("{sample}: no audience mapper on {client_id}"));
        assert_eq!(
            audience["config"]["included.client.audience"],
            client_id.as_str()
        );
        assert_eq!(audience["config"]["access.token.claim"], "true");
        assert_eq!(audience["config"]["introspection.token.claim"], "true");
        match &opts.client.client_secret {
            Some(secret) => {
                assert_eq!(client["secret"], secret.expose_secret(), "{sample}");
                // RFC 7518 §3.2: an HMAC key at least as long as the hash (HS512: 64 bytes).
                assert!(secret.expose_secret().len() >= 64, "{sample}");
            }
            None => assert!(client.get("secret").is_none(), "{sample}"),
        }
        if let Some(alg) = &opts.client.jwt_algorithm {
            assert_eq!(
                attrs["token.endpoint.auth.signing.alg"],
                alg.as_str(),
                "{sample}"
            );
        }
        // thumbprint_verify needs tokens carrying cnf.x5t#S256 (RFC 8705 §3).
        let bound = attrs["tls.client.certificate.bound.access.tokens"] == "true";
        assert_eq!(
            bound, opts.thumbprint_verify,
            "{sample}: certificate-bound tokens"
        );

        match opts.client.auth_method {
            AuthMethod::TlsClientAuth => {
                let cert = opts.client.certfile.as_ref().expect("certfile");
                let subject = openssl(&[
                    "x509",
                    "-noout",
                    "-subject",
                    "-nameopt",
                    "RFC2253",
                    "-in",
                    cert.to_str().unwrap(),
                ]);
                let subject = subject.trim().trim_start_matches("subject=").trim();
                assert_eq!(attrs["x509.subjectdn"], subject, "{sample}");
            }
            AuthMethod::PrivateKeyJwt => {
                // The realm file names an environment variable; the env file scripts/make-test-pki
                // writes for the keycloak service holds the certificate of jwt_key_file's key.
                assert_eq!(attrs["use.jwks.url"], "false");
                let placeholder = attrs["jwt.credential.certificate"].as_str().unwrap();
                let var = placeholder
                    .strip_prefix("${")
                    .and_then(|v| v.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("not a placeholder: {placeholder}"));
                let env_file = read("var/pki/keycloak.env");
                let der_b64 = env_file
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{var}=")))
                    .unwrap_or_else(|| panic!("var/pki/keycloak.env does not set {var}"));
                let pem = format!(
                    "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                    der_b64
                        .as_bytes()
                        .chunks(64)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                let dir = tempfile::tempdir().unwrap();
                let cert = dir.path().join("registered.pem");
                std::fs::write(&cert, pem).unwrap();
                let registered =
                    openssl(&["x509", "-noout", "-pubkey", "-in", cert.to_str().unwrap()]);
                let key = opts.client.jwt_key_file.as_ref().expect("jwt_key_file");
                let ours = openssl(&["pkey", "-pubout", "-in", key.to_str().unwrap()]);
                assert_eq!(registered, ours, "{sample}: registered key != jwt_key_file");
            }
            _ => {}
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), SAMPLES.len(), "one realm client per sample");

    // scripts/keycloak-setup gives the scope to exactly these clients.
    let setup = read("scripts/keycloak-setup");
    let default_ids = setup
        .split("CLIENT_IDS:-")
        .nth(1)
        .and_then(|r| r.split('}').next())
        .expect("CLIENT_IDS default in scripts/keycloak-setup");
    let mut listed: Vec<&str> = default_ids.split_whitespace().collect();
    listed.sort();
    assert_eq!(listed, seen);
}

#[test]
fn scope_openstack_has_a_claim_at_every_mapping_path() {
    let scope = json("etc/keycloak/openstack-client-scope.json");
    assert_eq!(scope["protocol"], "openid-connect");
    assert_eq!(scope["attributes"]["include.in.token.scope"], "true");
    let mappers = scope["protocolMappers"]
        .as_array()
        .expect("protocolMappers");
    let claim = |path: &str| -> &Value {
        mappers
            .iter()
            .find(|m| m["config"]["claim.name"] == path)
            .unwrap_or_else(|| panic!("no mapper for claim {path}"))
    };
    // The guide's values (its introspection log samples).
    let expected = [
        ("project.id", PROJECT_ID),
        ("project.name", "nfv"),
        ("project.domain.id", "default"),
        ("project.domain.name", "Default"),
        ("user.id", USER_ID),
        ("user.name", "nfv_user"),
        ("user.domain.id", "default"),
        ("user.domain.name", "Default"),
        ("user.roles", "admin"),
    ];
    for sample in SAMPLES {
        let opts = sample_options(sample);
        let scope_option = raw_option(
            &[format!("etc/samples/{sample}.conf")],
            "ext_oauth2_auth",
            "scope",
        )
        .expect("scope");
        assert_eq!(scope["name"], scope_option.as_str(), "{sample}");
        let m = &opts.mapping;
        for path in [
            &m.project_id,
            &m.project_name,
            &m.project_domain_id,
            &m.project_domain_name,
            &m.user_id,
            &m.user_name,
            &m.user_domain_id,
            &m.user_domain_name,
            &m.roles,
        ] {
            let path = path.as_deref().expect("mapping option set");
            let mapper = claim(path);
            // A dotted claim.name is a nested claim in Keycloak, as a dotted mapping path is
            // a nested lookup here.
            assert_eq!(mapper["protocolMapper"], "oidc-hardcoded-claim-mapper");
            assert_eq!(mapper["config"]["access.token.claim"], "true", "{path}");
            assert_eq!(
                mapper["config"]["introspection.token.claim"], "true",
                "{path}"
            );
            let want = expected
                .iter()
                .find(|(p, _)| *p == path)
                .unwrap_or_else(|| panic!("{sample}: unexpected mapping path {path}"))
                .1;
            assert_eq!(mapper["config"]["claim.value"], want, "{path}");
        }
    }
}

#[test]
fn compose_layers_load_with_the_servers_loader() {
    for sample in SAMPLES {
        let alone = load(&[format!("etc/samples/{sample}.conf")]);
        assert!(
            alone.database.connection.starts_with("sqlite:///var/"),
            "{sample}: {}",
            alone.database.connection
        );
        assert!(
            alone
                .default
                .api_paste_config
                .ends_with("etc/samples/../api-paste-external-oauth2.ini"),
            "{sample}: {}",
            alone.default.api_paste_config.display()
        );
        let layered = load(&compose_layers(sample));
        assert!(
            layered
                .database
                .connection
                .starts_with("postgresql://tacker:tacker@postgres:5432/"),
            "{sample}"
        );
        assert_eq!(
            layered.default.api_paste_config.file_name(),
            alone.default.api_paste_config.file_name()
        );
        // Everything but the endpoints is the sample's.
        let (a, l) = (sample_options(sample), ext_options(&layered));
        assert_eq!(a.client.auth_method, l.client.auth_method, "{sample}");
        assert_eq!(a.client.client_id, l.client.client_id, "{sample}");
        assert_eq!(a.thumbprint_verify, l.thumbprint_verify, "{sample}");
        assert_eq!(a.mapping, l.mapping, "{sample}");
    }
}

/// Every shell script of the repository: a `#!` naming sh or bash, under scripts/ or .ci/.
fn shell_scripts() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if std::fs::read(&path).is_ok_and(|b| {
                let first = b.split(|c| *c == b'\n').next().unwrap_or_default();
                let first = String::from_utf8_lossy(first);
                first.starts_with("#!")
                    && first
                        .split(|c: char| c == '/' || c.is_whitespace())
                        .any(|w| w == "sh" || w == "bash")
            }) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["scripts", ".ci"] {
        walk(&root().join(dir), &mut out);
    }
    out.sort();
    out
}

#[test]
fn shellcheck_passes_on_every_script() {
    let scripts = shell_scripts();
    let names: Vec<String> = scripts
        .iter()
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    for expected in [
        ".ci/run",
        "scripts/test",
        "scripts/make-test-pki",
        "scripts/compose-smoke",
        "scripts/keycloak-setup",
        "scripts/setup/deploy-tools.sh",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not found: {names:?}"
        );
    }
    let out = Command::new(tool("shellcheck"))
        .current_dir(root())
        .args(&names)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "shellcheck {names:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn runtime_image_is_slim_non_root_and_has_the_healthchecks_client() {
    let dockerfile = read("Dockerfile");
    let runtime = dockerfile
        .rsplit_once("\nFROM ")
        .map(|(_, stage)| stage)
        .expect("a multi-stage Dockerfile");
    let base = runtime.lines().next().unwrap().trim();
    assert!(base.ends_with("-slim"), "runtime base {base}");
    let user = runtime
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("USER in the runtime stage");
    let uid = user.split(':').next().unwrap().trim();
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "runtime user {user}: numeric and not root"
    );
    // docker-compose.yml's tacker healthcheck calls curl.
    let compose = rendered(None);
    assert!(service(&compose, "tacker")["healthcheck"]["test"]
        .to_string()
        .contains("curl "));
    assert!(
        runtime.contains(" curl"),
        "the runtime stage does not install curl"
    );
    // Build output and local state stay out of the build context.
    let ignore = read(".dockerignore");
    for entry in ["target/", "var/", ".git/", "Cargo.lock"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore lacks {entry}"
        );
    }
}

/// A stand-in for Keycloak's admin CLI that answers like kcadm.sh from a realm holding the
/// clients of `etc/keycloak/testrealm-realm.json` and Keycloak's built-in `basic` scope, and
/// records every call (the keycloak-setup service's logic, tested without Keycloak).
const FAKE_KCADM: &str = r#"#!/usr/bin/env bash
state="$FAKE_STATE"
echo "$*" >>"$state/calls"
case "$1 $2" in
    "config credentials") exit 0 ;;
    "get client-scopes")
        printf 'a1b2,basic\r\n'
        [[ -f "$state/scope" ]] && printf 'c3d4,%s\r\n' "$(cat "$state/scope")"
        exit 0 ;;
    "create client-scopes")
        while [[ $# -gt 0 ]]; do
            if [[ $1 == -f ]]; then
                grep -o '"name": *"[^"]*"' "$2" | head -1 | sed 's/.*"\([^"]*\)"$/\1/' >"$state/scope"
            fi
            shift
        done
        exit 0 ;;
    "get clients")
        for a in "$@"; do
            if [[ $a == clientId=* ]] && grep -qx "${a#clientId=}" "$state/clients"; then
                echo "id-${a#clientId=}"
            fi
        done
        exit 0 ;;
esac
[[ $1 == update ]] && exit 0
echo "unexpected: $*" >&2
exit 3
"#;

#[test]
fn keycloak_setup_adds_scope_openstack_once_to_every_realm_client() {
    let dir = tempfile::tempdir().unwrap();
    let kcadm = dir.path().join("kcadm.sh");
    std::fs::write(&kcadm, FAKE_KCADM).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kcadm, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let realm = json("etc/keycloak/testrealm-realm.json");
    let ids: Vec<String> = realm["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clientId"].as_str().unwrap().to_owned())
        .collect();
    std::fs::write(dir.path().join("clients"), ids.join("\n") + "\n").unwrap();
    let setup = |client_ids: Option<&str>| {
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("scripts/keycloak-setup"))
            .env("KCADM", &kcadm)
            .env("FAKE_STATE", dir.path())
            .env(
                "SCOPE_FILE",
                root().join("etc/keycloak/openstack-client-scope.json"),
            )
            .env_remove("CLIENT_IDS");
        if let Some(ids) = client_ids {
            cmd.env("CLIENT_IDS", ids);
        }
        cmd.output().unwrap()
    };
    let calls = || std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default();

    for run in 1..=2 {
        let out = setup(None);
        assert!(
            out.status.success(),
            "run {run}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let calls = calls();
    assert_eq!(
        calls.matches("create client-scopes").count(),
        1,
        "created once over two runs:\n{calls}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("scope"))
            .unwrap()
            .trim(),
        "openstack"
    );
    for id in &ids {
        assert_eq!(
            calls
                .matches(&format!(
                    "update clients/id-{id}/default-client-scopes/c3d4 "
                ))
                .count(),
            2,
            "{id}: openstack is a default scope after each run:\n{calls}"
        );
    }
    // A client the realm does not have is an error, not a silent skip.
    let out = setup(Some("tacker_basic no_such_client"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_client"));
}
