//! One deployment as the operator guide describes it: the test realm, `tacker-server` with the
//! guide's api-paste.ini edit and an `[ext_oauth2_auth]` sample, and (on demand) the
//! keystonemiddleware reference with the very same configuration text.

use std::path::PathBuf;

use anyhow::Result;

use crate::authz::{AuthMethod, AuthzOptions, AuthzServer};
use crate::conf::ExtOAuth2Conf;
use crate::kmw::{KmwOptions, KmwReference};
use crate::pki::TestPki;
use crate::tacker::{TackerOptions, TackerServer};

/// The upstream error bodies of keystonemiddleware's `external_oauth2_token` (byte-exact).
pub mod upstream {
    /// 401 InvalidToken.
    pub const INVALID_TOKEN_BODY: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made is denied, because the token is invalid."}}"#;
    /// 403 ForbiddenToken.
    pub const FORBIDDEN_BODY: &str = r#"{"error": {"code": 403, "title": "Forbidden", "message": "The request you have made is denied, because the necessary information could not be parsed."}}"#;
    /// 500 ConfigurationError.
    pub const CONFIGURATION_ERROR_BODY: &str = r#"{"error": {"code": 500, "title": "Internal Server Error", "message": "The request you have made is denied, because the configuration parameters are incorrect and the token can not be verified."}}"#;
    /// 500 ServiceError (upstream's answer when the authorization server is unreachable).
    pub const SERVICE_ERROR_BODY: &str = r#"{"error": {"code": 500, "title": "Internal Server Error", "message": "The request you have made is denied, because an exception occurred while accessing the external authentication server for token validation."}}"#;
    /// The 503 this project answers instead (issue 3: a deliberate fix), same message.
    pub const SERVICE_UNAVAILABLE_BODY: &str = r#"{"error": {"code": 503, "title": "Service Unavailable", "message": "The request you have made is denied, because an exception occurred while accessing the external authentication server for token validation."}}"#;
}

/// Tacker's shipped `etc/tacker/api-paste.ini` with the operator guide's step 1 applied
/// (`external_oauth2_token` in every `keystone =` pipeline).
pub const GUIDE_API_PASTE: &str = "\
[composite:tacker]
use = egg:Paste#urlmap
/: tackerversions
/v1.0: tackerapi_v1_0
/vnfpkgm/v1: vnfpkgmapi_v1
/vnflcm: vnflcm_versions
/vnflcm/v1: vnflcm_v1
/vnflcm/v2: vnflcm_v2
/vnffm/v1: vnffm_v1
/vnfpm/v2: vnfpm_v2

[composite:tackerapi_v1_0]
use = call:tacker.auth:pipeline_factory
noauth = request_id catch_errors extensions tackerapiapp_v1_0
keystone = request_id catch_errors external_oauth2_token keystonecontext extensions tackerapiapp_v1_0

[composite:vnfpkgmapi_v1]
use = call:tacker.auth:pipeline_factory
noauth = request_id catch_errors vnfpkgmapp_v1
keystone = request_id catch_errors external_oauth2_token keystonecontext vnfpkgmapp_v1

[composite:vnflcm_v1]
use = call:tacker.auth:pipeline_factory
noauth = request_id catch_errors vnflcmaapp_v1
keystone = request_id catch_errors external_oauth2_token keystonecontext vnflcmaapp_v1

[composite:vnflcm_v2]
use = call:tacker.auth:pipeline_factory
noauth = request_id catch_errors vnflcmaapp_v2
keystone = request_id catch_errors external_oauth2_token keystonecontext vnflcmaapp_v2

[composite:vnfpm_v2]
use = call:tacker.auth:pipeline_factory
noauth = request_id catch_errors vnfpmaapp_v2
keystone = request_id catch_errors external_oauth2_token keystonecontext vnfpmaapp_v2

[composite:vnflcm_versions]
use = call:tacker.auth:pipeline_factory
noauth = request_id catch_errors vnflcm_api_versions
keystone = request_id catch_errors external_oauth2_token keystonecontext vnflcm_api_versions

[composite:vnffm_v1]
use = call:tacker.auth:pipeline_factory
noauth = request_id catch_errors vnffmaapp_v1
keystone = request_id catch_errors external_oauth2_token keystonecontext vnffmaapp_v1

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:catch_errors]
paste.filter_factory = oslo_middleware:CatchErrors.factory

[filter:keystonecontext]
paste.filter_factory = tacker.auth:TackerKeystoneContext.factory

