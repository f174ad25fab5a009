//! Organizations: create, show, settings, leave, personal orgs, first start.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{CreateOrgRequest, SetupRequest, UpdateOrgRequest};

both_engines!(
    creating_an_org_makes_the_creator_its_owner,
    settings_are_validated_and_audited,
    personal_orgs_cannot_be_left_or_shared,
    members_may_leave_and_the_team_list_forgets_them,
    the_setup_link_creates_the_first_owner_once,
);

fn new_org(slug: &str, name: &str) -> CreateOrgRequest {
    CreateOrgRequest {
        slug: slug.into(),
        name: name.into(),
    }
}

async fn creating_an_org_makes_the_creator_its_owner(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let org = owner
        .create_org(&new_org("initech", "Initech"))
        .await
        .unwrap();
    owner.answered(201);
    assert_eq!(org.your_role, "owner");
    assert_eq!(org.settings.invitation_ttl_seconds, 86400);
    let list = owner.orgs().await.unwrap();
    assert!(list
        .items
        .iter()
        .any(|m| m.org == "initech" && m.role == "owner"));
    assert_eq!(list.next_cursor, None, "every org in one page");
    owner
        .create_org(&new_org("initech", "Again"))
        .await
        .refused(409, "slug_taken");
    owner
        .create_org(&new_org("personal-99", "Sneaky"))
        .await
        .refused(422, "validation_failed");
    owner
        .create_org(&new_org("Bad Slug", "x"))
        .await
        .refused(422, "validation_failed");
    let events = app.audit("initech", &owner, "action=org.create").await;
    assert_eq!(events.len(), 1);
}

async fn settings_are_validated_and_audited(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let settings = UpdateOrgRequest {
        name: Some("Acme Corp".into()),
        allowed_domains: Some(vec!["Acme.test".into(), "@acme.io".into()]),
        self_registration: Some(true),
        invitation_ttl_seconds: Some(3600),
        mfa_policy: Some("required".into()),
        default_role: Some("contributor".into()),
    };
    let org = owner.update_org(ORG, &settings).await.unwrap();
    assert_eq!(org.name, "Acme Corp");
    assert_eq!(org.settings.allowed_domains, ["acme.io", "acme.test"]);
    assert!(org.settings.self_registration);
    assert_eq!(org.settings.mfa_policy, "required");
    assert_eq!(org.settings.default_role, "contributor");
    // The policy is enforced at once: the owner enrols a second factor
    // before anything else in the org.
    owner
        .update_org(ORG, &UpdateOrgRequest::default())
        .await
        .refused(403, "mfa_enrolment_required");
    crate::mfa::enrol(&owner, crate::mfa::fresh_step().await).await;
    for bad in [
        UpdateOrgRequest {
            allowed_domains: Some(vec!["not a domain".into()]),
            ..Default::default()
        },
        UpdateOrgRequest {
            invitation_ttl_seconds: Some(5),
            ..Default::default()
        },
        UpdateOrgRequest {
            mfa_policy: Some("sometimes".into()),
            ..Default::default()
        },
        UpdateOrgRequest {
            default_role: Some("owner".into()),
            ..Default::default()
        },
        UpdateOrgRequest {
            default_role: Some("wizard".into()),
            ..Default::default()
        },
        UpdateOrgRequest {
            name: Some("".into()),
            ..Default::default()
        },
    ] {
        owner
            .update_org(ORG, &bad)
            .await
            .refused(422, "validation_failed");
    }
    // An admin manages sign-up settings but not the name.
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    crate::mfa::enrol(&admin, crate::mfa::fresh_step().await).await;
    let closed = UpdateOrgRequest {
        self_registration: Some(false),
        ..Default::default()
    };
    admin.update_org(ORG, &closed).await.unwrap();
    let renamed = UpdateOrgRequest {
        name: Some("Admin's Acme".into()),
        ..Default::default()
    };
    admin
        .update_org(ORG, &renamed)
        .await
        .refused(403, "forbidden");
    assert_eq!(owner.org(ORG).await.unwrap().name, "Acme Corp");
    assert_eq!(app.audit(ORG, &owner, "action=org.update").await.len(), 2);
}

async fn personal_orgs_cannot_be_left_or_shared(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let me = owner.me().await.unwrap();
    let personal = me
        .memberships
        .iter()
        .find(|m| m.personal)
        .unwrap()
        .org
        .clone();
    owner
        .leave_org(&personal)
        .await
        .refused(409, "personal_org");
    owner
        .create_member(&personal, &new_member("friend@acme.test", "viewer"))
        .await
        .refused(409, "personal_org");
    let org = owner.org(&personal).await.unwrap();
    assert!(org.personal);
    assert!(
        org.warnings.is_empty(),
        "no second-owner advice for a personal org"
    );
}

async fn members_may_leave_and_the_team_list_forgets_them(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, viewer) = app.member(ORG, &owner, "leaver@acme.test", "viewer").await;
    viewer.leave_org(ORG).await.unwrap();
    viewer.answered(204);
    viewer.org(ORG).await.refused(404, "not_found");
    assert!(emails(&app.users(ORG, &owner, "email=leaver").await).is_empty());
    let events = app.audit(ORG, &owner, "action=member.leave").await;
    assert_eq!(events[0].actor.email, "leaver@acme.test");
}

async fn the_setup_link_creates_the_first_owner_once(engine: Engine) {
    let app = spawn_with(
        engine,
        Spawn {
            bootstrap: false,
            smtp_url: None,
        },
    )
    .await;
    let token = app.app.new_setup_token().await.unwrap();
    let body = |t: &str| SetupRequest {
        token: t.into(),
        org_slug: "first".into(),
        org_name: "First".into(),
        email: "boss@first.test".into(),
        name: "The Boss".into(),
        password: "boss-password-1".into(),
    };
    let anonymous = app.client();
    anonymous
        .setup(&body("rsu_wrong"))
        .await
        .refused(404, "invalid_link");
    anonymous.setup(&body(&token)).await.unwrap();
    anonymous.answered(201);
    anonymous
        .setup(&body(&token))
        .await
        .refused(404, "invalid_link");
    let boss = app.login("boss@first.test", "boss-password-1").await;
    let org = boss.org("first").await.unwrap();
    assert_eq!(org.your_role, "owner");
    // The HTML form works too, and says when the link is spent.
    let page = app
        .http
        .get(format!("{}/setup?token={token}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<form") && page.contains(&token));
    let fresh = app.app.new_setup_token().await.unwrap();
    let res = app
        .http
        .post(format!("{}/setup", app.base))
        .form(&[
            ("token", fresh.as_str()),
            ("org_slug", "second"),
            ("org_name", "Second"),
            ("email", "x@second.test"),
            ("name", "X"),
            ("password", "x-password-123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("already set up"));
}
