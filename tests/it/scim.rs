//! SCIM 2.0 provisioning (SPEC §3a, issue 19): SCIM tokens, the sequences
//! Okta and Entra ID send (as their public documentation shows them), the
//! rules of SPEC §2 under SCIM, bad input, and the public conformance
//! testers against the real binary.

use crate::both_engines;
use crate::helpers::*;
use reqwest::Method;
use roster_proto::{CreateOrgRequest, ScimTokenRequest, TokenRequest};
use serde_json::{json, Value};
use std::process::Command;

both_engines!(
    scim_tokens_are_shown_once_bound_to_one_org_and_stop_when_revoked,
    an_okta_shaped_sequence_leaves_the_team_list_and_groups_as_the_directory_says,
    an_entra_shaped_sequence_leaves_the_team_list_and_groups_as_the_directory_says,
    the_last_owner_cannot_be_deprovisioned_and_nothing_changes,
    a_deprovisioned_members_next_request_fails,
    lists_filter_page_in_a_stable_order_and_project_attributes,
    bad_input_gets_scim_errors_and_changes_nothing,
    etags_guard_writes_with_if_match,
    members_added_to_one_group_at_the_same_moment_all_stay,
    joining_a_mapped_directory_group_gives_its_role,
    one_user_name_posted_by_several_clients_at_once_is_created_once,
    a_group_the_directory_deletes_takes_its_access_away_at_the_next_check,
);

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM token of `acme`, made by its owner.
async fn scim_token(owner: &Api) -> String {
    owner
        .create_scim_token(
            ORG,
            &ScimTokenRequest {
                name: "directory".to_owned(),
                expires_at: None,
            },
        )
        .await
        .expect("SCIM token")
        .token
}

/// A SCIM request.
async fn scim(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Res {
    let res = app
        .send(method, &format!("/scim/v2{path}"), Some(token), body)
        .await;
    let ct = res
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if res.status.as_u16() != 204 {
        assert_eq!(
            ct, "application/scim+json",
            "{} {path}: {}",
            res.status, res.body
        );
    }
    res
}

/// Asserts a SCIM error: status, scimType, and the error schema.
#[track_caller]
fn scim_error(res: &Res, status: u16, scim_type: Option<&str>) {
    assert_eq!(res.status.as_u16(), status, "{}", res.body);
    assert_eq!(res.body["schemas"], json!([ERROR]), "{}", res.body);
    assert_eq!(res.body["status"], json!(status.to_string()));
    assert_eq!(res.body["scimType"].as_str(), scim_type, "{}", res.body);
}

fn patch(ops: Value) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": ops })
}

/// `org`'s team list as (email, name, status, team, groups), by email.
async fn team(app: &TestApp, owner: &Api) -> Vec<(String, String, String, String, Vec<String>)> {
    let page = app.users(ORG, owner, "limit=200").await;
    let mut rows: Vec<_> = page
        .items
        .iter()
        .map(|m| {
            let m = as_json(m);
            (
                m["email"].as_str().unwrap_or_default().to_owned(),
                m["name"].as_str().unwrap_or_default().to_owned(),
                m["status"].as_str().unwrap_or_default().to_owned(),
                m["team"].as_str().unwrap_or_default().to_owned(),
                serde_json::from_value(m["groups"].clone()).unwrap_or_default(),
            )
        })
        .collect();
    rows.sort();
    rows
}

async fn scim_audit(app: &TestApp, owner: &Api) -> Vec<roster_proto::AuditEventView> {
    app.audit(ORG, owner, "limit=200")
        .await
        .into_iter()
        .filter(|e| e.channel == "scim")
        .collect()
}

