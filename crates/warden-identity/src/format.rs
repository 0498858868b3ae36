//! The identity file format: one JSON file per account under `<policies>/identities/`.
//! `policies/identities/README.md` documents it for users; these types are its schema, parsed with
//! `deny_unknown_fields` so a misspelt field is an error, not a silent default.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One account file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountFile {
    /// 12-digit account id.
    pub account: String,
    /// Customer-managed policies, by name.
    #[serde(default)]
    pub policies: BTreeMap<String, ManagedPolicy>,
    /// Groups, by name.
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
    /// Users, by name.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    /// Roles, by name.
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
}

/// A customer-managed policy: a document inline, or a file relative to the account file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManagedPolicy {
    /// IAM path (`/` by default).
    #[serde(default = "root_path")]
    pub path: String,
    /// The document, inline.
    pub document: Option<serde_json::Value>,
    /// Or a file holding it.
    pub file: Option<String>,
}

/// A group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Group {
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

/// A user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct User {
    #[serde(default = "root_path")]
    pub path: String,
    /// Unique id (`AIDA…`); derived from the ARN when absent.
    pub id: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub access_keys: Vec<AccessKey>,
}

/// A role.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Role {
    #[serde(default = "root_path")]
    pub path: String,
    /// Unique id (`AROA…`); derived from the ARN when absent.
    pub id: Option<String>,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An access key pair. The secret is kept as given: SigV4 verification needs it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessKey {
    pub id: String,
    /// The secret, or `secret_env` naming an environment variable that holds it.
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    /// A key published in documentation: a server refuses to listen beyond loopback with it.
    #[serde(default)]
    pub demo: bool,
    /// `Active` (default) or `Inactive`.
    #[serde(default = "active")]
    pub status: String,
}

fn root_path() -> String {
    "/".to_owned()
}

fn active() -> String {
    "Active".to_owned()
}
