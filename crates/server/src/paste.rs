//! `api-paste.ini` as PasteDeploy loads Tacker's `config:api-paste.ini#tacker`: the
//! `[composite:tacker]` urlmap, each target resolved to an app or to the pipeline that
//! `tacker.auth:pipeline_factory` picks for `[DEFAULT] auth_strategy`, and every filter and
//! app factory resolved to a built-in. Only what the selected pipelines use is resolved, so
//! unused sections (the guide keeps `[filter:authtoken]`) may name anything.

use std::path::Path;

use tacker_common::config::Section;
use tacker_common::ini::{IniDocument, IniError};

use crate::config::AuthStrategy;

/// The entry point Tacker loads (`tacker/common/config.py` `load_paste_app("tacker")`).
pub const ROOT_APP: &str = "tacker";

/// Why the paste file cannot be used. Stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum PasteError {
    #[error("cannot read paste config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Syntax(#[from] IniError),
    /// `<file> [<section>] <option> = "<value>": <reason>`, or a missing section.
    #[error("{0}")]
    Invalid(String),
}

/// Built-in filters, by paste factory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterKind {
    /// `oslo_middleware:RequestId`
    RequestId,
    /// `oslo_middleware:CatchErrors`
    CatchErrors,
    /// `tacker.auth:TackerKeystoneContext`
    KeystoneContext,
    /// `tacker.api.extensions:extension_middleware_factory`
    Extensions,
    /// `keystonemiddleware.external_oauth2_token:filter_factory`
    ExternalOAuth2Token,
}

impl FilterKind {
    /// Filters that authenticate the caller and set the identity headers.
    pub fn is_token_filter(self) -> bool {
        matches!(self, FilterKind::ExternalOAuth2Token)
    }
}

/// Built-in apps, by paste factory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// `tacker.api.versions:Versions` (`/`)
    Versions,
    /// `tacker.api.v1.router:APIRouter` (`/v1.0`, no routes of its own)
    ApiRouterV1,
    /// `tacker.api.vnfpkgm.v1.router:VnfpkgmAPIRouter`
    VnfpkgmV1,
    /// `tacker.api.vnflcm.v1.router:VnflcmAPIRouter`
    VnflcmV1,
    /// `tacker.sol_refactored.api.router:VnflcmAPIRouterV2`
    VnflcmV2,
    /// `tacker.sol_refactored.api.router:VnfPmAPIRouterV2`
    VnfpmV2,
    /// `tacker.sol_refactored.api.router:VnflcmVersions`
    VnflcmVersions,
    /// `tacker.sol_refactored.api.router:VnffmAPIRouterV1`
    VnffmV1,
    /// The Prometheus / server-notification receivers: not part of this server (404).
    NotProvided,
}

#[derive(Clone, Debug)]
pub struct FilterDef {
    /// Section name without the `filter:` prefix (e.g. `request_id`).
    pub name: String,
    pub kind: FilterKind,
    /// The paste file it was read from.
    pub origin: String,
    /// The section's own options (PasteDeploy `local_conf`, `[DEFAULT]` excluded).
    pub local: Section,
}

#[derive(Clone, Debug)]
pub struct AppDef {
    pub name: String,
    pub kind: AppKind,
}

/// What a urlmap prefix leads to.
#[derive(Clone, Debug)]
pub enum Target {
    /// A bare app (no filters: no request id, no authentication), e.g. `/`.
    App(AppDef),
    /// A composite's selected pipeline: filters outermost first, then the app.
    Pipeline {
        composite: String,
        filters: Vec<FilterDef>,
        app: AppDef,
    },
}

/// The loaded `[composite:tacker]`.
#[derive(Clone, Debug)]
pub struct PasteApp {
    /// The paste file, for messages.
    pub origin: String,
    /// `(prefix, target)` in file order; prefixes normalised as paste's urlmap does
    /// (`/` becomes the empty prefix, trailing slashes removed).
    pub urlmap: Vec<(String, Target)>,
}