async fn scim_tokens_are_shown_once_bound_to_one_org_and_stop_when_revoked(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let made = owner
        .create_scim_token(
            ORG,
            &ScimTokenRequest {
                name: "okta".to_owned(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    owner.answered(201);
    assert!(made.token.starts_with("rsc_"));
    let listed = owner.list_scim_tokens(ORG).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(!as_json(&listed).to_string().contains(&made.token));
    // Not an API token: the API's token list does not hold it.
    assert!(owner.list_tokens(ORG, true).await.unwrap().items.is_empty());

    let users = scim(&app, Method::GET, "/Users", &made.token, None).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body["totalResults"], 1, "the owner: {}", users.body);

    // A SCIM token opens nothing of the API, and an API token nothing of SCIM.
    app.get("/api/v1/orgs/acme/users", &made.token)
        .await
        .expect(401, "unauthenticated");
    let api = owner
        .create_token(
            ORG,
            &TokenRequest {
                name: "ci".to_owned(),
                permissions: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let res = scim(&app, Method::GET, "/Users", &api.token, None).await;
    scim_error(&res, 401, None);
    let res = app.send(Method::GET, "/scim/v2/Users", None, None).await;
    assert_eq!(res.status, 401);

    // Only integrations:manage makes them.
    let (_, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    let refused = viewer
        .create_scim_token(
            ORG,
            &ScimTokenRequest {
                name: "mine".to_owned(),
                expires_at: None,
            },
        )
        .await;
    assert!(refused.is_err());
    viewer.answered(403);

    // Revoked: the next request fails.
    owner.revoke_scim_token(ORG, made.view.id).await.unwrap();
    let res = scim(&app, Method::GET, "/Users", &made.token, None).await;
    scim_error(&res, 401, None);
    let actions: Vec<String> = app
        .audit(ORG, &owner, "limit=100")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"scim_token.create".to_owned()));
    assert!(actions.contains(&"scim_token.revoke".to_owned()));
}

/// The requests Okta's SCIM 2.0 guide shows: look a person up by
/// userName, create them, deactivate and reactivate with a pathless
/// replace, update the profile with PUT, push a group and its members.
async fn an_okta_shaped_sequence_leaves_the_team_list_and_groups_as_the_directory_says(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;

    let found = scim(
        &app,
        Method::GET,
        "/Users?filter=userName%20eq%20%22dwight%40acme.test%22&startIndex=1&count=100",
        &token,
        None,
    )
    .await;
    assert_eq!(found.body["totalResults"], 0);
    let dwight = json!({
        "schemas": [USER],
        "userName": "dwight@acme.test",
        "name": {"givenName": "Dwight", "familyName": "Schrute"},
        "emails": [{"primary": true, "value": "dwight@acme.test", "type": "work"}],
        "displayName": "Dwight Schrute",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "active": true
    });
    let made = scim(&app, Method::POST, "/Users", &token, Some(dwight.clone())).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert!(made.headers.get("etag").is_some());
    assert_eq!(made.body["userName"], "dwight@acme.test");
    assert_eq!(made.body["meta"]["resourceType"], "User");

    let found = scim(
        &app,
        Method::GET,
        "/Users?filter=userName%20eq%20%22DWIGHT%40acme.test%22",
        &token,
        None,
    )
    .await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());

    // Deactivate, then reactivate, as Okta does.
    let off = scim(
        &app,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(patch(
            json!([{"op": "replace", "value": {"active": false}}]),
        )),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    let row = team(&app, &owner).await;
    assert!(row
        .iter()
        .any(|r| r.0 == "dwight@acme.test" && r.2 == "disabled"));
    let on = scim(
        &app,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(patch(json!([{"op": "replace", "value": {"active": true}}]))),
    )
    .await;
    assert_eq!(on.body["active"], true);

    // A profile update with PUT.
    let mut updated = dwight.clone();
    updated["id"] = json!(id);
    updated["displayName"] = json!("Dwight K. Schrute");
    updated["name"]["middleName"] = json!("Kurt");
    let put = scim(
        &app,
        Method::PUT,
        &format!("/Users/{id}"),
        &token,
        Some(updated),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["name"]["middleName"], "Kurt");

    // Push a group, add the person, rename the group, remove the person.
    let group = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({"schemas": [GROUP], "displayName": "Sales", "members": []})),
    )
    .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let added = scim(
        &app,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        &token,
        Some(patch(json!([{"op": "add", "path": "members",
            "value": [{"value": id, "display": "dwight@acme.test"}]}]))),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["members"][0]["value"], id.as_str());
    let renamed = scim(
        &app,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        &token,
        Some(patch(
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Sales EMEA"}}]),
        )),
    )
    .await;
    assert_eq!(renamed.body["displayName"], "Sales EMEA");
    let user = scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(user.body["groups"][0]["value"], gid.as_str());
    assert_eq!(user.body["groups"][0]["display"], "Sales EMEA");

    let rows = team(&app, &owner).await;
    let d = rows.iter().find(|r| r.0 == "dwight@acme.test").unwrap();
    assert_eq!(
        (d.1.as_str(), d.2.as_str(), d.4.clone()),
        ("Dwight K. Schrute", "active", vec!["sales-emea".to_owned()])
    );

    let removed = scim(
        &app,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        &token,
        Some(patch(
            json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
        )),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body.get("members").is_none());
    let rows = team(&app, &owner).await;
    assert!(rows
        .iter()
        .any(|r| r.0 == "dwight@acme.test" && r.4.is_empty()));

    // Every change is audited under the channel scim, by the directory.
    let events = scim_audit(&app, &owner).await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "member.create",
        "member.update",
        "group.create",
        "group.member_add",
        "group.rename",
        "group.member_remove",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(events
        .iter()
        .all(|e| as_json(&e.actor)["name"] == "SCIM directory"));
}

/// The requests Entra ID's provisioning service sends (its SCIM
/// documentation): create with the Enterprise extension, PATCH with
/// "Replace" and "False", an address set through a value filter, group
/// membership added and removed by value, and DELETE.
async fn an_entra_shaped_sequence_leaves_the_team_list_and_groups_as_the_directory_says(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;

    let jim = json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "jim",
        "userName": "Jim@acme.test",
        "active": true,
        "displayName": "Jim Halpert",
        "emails": [{"primary": true, "type": "work", "value": "jim@acme.test"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Jim Halpert", "familyName": "Halpert", "givenName": "Jim"},
        "title": "Sales",
        ENTERPRISE: {"department": "Sales", "employeeNumber": "7"}
    });
    let made = scim(&app, Method::POST, "/Users", &token, Some(jim)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body[ENTERPRISE]["department"], "Sales");

    let by_external = scim(
        &app,
        Method::GET,
        "/Users?filter=externalId%20eq%20%22jim%22",
        &token,
        None,
    )
    .await;
    assert_eq!(by_external.body["totalResults"], 1);

    let changed = scim(
        &app,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(patch(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "jim@home.example"},
            {"op": "Replace", "path": "name.givenName", "value": "James"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Paper"},
            {"op": "Replace", "value": {"displayName": "James Halpert"}}
        ]))),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["active"], false);
    assert_eq!(changed.body["name"]["givenName"], "James");
    assert_eq!(changed.body["emails"][1]["value"], "jim@home.example");
    let rows = team(&app, &owner).await;
    let j = rows.iter().find(|r| r.0 == "jim@acme.test").unwrap();
    assert_eq!(
        (j.1.as_str(), j.2.as_str(), j.3.as_str()),
        ("James Halpert", "disabled", "Paper")
    );
    let on = scim(
        &app,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(patch(
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )),
    )
    .await;
    assert_eq!(on.body["active"], true);

    let group = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(
            json!({"schemas": [GROUP], "externalId": "g1", "displayName": "Paper Sales",
            "meta": {"resourceType": "Group"}}),
        ),
    )
    .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let by_name = scim(
        &app,
        Method::GET,
        "/Groups?filter=displayName%20eq%20%22Paper%20Sales%22&excludedAttributes=members",
        &token,
        None,
    )
    .await;
    assert_eq!(by_name.body["totalResults"], 1);
    let add = scim(
        &app,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        &token,
        Some(patch(
            json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
        )),
    )
    .await;
    assert_eq!(add.status, 200, "{}", add.body);
    let rows = team(&app, &owner).await;
    assert!(rows
        .iter()
        .any(|r| r.0 == "jim@acme.test" && r.4 == vec!["paper-sales".to_owned()]));
    let remove = scim(
        &app,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        &token,
        Some(patch(
            json!([{"op": "Remove", "path": "members", "value": [{"value": id}]}]),
        )),
    )
    .await;
    assert_eq!(remove.status, 200, "{}", remove.body);
    let rows = team(&app, &owner).await;
    assert!(rows
        .iter()
        .any(|r| r.0 == "jim@acme.test" && r.4.is_empty()));

    let gone = scim(&app, Method::DELETE, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(gone.status, 204);
    let res = scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await;
    scim_error(&res, 404, None);
    let rows = team(&app, &owner).await;
    assert!(!rows.iter().any(|r| r.0 == "jim@acme.test"));
    assert_eq!(rows.len(), 1, "the owner stays: {rows:?}");
}

