//! What the client sends and how it reads the answers, against a one-shot
//! server on loopback that answers with a canned response and hands back
//! the request it read.

#![allow(clippy::unwrap_used)]

use super::*;
use roster_proto::{
    AcceptInvitationRequest, AccessRuleRequest, ApproveRequest, CheckRequest, GroupMemberRequest,
    GroupRequest, ResourceUpdateRequest, ReviewDecisionRequest, ReviewPolicyView, SignupRequest,
    SlackConnectRequest, SlackLinkRequest,
};
use std::future::Future;

const NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";

const TOKEN: Option<&str> = Some("tok-1");

/// A response with a body of `content_type`.
fn response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A `200 OK` with a JSON body.
fn ok(body: &str) -> String {
    response("200 OK", "application/json", body)
}

/// A problem document with `code` (and `detail`), answered with `status`
/// (e.g. `404 Not Found`).
fn problem(status: &str, code: &str, detail: &str) -> String {
    let (number, title) = status.split_once(' ').unwrap();
    let body = format!(
        r#"{{"type":"about:blank","title":"{title}","status":{number},"code":"{code}","detail":"{detail}"}}"#
    );
    response(status, "application/problem+json", &body)
}

/// A one-shot HTTP server on a free port: answers the first request with
/// `response` and hands back the request it read.
fn one_shot_server(response: String) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the head and, when announced, the body.
        loop {
            let n = stream.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_string)
                    })
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length || n == 0 {
                    break;
                }
            }
        }
        stream.write_all(response.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).to_string()
    });
    (url, handle)
}

/// Runs `call` with a client of a one-shot server answering `response`,
/// holding `token` if any; returns what the server read and what the call
/// returned.
async fn answer<T, F>(
    response: String,
    token: Option<&str>,
    call: impl FnOnce(Client) -> F,
) -> (Sent, T)
where
    F: Future<Output = T>,
{
    let (url, server) = one_shot_server(response);
    let mut client = Client::new(&url).unwrap();
    if let Some(token) = token {
        client = client.with_token(token);
    }
    let returned = call(client).await;
    (Sent(server.join().unwrap()), returned)
}

/// A request as the one-shot server read it.
struct Sent(String);

impl Sent {
    /// Asserts the request line (`METHOD /path?query`, compared without
    /// case) and the bearer token, or that none was sent.
    #[track_caller]
    fn is(&self, line: &str, token: Option<&str>) -> &Sent {
        let request = &self.0;
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with(&format!("{} ", line.to_ascii_lowercase())),
            "{request}"
        );
        match token {
            Some(token) => assert!(
                lower.contains(&format!("authorization: bearer {token}")),
                "{request}"
            ),
            None => assert!(!lower.contains("authorization:"), "{request}"),
        }
        self
    }

    /// Asserts the body, `""` for none.
    #[track_caller]
    fn body(&self, body: &str) -> &Sent {
        let request = &self.0;
        let (_, sent) = request.split_once("\r\n\r\n").unwrap();
        assert_eq!(sent, body, "{request}");
        self
    }

    /// Whether a header line starts with `name:` (compared without case).
    fn has_header(&self, name: &str) -> bool {
        let lower = self.0.to_ascii_lowercase();
        lower.contains(&format!("\r\n{}:", name.to_ascii_lowercase()))
    }
}

/// Asserts an error's status and problem code.
#[track_caller]
fn assert_problem<T: fmt::Debug>(result: Result<T, ClientError>, status: u16, code: &str) {
    let err = result.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(status), Some(code)));
}

// --- the request core ---------------------------------------------------------

