//! What Roster tells people by email: typed notices that use cases emit
//! (`Change::notify`), rendered by the text templates in
//! `crates/server/templates/notices/` (first line the subject, the rest the
//! body). No use case writes a message's words itself.

use super::error::Result;
use askama::Template;

/// How a person added to an org signs in, as the welcome tells them.
pub enum SignIn {
    /// A new password account: a one-time link to choose the password.
    SetPassword { link: String },
    /// They already have an account.
    ExistingAccount,
    /// Through the org's single sign-on.
    SingleSignOn { provider: String },
}

macro_rules! notices {
    ($($variant:ident($ty:ident) = $kind:literal, $file:literal { $($field:ident: $fty:ty),* $(,)? })*) => {
        $(
            #[derive(Template)]
            #[template(path = $file, escape = "none")]
            pub struct $ty {
                $(pub $field: $fty,)*
            }
        )*

        /// A message to one person about something that happened.
        pub enum Notice {
            $($variant($ty),)*
        }

        impl Notice {
            /// The kind stored with the message in the outbox.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Notice::$variant(_) => $kind,)*
                }
            }

            fn render_text(&self) -> askama::Result<String> {
                match self {
                    $(Notice::$variant(n) => n.render(),)*
                }
            }
        }
    };
}

notices! {
    Invitation(InvitationNotice) = "invitation", "notices/invitation.txt" {
        inviter_name: String,
        inviter_email: String,
        org_name: String,
        role: String,
        email: String,
        link: String,
        expires: String,
    }
    Welcome(WelcomeNotice) = "welcome", "notices/welcome.txt" {
        by_name: String,
        by_email: String,
        org_name: String,
        email: String,
        how: SignIn,
    }
    RoleChanged(RoleChangedNotice) = "role_changed", "notices/role_changed.txt" {
        name: String,
        org_name: String,
        from: String,
        to: String,
        by: String,
    }
    MemberDisabled(MemberDisabledNotice) = "member_disabled", "notices/member_disabled.txt" {
        name: String,
        org_name: String,
        by: String,
    }
    MemberEnabled(MemberEnabledNotice) = "member_enabled", "notices/member_enabled.txt" {
        name: String,
        org_name: String,
    }
    MemberRemoved(MemberRemovedNotice) = "member_removed", "notices/member_removed.txt" {
        name: String,
        org_name: String,
        by: String,
    }
    SignupExistingAccount(SignupExistingAccountNotice) = "signup_existing_account", "notices/signup_existing_account.txt" {
        org_name: String,
    }
    SignupConfirm(SignupConfirmNotice) = "signup_confirm", "notices/signup_confirm.txt" {
        name: String,
        org_name: String,
        link: String,
    }
    SignupToReview(SignupToReviewNotice) = "signup_review", "notices/signup_review.txt" {
        approver_name: String,
        name: String,
        email: String,
        org_name: String,
        org_slug: String,
        user_id: i64,
    }
    SignupApproved(SignupApprovedNotice) = "signup_approved", "notices/signup_approved.txt" {
        name: String,
        org_name: String,
        by: String,
        role: String,
    }
    SignupRejected(SignupRejectedNotice) = "signup_rejected", "notices/signup_rejected.txt" {
        name: String,
        org_name: String,
    }
    ReviewRequested(ReviewRequestedNotice) = "review_request", "notices/review_request.txt" {
        id: i64,
        requester: String,
        action: String,
        resource: String,
        org_name: String,
        org_slug: String,
        minutes: i64,
        reason: String,
    }
    TokenRevoked(TokenRevokedNotice) = "token_revoked", "notices/token_revoked.txt" {
        name: String,
        token_name: String,
        org_name: String,
        by: String,
    }
    MfaReset(MfaResetNotice) = "mfa_reset", "notices/mfa_reset.txt" {
        name: String,
        org_name: String,
        by: String,
    }
    PasswordReset(PasswordResetNotice) = "password_reset", "notices/password_reset.txt" {
        name: String,
        link: String,
        minutes: i64,
        by: Option<String>,
    }
    MagicLink(MagicLinkNotice) = "magic_link", "notices/magic_link.txt" {
        name: String,
        link: String,
        minutes: i64,
    }
    ReviewDecided(ReviewDecidedNotice) = "review_decision", "notices/review_decision.txt" {
        id: i64,
        action: String,
        resource: String,
        org_name: String,
        outcome: String,
        by: String,
        allowed_minutes: Option<i64>,
    }
}

/// A notice in words: its subject and its plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
}

impl Notice {
    /// The notice's subject and body, from its template.
    pub fn render(&self) -> Result<Rendered> {
        let all = self
            .render_text()
            .map_err(|e| anyhow::anyhow!("the {} notice did not render: {e}", self.kind()))?;
        let (subject, text) = all.split_once('\n').unwrap_or((all.as_str(), ""));
        Ok(Rendered {
            subject: subject.trim().to_owned(),
            text: text.trim_end().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_renders_its_subject_and_body_from_its_template() {
        let n = Notice::ReviewDecided(ReviewDecidedNotice {
            id: 7,
            action: "clusters:deploy".into(),
            resource: "clusters/eu-1".into(),
            org_name: "Acme".into(),
            outcome: "approved".into(),
            by: "boss@acme.test".into(),
            allowed_minutes: Some(120),
        });
        let r = n.render().unwrap();
        assert_eq!(n.kind(), "review_decision");
        assert_eq!(r.subject, "Request 7 approved");
        assert_eq!(
            r.text,
            "Your request 7 to do clusters:deploy on clusters/eu-1 in Acme was approved by boss@acme.test. It is allowed for 120 minutes."
        );
    }

    #[test]
    fn the_welcome_says_how_to_sign_in() {
        let welcome = |how| {
            Notice::Welcome(WelcomeNotice {
                by_name: "Boss".into(),
                by_email: "boss@acme.test".into(),
                org_name: "Acme".into(),
                email: "new@acme.test".into(),
                how,
            })
            .render()
            .unwrap()
        };
        let r = welcome(SignIn::SetPassword {
            link: "https://roster.test/set-password/rsp_x".into(),
        });
        assert_eq!(r.subject, "Welcome to Acme on Roster");
        assert_eq!(
            r.text,
            "Hello,\n\nBoss (boss@acme.test) added you to the organization Acme on Roster.\n\n\
             Choose your password here (the link works once, for 72 hours):\n\
             https://roster.test/set-password/rsp_x\n\n\
             Then sign in with: roster login --email new@acme.test"
        );
        assert!(welcome(SignIn::ExistingAccount).text.ends_with(
            "Sign in with your existing Roster account: roster login --email new@acme.test"
        ));
        assert!(welcome(SignIn::SingleSignOn {
            provider: "okta".into()
        })
        .text
        .ends_with("single sign-on (okta)."));
    }
}
