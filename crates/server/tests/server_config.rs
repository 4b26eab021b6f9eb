//! Tier 1/2: `tacker.conf` loading with oslo.config semantics, read from real files.

use std::path::{Path, PathBuf};

use tacker_server::config::{AuthStrategy, Cli, ConfigSource};
use tacker_server::ServerConfig;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        let d = Dir(tempfile::tempdir().unwrap());
        // Every config below finds its paste file next to it.
        d.write(
            "api-paste.ini",
            "[composite:tacker]\nuse = egg:Paste#urlmap\n",
        );
        d
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

const DB: &str = "[database]\nconnection = sqlite://\n";

fn load(sources: &[ConfigSource]) -> Result<(ServerConfig, Vec<String>), String> {
    ServerConfig::load(sources).map_err(|e| e.to_string())
}

#[test]
fn defaults_match_tacker() {
    let d = Dir::new();
    let f = d.write("tacker.conf", DB);
    let (c, warnings) = load(&[ConfigSource::File(f)]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.default.listener.bind_host, "0.0.0.0");
    assert_eq!(c.default.listener.bind_port, 9890);
    assert_eq!(c.default.auth_strategy, AuthStrategy::Keystone);
    assert!(!c.default.listener.use_ssl);
    assert_eq!(c.default.api_paste_config, d.path().join("api-paste.ini"));
    assert_eq!(
        c.vim_keys.openstack,
        PathBuf::from("/etc/tacker/vim/fernet_keys")
    );
    assert!(!c.vim_keys.use_barbican);
    assert!(c.k8s_vim.use_barbican);
    assert_eq!(
        c.vim_endpoints,
        tacker_vim::drivers::EndpointPolicy::default()
    );
}