#[test]
fn base_urls_must_be_http_with_a_host() {
    assert!(Client::new("http://127.0.0.1:8080").is_ok());
    assert!(Client::new("https://example.com/roster/").is_ok());
    for bad in [
        "",
        "127.0.0.1:8080",
        "ftp://example.com",
        "mailto:a@b.c",
        "http://x/?a=b",
    ] {
        let err = Client::new(bad).err();
        assert!(
            matches!(err, Some(ClientError::InvalidUrl { .. })),
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn api_paths_keep_the_prefix_and_encode_segments() {
    let base = parse_base_url("https://example.com/roster/").unwrap();
    let url = api_url(&base, &["orgs", "a/b c", "users"]).unwrap();
    assert_eq!(
        url.as_str(),
        "https://example.com/roster/api/v1/orgs/a%2Fb%20c/users"
    );
    let root = parse_base_url("http://127.0.0.1:8080").unwrap();
    let url = api_url(&root, &["me"]).unwrap();
    assert_eq!(url.as_str(), "http://127.0.0.1:8080/api/v1/me");
}

#[test]
fn raw_paths_join_onto_the_prefix() {
    let base = parse_base_url("http://h:1/p/").unwrap();
    let joined = join_raw(&base, "/api/v1/orgs?limit=2").unwrap();
    assert_eq!(joined.as_str(), "http://h:1/p/api/v1/orgs?limit=2");
}

#[tokio::test]
async fn requests_carry_the_cli_agent_and_the_token() {
    let (sent, result) = answer(
        problem("404 Not Found", "not_found", "x"),
        TOKEN,
        |c| async move { c.member("acme", 7).await },
    )
    .await;
    sent.is("GET /api/v1/orgs/acme/users/7", TOKEN);
    assert!(
        sent.0
            .to_ascii_lowercase()
            .contains(&format!("user-agent: {USER_AGENT}")),
        "{}",
        sent.0
    );
    let err = result.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some("not_found"));
    assert_eq!(err.to_string(), "Not Found: x");
}

#[tokio::test]
async fn a_client_can_send_another_agent_and_see_every_response() {
    let (url, server) = one_shot_server(problem("403 Forbidden", "forbidden", "no"));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let client = Client::builder(&url)
        .user_agent("roster-tests/1")
        .inspect_responses(move |resp| {
            let content_type = resp.headers().get("content-type").cloned();
            record
                .lock()
                .unwrap()
                .push((resp.status().as_u16(), content_type));
        })
        .build()
        .unwrap();
    assert_problem(client.orgs().await, 403, "forbidden");
    let request = server.join().unwrap().to_ascii_lowercase();
    assert!(
        request.contains("user-agent: roster-tests/1\r\n"),
        "{request}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, 403);
    assert_eq!(seen[0].1.as_ref().unwrap(), "application/problem+json");
}

#[test]
fn an_agent_that_is_no_header_value_is_refused() {
    let err = Client::builder("http://127.0.0.1:1")
        .user_agent("bad\nagent")
        .build()
        .unwrap_err();
    assert!(matches!(err, ClientError::Http(_)), "{err:?}");
}

#[tokio::test]
async fn raw_requests_return_any_status_and_body() {
    let body = serde_json::json!({"emial": "typo@example.com"});
    let (sent, result) = answer(
        response("400 Bad Request", "text/plain", "not json"),
        None,
        |c| async move {
            c.request_json(Method::POST, "/api/v1/orgs/acme/users", Some(&body))
                .await
        },
    )
    .await;
    sent.is("POST /api/v1/orgs/acme/users", None)
        .body(r#"{"emial":"typo@example.com"}"#);
    let (status, value) = result.unwrap();
    assert_eq!(status, 400);
    assert_eq!(value, serde_json::Value::String("not json".into()));
}

#[tokio::test]
async fn an_unreachable_server_is_named_in_the_error() {
    // Bind then drop: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, ClientError::Http(_)));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot reach the Roster server at http://127.0.0.1:{port}"
        )),
        "{message}"
    );
}

// --- invitations and self-registration ----------------------------------------

const ACCEPTED: &str = r#"{"org":"acme","user_id":9,"role":"viewer","account_created":true}"#;

#[tokio::test]
async fn accepting_signed_in_sends_the_token_and_an_empty_body() {
    let token = Some("tok-9");
    let (sent, resp) = answer(ok(ACCEPTED), token, |c| async move {
        c.accept_invitation("rsi_abc", &AcceptInvitationRequest::default())
            .await
    })
    .await;
    sent.is("POST /api/v1/invitations/rsi_abc/accept", token)
        .body("{}");
    let resp = resp.unwrap();
    assert_eq!(resp.org, "acme");
    assert!(resp.account_created);
}

#[tokio::test]
async fn accepting_as_a_newcomer_sends_name_and_password_without_a_token() {
    let body = AcceptInvitationRequest {
        name: Some("Pam".into()),
        password: Some("a long secret".into()),
    };
    let (sent, resp) = answer(ok(ACCEPTED), None, |c| async move {
        c.accept_invitation("rsi_x/y", &body).await
    })
    .await;
    // The token stays one path segment.
    sent.is("POST /api/v1/invitations/rsi_x%2fy/accept", None)
        .body(r#"{"name":"Pam","password":"a long secret"}"#);
    resp.unwrap();
}

#[tokio::test]
async fn signing_up_posts_the_request_without_a_token() {
    let body = SignupRequest {
        org: "dunder-mifflin".into(),
        email: "kevin@dm.test".into(),
        name: "Kevin".into(),
        password: "a long secret".into(),
    };
    let accepted = response(
        "202 Accepted",
        "application/json",
        r#"{"status":"reviewing"}"#,
    );
    let (sent, resp) = answer(accepted, None, |c| async move { c.signup(&body).await }).await;
    sent.is("POST /api/v1/signup", None).body(
        r#"{"org":"dunder-mifflin","email":"kevin@dm.test","name":"Kevin","password":"a long secret"}"#,
    );
    assert_eq!(resp.unwrap().status, "reviewing");
}

#[tokio::test]
async fn signup_refusals_keep_their_code() {
    let refusal = problem(
        "429 Too Many Requests",
        "too_many_attempts",
        "try again later",
    );
    let body = SignupRequest {
        org: "acme".into(),
        email: "a@acme.test".into(),
        name: "A".into(),
        password: "a-password-123".into(),
    };
    let (_, result) = answer(refusal, None, |c| async move { c.signup(&body).await }).await;
    assert_problem(result, 429, "too_many_attempts");
}

const APPROVED: &str = r#"{"id":7,"email":"kevin@dm.test","name":"Kevin","role":"contributor","team":"","groups":[],"status":"active","identity_provider":"password","mfa_required":false,"joined_at":"2025-01-01T00:00:00Z","last_active_at":null}"#;

#[tokio::test]
async fn approving_posts_the_role_to_the_member() {
    let body = ApproveRequest {
        role: Some("contributor".into()),
    };
    let (sent, member) = answer(ok(APPROVED), TOKEN, |c| async move {
        c.approve_member("acme", 7, &body).await
    })
    .await;
    sent.is("POST /api/v1/orgs/acme/users/7/approve", TOKEN)
        .body(r#"{"role":"contributor"}"#);
    let member = member.unwrap();
    assert_eq!(member.status, "active");
    assert_eq!(member.role, "contributor");
}

#[tokio::test]
async fn approving_with_the_default_role_sends_an_empty_object() {
    let conflict = problem("409 Conflict", "not_reviewing", "user 7 is not waiting");
    let (sent, result) = answer(conflict, TOKEN, |c| async move {
        c.approve_member("acme", 7, &ApproveRequest::default())
            .await
    })
    .await;
    sent.body("{}");
    assert_problem(result, 409, "not_reviewing");
}

#[tokio::test]
async fn rejecting_posts_without_a_body() {
    let (sent, result) = answer(NO_CONTENT.into(), TOKEN, |c| async move {
        c.reject_member("acme", 8).await
    })
    .await;
    sent.is("POST /api/v1/orgs/acme/users/8/reject", TOKEN)
        .body("");
    assert!(!sent.has_header("content-type"), "{}", sent.0);
    result.unwrap();
}

// --- Slack ----------------------------------------------------------------------

const SLACK_CONNECTION: &str = r#"{"team_id":"T123","channel":"C456","api_base_url":"https://slack.com/api","connected_at":"2025-01-01T00:00:00Z"}"#;

#[tokio::test]
async fn showing_the_slack_connection_gets_it() {
    let (sent, view) = answer(ok(SLACK_CONNECTION), TOKEN, |c| async move {
        c.slack_connection("acme").await
    })
    .await;
    sent.is("GET /api/v1/orgs/acme/integrations/slack", TOKEN);
    let view = view.unwrap();
    assert_eq!(view.team_id, "T123");
    assert_eq!(view.channel, "C456");
}

#[tokio::test]
async fn an_org_without_slack_answers_not_found() {
    let missing = problem("404 Not Found", "not_found", "acme is not connected");
    let (_, result) = answer(missing, TOKEN, |c| async move {
        c.slack_connection("acme").await
    })
    .await;
    assert_problem(result, 404, "not_found");
}

#[tokio::test]
async fn connecting_slack_puts_the_secrets_and_the_channel() {
    let body = SlackConnectRequest {
        signing_secret: "s3cret".into(),
        bot_token: "xoxb-1".into(),
        channel: "C456".into(),
        api_base_url: None,
    };
    let (sent, view) = answer(ok(SLACK_CONNECTION), TOKEN, |c| async move {
        c.connect_slack("acme", &body).await
    })
    .await;
    // An unset api_base_url is left out.
    sent.is("PUT /api/v1/orgs/acme/integrations/slack", TOKEN)
        .body(r#"{"signing_secret":"s3cret","bot_token":"xoxb-1","channel":"C456"}"#);
    assert_eq!(view.unwrap().api_base_url, "https://slack.com/api");
}

#[tokio::test]
async fn disconnecting_slack_deletes_the_connection() {
    let (sent, result) = answer(NO_CONTENT.into(), TOKEN, |c| async move {
        c.disconnect_slack("acme").await
    })
    .await;
    sent.is("DELETE /api/v1/orgs/acme/integrations/slack", TOKEN)
        .body("");
    result.unwrap();
}

#[tokio::test]
async fn linking_slack_posts_the_code() {
    let body = SlackLinkRequest {
        code: "ABC-123".into(),
    };
    let (sent, result) = answer(NO_CONTENT.into(), TOKEN, |c| async move {
        c.link_slack("acme", &body).await
    })
    .await;
    sent.is("POST /api/v1/orgs/acme/integrations/slack/link", TOKEN)
        .body(r#"{"code":"ABC-123"}"#);
    result.unwrap();
}

#[tokio::test]
async fn a_bad_link_code_keeps_its_code() {
    let refusal = problem("404 Not Found", "invalid_link", "unknown, used or expired");
    let (_, result) = answer(refusal, TOKEN, |c| async move {
        c.link_slack("acme", &SlackLinkRequest { code: "x".into() })
            .await
    })
    .await;
    assert_problem(result, 404, "invalid_link");
}

// --- groups ---------------------------------------------------------------------

const GROUP: &str = r#"{"name":"dev","members":2,"created_at":"2025-01-01T00:00:00Z"}"#;

fn dev() -> GroupRequest {
    GroupRequest { name: "dev".into() }
}

#[tokio::test]
async fn listing_groups_gets_them() {
    let (sent, groups) = answer(ok(&format!("[{GROUP}]")), TOKEN, |c| async move {
        c.list_groups("acme").await
    })
    .await;
    sent.is("GET /api/v1/orgs/acme/groups", TOKEN);
    let groups = groups.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "dev");
    assert_eq!(groups[0].members, 2);
}

#[tokio::test]
async fn creating_a_group_posts_its_name_and_keeps_a_conflict_code() {
    let conflict = problem("409 Conflict", "group_exists", "acme already has dev");
    let (sent, result) = answer(conflict, TOKEN, |c| async move {
        c.create_group("acme", &dev()).await
    })
    .await;
    sent.is("POST /api/v1/orgs/acme/groups", TOKEN)
        .body(r#"{"name":"dev"}"#);
    assert_problem(result, 409, "group_exists");
}

#[tokio::test]
async fn a_created_group_is_decoded() {
    let created = response("201 Created", "application/json", GROUP);
    let (sent, group) = answer(created, TOKEN, |c| async move {
        c.create_group("acme", &GroupRequest { name: "Dev".into() })
            .await
    })
    .await;
    sent.body(r#"{"name":"Dev"}"#);
    let group = group.unwrap();
    assert_eq!(group.name, "dev");
    assert_eq!(group.members, 2);
}

#[tokio::test]
async fn showing_a_group_gets_it_with_its_members() {
    let body =
        format!(r#"{{"name":"dev","created_at":"2025-01-01T00:00:00Z","members":[{APPROVED}]}}"#);
    let (sent, group) = answer(ok(&body), TOKEN, |c| async move {
        c.group("acme", "dev/ops").await
    })
    .await;
    // The name stays one path segment.
    sent.is("GET /api/v1/orgs/acme/groups/dev%2fops", TOKEN);
    let group = group.unwrap();
    assert_eq!(group.name, "dev");
    assert_eq!(group.members.len(), 1);
    assert_eq!(group.members[0].email, "kevin@dm.test");
}

#[tokio::test]
async fn renaming_a_group_patches_the_new_name() {
    let (sent, group) = answer(ok(&GROUP.replace("dev", "ops")), TOKEN, |c| async move {
        c.rename_group("acme", "dev", &GroupRequest { name: "ops".into() })
            .await
    })
    .await;
    sent.is("PATCH /api/v1/orgs/acme/groups/dev", TOKEN)
        .body(r#"{"name":"ops"}"#);
    assert_eq!(group.unwrap().name, "ops");
}

#[tokio::test]
async fn deleting_a_group_sends_no_body() {
    let (sent, result) = answer(NO_CONTENT.into(), TOKEN, |c| async move {
        c.delete_group("acme", "dev").await
    })
    .await;
    sent.is("DELETE /api/v1/orgs/acme/groups/dev", TOKEN)
        .body("");
    result.unwrap();
}

#[tokio::test]
async fn adding_a_group_member_posts_the_user_id() {
    let (sent, result) = answer(NO_CONTENT.into(), TOKEN, |c| async move {
        c.add_group_member("acme", "dev", &GroupMemberRequest { user_id: 7 })
            .await
    })
    .await;
    sent.is("POST /api/v1/orgs/acme/groups/dev/members", TOKEN)
        .body(r#"{"user_id":7}"#);
    result.unwrap();
}

#[tokio::test]
async fn removing_a_group_member_deletes_by_user_id() {
    let (sent, result) = answer(NO_CONTENT.into(), TOKEN, |c| async move {
        c.remove_group_member("acme", "dev", 7).await
    })
    .await;
    sent.is("DELETE /api/v1/orgs/acme/groups/dev/members/7", TOKEN)
        .body("");
    result.unwrap();
}

// --- resources, roles, access and review requests -------------------------------

const RESOURCE: &str = r#"{"id":3,"key":"clusters/eu-1","type":"clusters","name":"eu-1","parent":"environments/prod","groups":["dev"],"review":{"actions":["clusters:deploy"],"approvals":2},"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}"#;

const RULE: &str = r#"{"id":4,"user":null,"group":"dev","role":"devops","resource":"projects/payments","created_at":"2025-01-01T00:00:00Z"}"#;

const REQUEST: &str = r#"{"id":5,"requester":"jim@dm.test","resource":"clusters/eu-1","action":"clusters:deploy","reason":"hotfix","duration_seconds":7200,"approvals_required":1,"status":"approved","created_at":"2025-01-01T00:00:00Z","decided_at":"2025-01-01T00:01:00Z","expires_at":"2025-01-01T02:01:00Z","votes":[]}"#;

#[test]
fn resource_keys_split_at_the_first_slash() {
    assert_eq!(
        resource_key_segments(" clusters/eu-1 "),
        ("clusters", "eu-1")
    );
    assert_eq!(resource_key_segments("a/b/c"), ("a", "b/c"));
    assert_eq!(resource_key_segments("clusters"), ("clusters", ""));
}

#[test]
fn resource_changes_leave_out_what_stays_and_send_null_to_clear() {
    let body = |u: ResourceUpdateRequest| serde_json::to_value(u).unwrap();
    assert_eq!(
        body(ResourceUpdateRequest {
            groups: Some(vec!["dev".into()]),
            ..Default::default()
        }),
        serde_json::json!({"groups": ["dev"]})
    );
    assert_eq!(
        body(ResourceUpdateRequest {
            parent: Some(None),
            review: Some(None),
            groups: None,
        }),
        serde_json::json!({"parent": null, "review": null})
    );
    assert_eq!(
        body(ResourceUpdateRequest {
            parent: Some(Some("projects/p".into())),
            groups: Some(Vec::new()),
            review: Some(Some(ReviewPolicyView {
                actions: vec!["clusters:deploy".into()],
                approvals: 2,
            })),
        }),
        serde_json::json!({
            "parent": "projects/p",
            "groups": [],
            "review": {"actions": ["clusters:deploy"], "approvals": 2},
        })
    );
    assert_eq!(
        body(ResourceUpdateRequest::default()),
        serde_json::json!({})
    );
}

#[tokio::test]
async fn a_resource_key_becomes_two_path_segments() {
    let (sent, r) = answer(ok(RESOURCE), TOKEN, |c| async move {
        c.resource("acme", "clusters/eu-1").await
    })
    .await;
    sent.is("GET /api/v1/orgs/acme/resources/clusters/eu-1", TOKEN);
    let r = r.unwrap();
    assert_eq!(r.key, "clusters/eu-1");
    assert_eq!(r.resource_type, "clusters");
    assert_eq!(r.review.unwrap().approvals, 2);
}

#[tokio::test]
async fn updating_a_resource_patches_only_what_changes() {
    let body = ResourceUpdateRequest {
        parent: Some(None),
        ..Default::default()
    };
    let (sent, result) = answer(ok(RESOURCE), TOKEN, |c| async move {
        c.update_resource("acme", "clusters/eu-1", &body).await
    })
    .await;
    sent.is("PATCH /api/v1/orgs/acme/resources/clusters/eu-1", TOKEN)
        .body(r#"{"parent":null}"#);
    result.unwrap();
}

#[tokio::test]
async fn deleting_a_resource_asks_for_a_cascade_only_when_wanted() {
    for (cascade, line) in [
        (
            true,
            "DELETE /api/v1/orgs/acme/resources/projects/p?cascade=true",
        ),
        (false, "DELETE /api/v1/orgs/acme/resources/projects/p"),
    ] {
        let (sent, result) = answer(NO_CONTENT.into(), TOKEN, |c| async move {
            c.delete_resource("acme", "projects/p", cascade).await
        })
        .await;
        sent.is(line, TOKEN);
        result.unwrap();
    }
}

#[tokio::test]
async fn deleting_a_role_names_the_replacement() {
    let body = r#"{"members":2,"pending_invitations":0,"rules":1,"replacement":"viewer"}"#;
    let (sent, deleted) = answer(ok(body), TOKEN, |c| async move {
        c.delete_role("acme", "devops", Some("viewer")).await
    })
    .await;
    sent.is(
        "DELETE /api/v1/orgs/acme/roles/devops?replacement=viewer",
        TOKEN,
    );
    let deleted = deleted.unwrap();
    assert_eq!(deleted.members, 2);
    assert_eq!(deleted.replacement.as_deref(), Some("viewer"));
}

#[tokio::test]
async fn a_grant_says_whether_the_rule_is_new() {
    for (status, created) in [("201 Created", true), ("200 OK", false)] {
        let body = AccessRuleRequest {
            user: None,
            group: Some("dev".into()),
            role: "devops".into(),
            resource: Some("projects/payments".into()),
        };
        let answered = response(status, "application/json", RULE);
        let (sent, grant) = answer(answered, TOKEN, |c| async move {
            c.grant_access("acme", &body).await
        })
        .await;
        sent.is("POST /api/v1/orgs/acme/access-rules", TOKEN);
        let grant = grant.unwrap();
        assert_eq!(grant.created, created, "{status}");
        assert_eq!(grant.rule.id, 4);
        assert_eq!(grant.rule.group.as_deref(), Some("dev"));
    }
}

#[tokio::test]
async fn a_check_posts_the_question_and_reads_the_answer() {
    let body = CheckRequest {
        user: "pam@dm.test".into(),
        action: "clusters:deploy".into(),
        resource: Some("clusters/eu-1".into()),
    };
    let denied = ok(r#"{"allowed":false,"reason":"denied: no grant","code":"no_grant"}"#);
    let (sent, resp) = answer(
        denied,
        TOKEN,
        |c| async move { c.check("acme", &body).await },
    )
    .await;
    sent.is("POST /api/v1/orgs/acme/check", TOKEN)
        .body(r#"{"user":"pam@dm.test","action":"clusters:deploy","resource":"clusters/eu-1"}"#);
    let resp = resp.unwrap();
    assert!(!resp.allowed);
    assert_eq!(resp.code, "no_grant");
    assert_eq!(resp.rule_id, None);
}

#[tokio::test]
async fn permissions_ask_about_one_resource() {
    let answered = ok(
        r#"{"user":7,"resource":"clusters/eu-1","permissions":[{"permission":"clusters:read","reason":"allowed by the org-wide role viewer"}]}"#,
    );
    let (sent, resp) = answer(answered, TOKEN, |c| async move {
        c.permissions("acme", 7, Some("clusters/eu-1")).await
    })
    .await;
    sent.is(
        "GET /api/v1/orgs/acme/users/7/permissions?resource=clusters%2Feu-1",
        TOKEN,
    );
    assert_eq!(resp.unwrap().permissions.len(), 1);
}

#[tokio::test]
async fn a_decision_without_a_comment_sends_an_empty_object() {
    let (sent, view) = answer(ok(REQUEST), TOKEN, |c| async move {
        c.approve_review_request("acme", 5, &ReviewDecisionRequest::default())
            .await
    })
    .await;
    sent.is("POST /api/v1/orgs/acme/requests/5/approve", TOKEN)
        .body("{}");
    assert_eq!(view.unwrap().status, "approved");

    let body = ReviewDecisionRequest {
        comment: Some("not now".into()),
    };
    let (sent, result) = answer(ok(REQUEST), TOKEN, |c| async move {
        c.reject_review_request("acme", 5, &body).await
    })
    .await;
    sent.is("POST /api/v1/orgs/acme/requests/5/reject", TOKEN)
        .body(r#"{"comment":"not now"}"#);
    result.unwrap();
}
