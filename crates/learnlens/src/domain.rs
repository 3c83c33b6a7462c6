//! Newtypes parsed at the edge (`Role`, `Id`, `Email`), so an invalid value cannot reach the
//! core: handlers, the store and the policy only ever see values that passed these parsers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A role a user can hold and act in. Names are matched exactly: no case folding, no lists.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Role {
    #[serde(rename = "learner")]
    Learner,
    #[serde(rename = "trainer")]
    Trainer,
    #[serde(rename = "org-admin")]
    OrgAdmin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Learner, Role::Trainer, Role::OrgAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Learner => "learner",
            Role::Trainer => "trainer",
            Role::OrgAdmin => "org-admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Parses a comma-separated list (the store's and the CLI's form); duplicates are dropped.
    pub fn parse_list(s: &str) -> Result<Vec<Role>, String> {
        let mut roles = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let role = Role::parse(part).ok_or_else(|| {
                format!("unknown role `{part}` (expected learner, trainer or org-admin)")
            })?;
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            return Err("at least one role is required".into());
        }
        roles.sort();
        Ok(roles)
    }

    pub fn join(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pattern every id in a path or body must match (api.md).
pub const ID_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$";

/// An opaque id (user, organisation, trainer, job): `^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Id(String);

impl Id {
    pub fn parse(s: &str) -> Result<Id, &'static str> {
        let bytes = s.as_bytes();
        let Some(first) = bytes.first() else {
            return Err("must not be empty");
        };
        if bytes.len() > 64 {
            return Err("must be at most 64 characters");
        }
        if !first.is_ascii_alphanumeric() {
            return Err("must start with a letter or digit");
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return Err("may contain only letters, digits and . _ : -");
        }
        Ok(Id(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The accepted e-mail syntax, also published in the OpenAPI document so that clients and
/// contract tests agree with the parser: a plain ASCII local part and a dotted domain.
pub const EMAIL_PATTERN: &str = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$";

/// A syntactically valid e-mail address ([`EMAIL_PATTERN`], at most 254 bytes), lower-cased:
/// accounts are looked up case-insensitively. Deliberately plain: deliverability and quoted
/// local parts are not our concern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, &'static str> {
        if s.is_empty() || s.len() > 254 {
            return Err("must be an e-mail address of at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("must contain @");
        };
        let local_ok = (1..=64).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
        let mut labels = domain.split('.');
        let domain_ok = domain.split('.').count() >= 2
            && labels.all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !local_ok || !domain_ok {
            return Err("is not a valid e-mail address");
        }
        Ok(Email(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn role_names_match_exactly() {
        assert_eq!(Role::parse("org-admin"), Some(Role::OrgAdmin));
        for bad in [
            "Learner",
            "LEARNER",
            " learner",
            "learner,trainer",
            "orgadmin",
            "",
        ] {
            assert_eq!(Role::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn role_lists_parse_sorted_and_deduplicated() {
        assert_eq!(
            Role::parse_list("trainer, learner,trainer"),
            Ok(vec![Role::Learner, Role::Trainer])
        );
        assert!(Role::parse_list("").is_err());
        assert!(Role::parse_list("learner,boss").is_err());
    }

    #[test]
    fn ids_follow_the_api_pattern() {
        for ok in ["a", "demo-learner", "AAA-2013J", "u:1.2_3", &"x".repeat(64)] {
            assert!(Id::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", ".a", "a b", "a/b", "é", &"x".repeat(65), "a\0"] {
            assert!(Id::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse("Learner@Demo.Test").map(|e| e.0),
            Ok("learner@demo.test".into())
        );
        for bad in [
            "", "a", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@.c", "a@b..c", "a@b.c.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn id_parser_never_panics_and_accepts_only_the_pattern(s in "\\PC{0,80}") {
            if let Ok(id) = Id::parse(&s) {
                prop_assert!(id.as_str().len() <= 64);
                prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b)));
            }
        }

        #[test]
        fn email_parser_never_panics(s in "\\PC{0,300}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert!(e.as_str().contains('@'));
                prop_assert!(e.as_str().len() <= 254);
            }
        }
    }
}
