//! The team list and its members: create, filter, page, update, remove.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{
    ChangePasswordRequest, CreateMemberRequest, CreateOrgRequest, UpdateMeRequest,
    UpdateMemberRequest,
};
use serde_json::json;
use std::collections::HashMap;

both_engines!(
    creating_a_member_shows_every_field_and_creates_groups,
    an_existing_account_is_invited_never_taken_in,
    filters_combine_and_match_case_insensitive_substrings,
    pagination_stays_correct_while_rows_are_inserted,
    updates_change_each_field_and_are_audited,
    removal_disable_and_demotion_take_effect_on_the_next_request,
    look_alike_addresses_are_one_account_and_invisible_characters_are_refused,
);

fn with_email(email: &str) -> CreateMemberRequest {
    CreateMemberRequest {
        email: email.into(),
        ..Default::default()
    }
}

async fn creating_a_member_shows_every_field_and_creates_groups(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    // A raw request: the body shows every field, `last_active_at` too.
    let created = app
        .post(
            &format!("/api/v1/orgs/{ORG}/users"),
            &owner,
            json!({"name": "Michael Scott", "email": "Michael@DunderMifflin.com", "team": "engineering",
                   "groups": ["dev", "support"], "role": "contributor", "mfa_required": true}),
        )
        .await
        .expect(201, "")
        .ok();
    let u = &created["user"];
    assert_eq!(u["email"], "michael@dundermifflin.com");
    assert_eq!(u["name"], "Michael Scott");
    assert_eq!(u["role"], "contributor");
    assert_eq!(u["team"], "engineering");
    assert_eq!(u["groups"], json!(["dev", "support"]));
    assert_eq!(u["status"], "active");
    assert_eq!(u["identity_provider"], "password");
    assert_eq!(u["mfa_required"], true);
    assert!(u["joined_at"].as_str().unwrap().ends_with('Z'));
    assert!(u.get("last_active_at").is_some());
    // The groups now exist in the org: the group filter finds the member.
    let page = app.users(ORG, &owner, "group=support").await;
    assert_eq!(emails(&page), ["michael@dundermifflin.com"]);
    // The same email again is a conflict, whatever its case.
    owner
        .create_member(ORG, &with_email("MICHAEL@dundermifflin.com"))
        .await
        .refused(409, "already_member");
    let events = app.audit(ORG, &owner, "action=member.create").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor.email, OWNER_EMAIL);
    assert_eq!(events[0].details["groups"], json!(["dev", "support"]));
}

async fn an_existing_account_is_invited_never_taken_in(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, jan) = app.member(ORG, &owner, "jan@acme.test", "viewer").await;
    jan.create_org(&CreateOrgRequest {
        slug: "jans-org".into(),
        name: "Jan's".into(),
    })
    .await
    .unwrap();
    jan.answered(201);
    // Jan, owner of jans-org, adds the owner of acme, who already has an
    // account: that account is the owner's, so it gets an invitation.
    let added = jan
        .create_member("jans-org", &new_member(OWNER_EMAIL, "admin"))
        .await
        .unwrap();
    jan.answered(201);
    assert!(!added.account_created);
    assert!(added.temporary_password.is_none());
    assert_eq!(
        (added.user.status.as_str(), added.user.id),
        ("invited", None)
    );
    // Not a member until they accept; their name and sessions untouched.
    owner
        .list_members("jans-org", &members(""))
        .await
        .refused(404, "not_found");
    let pending = jan
        .list_invitations("jans-org", &Default::default())
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 1);
    assert_eq!(pending.items[0].role, "admin");
    // Asking again while it is pending is refused, as for any invitation.
    jan.create_member("jans-org", &new_member(OWNER_EMAIL, "admin"))
        .await
        .refused(409, "already_invited");

    // The owner accepts (signed in as themselves): now one session covers both orgs.
    let link = jan
        .resend_invitation("jans-org", pending.items[0].id)
        .await
        .unwrap()
        .link;
    let token = link.rsplit('/').next().unwrap().to_owned();
    owner
        .accept_invitation(&token, &Default::default())
        .await
        .unwrap();
    let page = app.users("jans-org", &owner, "").await;
    assert_eq!(emails(&page).len(), 2);
    let me = owner.me().await.unwrap();
    assert_eq!(me.user.email, OWNER_EMAIL);
}

