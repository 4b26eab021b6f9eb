//! Builds the HTTP application from the loaded `api-paste.ini`: `[composite:tacker]`'s urlmap
//! becomes one axum router with a nested service per prefix (`egg:Paste#urlmap`: the longest
//! prefix that matches at a segment boundary wins and is stripped from the path the app sees;
//! `/` is the fallback), and each pipeline's filters wrap its app in the order the paste
//! file lists them (first word outermost), exactly as `tacker.auth:pipeline_factory`
//! composes them.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use axum::Router;
use http::Request;
use tacker_auth::{ExtOAuth2Options, ExternalOAuth2Layer, IdentitySource, KeystoneContextLayer};
use tower::util::BoxCloneSyncService;
use tower::Layer;

use tacker_common::WebObError;

use crate::apps::{
    api_router_v1_app, healthcheck_app, not_found_app, versions_app, HEALTHCHECK_PATH,
};
use crate::config::AuthStrategy;
use crate::filters::{CatchErrorsLayer, ExtensionsLayer, NoAuthContextLayer, RequestIdLayer};
use crate::paste::{AppDef, AppKind, FilterDef, FilterKind, PasteApp, Target};
use crate::state::AppState;

/// Every app and every filtered pipeline has this one type.
pub type HttpService = BoxCloneSyncService<Request<Body>, Response, Infallible>;

/// A pipeline that cannot be built. Stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// `<file> [filter:name] ...: <reason>`
    #[error("{0}")]
    Filter(String),
}

/// The whole application: the urlmap of `[composite:tacker]` with every pipeline built.
pub fn build_app(state: &AppState, paste: &PasteApp) -> Result<Router, PipelineError> {
    // The outer router records `OriginalUri` before nesting strips the prefix, and serves the
    // API description outside every pipeline (no token needed to read how to get one), and
    // the load balancers' `/healthcheck` (no token, no request id, as oslo.middleware's app
    // mounted beside the pipelines).
    let mut app = crate::sol::openapi_app().merge(healthcheck_app(state.vims.store().clone()));
    let mut root = None;
    let mut token_filters = TokenFilters::default();
    for (prefix, target) in &paste.urlmap {
        let svc = match target {
            // Bare apps (`/`, the Prometheus receivers) run outside every filter: no request
            // id, no authentication, as upstream.
            Target::App(app) => build_app_service(state, app),
            Target::Pipeline {
                composite,
                filters,
                app,
            } => build_pipeline(state, &mut token_filters, composite, filters, app)?,
        };
        // Outermost: every answer of the prefix is counted, whatever the filters decided.
        let svc =
            BoxCloneSyncService::new(crate::metrics::RequestMetricsLayer::new(prefix).layer(svc));
        if prefix.is_empty() {
            root = Some(svc);
        } else {
            check_prefix(&paste.origin, prefix)?;
            app = app.nest_service(prefix, svc);
        }
    }
    Ok(match root {
        Some(svc) => app.fallback_service(svc),
        // paste.urlmap without a `/` entry: WebOb's 404 page.
        None => app.fallback(
            |method: http::Method, headers: http::HeaderMap| async move {
                WebObError::not_found().render(&method, &headers)
            },
        ),
    })
}

/// A urlmap prefix axum can nest: literal segments only (matchit's `{` `}` `*` would be read
/// as captures), and not the API description's own path.
fn check_prefix(origin: &str, prefix: &str) -> Result<(), PipelineError> {
    let bad = if prefix.contains(['{', '}', '*']) {
        Some("a urlmap prefix may not contain '{', '}' or '*'")
    } else if prefix.contains("//") {
        Some("a urlmap prefix may not contain an empty segment")
    } else if prefix == crate::sol::OPENAPI_PATH {
        Some("this path serves the API description")
    } else if prefix == HEALTHCHECK_PATH {
        Some("this path serves the health check")
    } else {
        None
    };
    match bad {
        Some(reason) => Err(PipelineError::Filter(format!(
            "{origin} [composite:{}] {prefix}: {reason}",
            crate::paste::ROOT_APP
        ))),
        None => Ok(()),
    }
}

fn build_app_service(state: &AppState, app: &AppDef) -> HttpService {
    let router = match app.kind {
        AppKind::Versions => versions_app(state.scheme(), state.fallback_host()),
        AppKind::ApiRouterV1 => api_router_v1_app(),
        AppKind::VnfpkgmV1 => crate::sol::vnfpkgm_v1_app(),
        AppKind::VnflcmV1 => crate::sol::vnflcm_v1_app(),
        AppKind::VnflcmV2 => crate::sol::vnflcm_v2_app(),
        AppKind::VnfpmV2 => crate::sol::vnfpm_v2_app(),
        AppKind::VnflcmVersions => crate::sol::vnflcm_versions_app(),
        AppKind::VnffmV1 => crate::sol::vnffm_v1_app(),
        AppKind::NotProvided => not_found_app(),
    };
    HttpService::new(router)
}