impl PasteApp {
    pub fn load_file(path: &Path, strategy: AuthStrategy) -> Result<Self, PasteError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PasteError::Read {
            path: origin.clone(),
            source,
        })?;
        let here = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(|d| d.display().to_string()))
            .unwrap_or_else(|| ".".to_owned());
        let doc = IniDocument::parse_paste(&text, &origin, &here)?;
        Self::from_document(&doc, strategy)
    }

    pub fn from_document(doc: &IniDocument, strategy: AuthStrategy) -> Result<Self, PasteError> {
        let loader = Loader { doc, strategy };
        let root = loader.find_app_section(ROOT_APP, None)?;
        let use_ = required(&doc.origin, root, "use")?;
        if !is_urlmap(&use_.value) {
            return Err(invalid(
                root,
                "use",
                &use_.value,
                "the root composite must be egg:Paste#urlmap",
            ));
        }
        let mut urlmap = Vec::new();
        for (key, v) in &root.options {
            if key == "use" {
                continue;
            }
            if !key.starts_with('/') {
                return Err(invalid(
                    root,
                    key,
                    &v.value,
                    "only path prefixes are supported in the urlmap (no domains, no not_found_app)",
                ));
            }
            let target = loader.resolve_target(v.value.trim(), root, key)?;
            urlmap.push((normalize_prefix(key), target));
        }
        Ok(Self {
            origin: doc.origin.clone(),
            urlmap,
        })
    }
}

/// paste.urlmap `normalize_url`: strip trailing slashes, so `/` is the empty prefix.
fn normalize_prefix(prefix: &str) -> String {
    prefix.trim_end_matches('/').to_owned()
}

fn is_urlmap(use_: &str) -> bool {
    matches!(
        use_.trim().to_ascii_lowercase().as_str(),
        "egg:paste#urlmap" | "call:paste.urlmap:urlmap_factory"
    )
}

fn required<'a>(
    origin: &str,
    section: &'a Section,
    key: &str,
) -> Result<&'a tacker_common::config::OptionValue, PasteError> {
    section.get(key).ok_or_else(|| {
        PasteError::Invalid(format!(
            "{origin} [{}]: option {key:?} is missing",
            section.name
        ))
    })
}

fn invalid(section: &Section, key: &str, value: &str, reason: &str) -> PasteError {
    PasteError::Invalid(format!("{}: {reason}", section.describe(key, value)))
}

struct Loader<'a> {
    doc: &'a IniDocument,
    strategy: AuthStrategy,
}

/// Section prefixes PasteDeploy accepts for an app name.
const APP_PREFIXES: &[&str] = &["app", "application", "composite", "composit", "pipeline"];

