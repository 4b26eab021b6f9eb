//! SOL013 common surface of the SOL API prefixes (issue 6): the `api_versions` resources,
//! the `Version` header rules, ProblemDetails errors, content negotiation and the 404/405
//! answers of every SOL prefix. Each `*_app` function builds the app a paste factory name
//! maps to; paths are relative to the composite's urlmap prefix (`/vnflcm/v2/api_versions`
//! reaches [`vnflcm_v2_app`] as `/api_versions`).
//!
//! Two upstream frameworks are reproduced:
//! * the SOL v2 framework (`tacker/sol_refactored/api/wsgi.py`): `/vnflcm` (versions app),
//!   `/vnflcm/v2`, `/vnffm/v1`, `/vnfpm/v2` — `Version` and `Accept-Ranges: none` on every
//!   answer, `application/problem+json` bodies with keys `status, detail, title`;
//! * the v1 framework (`tacker/wsgi.py`): `/vnflcm/v1`, `/vnfpkgm/v1` — no `Version` header,
//!   faults as `application/problem+json; charset=UTF-8` with keys `title, status, detail`.
//!
//! [`openapi_app`] serves `api-ref/openapi.yaml` and is mounted outside the authenticated
//! pipelines.

mod api_version;
mod negotiation;
mod openapi;

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use tacker_common::accept::Accept;
use tacker_common::to_py_json;

pub use api_version::{check_version, ApiVersion};
pub use openapi::{openapi_app, OPENAPI_PATH, OPENAPI_YAML};

/// The VNF package management API version advertised at `/vnfpkgm/v1/api_versions`.
/// Tacker's v1 package API (`tacker/api/vnfpkgm/v1`) follows ETSI GS NFV-SOL 005 v2.6.1
/// (python-tackerclient's `vnf package` commands cite that edition); Tacker itself never
/// advertises a version there.
pub const VNFPKGM_V1_API_VERSION: &str = "1.3.0";

/// Request bodies larger than this are not read by the SOL apps (they only route GET).
const MAX_BODY: usize = 1 << 20;

/// Everything the SOL apps answer with an error. Exactly one place turns it into a
/// response per framework ([`SolFlavour::problem`]).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SolError {
    /// 400: a required `Version` header is absent (`APIVersionMissing`).
    #[error("'Version' HTTP header missing.")]
    VersionMissing,
    /// 400: `Version` is not `Major.Minor.Patch[-impl:...]` (`InvalidAPIVersionString`).
    #[error("Version String {0} is of invalid format. Must be of format Major.Minor.Patch.")]
    InvalidVersion(String),
    /// 406: well-formed but not one the action supports (`APIVersionNotSupported`).
    #[error("Version {0} not supported.")]
    VersionNotSupported(String),
    /// 406: `Accept` does not admit `application/json` (`NotAllowedContentType`; upstream
    /// crashes with 500 instead).
    #[error("Content type '{0}' specified in 'Accept' header is not allowed.")]
    NotAcceptable(String),
    /// 415: request `Content-Type` other than JSON / text (`NotSupportedContentType`).
    #[error("Content type '{0}' specified in 'Content-Type' header is not allowed.")]
    UnsupportedMediaType(String),
    /// 400: a body that is not JSON (`MalformedRequestBody`).
    #[error("Malformed request body.")]
    MalformedBody,
    /// 405: the path exists but not for this method (`MethodNotAllowed`).
    #[error("Method {0} is not supported.")]
    MethodNotAllowed(String),
    /// 404: no such resource under this prefix.
    #[error("The resource could not be found.")]
    NotFound,
}