/// `[vim_endpoints]`: lists of networks; the default denies link-local only.
#[test]
fn vim_endpoint_networks_are_read_as_lists() {
    let d = Dir::new();
    let f = d.write(
        "tacker.conf",
        &format!(
            "{DB}[vim_endpoints]\nallowed_networks = 10.0.0.0/8, 2001:db8::/32,\n\
             denied_networks = 10.1.0.0/16\n"
        ),
    );
    let (c, warnings) = load(&[ConfigSource::File(f)]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let p = &c.vim_endpoints;
    let shown = |nets: &[tacker_vim::drivers::IpNetwork]| {
        nets.iter().map(|n| n.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(shown(&p.allowed), ["10.0.0.0/8", "2001:db8::/32"]);
    assert_eq!(shown(&p.denied), ["10.1.0.0/16"]);
    assert!(p.check("10.2.0.1".parse().unwrap()).is_ok());
    assert!(p.check("10.1.0.1".parse().unwrap()).is_err());
    // An empty value clears the default denial.
    let f = d.write(
        "open.conf",
        &format!("{DB}[vim_endpoints]\ndenied_networks =\n"),
    );
    let (c, _) = load(&[ConfigSource::File(f)]).unwrap();
    assert!(c
        .vim_endpoints
        .check("169.254.169.254".parse().unwrap())
        .is_ok());
}

#[test]
fn later_config_files_and_config_dir_override_in_command_line_order() {
    let d = Dir::new();
    let a = d.write(
        "a.conf",
        &format!(
            "[DEFAULT]\nbind_port = 1111\nbind_host = 127.0.0.1\nauth_strategy = keystone\n{DB}"
        ),
    );
    let b = d.write("b.conf", "[DEFAULT]\nbind_port = 2222\n");
    d.write("conf.d/20-last.conf", "[DEFAULT]\nauth_strategy = noauth\n");
    d.write(
        "conf.d/10-first.conf",
        "[DEFAULT]\nauth_strategy = keystone\nbind_port = 3333\n",
    );
    d.write("conf.d/ignored.txt", "[DEFAULT]\nbind_port = 9\n");
    let dir = d.path().join("conf.d");

    let args = [
        "--config-file".to_owned(),
        a.display().to_string(),
        format!("--config-dir={}", dir.display()),
        "--config-file".to_owned(),
        b.display().to_string(),
    ];
    let cli = Cli::parse_from(args).unwrap();
    let (c, _) = load(&cli.sources).unwrap();
    // b.conf comes after the directory: its port wins; the directory's sorted files ran in
    // order, so 20-last.conf's auth_strategy wins over 10-first.conf's.
    assert_eq!(c.default.listener.bind_port, 2222);
    assert_eq!(c.default.auth_strategy, AuthStrategy::Noauth);
    assert_eq!(c.default.listener.bind_host, "127.0.0.1");
    let names: Vec<_> = c
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a.conf", "10-first.conf", "20-last.conf", "b.conf"]);
}

fn expect_bad(conf: &str, needle: &str) {
    let d = Dir::new();
    let f = d.write("tacker.conf", &format!("{conf}\n{DB}"));
    let e = load(&[ConfigSource::File(f.clone())])
        .err()
        .unwrap_or_else(|| panic!("accepted: {conf}"));
    let expected = format!("{} {needle}", f.display());
    assert!(
        e.starts_with(&expected),
        "got: {e}\nexpected prefix: {expected}"
    );
}

#[test]
fn bad_values_name_file_section_option_and_value() {
    expect_bad(
        "[DEFAULT]\nuse_ssl = maybe",
        "[DEFAULT] use_ssl = \"maybe\": ",
    );
    expect_bad(
        "[DEFAULT]\nbind_port = 70000",
        "[DEFAULT] bind_port = \"70000\": ",
    );
    expect_bad(
        "[DEFAULT]\nbind_port = nine",
        "[DEFAULT] bind_port = \"nine\": ",
    );
    expect_bad(
        "[DEFAULT]\nauth_strategy = oauth",
        "[DEFAULT] auth_strategy = \"oauth\": Valid values are [keystone, noauth]",
    );
    expect_bad(
        "[DEFAULT]\nbind_host = not a host!",
        "[DEFAULT] bind_host = \"not a host!\": ",
    );
    expect_bad(
        "[vim_keys]\nuse_barbican = sure",
        "[vim_keys] use_barbican = \"sure\": ",
    );
    expect_bad(
        "[k8s_vim]\nuse_barbican = 2",
        "[k8s_vim] use_barbican = \"2\": ",
    );
    expect_bad(
        "[vim_endpoints]\ndenied_networks = 169.254.0.0/16, metadata",
        "[vim_endpoints] denied_networks = \"169.254.0.0/16, metadata\": \"metadata\" is not an IP network",
    );
    expect_bad(
        "[vim_endpoints]\nallowed_networks = 10.0.0.0/40",
        "[vim_endpoints] allowed_networks = \"10.0.0.0/40\": \"10.0.0.0/40\": the prefix length must be 0 to 32",
    );
    expect_bad(
        "[DEFAULT]\napi_paste_config = nowhere.ini",
        "[DEFAULT] api_paste_config = \"nowhere.ini\": Unable to find",
    );
}

#[test]
fn booleans_accept_oslo_spellings() {
    for (v, want) in [
        ("True", true),
        ("yes", true),
        ("ON", true),
        ("1", true),
        ("false", false),
        ("No", false),
        ("0", false),
        ("off", false),
    ] {
        let d = Dir::new();
        let f = d.write(
            "tacker.conf",
            &format!("[vim_keys]\nuse_barbican = {v}\n{DB}"),
        );
        let (c, _) = load(&[ConfigSource::File(f)]).unwrap();
        assert_eq!(c.vim_keys.use_barbican, want, "{v}");
    }
}

#[test]
fn missing_database_connection_refuses_start() {
    let d = Dir::new();
    let f = d.write("tacker.conf", "[DEFAULT]\n");
    let e = load(&[ConfigSource::File(f)]).unwrap_err();
    assert!(e.contains("[database] connection"), "{e}");
}

#[test]
fn unknown_options_are_warnings_without_values() {
    let d = Dir::new();
    let f = d.write(
        "tacker.conf",
        &format!("[DEFAULT]\nbind_prot = 1\nlog_file = x.log\n[vim_keys]\nsecret_thing = hunter2\n{DB}[keystone_authtoken]\npassword = pw\n"),
    );
    let (_, warnings) = load(&[ConfigSource::File(f.clone())]).unwrap();
    let all = warnings.join("\n");
    assert!(
        all.contains(&format!(
            "{} [DEFAULT] bind_prot: unknown option",
            f.display()
        )),
        "{all}"
    );
    assert!(all.contains("[vim_keys] secret_thing"), "{all}");
    assert!(!all.contains("log_file"), "known Tacker option: {all}");
    assert!(!all.contains("hunter2"), "values are never shown: {all}");
}

#[test]
fn api_paste_config_is_found_next_to_the_last_config_file_first() {
    let d = Dir::new();
    let first = d.write("one/tacker.conf", DB);
    d.write(
        "one/api-paste.ini",
        "[composite:tacker]\nuse = egg:Paste#urlmap\n",
    );
    let second = d.write("two/override.conf", "[DEFAULT]\nbind_port = 1\n");
    d.write(
        "two/api-paste.ini",
        "[composite:tacker]\nuse = egg:Paste#urlmap\n",
    );
    let (c, _) = load(&[
        ConfigSource::File(first.clone()),
        ConfigSource::File(second),
    ])
    .unwrap();
    assert_eq!(
        c.default.api_paste_config,
        d.path().join("two/api-paste.ini")
    );
    std::fs::remove_file(d.path().join("two/api-paste.ini")).unwrap();
    let (c, _) = load(&[
        ConfigSource::File(first),
        ConfigSource::File(d.path().join("two/override.conf")),
    ])
    .unwrap();
    assert_eq!(
        c.default.api_paste_config,
        d.path().join("one/api-paste.ini")
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let d = Dir::new();
    let f = d.write(
        "tacker.conf",
        "[DEFAULT]\n[database]\nconnection = postgresql://tacker:dbpass@db/tacker\n\
         [ext_oauth2_auth]\nclient_secret = sPocbjFjQCmrPPAXY9IUOVNJ9Cw3rDw5\nclient_id = tacker_service\n",
    );
    let (c, _) = load(&[ConfigSource::File(f)]).unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("sPocbjFjQCmrPPAXY9IUOVNJ9Cw3rDw5"), "{dbg}");
    assert!(!dbg.contains("dbpass"), "{dbg}");
    // The section is typed at load; the secret stays inside its `SecretString`.
    assert_eq!(
        c.ext_oauth2_auth.client.client_id.as_deref(),
        Some("tacker_service")
    );
}

#[test]
fn syntax_errors_name_file_and_line() {
    let d = Dir::new();
    let f = d.write("tacker.conf", "[DEFAULT]\nthis line has no separator\n");
    let e = load(&[ConfigSource::File(f.clone())]).unwrap_err();
    assert!(e.starts_with(&format!("{}:2:", f.display())), "{e}");
}

#[test]
fn oslo_substitution_in_values() {
    let d = Dir::new();
    let f = d.write(
        "tacker.conf",
        "[DEFAULT]\nstate_path = /srv/tacker\n[database]\nconnection = sqlite:///$state_path/tacker.db\n\
         [vim_keys]\nopenstack = ${database.connection}-keys/$$x\n",
    );
    let (c, _) = load(&[ConfigSource::File(f)]).unwrap();
    assert_eq!(c.database.connection, "sqlite:////srv/tacker/tacker.db");
    assert_eq!(
        c.vim_keys.openstack,
        PathBuf::from("sqlite:////srv/tacker/tacker.db-keys/$x")
    );

    expect_bad(
        "[vim_keys]\nopenstack = $nowhere/keys",
        "[vim_keys] openstack = \"$nowhere/keys\": substitution refers to an undefined option",
    );
}

#[test]
fn listener_options_come_from_the_substituted_default_section() {
    let d = Dir::new();
    let f = d.write(
        "tacker.conf",
        &format!("[DEFAULT]\nmy_ip = 127.0.0.1\nbind_host = $my_ip\nbind_port = 0\n{DB}"),
    );
    let (c, _) = load(&[ConfigSource::File(f)]).unwrap();
    assert_eq!(c.default.listener.bind_host, "127.0.0.1");
    assert_eq!(c.default.listener.addr, "127.0.0.1:0".parse().unwrap());
    // The listener is built from these options, not from the section as written.
    let listener =
        tacker_server::listener::ListenerConfig::from_options(&c.default.listener).unwrap();
    assert_eq!(listener.addr, "127.0.0.1:0".parse().unwrap());
}

#[test]
fn other_crates_groups_are_typed_at_load_and_bad_values_stop_it() {
    expect_bad(
        "[ext_oauth2_auth]\ninsecure = maybe",
        "[ext_oauth2_auth] insecure = \"maybe\": Unable to convert the value of option \"insecure\" into correct type: Unexpected boolean value 'maybe'",
    );
    expect_bad(
        "[ext_oauth2_auth]\nauth_method = client_secret_jwtt",
        "[ext_oauth2_auth] auth_method = \"client_secret_jwtt\": ",
    );
    expect_bad(
        "[ext_oauth2_auth]\ntoken_cache_time = soon",
        "[ext_oauth2_auth] token_cache_time = \"soon\": ",
    );
    expect_bad(
        "[ext_oauth2_auth]\nuse_ext_oauth2_auth = perhaps",
        "[ext_oauth2_auth] use_ext_oauth2_auth = \"perhaps\": ",
    );

    // External mode checks its token source options at load, with upstream's text.
    let d = Dir::new();
    let f = d.write(
        "tacker.conf",
        &format!("[ext_oauth2_auth]\nuse_ext_oauth2_auth = True\nclient_id = c\n{DB}"),
    );
    let e = load(&[ConfigSource::File(f)]).unwrap_err();
    assert_eq!(
        e,
        "Configuration error. The parameter is not set for \"token_endpoint\" in group [ext_oauth2_auth]."
    );

    let d = Dir::new();
    let f = d.write(
        "tacker.conf",
        &format!(
            "[DEFAULT]\nbarbican = http://barbican.test:9311\n\
             [key_manager]\nbarbican_endpoint = $barbican\n\
             [keystone_authtoken]\nauth_url = http://keystone.test/identity\nusername = tacker\n\
             password = s3cr3t-keystone\nproject_name = service\n{DB}"
        ),
    );
    let (c, _) = load(&[ConfigSource::File(f)]).unwrap();
    assert_eq!(
        c.key_manager.barbican_endpoint.as_deref(),
        Some("http://barbican.test:9311")
    );
    match &c.service_auth {
        tacker_outbound::ServiceAuthOptions::Keystone(k) => {
            assert_eq!(k.auth_url, "http://keystone.test/identity")
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{c:?}").contains("s3cr3t-keystone"), "{c:?}");
}

#[test]
fn substitution_errors_never_show_secrets() {
    expect_bad(
        "[ext_oauth2_auth]\nclient_secret = a$b",
        "[ext_oauth2_auth] client_secret = \"***\": substitution refers to an undefined option",
    );
}

/// oslo.db's pool options of `[database]`: defaults 5 + 50 connections, 30 s, 3600 s; the
/// PostgreSQL pool's bound is their sum.
#[test]
fn database_pool_options_as_oslo_db() {
    use std::time::Duration;
    let d = Dir::new();
    let f = d.write("tacker.conf", DB);
    let (c, _) = load(&[ConfigSource::File(f)]).unwrap();
    assert_eq!(c.database.pool.max_connections, 55);
    assert_eq!(c.database.pool.acquire_timeout, Duration::from_secs(30));
    assert_eq!(
        c.database.pool.max_lifetime,
        Some(Duration::from_secs(3600))
    );

    let f = d.write(
        "set.conf",
        "[database]\nconnection = sqlite://\nmax_pool_size = 8\nmax_overflow = 2\n\
         pool_timeout = 3\nconnection_recycle_time = -1\n",
    );
    let (c, warnings) = load(&[ConfigSource::File(f)]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.database.pool.max_connections, 10);
    assert_eq!(c.database.pool.acquire_timeout, Duration::from_secs(3));
    assert_eq!(c.database.pool.max_lifetime, None);
}

#[test]
fn bad_database_pool_options_name_file_section_option_and_value() {
    let d = Dir::new();
    for (line, reason) in [
        ("max_pool_size = many", "Should be an integer"),
        ("max_pool_size = 0", "must be at least 1"),
        ("max_overflow = -1", "must be 0 or more"),
        ("pool_timeout = 0", "above 0"),
        ("connection_recycle_time = 0", "or -1"),
    ] {
        let f = d.write("tacker.conf", &format!("{DB}{line}\n"));
        let e = load(&[ConfigSource::File(f.clone())]).unwrap_err();
        let (option, value) = line.split_once(" = ").unwrap();
        let at = format!("{} [database] {option} = \"{value}\"", f.display());
        assert!(e.starts_with(&at), "{e}");
        assert!(e.contains(reason), "{e}");
    }
}