async fn the_last_owner_cannot_be_deprovisioned_and_nothing_changes(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    let found = scim(
        &app,
        Method::GET,
        "/Users?filter=userName%20eq%20%22owner%40acme.test%22",
        &token,
        None,
    )
    .await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    let id = found.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = team(&app, &owner).await;

    let res = scim(
        &app,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(patch(
            json!([{"op": "replace", "path": "active", "value": false}]),
        )),
    )
    .await;
    scim_error(&res, 409, None);
    let res = scim(&app, Method::DELETE, &format!("/Users/{id}"), &token, None).await;
    scim_error(&res, 409, None);
    let mut put = found.body["Resources"][0].clone();
    put["active"] = json!(false);
    let res = scim(
        &app,
        Method::PUT,
        &format!("/Users/{id}"),
        &token,
        Some(put),
    )
    .await;
    scim_error(&res, 409, None);

    assert_eq!(team(&app, &owner).await, before);
    owner.org(ORG).await.expect("the owner still works");
    assert!(scim_audit(&app, &owner).await.is_empty());
}

async fn a_deprovisioned_members_next_request_fails(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    let (id, member) = app
        .member(ORG, &owner, "kevin@acme.test", "contributor")
        .await;
    let api_token = member
        .create_token(
            ORG,
            &TokenRequest {
                name: "kevins".to_owned(),
                permissions: None,
                expires_at: None,
            },
        )
        .await
        .unwrap()
        .token;
    member.org(ORG).await.expect("a member works");
    app.get("/api/v1/orgs/acme", &api_token).await.ok();

    let off = scim(
        &app,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(patch(
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert!(member.org(ORG).await.is_err(), "the session stops at once");
    assert_eq!(app.get("/api/v1/orgs/acme", &api_token).await.status, 403);

    let gone = scim(&app, Method::DELETE, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(gone.status, 204);
    assert!(member.org(ORG).await.is_err());
    assert!(app
        .get("/api/v1/orgs/acme", &api_token)
        .await
        .status
        .is_client_error());
    // The account stays: its personal org still works.
    assert!(member.orgs().await.is_ok());
}

async fn lists_filter_page_in_a_stable_order_and_project_attributes(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    for i in 0..5 {
        let res = scim(
            &app,
            Method::POST,
            "/Users",
            &token,
            Some(json!({"schemas": [USER], "userName": format!("u{i}"),
                "emails": [{"value": format!("u{i}@acme.test"), "type": "work"}],
                "displayName": format!("User {i}")})),
        )
        .await;
        assert_eq!(res.status, 201, "{}", res.body);
    }
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let page = scim(
            &app,
            Method::GET,
            &format!("/Users?startIndex={start}&count=2"),
            &token,
            None,
        )
        .await;
        assert_eq!(page.body["totalResults"], 6);
        assert_eq!(page.body["startIndex"], start);
        for r in page.body["Resources"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_by_key(|s| s.parse::<i64>().unwrap());
    sorted.dedup();
    assert_eq!(seen, sorted, "every page in one order, no repeats");
    assert_eq!(seen.len(), 6);

    let zero = scim(&app, Method::GET, "/Users?count=0", &token, None).await;
    assert_eq!(zero.body["totalResults"], 6);
    assert_eq!(zero.body["itemsPerPage"], 0);

    let q = |f: &str| format!("/Users?filter={}", url_escape(f));
    for (f, n) in [
        (r#"userName sw "u" and not (userName eq "u0")"#, 4),
        (r#"emails.value ew "@acme.test""#, 6),
        (
            r#"displayName co "user" or userName eq "owner@acme.test""#,
            6,
        ),
        (
            r#"(userName eq "u1" or userName eq "u2") and active eq true"#,
            2,
        ),
        (r#"externalId pr"#, 0),
        (r#"userName ne "u1""#, 5),
        (r#"meta.lastModified gt "2000-01-01T00:00:00Z""#, 6),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, 0),
    ] {
        let res = scim(&app, Method::GET, &q(f), &token, None).await;
        assert_eq!(res.body["totalResults"], n, "{f}: {}", res.body);
    }

    let only = scim(
        &app,
        Method::GET,
        "/Users?attributes=userName&filter=userName%20eq%20%22u1%22",
        &token,
        None,
    )
    .await;
    let r = &only.body["Resources"][0];
    assert_eq!(r["userName"], "u1");
    assert!(r.get("emails").is_none() && r.get("id").is_some());
    let search = scim(
        &app,
        Method::POST,
        "/Users/.search",
        &token,
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"u2\"", "excludedAttributes": ["emails"]}),
        ),
    )
    .await;
    assert_eq!(search.body["totalResults"], 1);
    assert!(search.body["Resources"][0].get("emails").is_none());
}

fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn bad_input_gets_scim_errors_and_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    let made = scim(
        &app,
        Method::POST,
        "/Users",
        &token,
        Some(json!({"schemas": [USER], "userName": "oscar@acme.test",
            "emails": [{"value": "oscar@acme.test"}]})),
    )
    .await;
    let id = made.body["id"].as_str().unwrap().to_owned();
    let before = team(&app, &owner).await;
    let audited = scim_audit(&app, &owner).await.len();

    // Another org with a person and a group of its own.
    let other_org = owner
        .create_org(&CreateOrgRequest {
            slug: "globex".to_owned(),
            name: "Globex".to_owned(),
        })
        .await
        .unwrap();
    let _ = other_org;
    let other_token = owner
        .create_scim_token(
            "globex",
            &ScimTokenRequest {
                name: "theirs".to_owned(),
                expires_at: None,
            },
        )
        .await
        .unwrap()
        .token;
    let theirs = scim(
        &app,
        Method::POST,
        "/Users",
        &other_token,
        Some(json!({"schemas": [USER], "userName": "hank@globex.test",
            "emails": [{"value": "hank@globex.test"}]})),
    )
    .await;
    let their_user = theirs.body["id"].as_str().unwrap().to_owned();
    let their_group = scim(
        &app,
        Method::POST,
        "/Groups",
        &other_token,
        Some(json!({"schemas": [GROUP], "displayName": "Globex Ops"})),
    )
    .await;
    let their_group = their_group.body["id"].as_str().unwrap().to_owned();

    type Case = (Method, String, Option<Value>, u16, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/Users".into(),
            Some(
                json!({"schemas": [USER], "userName": "x@acme.test", "emails": [{"value": "x@acme.test"}], "shoeSize": 9}),
            ),
            400,
            Some("invalidSyntax"),
        ),
        (
            Method::POST,
            "/Users".into(),
            Some(
                json!({"schemas": [USER], "userName": "OSCAR@acme.test", "emails": [{"value": "o2@acme.test"}]}),
            ),
            409,
            Some("uniqueness"),
        ),
        (
            Method::POST,
            "/Users".into(),
            Some(json!({"schemas": [USER], "userName": "no-address"})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/Users".into(),
            Some(
                json!({"schemas": [USER], "userName": "sa", "emails": [{"value": "scim@org-1.service.invalid"}]}),
            ),
            400,
            Some("invalidValue"),
        ),
        (
            Method::GET,
            "/Users?filter=userName%20eq".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/Users?filter=shoeSize%20eq%20%229%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/Users?count=ten".into(),
            None,
            400,
            Some("invalidValue"),
        ),
        (
            Method::PATCH,
            format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "groups", "value": [{"value": "1"}]}]),
            )),
            400,
            Some("mutability"),
        ),
        (
            Method::PATCH,
            format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "id", "value": "1"}]),
            )),
            400,
            Some("mutability"),
        ),
        (
            Method::PATCH,
            format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "a"},
                {"op": "remove", "path": "userName"}]),
            )),
            400,
            Some("invalidValue"),
        ),
        (
            Method::PATCH,
            format!("/Users/{id}"),
            Some(json!({"Operations": [{"op": "replace", "path": "title", "value": "a"}]})),
            400,
            Some("invalidSyntax"),
        ),
        (Method::GET, format!("/Users/{their_user}"), None, 404, None),
        (
            Method::PATCH,
            format!("/Users/{their_user}"),
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
            404,
            None,
        ),
        (
            Method::DELETE,
            format!("/Users/{their_user}"),
            None,
            404,
            None,
        ),
        (
            Method::GET,
            format!("/Groups/{their_group}"),
            None,
            404,
            None,
        ),
        (
            Method::DELETE,
            format!("/Groups/{their_group}"),
            None,
            404,
            None,
        ),
        (Method::GET, "/Users/not-a-number".into(), None, 404, None),
        (Method::PUT, "/Schemas".into(), Some(json!({})), 405, None),
        (
            Method::POST,
            "/ServiceProviderConfig".into(),
            Some(json!({})),
            405,
            None,
        ),
        (Method::DELETE, "/ResourceTypes".into(), None, 405, None),
        (Method::GET, "/Schemas/urn:nothing".into(), None, 404, None),
        (Method::GET, "/Nowhere".into(), None, 404, None),
    ];
    for (method, path, body, status, scim_type) in cases {
        let res = scim(&app, method.clone(), &path, &token, body).await;
        assert_eq!(res.status.as_u16(), status, "{method} {path}: {}", res.body);
        scim_error(&res, status, scim_type);
    }

    // A count of a million is lowered to the server's maximum.
    let many = scim(&app, Method::GET, "/Users?count=1000000", &token, None).await;
    assert_eq!(many.status, 200);
    assert_eq!(many.body["itemsPerPage"], 2);
    assert_eq!(many.body["Resources"].as_array().unwrap().len(), 2);

    // The other org's people are still there, and ours are unchanged.
    let still = scim(
        &app,
        Method::GET,
        &format!("/Users/{their_user}"),
        &other_token,
        None,
    )
    .await;
    assert_eq!(still.status, 200);
    assert_eq!(team(&app, &owner).await, before);
    assert_eq!(scim_audit(&app, &owner).await.len(), audited);

    // Another org's people (and ids that are nobody's) never become
    // members: they are left out of the group.
    let mixed = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({"schemas": [GROUP], "displayName": "Mixed",
            "members": [{"value": their_user}, {"value": "fake-member-id"}, {"value": id}]})),
    )
    .await;
    assert_eq!(mixed.status, 201, "{}", mixed.body);
    let members = mixed.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{}", mixed.body);
    assert_eq!(members[0]["value"], id.as_str());
    let theirs = scim(
        &app,
        Method::GET,
        &format!("/Users/{their_user}"),
        &other_token,
        None,
    )
    .await;
    assert!(theirs.body.get("groups").is_none(), "{}", theirs.body);
    let before = team(&app, &owner).await;

    // A revoked token gets nothing.
    let listed = owner.list_scim_tokens(ORG).await.unwrap();
    owner
        .revoke_scim_token(ORG, listed.items[0].id)
        .await
        .unwrap();
    let res = scim(
        &app,
        Method::POST,
        "/Users",
        &token,
        Some(json!({"schemas": [USER], "userName": "late@acme.test", "emails": [{"value": "late@acme.test"}]})),
    )
    .await;
    scim_error(&res, 401, None);
    assert_eq!(team(&app, &owner).await, before);
}

