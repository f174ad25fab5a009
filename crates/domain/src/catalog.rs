//! The resource-type catalog (SPEC §1): which platform resource types an org
//! knows, the actions each type has, and the class of every action.
//!
//! Every org starts with [`Catalog::default_catalog`]; the types and actions
//! it adds are stored and merged on top with [`Catalog::add`]. Built-in roles
//! grant by class, so an action added later is covered by them at once.

use crate::permission::ActionClass;
use crate::DomainError;
use std::collections::BTreeMap;

/// Type names that belong to management permissions and cannot be used for
/// platform resource types.
pub const RESERVED_TYPES: [&str; 11] = [
    "org",
    "owners",
    "users",
    "roles",
    "groups",
    "resources",
    "access",
    "integrations",
    "audit",
    "tokens",
    "requests",
];

/// Limits that keep the catalog small enough to index with bit sets.
pub const MAX_ACTIONS_PER_TYPE: usize = 64;
pub const MAX_TYPES: usize = 256;

/// The actions every default type has.
const COMMON: [(&str, ActionClass); 5] = [
    ("read", ActionClass::Read),
    ("create", ActionClass::Write),
    ("update", ActionClass::Write),
    ("delete", ActionClass::Write),
    ("manage", ActionClass::Admin),
];

/// The default types and the actions they have beyond [`COMMON`].
const DEFAULT_TYPES: [(&str, &[(&str, ActionClass)]); 15] = [
    ("projects", &[]),
    ("environments", &[("deploy", ActionClass::Write)]),
    ("parameters", &[("read-values", ActionClass::Secret)]),
    (
        "secrets",
        &[("list", ActionClass::Read), ("reveal", ActionClass::Secret)],
    ),
    ("templates", &[("render", ActionClass::Read)]),
    (
        "clusters",
        &[
            ("deploy", ActionClass::Write),
            ("connect", ActionClass::Write),
        ],
    ),
    (
        "applications",
        &[("deploy", ActionClass::Write), ("logs", ActionClass::Read)],
    ),
    ("application-catalogs", &[]),
    ("environment-types", &[]),
    ("cluster-types", &[]),
    (
        "cloud-credentials",
        &[("use", ActionClass::Write), ("reveal", ActionClass::Secret)],
    ),
    ("host-groups", &[("connect", ActionClass::Write)]),
    ("policies", &[("enforce", ActionClass::Admin)]),
    ("git-credentials", &[("reveal", ActionClass::Secret)]),
    ("targets", &[("exec", ActionClass::Write)]),
];

/// An org's resource types and their actions, in name order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    types: BTreeMap<String, BTreeMap<String, ActionClass>>,
}

