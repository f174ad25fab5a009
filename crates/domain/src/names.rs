//! Newtypes for the values that enter Roster from outside: parse, don't
//! validate. Each type has a private field and a `parse` constructor.

use crate::DomainError;
use std::fmt;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// An email address in its one normal form, so that two spellings of the
/// same address are one `Email` and comparing is the case-insensitive
/// comparison SPEC §1 asks for: trimmed, NFKC-normalised (fullwidth
/// letters become ASCII), lower-cased, the domain through IDNA (UTS #46).
/// Invisible, bidirectional and other format characters are refused, so
/// `pam\u{200b}@example.com` cannot become a second account that looks
/// like Pam's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Characters that change how text reads without being seen: bidirectional
/// controls and marks, zero-width characters, variation selectors, fillers
/// and tags (Unicode's Default_Ignorable_Code_Point set, and the bidi
/// controls). None has a place in an email address.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}'
        | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        use unicode_normalization::UnicodeNormalization;
        let bad = |why: &str| Err(DomainError::invalid("email", why));
        let raw = raw.trim();
        if raw.len() > 4 * Self::MAX_LEN {
            return bad("an email address has at most 254 characters");
        }
        if raw.chars().any(is_invisible) {
            return bad("an email address has no invisible or direction-changing characters");
        }
        let s: String = raw
            .nfkc()
            .collect::<String>()
            .to_lowercase()
            .nfkc()
            .collect();
        if s.is_empty() {
            return bad("an email address is required");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("an email address has no spaces");
        }
        if s.chars().any(is_invisible) {
            return bad("an email address has no invisible or direction-changing characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("an email address looks like name@example.com");
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return bad("an email address looks like name@example.com");
        }
        let Ok(ascii) = idna::domain_to_ascii_strict(domain) else {
            return bad("the domain of an email address looks like example.com");
        };
        let labels_ok = ascii.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !ascii.contains('.') || !labels_ok {
            return bad("the domain of an email address looks like example.com");
        }
        let (domain, _) = idna::domain_to_unicode(&ascii);
        let email = format!("{local}@{domain}");
        if email.len() > Self::MAX_LEN {
            return bad("an email address has at most 254 characters");
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`, used for allowed-domain checks.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map(|(l, _)| l).unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organization's slug: the URL-safe, unique name used in paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgSlug(String);

impl OrgSlug {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if s.len() < 2 || s.len() > 63 || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(DomainError::invalid(
                "slug",
                "a slug has 2 to 63 characters a-z, 0-9 and '-', and starts and ends with a letter or digit",
            ));
        }
        Ok(OrgSlug(s.to_owned()))
    }

    /// The slug of a user's personal organization. Slugs starting with
    /// `personal-` are reserved for these; see [`OrgSlug::is_reserved`].
    pub fn personal(user_id: i64) -> Self {
        OrgSlug(format!("personal-{user_id}"))
    }

    /// Whether people may not pick this slug for a new organization.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with("personal-")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                let s = raw.trim();
                let n = s.chars().count();
                if !($min..=$max).contains(&n) || has_control(s) {
                    return Err(DomainError::invalid(
                        $field,
                        format!(
                            "{} has {} to {} characters and no control characters",
                            $field, $min, $max
                        ),
                    ));
                }
                Ok($name(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// A person's display name.
    DisplayName, "name", 1, 200
);
text_newtype!(
    /// An organization's display name.
    OrgName, "name", 1, 200
);
text_newtype!(
    /// A member's team: one free label such as "engineering"; may be empty.
    Team, "team", 0, 100
);

impl DisplayName {
    /// A name for an account created without one: the email's local part.
    pub fn from_email(email: &Email) -> Self {
        DisplayName(email.local_part().to_owned())
    }

    /// The lower-cased form that name filters match against.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A group's name within an organization: `dev`, `support`, `sre-oncall`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        let first_ok = s
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let ok = first_ok
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !ok {
            return Err(DomainError::invalid(
                "groups",
                format!("group name {raw:?} must have 1 to 63 characters a-z, 0-9, '-', '_' or '.', starting with a letter or digit"),
            ));
        }
        Ok(GroupName(s))
    }

    /// Parses a comma-separated list (`"dev, support"`), dropping empty
    /// entries and duplicates, sorted.
    pub fn parse_list<'a>(
        items: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<GroupName>, DomainError> {
        let mut out = Vec::new();
        for item in items {
            for part in item.split(',') {
                if part.trim().is_empty() {
                    continue;
                }
                out.push(GroupName::parse(part)?);
            }
        }
        out.sort();
        out.dedup();
        if out.len() > 100 {
            return Err(DomainError::invalid(
                "groups",
                "a member has at most 100 groups",
            ));
        }
        Ok(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a member signs in to an organization: `password`, or the name of one
/// of the organization's SSO connections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityProvider(String);

impl IdentityProvider {
    pub fn password() -> Self {
        IdentityProvider("password".to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_ascii_lowercase();
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(DomainError::invalid(
                "identity_provider",
                "identity_provider is `password` or the name of an SSO connection (a-z, 0-9, '-')",
            ));
        }
        Ok(IdentityProvider(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password in transit. Its `Debug` hides it, so it never reaches a log.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    /// A new password chosen by a person: long enough, not absurdly long.
    pub fn parse_new(raw: &str) -> Result<Self, DomainError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(DomainError::invalid(
                "password",
                format!("a password has at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "password",
                format!("a password has at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Password(raw.to_owned()))
    }

    /// A password offered at sign-in: only the length cap applies, so that
    /// a policy change never locks out an existing password.
    pub fn parse_offered(raw: &str) -> Result<Self, DomainError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::invalid("password", "password is too long"));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemberStatus;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        let e = Email::parse("  Michael@DunderMifflin.com ").unwrap();
        assert_eq!(e.as_str(), "michael@dundermifflin.com");
        assert_eq!(e.domain(), "dundermifflin.com");
        assert_eq!(e.local_part(), "michael");
    }

    #[test]
    fn look_alike_spellings_of_an_address_are_one_address() {
        let pam = Email::parse("pam@example.com").unwrap();
        // Fullwidth letters, a ligature and case fold to the same address.
        for same in [
            "\u{FF50}am@example.com",
            "PAM@EXAMPLE.COM",
            "pam@\u{FF45}xample.com",
            "pam@\u{FF25}\u{FF38}ample.com",
        ] {
            assert_eq!(Email::parse(same).unwrap(), pam, "{same:?}");
        }
        assert!(Email::parse("pam@example.com.").is_err());
        let ligature = Email::parse("\u{FB01}nance@example.com").unwrap();
        assert_eq!(ligature.as_str(), "finance@example.com");
        // An internationalised domain keeps its readable form, one form.
        let a = Email::parse("anna@B\u{00FC}cher.example").unwrap();
        let b = Email::parse("anna@xn--bcher-kva.example").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.domain(), "b\u{00FC}cher.example");
    }

    #[test]
    fn invisible_and_direction_changing_characters_are_refused() {
        for bad in [
            "pam\u{200B}@example.com",
            "pam@exa\u{200D}mple.com",
            "\u{202E}moc.elpmaxe@map",
            "pam\u{2066}@example.com",
            "pam\u{FEFF}@example.com",
            "pa\u{00AD}m@example.com",
            "pam\u{E0041}@example.com",
            "pam\u{0007}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn email_rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a b@example.com",
            "@example.com",
            "a@@example.com",
            "a@-x.com",
            "a@example..com",
            &format!("{}@example.com", "x".repeat(300)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn slugs_are_url_safe() {
        assert!(OrgSlug::parse("acme-corp").is_ok());
        for bad in ["A", "-acme", "acme-", "ac me", "acmé", "x", &"a".repeat(64)] {
            assert!(OrgSlug::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(OrgSlug::personal(7).is_reserved());
        assert!(!OrgSlug::parse("acme").unwrap().is_reserved());
    }

    #[test]
    fn group_lists_split_on_commas_and_dedupe() {
        let groups = GroupName::parse_list(["dev, support,dev", ""]).unwrap();
        let names: Vec<_> = groups.iter().map(GroupName::as_str).collect();
        assert_eq!(names, ["dev", "support"]);
        assert!(GroupName::parse_list(["dev,bad group"]).is_err());
    }

    #[test]
    fn names_refuse_empty_overlong_and_control_characters() {
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
        assert_eq!(
            DisplayName::parse(" Michael Scott ").unwrap().as_str(),
            "Michael Scott"
        );
        assert!(Team::parse("").is_ok());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let p = Password::parse_new("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(Password::parse_new("short").is_err());
    }

    #[test]
    fn status_and_provider_parse() {
        assert_eq!(MemberStatus::parse("Active").unwrap(), MemberStatus::Active);
        assert!(MemberStatus::parse("invited").is_err());
        assert_eq!(
            IdentityProvider::parse("Password").unwrap(),
            IdentityProvider::password()
        );
        assert!(IdentityProvider::parse("bad provider").is_err());
    }
}
