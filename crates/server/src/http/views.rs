//! Conversions from stored records to wire types. Only this layer knows
//! JSON shapes.

use crate::app::orgs::warnings;
use crate::app::time::rfc3339;
use roster_domain::{ActionClass, BuiltinRole, ManagementPermission, Timestamp, UserId};
use roster_proto as wire;
use roster_store::invitations::Invitation;
use roster_store::members::{Member, UserMembership};
use roster_store::orgs::Org;
use roster_store::users::User;

pub fn user(u: &User) -> wire::UserView {
    wire::UserView {
        id: u.id.get(),
        email: u.email.clone(),
        name: u.name.clone(),
        created_at: rfc3339(u.created_at),
        last_active_at: u.last_active_at.map(rfc3339),
    }
}

pub fn member(m: &Member) -> wire::MemberView {
    wire::MemberView {
        id: Some(m.user_id.get()),
        invitation_id: None,
        email: m.email.clone(),
        name: m.name.clone(),
        role: m.role.clone(),
        team: m.team.clone(),
        groups: m.groups.clone(),
        status: m.status.as_str().to_owned(),
        identity_provider: m.identity_provider.clone(),
        mfa_required: m.mfa_required,
        joined_at: rfc3339(m.joined_at),
        last_active_at: m.last_active_at.map(rfc3339),
        service_account: m.service_account,
        mfa_enabled: m.mfa_enabled,
    }
}

pub fn membership(m: &UserMembership) -> wire::MembershipSummary {
    wire::MembershipSummary {
        org: m.slug.clone(),
        org_name: m.org_name.clone(),
        personal: m.personal_user_id.is_some(),
        role: m.role.clone(),
        status: m.status.as_str().to_owned(),
        team: m.team.clone(),
        joined_at: rfc3339(m.joined_at),
    }
}

pub fn org(o: &Org, your_role: &str, active_owners: i64) -> wire::OrgView {
    let personal = o.personal_user_id.is_some();
    wire::OrgView {
        slug: o.slug.clone(),
        name: o.name.clone(),
        personal,
        settings: wire::OrgSettingsView {
            allowed_domains: o.settings.allowed_domains.clone(),
            self_registration: o.settings.self_registration,
            invitation_ttl_seconds: o.settings.invitation_ttl_seconds,
            mfa_policy: o.settings.mfa_policy.clone(),
            default_role: o.settings.default_role.clone(),
        },
        created_at: rfc3339(o.created_at),
        your_role: your_role.to_owned(),
        active_owners,
        warnings: warnings(active_owners, personal),
    }
}

pub fn builtin_role(r: BuiltinRole) -> wire::RoleView {
    let role = r.role();
    wire::RoleView {
        name: r.name().to_owned(),
        builtin: true,
        description: r.description().to_owned(),
        permissions: ManagementPermission::ALL
            .into_iter()
            .filter(|p| role.has(*p))
            .map(|p| p.as_str().to_owned())
            .collect(),
        platform_classes: ActionClass::ALL
            .into_iter()
            .filter(|c| role.platform_classes().contains(*c))
            .map(|c| c.as_str().to_owned())
            .collect(),
    }
}

pub fn audit_event(e: &roster_store::audit::Event) -> wire::AuditEventView {
    wire::AuditEventView {
        id: e.id,
        at: rfc3339(e.at),
        actor: wire::ActorView {
            id: e.actor_id.map(UserId::get),
            email: e.actor_email.clone(),
            name: e.actor_name.clone(),
        },
        channel: e.channel.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        client_addr: e.client_addr.clone(),
        request_id: e.request_id.clone(),
        seq: e.seq,
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
    }
}

/// The verdict of a chain's recomputation, as the API says it.
pub fn audit_verdict(v: &roster_store::audit::Verdict) -> wire::AuditVerifyView {
    wire::AuditVerifyView {
        ok: v.first_break.is_none(),
        count: v.count,
        head_hash: v.head_hash.clone(),
        pruned: v.pruned,
        checkpoint_hash: v.pruned_hash.clone(),
        checked: v.checked,
        first_break: v.first_break.as_ref().map(|b| wire::AuditBreakView {
            kind: b.kind.as_str().to_owned(),
            seq: b.seq,
            event_id: b.event_id,
            reason: b.reason.clone(),
        }),
    }
}

pub fn invitation(i: &Invitation, now: Timestamp) -> wire::InvitationView {
    wire::InvitationView {
        id: i.id.get(),
        email: i.email.clone(),
        role: i.role.clone(),
        team: i.team.clone(),
        groups: i.group_list(),
        status: i.effective_status(now).as_str().to_owned(),
        inviter: wire::ActorView {
            id: i.inviter_id.map(UserId::get),
            email: i.inviter_email.clone(),
            name: i.inviter_name.clone(),
        },
        created_at: rfc3339(i.created_at),
        expires_at: rfc3339(i.expires_at),
        accepted_at: i.accepted_at.map(rfc3339),
    }
}

/// A pending invitation as a row of the team list.
pub fn invited_member(i: &Invitation) -> wire::MemberView {
    wire::MemberView {
        id: None,
        invitation_id: Some(i.id.get()),
        email: i.email.clone(),
        name: String::new(),
        role: i.role.clone(),
        team: i.team.clone(),
        groups: i.group_list(),
        status: "invited".to_owned(),
        identity_provider: "password".to_owned(),
        mfa_required: false,
        joined_at: rfc3339(i.created_at),
        last_active_at: None,
        service_account: false,
        mfa_enabled: false,
    }
}

pub fn token(t: &roster_store::tokens::Token, permissions: Option<Vec<String>>) -> wire::TokenView {
    wire::TokenView {
        id: t.id.get(),
        name: t.name.clone(),
        owner: wire::ActorView {
            id: Some(t.user_id.get()),
            email: t.email.clone(),
            name: t.owner_name.clone(),
        },
        service_account: t.service_account,
        permissions,
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
        last_used_at: t.last_used_at.map(rfc3339),
        last_used_from: (!t.last_used_from.is_empty()).then(|| t.last_used_from.clone()),
    }
}

pub fn service_account(sa: &crate::app::tokens::ServiceAccount) -> wire::ServiceAccountView {
    let m = &sa.member;
    wire::ServiceAccountView {
        id: m.user_id.get(),
        name: m.name.clone(),
        email: m.email.clone(),
        role: m.role.clone(),
        description: sa.description.clone(),
        status: m.status.as_str().to_owned(),
        created_at: rfc3339(m.joined_at),
    }
}