async fn filters_combine_and_match_case_insensitive_substrings(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let mut temporary = HashMap::new();
    for (name, email, role, team, groups) in [
        (
            "Michael Scott",
            "michael@dm.test",
            "admin",
            "management",
            vec!["dev", "support"],
        ),
        (
            "Dwight Schrute",
            "dwight@dm.test",
            "contributor",
            "sales",
            vec!["support"],
        ),
        (
            "Jim Halpert",
            "jim@dm.test",
            "contributor",
            "sales",
            vec!["dev"],
        ),
        (
            "Pam Beesly",
            "pam@other.test",
            "viewer",
            "reception",
            vec![],
        ),
    ] {
        let body = CreateMemberRequest {
            name: Some(name.into()),
            team: Some(team.into()),
            groups: groups.into_iter().map(String::from).collect(),
            ..new_member(email, role)
        };
        let made = owner.create_member(ORG, &body).await.unwrap();
        temporary.insert(email, made.temporary_password.unwrap());
    }
    assert_eq!(
        emails(&app.users(ORG, &owner, "role=contributor&team=sales").await),
        ["dwight@dm.test", "jim@dm.test"]
    );
    assert_eq!(
        emails(&app.users(ORG, &owner, "role=contributor&group=dev").await),
        ["jim@dm.test"]
    );
    assert_eq!(
        emails(&app.users(ORG, &owner, "name=SCH").await),
        ["dwight@dm.test"]
    );
    assert_eq!(
        emails(
            &app.users(ORG, &owner, "email=DM.TEST&team=management")
                .await
        ),
        ["michael@dm.test"]
    );
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=active&email=other").await),
        ["pam@other.test"]
    );
    assert_eq!(
        emails(
            &app.users(ORG, &owner, "identity_provider=password&name=m")
                .await
        )
        .len(),
        3
    );
    // A renamed member is found by the new name only, and paging a search
    // with a cursor continues after the last one.
    let dwight = app.users(ORG, &owner, "name=schrute").await.items[0]
        .id
        .unwrap();
    // Only Dwight renames himself; the org cannot (it edits memberships).
    let raw = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/orgs/{ORG}/users/{dwight}"),
            Some(owner.token()),
            Some(json!({ "name": "Dwight K. Beet" })),
        )
        .await;
    assert_eq!(raw.status, 422, "{:?}", raw.body);
    let temp = temporary["dwight@dm.test"].clone();
    let himself = app.login("dwight@dm.test", &temp).await;
    himself
        .change_password(&ChangePasswordRequest {
            current_password: temp,
            new_password: "dwight-pw-1234".into(),
        })
        .await
        .unwrap();
    let renamed = himself
        .update_me(&UpdateMeRequest {
            name: "Dwight K. Beet".into(),
        })
        .await
        .unwrap();
    assert_eq!(renamed.name, "Dwight K. Beet");
    assert!(emails(&app.users(ORG, &owner, "name=schrute").await).is_empty());
    assert_eq!(
        emails(&app.users(ORG, &owner, "name=k. beet").await),
        ["dwight@dm.test"]
    );
    let first = app.users(ORG, &owner, "email=dm.test&limit=2").await;
    assert_eq!(emails(&first).len(), 2);
    let cursor = first.next_cursor.clone().expect("a next page");
    let rest = app
        .users(
            ORG,
            &owner,
            &format!("email=dm.test&limit=2&cursor={cursor}"),
        )
        .await;
    let mut all = emails(&first);
    all.extend(emails(&rest));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), emails(&first).len() + emails(&rest).len());
    // LIKE wildcards in a filter are literal characters.
    assert!(emails(&app.users(ORG, &owner, "name=%25").await).is_empty());
    assert!(emails(&app.users(ORG, &owner, "email=_").await).is_empty());
    for (query, status, code) in [
        ("status=invited-ish", 422, "validation_failed"),
        ("limit=0", 400, "invalid_query"),
        ("cursor=bogus", 400, "invalid_cursor"),
    ] {
        owner
            .list_members(ORG, &members(query))
            .await
            .refused(status, code);
    }
    // A raw request: the typed query has no unknown filters.
    app.get(&format!("/api/v1/orgs/{ORG}/users?colour=red"), &owner)
        .await
        .expect(400, "invalid_query");
}

async fn pagination_stays_correct_while_rows_are_inserted(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    for i in 0..5 {
        owner
            .create_member(ORG, &with_email(&format!("u{i}@acme.test")))
            .await
            .unwrap();
    }
    let first = app.users(ORG, &owner, "limit=3").await;
    assert_eq!(
        emails(&first),
        [OWNER_EMAIL, "u0@acme.test", "u1@acme.test"]
    );
    // Rows inserted between pages neither shift nor repeat the next page.
    for i in 5..7 {
        owner
            .create_member(ORG, &with_email(&format!("u{i}@acme.test")))
            .await
            .unwrap();
    }
    let cursor = first.next_cursor.unwrap();
    let second = app
        .users(ORG, &owner, &format!("limit=3&cursor={cursor}"))
        .await;
    assert_eq!(
        emails(&second),
        ["u2@acme.test", "u3@acme.test", "u4@acme.test"]
    );
    let cursor = second.next_cursor.unwrap();
    let third = app
        .users(ORG, &owner, &format!("limit=3&cursor={cursor}"))
        .await;
    assert_eq!(emails(&third), ["u5@acme.test", "u6@acme.test"]);
    assert!(third.next_cursor.is_none());
}