async fn etags_guard_writes_with_if_match(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    let made = scim(
        &app,
        Method::POST,
        "/Users",
        &token,
        Some(json!({"schemas": [USER], "userName": "toby@acme.test",
            "emails": [{"value": "toby@acme.test"}]})),
    )
    .await;
    let id = made.body["id"].as_str().unwrap().to_owned();
    let etag = made.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(made.body["meta"]["version"], etag.as_str());

    let send = |etag: String, title: &'static str| {
        let http = app.http.clone();
        let url = format!("{}/scim/v2/Users/{id}", app.base);
        let token = token.clone();
        async move {
            http.patch(url)
                .bearer_auth(token)
                .header("if-match", etag)
                .header("content-type", "application/scim+json")
                .body(
                    patch(json!([{"op": "replace", "path": "title", "value": title}])).to_string(),
                )
                .send()
                .await
                .unwrap()
        }
    };
    let ok = send(etag.clone(), "HR").await;
    assert_eq!(ok.status(), 200);
    let new_etag = ok.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let stale = send(etag, "Party Planning").await;
    assert_eq!(stale.status(), 412);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["schemas"], json!([ERROR]));
    let now = scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(now.body["title"], "HR");
}

async fn members_added_to_one_group_at_the_same_moment_all_stay(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let res = scim(
            &app,
            Method::POST,
            "/Users",
            &token,
            Some(
                json!({"schemas": [USER], "userName": format!("p{i}@acme.test"),
                "emails": [{"value": format!("p{i}@acme.test")}]}),
            ),
        )
        .await;
        ids.push(res.body["id"].as_str().unwrap().to_owned());
    }
    let group = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({"schemas": [GROUP], "displayName": "Everyone"})),
    )
    .await;
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let adds = ids.iter().map(|id| {
        let (app, token, gid) = (&app, &token, &gid);
        async move {
            scim(
                app,
                Method::PATCH,
                &format!("/Groups/{gid}"),
                token,
                Some(patch(
                    json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
                )),
            )
            .await
            .status
        }
    });
    for status in futures::future::join_all(adds).await {
        assert_eq!(status, 200);
    }
    let now = scim(&app, Method::GET, &format!("/Groups/{gid}"), &token, None).await;
    assert_eq!(
        now.body["members"].as_array().map(Vec::len),
        Some(6),
        "{}",
        now.body
    );
}