impl SolError {
    pub fn status(&self) -> StatusCode {
        match self {
            SolError::VersionMissing | SolError::InvalidVersion(_) | SolError::MalformedBody => {
                StatusCode::BAD_REQUEST
            }
            SolError::VersionNotSupported(_) | SolError::NotAcceptable(_) => {
                StatusCode::NOT_ACCEPTABLE
            }
            SolError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            SolError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            SolError::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

/// Which upstream framework an app reproduces, with its version data.
#[derive(Debug, Clone, Copy)]
enum SolFlavour {
    /// SOL v2 framework. `current` goes into every `Version` response header;
    /// `supported = None` makes the header optional on every action (the `/vnflcm`
    /// versions app), else it is required on all actions but `api_versions`.
    V2 {
        current: &'static str,
        supported: Option<&'static [&'static str]>,
    },
    /// v1 framework (`tacker.wsgi`): `Version` neither read nor sent.
    V1,
}

impl SolFlavour {
    /// Headers every answer of this framework carries (SOL013 §4.2.3 for v2).
    fn common_headers(self, headers: &mut HeaderMap) {
        if let SolFlavour::V2 { current, .. } = self {
            headers.insert("version", HeaderValue::from_static(current));
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
        }
    }

    /// The ProblemDetails answer for `err`: the one error-to-response mapping of the SOL
    /// apps.
    fn problem(self, err: &SolError) -> Response {
        let status = err.status();
        let title = status.canonical_reason().unwrap_or("");
        let (content_type, body) = match self {
            SolFlavour::V2 { .. } => (
                "application/problem+json",
                to_py_json(
                    &json!({"status": status.as_u16(), "detail": err.to_string(), "title": title}),
                ),
            ),
            SolFlavour::V1 => {
                // tacker.wsgi's Fault renders webob's explanation, not the SOL text, for 405.
                let detail = match err {
                    SolError::MethodNotAllowed(_) => "The server could not comply with the request since it is either malformed or otherwise incorrect.".to_owned(),
                    other => other.to_string(),
                };
                (
                    "application/problem+json; charset=UTF-8",
                    to_py_json(
                        &json!({"title": title, "status": status.as_u16(), "detail": detail}),
                    ),
                )
            }
        };
        let mut resp = (status, body).into_response();
        let headers = resp.headers_mut();
        if let SolError::MethodNotAllowed(_) = err {
            // RFC 9110 §15.5.6: a 405 lists the allowed methods (the v2 framework omits it).
            headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
        }
        self.common_headers(headers);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        resp
    }
}

/// One SOL app: the `api_versions` document of its prefix plus the common error surface.
#[derive(Debug, Clone, Copy)]
struct SolApp {
    flavour: SolFlavour,
    uri_prefix: &'static str,
    api_versions: &'static [&'static str],
}

impl SolApp {
    fn router(self) -> Router {
        Router::new()
            .route(
                "/api_versions",
                any(move |req: Request| self.api_versions(req)),
            )
            .fallback(move || async move { self.flavour.problem(&SolError::NotFound) })
    }

    async fn api_versions(self, req: Request) -> Response {
        match self.handle(req).await {
            Ok(resp) => resp,
            Err(err) => self.flavour.problem(&err),
        }
    }

    /// Upstream order (`SolResource.__call__`): body, `Accept`, `Version`, then dispatch
    /// (a method without a route is the `reject` action: 405).
    async fn handle(self, req: Request) -> Result<Response, SolError> {
        let (parts, body) = req.into_parts();
        // The WSGI server joins repeated header fields with ',' before the app reads them.
        let header_str = |name: header::HeaderName| {
            let values: Vec<_> = parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (!values.is_empty()).then(|| values.join(","))
        };
        if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
            check_body(header_str(header::CONTENT_TYPE), body).await?;
        }
        // `SolRequest.best_match_accept`: `request.accept.acceptable_offers(...)` (WebOb).
        if Accept::from_headers(&parts.headers)
            .best(&["application/json"])
            .is_none()
        {
            let accept = header_str(header::ACCEPT);
            return Err(SolError::NotAcceptable(accept.unwrap_or_default()));
        }
        let is_get = parts.method == Method::GET;
        if let SolFlavour::V2 { supported, .. } = self.flavour {
            // `api_versions` itself takes any well-formed version; `reject` needs a
            // supported one, except in the versions app where nothing is required.
            let required = if is_get { None } else { supported };
            let version = header_str(header::HeaderName::from_static("version"));
            check_version(version.as_deref(), required)?;
        }
        if !is_get {
            return Err(SolError::MethodNotAllowed(parts.method.to_string()));
        }
        let versions: Vec<Value> = self
            .api_versions
            .iter()
            .map(|v| json!({"version": v, "isDeprecated": false}))
            .collect();
        let body = to_py_json(&json!({"uriPrefix": self.uri_prefix, "apiVersions": versions}));
        let mut resp = (StatusCode::OK, body).into_response();
        let headers = resp.headers_mut();
        self.flavour.common_headers(headers);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(resp)
    }
}