/// Whether a type or action name has the shape of a permission part:
/// a-z, 0-9, '-' and '_', starting with a letter, at most 63 characters.
pub fn valid_name(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 63
        && p.starts_with(|c: char| c.is_ascii_lowercase())
        && p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Catalog {
    /// The catalog every new org starts with.
    pub fn default_catalog() -> Catalog {
        let mut types = BTreeMap::new();
        for (name, extra) in DEFAULT_TYPES {
            let actions: BTreeMap<String, ActionClass> = COMMON
                .iter()
                .chain(extra.iter())
                .map(|(a, c)| ((*a).to_owned(), *c))
                .collect();
            types.insert(name.to_owned(), actions);
        }
        Catalog { types }
    }

    /// Whether `name` is one of the default catalog's types.
    pub fn is_default_type(name: &str) -> bool {
        DEFAULT_TYPES.iter().any(|(t, _)| *t == name)
    }

    /// Whether `type:action` is in the default catalog (and so cannot be
    /// removed or reclassified).
    pub fn is_default_action(resource_type: &str, action: &str) -> bool {
        DEFAULT_TYPES.iter().any(|(t, extra)| {
            *t == resource_type
                && (COMMON.iter().any(|(a, _)| *a == action)
                    || extra.iter().any(|(a, _)| *a == action))
        })
    }

    /// Adds `type:action` with its class. Adding an action that exists with
    /// the same class is a no-op; with another class it is refused, so a
    /// stored catalog can never silently change what a built-in role grants.
    pub fn add(
        &mut self,
        resource_type: &str,
        action: &str,
        class: ActionClass,
    ) -> Result<(), DomainError> {
        Self::validate(resource_type, action)?;
        if let Some(existing) = self.class_of(resource_type, action) {
            if existing == class {
                return Ok(());
            }
            return Err(DomainError::invalid(
                "class",
                format!(
                    "{resource_type}:{action} already exists with class {}",
                    existing.as_str()
                ),
            ));
        }
        if !self.types.contains_key(resource_type) && self.types.len() >= MAX_TYPES {
            return Err(DomainError::invalid(
                "name",
                format!("an org has at most {MAX_TYPES} resource types"),
            ));
        }
        let actions = self.types.entry(resource_type.to_owned()).or_default();
        if actions.len() >= MAX_ACTIONS_PER_TYPE {
            return Err(DomainError::invalid(
                "actions",
                format!("a resource type has at most {MAX_ACTIONS_PER_TYPE} actions"),
            ));
        }
        actions.insert(action.to_owned(), class);
        Ok(())
    }

    /// Checks the shape of a new type and action name.
    pub fn validate(resource_type: &str, action: &str) -> Result<(), DomainError> {
        if !valid_name(resource_type) {
            return Err(DomainError::invalid(
                "name",
                format!("{resource_type:?} is not a resource type name (a-z, 0-9, '-', '_', starting with a letter)"),
            ));
        }
        if RESERVED_TYPES.contains(&resource_type) {
            return Err(DomainError::invalid(
                "name",
                format!("{resource_type:?} is reserved for Roster's own permissions"),
            ));
        }
        if !valid_name(action) {
            return Err(DomainError::invalid(
                "actions",
                format!(
                    "{action:?} is not an action name (a-z, 0-9, '-', '_', starting with a letter)"
                ),
            ));
        }
        Ok(())
    }

    pub fn class_of(&self, resource_type: &str, action: &str) -> Option<ActionClass> {
        self.types.get(resource_type)?.get(action).copied()
    }

    pub fn has_type(&self, resource_type: &str) -> bool {
        self.types.contains_key(resource_type)
    }

    /// The types, in name order.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    /// A type's actions and their classes, in name order.
    pub fn actions(
        &self,
        resource_type: &str,
    ) -> Option<impl Iterator<Item = (&str, ActionClass)>> {
        self.types
            .get(resource_type)
            .map(|a| a.iter().map(|(n, c)| (n.as_str(), *c)))
    }

    /// Every `(type, action, class)`, in name order.
    pub fn all_actions(&self) -> impl Iterator<Item = (&str, &str, ActionClass)> {
        self.types.iter().flat_map(|(t, actions)| {
            actions
                .iter()
                .map(move |(a, c)| (t.as_str(), a.as_str(), *c))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalog_covers_the_spec_types_with_every_class() {
        let c = Catalog::default_catalog();
        for t in [
            "projects",
            "environments",
            "parameters",
            "secrets",
            "templates",
            "clusters",
            "applications",
            "application-catalogs",
            "environment-types",
            "cluster-types",
            "cloud-credentials",
            "host-groups",
            "policies",
            "git-credentials",
            "targets",
        ] {
            assert!(c.has_type(t), "{t}");
            assert_eq!(c.class_of(t, "read"), Some(ActionClass::Read));
            assert_eq!(c.class_of(t, "manage"), Some(ActionClass::Admin));
        }
        assert_eq!(c.class_of("clusters", "deploy"), Some(ActionClass::Write));
        assert_eq!(c.class_of("secrets", "reveal"), Some(ActionClass::Secret));
        assert!(Catalog::is_default_action("clusters", "deploy"));
        assert!(!Catalog::is_default_action("clusters", "explode"));
    }

    #[test]
    fn orgs_add_types_and_actions_but_never_reclassify() {
        let mut c = Catalog::default_catalog();
        c.add("databases", "backup", ActionClass::Write).unwrap();
        c.add("clusters", "drain", ActionClass::Admin).unwrap();
        c.add("clusters", "drain", ActionClass::Admin).unwrap();
        assert!(c.add("clusters", "deploy", ActionClass::Read).is_err());
        assert!(c.add("users", "fly", ActionClass::Read).is_err());
        assert!(c.add("Bad Type", "x", ActionClass::Read).is_err());
        assert!(c.add("databases", "", ActionClass::Read).is_err());
        assert_eq!(c.class_of("databases", "backup"), Some(ActionClass::Write));
    }

    #[test]
    fn opening_a_session_into_infrastructure_is_never_read_or_secret_class() {
        // Viewers hold `read` and `secret`: connecting to a cluster or a host
        // group is doing something there, so it must need `write`.
        let c = Catalog::default_catalog();
        for (t, a) in [
            ("clusters", "connect"),
            ("host-groups", "connect"),
            ("targets", "exec"),
        ] {
            assert_eq!(c.class_of(t, a), Some(ActionClass::Write), "{t}:{a}");
        }
    }

    #[test]
    fn a_type_holds_at_most_64_actions() {
        let mut c = Catalog::default();
        for i in 0..MAX_ACTIONS_PER_TYPE {
            c.add("wide", &format!("a{i}"), ActionClass::Read).unwrap();
        }
        assert!(c.add("wide", "one-more", ActionClass::Read).is_err());
    }
}