/// Four clients create the same userName (in different cases, with
/// different addresses) at the same moment: one is created, the others get
/// 409 `uniqueness`, and none of their accounts became a member.
async fn one_user_name_posted_by_several_clients_at_once_is_created_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    let names = ["same.person", "Same.Person", "SAME.PERSON", "same.Person"];
    let creates = names.iter().enumerate().map(|(i, name)| {
        let (app, token) = (&app, &token);
        async move {
            scim(
                app,
                Method::POST,
                "/Users",
                token,
                Some(json!({"schemas": [USER], "userName": name,
                    "emails": [{"value": format!("same{i}@acme.test"), "primary": true}]})),
            )
            .await
        }
    });
    let answers = futures::future::join_all(creates).await;
    let created: Vec<&Res> = answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for res in answers.iter().filter(|r| r.status != 201) {
        scim_error(res, 409, Some("uniqueness"));
    }
    let found = scim(
        &app,
        Method::GET,
        "/Users?filter=userName%20eq%20%22SAME.person%22",
        &token,
        None,
    )
    .await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    assert_eq!(found.body["Resources"][0]["id"], created[0].body["id"]);
    let members: Vec<String> = team(&app, &owner).await.into_iter().map(|m| m.0).collect();
    let same: Vec<&String> = members.iter().filter(|e| e.starts_with("same")).collect();
    assert_eq!(same.len(), 1, "{members:?}");
}