[filter:external_oauth2_token]
paste.filter_factory = keystonemiddleware.external_oauth2_token:filter_factory

[filter:extensions]
paste.filter_factory = tacker.api.extensions:extension_middleware_factory

[app:tackerversions]
paste.app_factory = tacker.api.versions:Versions.factory

[app:tackerapiapp_v1_0]
paste.app_factory = tacker.api.v1.router:APIRouter.factory

[app:vnfpkgmapp_v1]
paste.app_factory = tacker.api.vnfpkgm.v1.router:VnfpkgmAPIRouter.factory

[app:vnflcmaapp_v1]
paste.app_factory = tacker.api.vnflcm.v1.router:VnflcmAPIRouter.factory

[app:vnflcmaapp_v2]
paste.app_factory = tacker.sol_refactored.api.router:VnflcmAPIRouterV2.factory

[app:vnfpmaapp_v2]
paste.app_factory = tacker.sol_refactored.api.router:VnfPmAPIRouterV2.factory

[app:vnflcm_api_versions]
paste.app_factory = tacker.sol_refactored.api.router:VnflcmVersions.factory

[app:vnffmaapp_v1]
paste.app_factory = tacker.sol_refactored.api.router:VnffmAPIRouterV1.factory
";

/// The realm, the server under test and the configuration they share.
#[derive(Debug)]
pub struct OAuth2Stack {
    pub pki: TestPki,
    pub authz: AuthzServer,
    pub tacker: TackerServer,
    pub method: AuthMethod,
    /// The `[ext_oauth2_auth]` section both servers were given.
    pub ext: ExtOAuth2Conf,
    /// The whole tacker.conf text (before the harness added ports and paths).
    pub conf: String,
    /// Whether the API listens with mutual TLS (`StackOptions::mtls`).
    pub mtls: bool,
}

/// Options of `OAuth2Stack::start`.
#[derive(Clone, Debug, Default)]
pub struct StackOptions {
    /// The `tacker-server` binary (`env!("CARGO_BIN_EXE_tacker-server")` in the server's
    /// integration tests).
    pub binary: Option<PathBuf>,
    /// `RUST_LOG` of the server.
    pub rust_log: Option<String>,
    /// Extra lines for `[DEFAULT]`.
    pub default_lines: String,
    /// Serve the API over HTTPS with required client certificates (`use_ssl`, the test
    /// server certificate, `ssl_ca_file` = the test CA), as the guide's mTLS samples; the
    /// reference then serves HTTPS too and hands the peer certificate to its filter.
    pub mtls: bool,
}

impl OAuth2Stack {
    /// Starts the realm, then `tacker-server` configured with the guide's sample for `method`
    /// (as changed by `tweak`) and `auth_strategy = keystone`.
    pub async fn start(
        method: AuthMethod,
        opts: StackOptions,
        tweak: impl FnOnce(ExtOAuth2Conf) -> ExtOAuth2Conf,
    ) -> Result<Self> {
        let pki = TestPki::new()?;
        let authz = AuthzServer::start(&pki, AuthzOptions::default()).await?;
        let ext = tweak(authz.ext_oauth2_conf(method, &pki));
        let mut default_lines = format!("auth_strategy = keystone\n{}", opts.default_lines);
        let mut ready_client = None;
        if opts.mtls {
            default_lines.push_str(&format!(
                "\nuse_ssl = True\nssl_cert_file = {}\nssl_key_file = {}\nssl_ca_file = {}\n",
                pki.server.cert.display(),
                pki.server.key.display(),
                pki.ca.cert.display()
            ));
            ready_client = Some(pki.https_client(Some(&pki.client)));
        }
        let conf = ext.to_conf(&default_lines);
        let tacker = TackerServer::start_with(TackerOptions {
            conf: conf.clone(),
            paste_text: Some(GUIDE_API_PASTE.to_owned()),
            binary: opts.binary,
            rust_log: opts.rust_log,
            ready_client,
            ..TackerOptions::default()
        })
        .await?;
        Ok(Self {
            pki,
            authz,
            tacker,
            method,
            ext,
            conf,
            mtls: opts.mtls,
        })
    }

    /// The keystonemiddleware reference with the same tacker.conf and api-paste.ini.
    pub async fn start_reference(&self) -> Result<KmwReference> {
        KmwReference::start(
            &self.pki,
            KmwOptions {
                conf: self.conf.clone(),
                paste: Some(GUIDE_API_PASTE.to_owned()),
                tls: self.mtls,
                debug: true,
            },
        )
        .await
    }
}