async fn updates_change_each_field_and_are_audited(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (id, _) = app.member(ORG, &owner, "ryan@acme.test", "viewer").await;
    let change = UpdateMemberRequest {
        role: Some("contributor".into()),
        team: Some("sales".into()),
        groups: Some(vec!["dev".into()]),
        status: Some("disabled".into()),
        mfa_required: Some(true),
        identity_provider: Some("okta".into()),
    };
    let name_before = owner.member(ORG, id).await.unwrap().name;
    let updated = owner.update_member(ORG, id, &change).await.unwrap();
    assert_eq!(
        updated.name, name_before,
        "the account's name is not the org's"
    );
    assert_eq!(updated.role, "contributor");
    assert_eq!(updated.team, "sales");
    assert_eq!(updated.groups, ["dev"]);
    assert_eq!(updated.status, "disabled");
    assert!(updated.mfa_required);
    assert_eq!(updated.identity_provider, "okta");
    assert_eq!(
        as_json(&owner.member(ORG, id).await.unwrap()),
        as_json(&updated)
    );
    let reviewing = UpdateMemberRequest {
        status: Some("reviewing".into()),
        ..Default::default()
    };
    owner
        .update_member(ORG, id, &reviewing)
        .await
        .refused(422, "validation_failed");
    let events = app
        .audit(
            ORG,
            &owner,
            &format!("target=user:{id}&action=member.update"),
        )
        .await;
    assert_eq!(events.len(), 1);
    let changes = &events[0].details["changes"];
    assert_eq!(
        changes["role"],
        json!({"from": "viewer", "to": "contributor"})
    );
    assert_eq!(
        changes["status"],
        json!({"from": "active", "to": "disabled"})
    );
}

async fn removal_disable_and_demotion_take_effect_on_the_next_request(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (admin_id, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    admin
        .create_member(ORG, &with_email("new1@acme.test"))
        .await
        .unwrap();
    admin.answered(201);
    let change = |role: Option<&str>, status: Option<&str>| UpdateMemberRequest {
        role: role.map(String::from),
        status: status.map(String::from),
        ..Default::default()
    };
    // Demoted: the very next request no longer has the admin's rights.
    owner
        .update_member(ORG, admin_id, &change(Some("viewer"), None))
        .await
        .unwrap();
    admin
        .create_member(ORG, &with_email("new2@acme.test"))
        .await
        .refused(403, "forbidden");
    app.users(ORG, &admin, "").await;
    // Disabled: refused at once, with a reason.
    owner
        .update_member(ORG, admin_id, &change(None, Some("disabled")))
        .await
        .unwrap();
    admin
        .list_members(ORG, &members(""))
        .await
        .refused(403, "membership_inactive");
    // Removed: the org is gone for them; their account and personal org remain.
    owner
        .update_member(ORG, admin_id, &change(None, Some("active")))
        .await
        .unwrap();
    owner.delete_member(ORG, admin_id).await.unwrap();
    owner.answered(204);
    admin
        .list_members(ORG, &members(""))
        .await
        .refused(404, "not_found");
    let me = admin.me().await.unwrap();
    assert_eq!(me.memberships.len(), 1, "only the personal org remains");
    // Their audit events remain, and they were told by email.
    let events = app.audit(ORG, &owner, "actor=admin@acme.test").await;
    assert!(!events.is_empty());
    let mail = app.mail_to("admin@acme.test").await;
    let kinds: Vec<&str> = mail.iter().map(|m| m.kind.as_str()).collect();
    assert!(
        kinds.contains(&"member_removed")
            && kinds.contains(&"member_disabled")
            && kinds.contains(&"role_changed"),
        "{kinds:?}"
    );
    assert!(mail.iter().all(|m| m.body_text.contains(ORG)));
    // Without SMTP, the worker delivers to the mail log in the data directory.
    let log = app.data_dir.join("mail.log");
    let mut delivered = String::new();
    for _ in 0..100 {
        delivered = std::fs::read_to_string(&log).unwrap_or_default();
        if delivered.contains("You were removed from") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered.contains("To: admin@acme.test"), "{delivered}");
    assert!(delivered.contains("You were removed from"), "{delivered}");
}

async fn look_alike_addresses_are_one_account_and_invisible_characters_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let made = owner
        .create_member(ORG, &with_email("pam@acme.test"))
        .await
        .unwrap();
    let password = made.temporary_password.expect("a new account");
    // Fullwidth letters and case are the same address: the same member.
    for same in ["\u{FF50}am@acme.test", "PAM@\u{FF41}cme.test"] {
        owner
            .create_member(ORG, &with_email(same))
            .await
            .refused(409, "already_member");
    }
    // Invisible and direction-changing characters make no second account.
    for bad in [
        "pam\u{200B}@acme.test",
        "\u{202E}pam@acme.test",
        "pam@acme\u{2060}.test",
    ] {
        owner
            .create_member(ORG, &with_email(bad))
            .await
            .refused(422, "validation_failed");
    }
    let page = app.users(ORG, &owner, "email=pam").await;
    assert_eq!(emails(&page), ["pam@acme.test"]);
    // Signing in with a look-alike spelling reaches the one account.
    let signed_in = app.login_res("\u{FF30}AM@acme.test", &password).await;
    assert_eq!(signed_in.unwrap().user.email, "pam@acme.test");
}