/// The org's group mappings (shared with SSO) give roles to the members of
/// SCIM groups: joining "Platform Admins" makes a viewer an admin, the
/// first matching mapping with a role wins, and leaving it changes
/// nothing back (as with SSO: the role stays until a mapping says
/// otherwise). The last owner is never demoted by a mapping.
async fn joining_a_mapped_directory_group_gives_its_role(engine: Engine) {
    use roster_proto::{GroupMappingView, GroupMappings};
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let mapping = |claim: &str, role: &str| GroupMappingView {
        claim: claim.into(),
        group: None,
        role: Some(role.into()),
    };
    owner
        .set_group_mappings(
            ORG,
            &GroupMappings {
                mappings: vec![
                    mapping("Platform Admins", "admin"),
                    mapping("Everyone", "contributor"),
                ],
            },
        )
        .await
        .unwrap();
    let token = scim_token(&owner).await;
    let user = scim(
        &app,
        Method::POST,
        "/Users",
        &token,
        Some(json!({"schemas": [USER], "userName": "pat@acme.test",
            "emails": [{"value": "pat@acme.test"}]})),
    )
    .await;
    let pat = user.body["id"].as_str().unwrap().to_owned();
    let role_of = |email: &'static str| {
        let (app, owner) = (&app, &owner);
        async move {
            let page = app.users(ORG, owner, "limit=200").await;
            page.items
                .iter()
                .map(as_json)
                .find(|m| m["email"] == email)
                .map(|m| m["role"].as_str().unwrap().to_owned())
                .unwrap()
        }
    };
    let before = role_of("pat@acme.test").await;
    let group = |name: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            scim(
                app,
                Method::POST,
                "/Groups",
                token,
                Some(json!({"schemas": [GROUP], "displayName": name})),
            )
            .await
            .body["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let join = |gid: String, member: String| {
        let (app, token) = (&app, &token);
        async move {
            let res = scim(
                app,
                Method::PATCH,
                &format!("/Groups/{gid}"),
                token,
                Some(patch(
                    json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
                )),
            )
            .await;
            assert_eq!(res.status, 200, "{}", res.body);
        }
    };
    let everyone = group("Everyone").await;
    let admins = group("Platform Admins").await;
    join(everyone.clone(), pat.clone()).await;
    assert_eq!(
        role_of("pat@acme.test").await,
        "contributor",
        "was {before}"
    );
    join(admins.clone(), pat.clone()).await;
    assert_eq!(
        role_of("pat@acme.test").await,
        "admin",
        "the first matching mapping with a role wins"
    );
    let events = scim_audit(&app, &owner).await;
    assert!(
        events.iter().any(|e| e.action == "member.update"
            && e.details["by"] == "group mappings"
            && e.details["role_to"] == "admin"),
        "the mapped role is audited"
    );

    // The owner joins "Everyone" (contributor): the last owner stays owner.
    let me = scim(
        &app,
        Method::GET,
        &format!(
            "/Users?filter={}",
            url_escape("userName eq \"owner@acme.test\"")
        ),
        &token,
        None,
    )
    .await;
    let owner_id = me.body["Resources"][0]["id"].as_str().unwrap().to_owned();
    join(everyone, owner_id).await;
    assert_eq!(role_of(OWNER_EMAIL).await, "owner");
    assert!(scim_audit(&app, &owner)
        .await
        .iter()
        .any(|e| e.action == "member.update" && e.details["last_owner_kept"] == true));
}