impl<'a> Loader<'a> {
    /// PasteDeploy's section lookup for an app name: exactly one of `app:`, `composite:`, ….
    fn find_app_section(
        &self,
        name: &str,
        referrer: Option<(&Section, &str)>,
    ) -> Result<&'a Section, PasteError> {
        let found: Vec<&Section> = APP_PREFIXES
            .iter()
            .filter_map(|p| self.doc.section(&format!("{p}:{name}")))
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => {
                let msg = format!(
                    "No section '{name}' (prefixed by 'app' or 'application' or 'composite' or 'composit' or 'pipeline') found in config {}",
                    self.doc.origin
                );
                Err(match referrer {
                    Some((sec, key)) => invalid(
                        sec,
                        key,
                        &sec.get(key).map(|v| v.value.clone()).unwrap_or_default(),
                        &msg,
                    ),
                    None => PasteError::Invalid(msg),
                })
            }
            _ => Err(PasteError::Invalid(format!(
                "{}: ambiguous section names for '{name}': {}",
                self.doc.origin,
                found
                    .iter()
                    .map(|s| format!("[{}]", s.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn resolve_target(
        &self,
        name: &str,
        referrer: &Section,
        key: &str,
    ) -> Result<Target, PasteError> {
        let section = self.find_app_section(name, Some((referrer, key)))?;
        let (kind, _) = section.name.split_once(':').expect("found by prefix");
        match kind {
            "app" | "application" => Ok(Target::App(self.app(section)?)),
            "pipeline" => {
                let line = required(&self.doc.origin, section, "pipeline")?;
                self.pipeline(section, "pipeline", &line.value)
            }
            _ => {
                let use_ = required(&self.doc.origin, section, "use")?;
                let u = use_.value.trim();
                if is_urlmap(u) {
                    return Err(invalid(
                        section,
                        "use",
                        u,
                        "a nested urlmap is not supported",
                    ));
                }
                if u != "call:tacker.auth:pipeline_factory" {
                    return Err(invalid(
                        section,
                        "use",
                        u,
                        "unknown composite factory (supported: call:tacker.auth:pipeline_factory, egg:Paste#urlmap)",
                    ));
                }
                let key = self.strategy.key();
                let Some(line) = section.get(key) else {
                    // Upstream: KeyError in pipeline_factory at start-up.
                    return Err(PasteError::Invalid(format!(
                        "{} [{}]: no {key:?} pipeline for [DEFAULT] auth_strategy = \"{key}\"",
                        self.doc.origin, section.name
                    )));
                };
                self.pipeline(section, key, &line.value)
            }
        }
    }

    fn pipeline(&self, section: &Section, key: &str, line: &str) -> Result<Target, PasteError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((app_name, filter_names)) = words.split_last() else {
            return Err(invalid(section, key, line, "empty pipeline"));
        };
        let mut filters = Vec::new();
        for name in filter_names {
            filters.push(self.filter(section, key, line, name)?);
        }
        let app_section = match self
            .doc
            .section(&format!("app:{app_name}"))
            .or_else(|| self.doc.section(&format!("application:{app_name}")))
        {
            Some(s) => s,
            None => {
                return Err(invalid(
                    section,
                    key,
                    line,
                    &format!("no [app:{app_name}] section for the last word of the pipeline"),
                ))
            }
        };
        Ok(Target::Pipeline {
            composite: section.name.clone(),
            filters,
            app: self.app(app_section)?,
        })
    }

    fn filter(
        &self,
        referrer: &Section,
        key: &str,
        line: &str,
        name: &str,
    ) -> Result<FilterDef, PasteError> {
        let Some(section) = self.doc.section(&format!("filter:{name}")) else {
            return Err(invalid(
                referrer,
                key,
                line,
                &format!("no [filter:{name}] section for filter {name:?}"),
            ));
        };
        let (opt, factory) = factory_of(&self.doc.origin, section, "paste.filter_factory")?;
        let kind =
            filter_kind(factory).map_err(|reason| invalid(section, opt, factory, &reason))?;
        let mut local = Section::new(section.name.clone());
        for (k, v) in &section.options {
            if k != opt {
                local.set(k.clone(), v.value.clone(), v.origin.clone());
            }
        }
        Ok(FilterDef {
            name: name.to_owned(),
            kind,
            origin: self.doc.origin.clone(),
            local,
        })
    }

    fn app(&self, section: &Section) -> Result<AppDef, PasteError> {
        let (opt, factory) = factory_of(&self.doc.origin, section, "paste.app_factory")?;
        let kind = app_kind(factory).ok_or_else(|| {
            invalid(
                section,
                opt,
                factory,
                "unknown app factory: this server has no such application",
            )
        })?;
        let name = section
            .name
            .split_once(':')
            .map(|(_, n)| n)
            .unwrap_or(&section.name);
        Ok(AppDef {
            name: name.to_owned(),
            kind,
        })
    }
}

/// The factory of a `[filter:*]` / `[app:*]` section: `paste.*_factory = module:object`
/// or `use = egg:dist#entry_point`.
fn factory_of<'s>(
    origin: &str,
    section: &'s Section,
    factory_key: &'static str,
) -> Result<(&'static str, &'s str), PasteError> {
    if let Some(v) = section.get(factory_key) {
        return Ok((factory_key, v.value.trim()));
    }
    if let Some(v) = section.get("use") {
        return Ok(("use", v.value.trim()));
    }
    Err(PasteError::Invalid(format!(
        "{origin} [{}]: neither {factory_key} nor use is set",
        section.name
    )))
}

fn filter_kind(factory: &str) -> Result<FilterKind, String> {
    Ok(match factory {
        "oslo_middleware:RequestId.factory"
        | "oslo_middleware.request_id:RequestId.factory"
        | "egg:oslo.middleware#request_id" => FilterKind::RequestId,
        "oslo_middleware:CatchErrors.factory"
        | "oslo_middleware.catch_errors:CatchErrors.factory"
        | "egg:oslo.middleware#catch_errors" => FilterKind::CatchErrors,
        "tacker.auth:TackerKeystoneContext.factory" => FilterKind::KeystoneContext,
        "tacker.api.extensions:extension_middleware_factory" => FilterKind::Extensions,
        "keystonemiddleware.external_oauth2_token:filter_factory" | "egg:keystonemiddleware#external_oauth2_token" => {
            FilterKind::ExternalOAuth2Token
        }
        "keystonemiddleware.auth_token:filter_factory" | "egg:keystonemiddleware#auth_token" => {
            return Err("Keystone tokens (keystonemiddleware auth_token) are not supported by this server; \
                        authenticate with an external OAuth 2.0 authorization server instead: \
                        use keystonemiddleware.external_oauth2_token:filter_factory in place of authtoken \
                        (see the external OAuth 2.0 usage guide), or auth_strategy = noauth"
                .to_owned())
        }
        "keystonemiddleware.oauth2_token:filter_factory"
        | "keystonemiddleware.oauth2_mtls_token:filter_factory" => {
            return Err("Keystone as OAuth 2.0 server is not supported by this server; use \
                        keystonemiddleware.external_oauth2_token:filter_factory instead"
                .to_owned())
        }
        _ => return Err("unknown filter factory: this server has no such filter".to_owned()),
    })
}

fn app_kind(factory: &str) -> Option<AppKind> {
    let f = factory.strip_suffix(".factory").unwrap_or(factory);
    Some(match f {
        "tacker.api.versions:Versions" => AppKind::Versions,
        "tacker.api.v1.router:APIRouter" => AppKind::ApiRouterV1,
        "tacker.api.vnfpkgm.v1.router:VnfpkgmAPIRouter" => AppKind::VnfpkgmV1,
        "tacker.api.vnflcm.v1.router:VnflcmAPIRouter" => AppKind::VnflcmV1,
        "tacker.sol_refactored.api.router:VnflcmAPIRouterV2" => AppKind::VnflcmV2,
        "tacker.sol_refactored.api.router:VnfPmAPIRouterV2" => AppKind::VnfpmV2,
        "tacker.sol_refactored.api.router:VnflcmVersions" => AppKind::VnflcmVersions,
        "tacker.sol_refactored.api.router:VnffmAPIRouterV1" => AppKind::VnffmV1,
        "tacker.sol_refactored.api.router:AutoScalingRouter"
        | "tacker.sol_refactored.api.router:AutoHealingRouter"
        | "tacker.sol_refactored.api.router:FmAlertRouter"
        | "tacker.sol_refactored.api.router:PmEventRouter"
        | "tacker.sol_refactored.api.router:PmThresholdRouter"
        | "tacker.sol_refactored.api.router:ServerNotificationRouter" => AppKind::NotProvided,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, s: AuthStrategy) -> Result<PasteApp, PasteError> {
        let doc = IniDocument::parse_paste(text, "api-paste.ini", ".").unwrap();
        PasteApp::from_document(&doc, s)
    }

    const MINI: &str = "[composite:tacker]\nuse = egg:Paste#urlmap\n/: v\n/v1.0/: api\n\
        [composite:api]\nuse = call:tacker.auth:pipeline_factory\nnoauth = rid a\nkeystone = rid FILTER a\n\
        [filter:rid]\npaste.filter_factory = oslo_middleware:RequestId.factory\n\
        [app:v]\npaste.app_factory = tacker.api.versions:Versions.factory\n\
        [app:a]\npaste.app_factory = tacker.api.v1.router:APIRouter.factory\n";

    #[test]
    fn prefixes_are_normalised_and_strategy_selects_the_line() {
        let app = load(MINI, AuthStrategy::Noauth).unwrap();
        assert_eq!(app.urlmap[0].0, "");
        assert_eq!(app.urlmap[1].0, "/v1.0");
        match &app.urlmap[1].1 {
            Target::Pipeline { filters, app, .. } => {
                assert_eq!(filters.len(), 1);
                assert_eq!(filters[0].kind, FilterKind::RequestId);
                assert_eq!(app.kind, AppKind::ApiRouterV1);
            }
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn unknown_filter_in_the_selected_pipeline_names_section_and_value() {
        let text = MINI.replace("FILTER", "bogus")
            + "[filter:bogus]\npaste.filter_factory = my.mod:Thing.factory\n";
        let e = load(&text, AuthStrategy::Keystone).unwrap_err().to_string();
        assert!(
            e.contains("[filter:bogus] paste.filter_factory = \"my.mod:Thing.factory\""),
            "{e}"
        );
        // Not selected under noauth: fine.
        load(&text, AuthStrategy::Noauth).unwrap();
        // A filter name with no section at all.
        let e = load(&MINI.replace("FILTER", "ghost"), AuthStrategy::Keystone)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[filter:ghost]") && e.contains("[composite:api] keystone"),
            "{e}"
        );
    }

    #[test]
    fn unknown_app_factory_names_section_and_value() {
        let text = MINI.replace("tacker.api.v1.router:APIRouter.factory", "x.y:Z.factory");
        let e = load(&text, AuthStrategy::Noauth).unwrap_err().to_string();
        assert!(
            e.contains("[app:a] paste.app_factory = \"x.y:Z.factory\""),
            "{e}"
        );
    }

    #[test]
    fn missing_strategy_key_is_refused() {
        let text = MINI.replace("keystone = rid FILTER a\n", "");
        let e = load(&text, AuthStrategy::Keystone).unwrap_err().to_string();
        assert!(
            e.contains("[composite:api]") && e.contains("keystone"),
            "{e}"
        );
    }

    #[test]
    fn pipeline_sections_and_egg_names_are_understood() {
        let text = "[composite:tacker]\nuse = egg:Paste#urlmap\n/x: p\n\
            [pipeline:p]\npipeline = ce a\n\
            [filter:ce]\nuse = egg:oslo.middleware#catch_errors\n\
            [app:a]\npaste.app_factory = tacker.api.v1.router:APIRouter.factory\n";
        let app = load(text, AuthStrategy::Keystone).unwrap();
        match &app.urlmap[0].1 {
            Target::Pipeline { filters, .. } => {
                assert_eq!(filters[0].kind, FilterKind::CatchErrors)
            }
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn filter_local_conf_excludes_the_factory_key() {
        let text = MINI.replace("FILTER", "ext")
            + "[filter:ext]\npaste.filter_factory = keystonemiddleware.external_oauth2_token:filter_factory\naudience = x\n";
        let app = load(&text, AuthStrategy::Keystone).unwrap();
        let Target::Pipeline { filters, .. } = &app.urlmap[1].1 else {
            panic!()
        };
        assert_eq!(filters[1].kind, FilterKind::ExternalOAuth2Token);
        let keys: Vec<_> = filters[1].local.options.keys().collect();
        assert_eq!(keys, ["audience"]);
        assert_eq!(filters[1].local.name, "filter:ext");
    }
}