/// One composite's selected pipeline, e.g. Tacker's
/// `request_id catch_errors external_oauth2_token keystonecontext extensions tackerapiapp_v1_0`.
pub fn build_pipeline(
    state: &AppState,
    token_filters: &mut TokenFilters,
    composite: &str,
    filters: &[FilterDef],
    app: &AppDef,
) -> Result<HttpService, PipelineError> {
    let has_token_filter = filters.iter().any(|f| f.kind.is_token_filter());
    if filters
        .iter()
        .any(|f| f.kind == FilterKind::KeystoneContext)
        && !has_token_filter
    {
        tracing::warn!(
            "[{composite}]: keystonecontext without a token filter: the identity headers \
             (X-User-Id, X-Project-Id, X-Roles, ...) are trusted as sent; only deploy this \
             behind a proxy that authenticates callers and sets them"
        );
    }

    let mut svc = build_app_service(state, app);
    // Under `noauth`, Tacker creates the admin context lazily, when whatever serves the
    // request (an extension resource such as `/vims`, or the app) first asks for it: so it
    // sits just above `extensions` if the pipeline has it, else just above the app. Only
    // under `noauth`: a keystone pipeline without `keystonecontext` gets no context, and its
    // handlers refuse (fail closed).
    let noauth = state.config.default.auth_strategy == AuthStrategy::Noauth;
    let extensions_at = filters
        .iter()
        .position(|f| f.kind == FilterKind::Extensions);
    if noauth && extensions_at.is_none() {
        svc = HttpService::new(NoAuthContextLayer.layer(svc));
    }
    // Wrap from the last filter to the first, so the first listed is outermost.
    for (at, filter) in filters.iter().enumerate().rev() {
        svc = match filter.kind {
            // Outermost in Tacker's file: every response of the pipeline, the 500 of
            // catch_errors and the 401 of the token filter included, carries the id, and
            // every filter below logs with it.
            FilterKind::RequestId => HttpService::new(RequestIdLayer.layer(svc)),
            // Right below request_id: a panic in authentication, context building or the app
            // becomes a 500 that still gets the request id header.
            FilterKind::CatchErrors => HttpService::new(CatchErrorsLayer.layer(svc)),
            // After the token filter: it requires the context that filter derived. Without a
            // token filter in the pipeline it reads the identity headers a trusted proxy set;
            // with one anywhere in the pipeline it never does (fail closed).
            FilterKind::KeystoneContext => {
                let source = if has_token_filter {
                    IdentitySource::TokenFilter
                } else {
                    IdentitySource::TrustedHeaders
                };
                HttpService::new(KeystoneContextLayer::new(source).layer(svc))
            }
            // Above APIRouter: the extension resources (`/extensions`, `/vims`) are routed
            // here, every other path falls through to the app.
            FilterKind::Extensions => {
                HttpService::new(ExtensionsLayer::new(state.vim_routes()).layer(svc))
            }
            // Authenticates the caller, puts the typed context into the request and sets the
            // identity headers (wire parity with keystonemiddleware).
            FilterKind::ExternalOAuth2Token => {
                HttpService::new(token_filters.get(state, filter)?.layer(svc))
            }
        };
        if noauth && extensions_at == Some(at) {
            svc = HttpService::new(NoAuthContextLayer.layer(svc));
        }
    }
    Ok(svc)
}

/// One `external_oauth2_token` instance per `[filter:*]` section, shared by every composite that
/// lists it: upstream builds one per composite (seven caches, seven introspections of the same
/// token); sharing gives one token cache and one single-flight group for the whole server.
#[derive(Default)]
pub struct TokenFilters {
    built: HashMap<String, ExternalOAuth2Layer>,
}

/// The options a token filter runs with: `[ext_oauth2_auth]` with the paste section's options
/// winning (keystonemiddleware's `Config`), refused when `tls_client_auth` has no client
/// certificate to authenticate with.
pub fn token_filter_options(
    config: &crate::config::ServerConfig,
    filter: &FilterDef,
) -> Result<ExtOAuth2Options, PipelineError> {
    let options = config
        .ext_oauth2_auth
        .with_paste(&filter.local)
        .map_err(|e| {
            PipelineError::Filter(format!("{} [filter:{}]: {e}", filter.origin, filter.name))
        })?;
    if let Some(reason) = crate::config::tls_client_auth_problem(&options.client) {
        let files: Vec<String> = config
            .files()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(PipelineError::Filter(format!(
            "{} [ext_oauth2_auth] (or {} [filter:{}]) certfile: {reason}",
            files.join(", "),
            filter.origin,
            filter.name
        )));
    }
    Ok(options)
}

impl TokenFilters {
    /// The filter is configured from `[ext_oauth2_auth]` with the paste section's options
    /// winning (keystonemiddleware's `Config`); a bad option refuses start-up.
    fn get(
        &mut self,
        state: &AppState,
        filter: &FilterDef,
    ) -> Result<ExternalOAuth2Layer, PipelineError> {
        if let Some(layer) = self.built.get(&filter.name) {
            return Ok(layer.clone());
        }
        let layer = token_filter_options(&state.config, filter)?;
        let layer = ExternalOAuth2Layer::from_options(layer).map_err(|e| {
            PipelineError::Filter(format!("{} [filter:{}]: {e}", filter.origin, filter.name))
        })?;
        self.built.insert(filter.name.clone(), layer.clone());
        Ok(layer)
    }
}