/// Both public SCIM testers against the real binary: scim2-tester (every
/// check) and scim-sanity's probe.
#[test]
fn the_public_scim_testers_pass_against_the_real_binary() {
    let server = serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(async {
        let anon = Api::new(&server.url, None);
        let login = anon
            .login(&roster_proto::LoginRequest {
                email: "boss@dundermifflin.com".into(),
                password: "boss-password-1".into(),
                totp_code: None,
                recovery_code: None,
                passkey: None,
            })
            .await
            .expect("sign-in");
        let boss = Api::new(&server.url, Some(&login.token));
        boss.create_scim_token(
            "dunder",
            &ScimTokenRequest {
                name: "conformance".to_owned(),
                expires_at: None,
            },
        )
        .await
        .expect("SCIM token")
        .token
    });
    let base = format!("{}/scim/v2", server.url);

    let out = Command::new(pytool("scim2"))
        .args(["--url", &base, "--header"])
        .arg(format!("Authorization: Bearer {token}"))
        .args(["test", "-v"])
        .output()
        .expect("run scim2");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scim2-tester failed:\n{report}\n--- server log ---\n{}",
        server.log()
    );
    let passed = report.matches("SUCCESS").count();
    assert!(passed >= 100, "scim2-tester ran {passed} checks:\n{report}");

    let out = Command::new(pytool("scim-sanity"))
        .args(["probe", &base, "--token", &token, "--i-accept-side-effects"])
        .output()
        .expect("run scim-sanity");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scim-sanity failed:\n{report}\n--- server log ---\n{}",
        server.log()
    );
}