/// `SolResource._deserialize_body`: a non-empty body must be JSON sent as
/// `application/json` or `text/plain` (or without a `Content-Type`).
async fn check_body(content_type: Option<String>, body: Body) -> Result<(), SolError> {
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| SolError::MalformedBody)?;
    if bytes.is_empty() {
        return Ok(());
    }
    if let Some(ct) = content_type.filter(|ct| !ct.is_empty()) {
        let media = negotiation::media_type(&ct);
        if media != "application/json" && media != "text/plain" {
            return Err(SolError::UnsupportedMediaType(media));
        }
    }
    serde_json::from_slice::<Value>(&bytes)
        .map(|_| ())
        .map_err(|_| SolError::MalformedBody)
}

const LCM_V2: &[&str] = &["2.0.0"];
const FM_V1: &[&str] = &["1.3.0"];
const PM_V2: &[&str] = &["2.1.0"];

/// `vnflcm_api_versions` (`/vnflcm`): both VNF LCM majors; `Version` optional everywhere.
pub fn vnflcm_versions_app() -> Router {
    SolApp {
        flavour: SolFlavour::V2 {
            current: "2.0.0",
            supported: None,
        },
        uri_prefix: "/vnflcm",
        api_versions: &["1.3.0", "2.0.0"],
    }
    .router()
}

/// `vnflcmaapp_v1` (`/vnflcm/v1`): SOL002/003 v2.6.1 VNF LCM, v1 framework.
pub fn vnflcm_v1_app() -> Router {
    SolApp {
        flavour: SolFlavour::V1,
        uri_prefix: "/vnflcm/v1",
        api_versions: &["1.3.0"],
    }
    .router()
}

/// `vnflcmaapp_v2` (`/vnflcm/v2`).
pub fn vnflcm_v2_app() -> Router {
    SolApp {
        flavour: SolFlavour::V2 {
            current: "2.0.0",
            supported: Some(LCM_V2),
        },
        uri_prefix: "/vnflcm/v2",
        api_versions: LCM_V2,
    }
    .router()
}

/// `vnfpkgmapp_v1` (`/vnfpkgm/v1`): v1 framework; `api_versions` goes beyond Tacker (404
/// there) as SOL013 §9.3 requires.
pub fn vnfpkgm_v1_app() -> Router {
    SolApp {
        flavour: SolFlavour::V1,
        uri_prefix: "/vnfpkgm/v1",
        api_versions: &[VNFPKGM_V1_API_VERSION],
    }
    .router()
}

/// `vnffmaapp_v1` (`/vnffm/v1`): SOL v2 framework, VNF FM `1.3.0` (upstream
/// `CURRENT_FM_VERSION`); `api_versions` goes beyond Tacker.
pub fn vnffm_v1_app() -> Router {
    SolApp {
        flavour: SolFlavour::V2 {
            current: "1.3.0",
            supported: Some(FM_V1),
        },
        uri_prefix: "/vnffm/v1",
        api_versions: FM_V1,
    }
    .router()
}

/// `vnfpmaapp_v2` (`/vnfpm/v2`): SOL v2 framework, VNF PM `2.1.0` (upstream
/// `CURRENT_PM_VERSION`); `api_versions` goes beyond Tacker.
pub fn vnfpm_v2_app() -> Router {
    SolApp {
        flavour: SolFlavour::V2 {
            current: "2.1.0",
            supported: Some(PM_V2),
        },
        uri_prefix: "/vnfpm/v2",
        api_versions: PM_V2,
    }
    .router()
}
