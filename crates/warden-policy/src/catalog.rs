//! What the engine knows about Amazon ECR: every IAM action with its access level, the resources
//! it accepts and its condition keys (Service Authorization Reference for Amazon ECR), and the
//! AWS-managed ECR policies of the user guide.
//!
//! ```
//! use warden_policy::catalog::{self, ResourceScope};
//! let token = catalog::ecr_action("ecr:getauthorizationtoken").unwrap();
//! assert_eq!(token.resource, ResourceScope::Wildcard); // only `"Resource": "*"` can grant it
//! let pull = catalog::managed_policy("AmazonEC2ContainerRegistryReadOnly").unwrap();
//! assert!(pull.contains("ecr:BatchGetImage"));
//! ```

mod ecr_actions;

/// Access level of an action, as the Service Authorization Reference classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLevel {
    /// List
    List,
    /// Read
    Read,
    /// Write
    Write,
    /// Permissions management
    PermissionsManagement,
    /// Tagging
    Tagging,
}

/// Which resources an action can be authorized against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceScope {
    /// A repository ARN (`repository*` in the reference).
    Repository,
    /// Only `"*"`: the request resource is the literal `*`, so only `"Resource": "*"` (or a
    /// `NotResource` that leaves `*` in) matches.
    Wildcard,
}

/// One ECR action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionInfo {
    /// Name without the `ecr:` prefix, AWS spelling (`BatchGetImage`).
    pub name: &'static str,
    /// Access level.
    pub access_level: AccessLevel,
    /// Resources it accepts.
    pub resource: ResourceScope,
    /// Action-level condition keys (resource-type keys are in [`REPOSITORY_CONDITION_KEYS`]).
    pub condition_keys: &'static [&'static str],
    /// Actions AWS also checks when this one is called.
    pub dependent_actions: &'static [&'static str],
    /// False for permission-only actions that have no API.
    pub api: bool,
}

impl ActionInfo {
    /// Every condition key that applies to this action: its own, plus the repository resource
    /// type's tag keys when it acts on a repository.
    pub fn all_condition_keys(&self) -> impl Iterator<Item = &'static str> {
        let resource_keys: &'static [&'static str] = match self.resource {
            ResourceScope::Repository => REPOSITORY_CONDITION_KEYS,
            ResourceScope::Wildcard => &[],
        };
        self.condition_keys.iter().chain(resource_keys).copied()
    }
}

/// Condition keys of the `repository` resource type.
pub const REPOSITORY_CONDITION_KEYS: &[&str] = &["aws:ResourceTag/${TagKey}", "ecr:ResourceTag/${TagKey}"];

/// Every ECR action, sorted by name.
pub fn ecr_actions() -> &'static [ActionInfo] {
    ecr_actions::ECR_ACTIONS
}

/// Every ECR action's full name, lower-cased (`ecr:batchgetimage`), in catalog order.
pub fn ecr_actions_lower() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| ecr_actions().iter().map(|a| format!("ecr:{}", a.name).to_lowercase()).collect())
}

/// The index in [`ecr_actions_lower`] of a lower-cased full action name.
pub fn ecr_action_index(lower: &str) -> Option<usize> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static str, usize, rustc_hash::FxBuildHasher>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| ecr_actions_lower().iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect());
    index.get(lower).copied()
}

/// Looks up an action by its full name (`ecr:BatchGetImage`), ignoring case as IAM does.
pub fn ecr_action(full_name: &str) -> Option<&'static ActionInfo> {
    let (service, name) = full_name.split_once(':')?;
    if !service.eq_ignore_ascii_case("ecr") {
        return None;
    }
    ecr_actions::ECR_ACTIONS.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The AWS-managed ECR policies, as `(name, document)`; the documents are the files in
/// `policies/managed/`.
pub const MANAGED_POLICIES: &[(&str, &str)] = &[
    (
        "AmazonEC2ContainerRegistryFullAccess",
        include_str!("../../../policies/managed/AmazonEC2ContainerRegistryFullAccess.json"),
    ),
    (
        "AmazonEC2ContainerRegistryPowerUser",
        include_str!("../../../policies/managed/AmazonEC2ContainerRegistryPowerUser.json"),
    ),
    (
        "AmazonEC2ContainerRegistryReadOnly",
        include_str!("../../../policies/managed/AmazonEC2ContainerRegistryReadOnly.json"),
    ),
    (
        "AmazonEC2ContainerRegistryPullOnly",
        include_str!("../../../policies/managed/AmazonEC2ContainerRegistryPullOnly.json"),
    ),
];

/// The document of an AWS-managed ECR policy, by name or by ARN
/// (`arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly`).
pub fn managed_policy(name_or_arn: &str) -> Option<&'static str> {
    let name = name_or_arn.rsplit('/').next().unwrap_or(name_or_arn);
    MANAGED_POLICIES.iter().find(|(n, _)| *n == name).map(|(_, doc)| *doc)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        let names: Vec<_> = ecr_actions().iter().map(|a| a.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(names.len() >= 60);
    }

    #[test]
    fn wildcard_only_and_tag_keys() {
        assert_eq!(ecr_action("ecr:GetAuthorizationToken").unwrap().resource, ResourceScope::Wildcard);
        assert_eq!(ecr_action("ECR:batchgetimage").unwrap().resource, ResourceScope::Repository);
        let create: Vec<_> = ecr_action("ecr:CreateRepository").unwrap().all_condition_keys().collect();
        assert!(create.contains(&"aws:TagKeys") && create.contains(&"ecr:ResourceTag/${TagKey}"));
        assert_eq!(ecr_action("s3:GetObject"), None);
    }

    #[test]
    fn managed_policies_by_name_and_arn() {
        assert!(managed_policy("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser")
            .unwrap()
            .contains("ecr:PutImage"));
        assert!(!managed_policy("AmazonEC2ContainerRegistryReadOnly").unwrap().contains("ecr:PutImage"));
        assert_eq!(managed_policy("Nope"), None);
    }
}