/// A group the directory deletes takes away the access its rules gave, at
/// the very next check (SPEC §2), applied to the org's index in place:
/// no full build of the org.
async fn a_group_the_directory_deletes_takes_its_access_away_at_the_next_check(engine: Engine) {
    use roster_proto::{AccessRuleRequest, CheckRequest};
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let token = scim_token(&owner).await;
    let user = scim(
        &app,
        Method::POST,
        "/Users",
        &token,
        Some(json!({"schemas": [USER], "userName": "pat@acme.test",
            "emails": [{"value": "pat@acme.test"}]})),
    )
    .await;
    let pat = user.body["id"].as_str().unwrap().to_owned();
    let group = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({"schemas": [GROUP], "displayName": "Deployers",
            "members": [{"value": pat}]})),
    )
    .await;
    assert_eq!(group.status.as_u16(), 201, "{}", group.body);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    owner
        .create_resource(ORG, &root_resource("clusters/eu-1"))
        .await
        .unwrap();
    owner
        .grant_access(
            ORG,
            &AccessRuleRequest {
                user: None,
                group: Some("Deployers".into()),
                role: "contributor".into(),
                resource: None,
            },
        )
        .await
        .unwrap();
    let may_update = || async {
        owner
            .check(
                ORG,
                &CheckRequest {
                    user: "pat@acme.test".into(),
                    action: "clusters:update".into(),
                    resource: Some("clusters/eu-1".into()),
                },
            )
            .await
            .unwrap()
            .allowed
    };
    // The org's index is built (the first check answers from a slice of
    // the org meanwhile).
    let org: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
        .bind(ORG)
        .fetch_one(app.app.store().pool())
        .await
        .unwrap();
    app.app
        .org_index(roster_domain::OrgId::new(org))
        .await
        .unwrap();
    assert!(may_update().await, "the group's rule gives pat the update");
    let before = app.app.authz_stats();
    let gone = scim(
        &app,
        Method::DELETE,
        &format!("/Groups/{group_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(gone.status.as_u16(), 204, "{}", gone.body);
    assert!(!may_update().await, "a deleted group gives nothing");
    let after = app.app.authz_stats();
    assert_eq!(
        after.full_builds, before.full_builds,
        "the org was built again"
    );
    assert!(after.deltas_applied > before.deltas_applied);
}
