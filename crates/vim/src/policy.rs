//! VIM policy as Tacker 16.0.0 enforces it with its defaults (spec §2.12, foundation issue
//! point 5): `role:admin`, or `role:member` in the VIM's project. A denied create is a 403
//! (upstream crashes with 500); denied show/update/delete look like a missing resource (404),
//! and a denied list entry is silently dropped.

use tacker_common::RequestContext;

use crate::store::Scope;

/// The four policy actions of the VIM API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Get,
    Update,
    Delete,
}

impl Action {
    /// The oslo.policy rule name, as shown in `PolicyNotAuthorized`.
    pub fn rule(self) -> &'static str {
        match self {
            Action::Create => "create_vim",
            Action::Get => "get_vim",
            Action::Update => "update_vim",
            Action::Delete => "delete_vim",
        }
    }
}

/// `rule:project_member_or_admin` with the VIM's `tenant_id` as the target's `project_id`.
pub fn allowed(ctx: &RequestContext, _action: Action, vim_tenant: &str) -> bool {
    ctx.is_admin || (ctx.has_role("member") && ctx.project_id.as_deref() == Some(vim_tenant))
}

/// SQL tenant scoping: admins see everything, others their project's VIMs.
pub fn scope(ctx: &RequestContext) -> Scope {
    if ctx.is_admin {
        Scope::All
    } else {
        Scope::Tenant(ctx.project_id.clone().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacker_common::Identity;

    fn ctx(project: &str, roles: &[&str], admin: bool) -> RequestContext {
        RequestContext::from(Identity {
            project_id: Some(project.into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            is_admin: admin,
            ..Identity::default()
        })
    }

    #[test]
    fn member_of_the_vim_project_is_allowed() {
        assert!(allowed(
            &ctx("p1", &["Member"], false),
            Action::Update,
            "p1"
        ));
        assert!(!allowed(
            &ctx("p2", &["member"], false),
            Action::Update,
            "p1"
        ));
    }

    #[test]
    fn reader_only_is_refused() {
        assert!(!allowed(&ctx("p1", &["reader"], false), Action::Get, "p1"));
    }

    #[test]
    fn admin_is_allowed_everywhere() {
        assert!(allowed(&ctx("p9", &["admin"], true), Action::Delete, "p1"));
        assert_eq!(scope(&ctx("p9", &["admin"], true)), Scope::All);
    }
}
