//! `roster login --sso EMAIL`: single sign-on from the terminal, as
//! `vault login -method=oidc` and `gh auth login --web` do it.
//!
//! The command listens on a loopback port of this machine, prints the
//! sign-in URL (and opens it in a browser unless `--no-browser`), and waits.
//! The URL begins the sign-in at the server with this receiver as the
//! place to come back to and the S256 challenge of a verifier only this
//! process knows. After the provider, the server sends the browser to the
//! receiver with a one-time code; the command trades code and verifier for
//! a session with the server (`POST
//! /auth/sso/exchange`). No token is ever in a URL: the code alone is
//! useless to whoever sees it, and it never leaves this machine.

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use rand::RngCore;
use roster_client::Client;
use roster_proto::{LoginResponse, SecondFactorRequest, SsoExchangeRequest};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the command waits for the browser to come back.
const WAIT: Duration = Duration::from_secs(300);

/// Runs the sign-in; returns the new session.
pub async fn login(
    client: &Client,
    server: &str,
    email: &str,
    open_browser: bool,
) -> anyhow::Result<LoginResponse> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port for the sign-in to come back to")?;
    let port = listener.local_addr()?.port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&format!(
        "{}/api/v1/auth/sso/start",
        server.trim_end_matches('/')
    ))?;
    url.query_pairs_mut()
        .append_pair("email", email)
        .append_pair("redirect_uri", &redirect)
        .append_pair("code_challenge", &challenge);
    say(&format!(
        "Sign in through your identity provider in a browser:\n\n  {url}\n"
    ));
    if open_browser {
        open(url.as_str());
    }
    say(&format!(
        "Waiting for the browser to come back to {redirect} ..."
    ));
    let code = tokio::time::timeout(WAIT, receive(&listener))
        .await
        .map_err(|_| {
            anyhow!(
                "no sign-in came back within {} minutes",
                WAIT.as_secs() / 60
            )
        })??;
    let resp = client
        .sso_exchange(&SsoExchangeRequest { code, verifier })
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if resp.mfa_required {
        // The account has a second factor: the provider vouched for the
        // email, the code vouches for the account.
        let code = super::mfa::ask_code(
            false,
            "Code from your authenticator app (or a recovery code): ",
            "this account has a second factor and there is no terminal to ask for it on",
        )?;
        let (totp_code, recovery_code) = super::mfa::code_fields(&code);
        client
            .clone()
            .with_token(resp.token.clone())
            .give_second_factor(&SecondFactorRequest {
                totp_code,
                recovery_code,
                passkey: None,
            })
            .await
            .map_err(|e| anyhow!("{e}"))?;
        return Ok(LoginResponse {
            mfa_required: false,
            ..resp
        });
    }
    Ok(resp)
}

/// A line for the person at the terminal (stderr: stdout stays the
/// result); a closed stderr is no reason to fail.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Tries to open `url` in the desktop's browser; silently does nothing
/// where there is none (the URL is printed anyway).
fn open(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Answers requests on the loopback receiver until one brings the code
/// (or the server's refusal).
async fn receive(listener: &tokio::net::TcpListener) -> anyhow::Result<String> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut buf = vec![0u8; 8192];
        let mut n = 0;
        // Read the request head (the request line is all that matters).
        while n < buf.len() {
            let got = stream.read(&mut buf[n..]).await?;
            if got == 0 {
                break;
            }
            n += got;
            if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let head = String::from_utf8_lossy(&buf[..n]);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("");
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
            reply(&mut stream, 400, "Not a sign-in.").await;
            continue;
        };
        if url.path() != "/callback" {
            reply(&mut stream, 404, "Not a sign-in.").await;
            continue;
        }
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned());
        match code {
            Some(code) if code.starts_with("rsh_") && code.len() < 200 => {
                reply(
                    &mut stream,
                    200,
                    "Signed in to Roster. You can close this tab and return to the terminal.",
                )
                .await;
                return Ok(code);
            }
            _ => {
                reply(&mut stream, 400, "This is not a sign-in result.").await;
                bail!("the browser came back without a sign-in code");
            }
        }
    }
}

async fn reply(stream: &mut tokio::net::TcpStream, status: u16, text: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!("<!doctype html><meta charset=utf-8><title>Roster</title><p>{text}</p>");
    let res = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(res.as_bytes()).await;
    let _ = stream.shutdown().await;
}
