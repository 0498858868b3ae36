//! Loading, validating and querying a set of account files.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use warden_policy::arn::{is_account_id, Arn};
use warden_policy::{catalog, CompiledPolicy, PolicyKind, PolicySet, Principal};

use crate::format::{AccessKey, AccountFile, Group};

/// One problem found while loading: which file, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// A path to the field (`users.admin.attached_policies[0]`), empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(f, "{}: `{}`: {}", self.file.display(), self.field, self.reason)
        }
    }
}

/// Why a set of identity files was refused: every problem found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("the identity store is invalid ({} problem{}):\n{}", .problems.len(), if .problems.len() == 1 { "" } else { "s" }, list(.problems))]
pub struct StoreError {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

/// A server would listen beyond loopback with public demo keys loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("refusing to listen on {addr}: the identity store holds published demo access keys ({})", .keys.join(", "))]
#[diagnostic(help("remove the demo keys (or set `\"status\": \"Inactive\"`), listen on 127.0.0.1, or pass --allow-demo-keys if you really mean it"))]
pub struct DemoKeysError {
    /// The address.
    pub addr: std::net::SocketAddr,
    /// The demo key ids.
    pub keys: Vec<String>,
}

/// What kind of IAM identity an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    /// An IAM user.
    User,
    /// An IAM role.
    Role,
}

/// A user or role with everything evaluation needs, compiled.
#[derive(Debug, Clone)]
pub struct Identity {
    /// User or role.
    pub kind: IdentityKind,
    /// Its name.
    pub name: String,
    /// Its ARN (with path).
    pub arn: String,
    /// Its account.
    pub account: String,
    /// Unique id (`AIDA…` / `AROA…`).
    pub unique_id: Arc<str>,
    /// Identity-based policies: inline, attached, and for users every group's.
    pub policies: PolicySet,
    /// The permissions boundary.
    pub boundary: Option<PolicySet>,
    /// Tags (`aws:PrincipalTag/*`).
    pub tags: Arc<[(String, String)]>,
}

/// An access key and whose it is.
#[derive(Debug, Clone)]
pub struct Credential {
    /// Access key id.
    pub access_key_id: String,
    /// The secret.
    pub secret: String,
    /// ARN of the owning user.
    pub user_arn: String,
    /// A documentation key.
    pub demo: bool,
}

/// A validated, compiled set of accounts.
#[derive(Debug, Clone, Default)]
pub struct Store {
    identities: HashMap<String, Arc<Identity>>,
    /// (account, lower-cased role name) → role ARN; role names are unique ignoring case.
    roles_by_name: HashMap<(String, String), String>,
    /// (account, user name) → user ARN.
    users_by_name: HashMap<(String, String), String>,
    keys: HashMap<String, Credential>,
    accounts: Vec<String>,
    /// Every file read, for change detection.
    pub(crate) files_read: Vec<PathBuf>,
}

/// A caller resolved against the store.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The caller (for a role session: the session, with its role ARN).
    pub principal: Principal,
    /// The user or role behind it.
    pub identity: Arc<Identity>,
}

impl Store {
    /// Loads every `*.json` file in `<policies_dir>/identities/`.
    pub fn load(policies_dir: &Path) -> Result<Store, StoreError> {
        let dir = policies_dir.join("identities");
        let problem = |file: &Path, reason: String| StoreError {
            problems: vec![Problem { file: file.to_owned(), field: String::new(), reason }],
        };
        let entries = std::fs::read_dir(&dir).map_err(|e| problem(&dir, format!("cannot read the directory: {e}")))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| problem(&path, format!("cannot read: {e}")))?;
            files.push((path, text));
        }
        Store::from_texts(&files)
    }

    /// Builds a store from `(path, text)` pairs (paths are used in messages and to resolve
    /// `file` references).
    pub fn from_texts(files: &[(PathBuf, String)]) -> Result<Store, StoreError> {
        let mut b = Builder::default();
        let mut parsed = Vec::new();
        for (path, text) in files {
            b.store.files_read.push(path.clone());
            match serde_json::from_str::<AccountFile>(text) {
                Ok(f) => parsed.push((path.clone(), f)),
                Err(e) => b.problem(path, "", format!("not a valid account file: {e}")),
            }
        }
        for (path, file) in &parsed {
            b.account(path, file);
        }
        if b.problems.is_empty() {
            Ok(b.store)
        } else {
            Err(StoreError { problems: b.problems })
        }
    }

    /// The identity (user or role) with this ARN.
    pub fn identity(&self, arn: &str) -> Option<&Arc<Identity>> {
        self.identities.get(arn)
    }

    /// What `SimulatePrincipalPolicy` needs of the user or role `arn`: its principal, every
    /// policy attached to it (directly, through groups, inline) and its permissions boundary.
    pub fn principal_policies(&self, arn: &str) -> Option<warden_policy::simulate::PrincipalPolicies> {
        let r = self.resolve(arn)?;
        Some(warden_policy::simulate::PrincipalPolicies {
            principal: r.principal,
            identity: r.identity.policies.policies().to_vec(),
            boundary: r.identity.boundary.as_ref().and_then(|b| b.policies().first().cloned()),
        })
    }

    /// Resolves a caller ARN: a user, a role (as a session of it), or a role session
    /// `arn:aws:sts::A:assumed-role/ROLE/SESSION`.
    pub fn resolve(&self, arn: &str) -> Option<Resolved> {
        if let Some(identity) = self.identities.get(arn) {
            let principal = Principal::parse(arn).ok()?;
            return Some(Resolved { principal, identity: Arc::clone(identity) });
        }
        let parsed = Arn::parse(arn)?;
        let role_name = parsed.resource.strip_prefix("assumed-role/")?.split('/').next()?;
        let role_arn = self.roles_by_name.get(&(parsed.account.to_owned(), role_name.to_lowercase()))?;
        let identity = self.identities.get(role_arn)?;
        let principal = Principal::parse(arn).ok()?.with_role_arn(role_arn).ok()?;
        Some(Resolved { principal, identity: Arc::clone(identity) })
    }

    /// The user `name` of `account`.
    pub fn user(&self, account: &str, name: &str) -> Option<&Arc<Identity>> {
        let arn = self.users_by_name.get(&(account.to_owned(), name.to_owned()))?;
        self.identities.get(arn)
    }

    /// The active access key with this id.
    pub fn credential(&self, access_key_id: &str) -> Option<&Credential> {
        self.keys.get(access_key_id)
    }

    /// True when any active key is a published documentation key.
    pub fn has_demo_keys(&self) -> bool {
        self.keys.values().any(|k| k.demo)
    }

    /// Refuses to serve on `addr` when it is not a loopback address and published documentation
    /// keys are loaded, unless `allow_demo_keys`: those keys are public, so anyone who can reach
    /// the server could use them.
    pub fn check_listen(&self, addr: &std::net::SocketAddr, allow_demo_keys: bool) -> Result<(), DemoKeysError> {
        if addr.ip().is_loopback() || allow_demo_keys {
            return Ok(());
        }
        let mut keys: Vec<String> = self.keys.values().filter(|k| k.demo).map(|k| k.access_key_id.clone()).collect();
        keys.sort();
        if keys.is_empty() {
            Ok(())
        } else {
            Err(DemoKeysError { addr: *addr, keys })
        }
    }

    /// The accounts, in file order.
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }

    /// Every identity, sorted by ARN.
    pub fn identities(&self) -> Vec<&Arc<Identity>> {
        let mut all: Vec<_> = self.identities.values().collect();
        all.sort_by(|a, b| a.arn.cmp(&b.arn));
        all
    }
}

#[derive(Default)]
struct Builder {
    store: Store,
    problems: Vec<Problem>,
}

const MAX_TAGS: usize = 50;

impl Builder {
    fn problem(&mut self, file: &Path, field: &str, reason: String) {
        self.problems.push(Problem { file: file.to_owned(), field: field.to_owned(), reason });
    }

    fn account(&mut self, path: &Path, file: &AccountFile) {
        let acct = file.account.clone();
        if !is_account_id(&acct) {
            self.problem(path, "account", format!("`{acct}` is not a 12-digit account id"));
            return;
        }
        if self.store.accounts.contains(&acct) {
            self.problem(path, "account", format!("account `{acct}` is defined in another file too"));
            return;
        }
        self.store.accounts.push(acct.clone());
        // Customer-managed policies, compiled once and shared by everyone who attaches them.
        let mut managed: BTreeMap<String, CompiledPolicy> = BTreeMap::new();
        for (name, mp) in &file.policies {
            let field = format!("policies.{name}");
            self.check_name(path, &field, name);
            self.check_path(path, &format!("{field}.path"), &mp.path);
            let text = match (&mp.document, &mp.file) {
                (Some(doc), None) => doc.to_string(),
                (None, Some(rel)) => {
                    let full = path.parent().unwrap_or(Path::new(".")).join(rel);
                    self.store.files_read.push(full.clone());
                    match std::fs::read_to_string(&full) {
                        Ok(t) => t,
                        Err(e) => {
                            self.problem(
                                path,
                                &format!("{field}.file"),
                                format!("cannot read `{}`: {e}", full.display()),
                            );
                            continue;
                        }
                    }
                }
                _ => {
                    self.problem(path, &field, "give exactly one of `document` and `file`".to_owned());
                    continue;
                }
            };
            let arn = format!("arn:aws:iam::{acct}:policy{}{name}", mp.path);
            match CompiledPolicy::compile(&text, PolicyKind::Identity, name) {
                Ok(p) => {
                    managed.insert(arn, p.with_source_type("user-managed"));
                }
                Err(e) => self.problem(path, &format!("{field}.document"), format!("invalid policy: {e}")),
            }
        }
        let resolve = |b: &mut Builder, field: &str, reference: &str, kind: &str| -> Option<CompiledPolicy> {
            let found = managed.get(reference).cloned().or_else(|| {
                // A bare name: the account's own policy of that name, else an AWS-managed one.
                managed.iter().find(|(arn, _)| arn.rsplit('/').next() == Some(reference)).map(|(_, p)| p.clone())
            });
            if let Some(p) = found {
                return Some(p);
            }
            match catalog::managed_policy(reference) {
                Some(doc) if !reference.contains(':') || reference.starts_with("arn:aws:iam::aws:policy/") => {
                    let name = reference.rsplit('/').next().unwrap_or(reference);
                    let kind_of = if kind == "boundary" { PolicyKind::Boundary } else { PolicyKind::Identity };
                    CompiledPolicy::compile(doc, kind_of, name).ok().map(|p| p.with_source_type("aws-managed"))
                }
                _ => {
                    b.problem(path, field, format!("no managed policy `{reference}` (AWS-managed ECR policies and this account's `policies` can be attached)"));
                    None
                }
            }
        };
        // Groups.
        let mut groups: BTreeMap<&str, Vec<CompiledPolicy>> = BTreeMap::new();
        for (name, g) in &file.groups {
            let field = format!("groups.{name}");
            self.check_name(path, &field, name);
            self.check_path(path, &format!("{field}.path"), &g.path);
            let mut policies = self.inline(path, &field, g, "group");
            for (i, r) in g.attached_policies.iter().enumerate() {
                if let Some(p) = resolve(self, &format!("{field}.attached_policies[{i}]"), r, "identity") {
                    policies.push(p);
                }
            }
            groups.insert(name, policies);
        }
        // Users.
        for (name, u) in &file.users {
            let field = format!("users.{name}");
            self.check_name(path, &field, name);
            self.check_path(path, &format!("{field}.path"), &u.path);
            let arn = format!("arn:aws:iam::{acct}:user{}{name}", u.path);
            let group =
                Group { path: "/".into(), inline_policies: u.inline_policies.clone(), attached_policies: vec![] };
            let mut policies = self.inline(path, &field, &group, "user");
            for (i, r) in u.attached_policies.iter().enumerate() {
                if let Some(p) = resolve(self, &format!("{field}.attached_policies[{i}]"), r, "identity") {
                    policies.push(p);
                }
            }
            for (i, g) in u.groups.iter().enumerate() {
                match groups.get(g.as_str()) {
                    Some(gp) => policies.extend(gp.iter().cloned()),
                    None => {
                        self.problem(path, &format!("{field}.groups[{i}]"), format!("no group `{g}` in this account"))
                    }
                }
            }
            let boundary = u
                .permissions_boundary
                .as_ref()
                .and_then(|r| resolve(self, &format!("{field}.permissions_boundary"), r, "boundary"))
                .map(PolicySet::from);
            let tags = self.tags(path, &format!("{field}.tags"), &u.tags);
            for (i, k) in u.access_keys.iter().enumerate() {
                self.key(path, &format!("{field}.access_keys[{i}]"), k, &arn);
            }
            let unique_id = u.id.clone().unwrap_or_else(|| derived_id("AIDA", &arn));
            self.store.users_by_name.insert((acct.clone(), name.clone()), arn.clone());
            let identity = Identity {
                kind: IdentityKind::User,
                name: name.clone(),
                arn: arn.clone(),
                account: acct.clone(),
                unique_id: unique_id.into(),
                policies: PolicySet::new(policies),
                boundary,
                tags: tags.into(),
            };
            self.store.identities.insert(arn, Arc::new(identity));
        }
        // Roles.
        for (name, r) in &file.roles {
            let field = format!("roles.{name}");
            self.check_name(path, &field, name);
            self.check_path(path, &format!("{field}.path"), &r.path);
            let arn = format!("arn:aws:iam::{acct}:role{}{name}", r.path);
            let key = (acct.clone(), name.to_lowercase());
            if self.store.roles_by_name.contains_key(&key) {
                self.problem(path, &field, "role names must be unique ignoring case".to_owned());
                continue;
            }
            let group =
                Group { path: "/".into(), inline_policies: r.inline_policies.clone(), attached_policies: vec![] };
            let mut policies = self.inline(path, &field, &group, "role");
            for (i, reference) in r.attached_policies.iter().enumerate() {
                if let Some(p) = resolve(self, &format!("{field}.attached_policies[{i}]"), reference, "identity") {
                    policies.push(p);
                }
            }
            let boundary = r
                .permissions_boundary
                .as_ref()
                .and_then(|b| resolve(self, &format!("{field}.permissions_boundary"), b, "boundary"))
                .map(PolicySet::from);
            let tags = self.tags(path, &format!("{field}.tags"), &r.tags);
            let unique_id = r.id.clone().unwrap_or_else(|| derived_id("AROA", &arn));
            self.store.roles_by_name.insert(key, arn.clone());
            let identity = Identity {
                kind: IdentityKind::Role,
                name: name.clone(),
                arn: arn.clone(),
                account: acct.clone(),
                unique_id: unique_id.into(),
                policies: PolicySet::new(policies),
                boundary,
                tags: tags.into(),
            };
            self.store.identities.insert(arn, Arc::new(identity));
        }
    }

    fn inline(&mut self, path: &Path, field: &str, g: &Group, source_type: &str) -> Vec<CompiledPolicy> {
        let mut out = Vec::new();
        for (name, doc) in &g.inline_policies {
            match CompiledPolicy::compile(&doc.to_string(), PolicyKind::Identity, name) {
                Ok(p) => out.push(p.with_source_type(source_type)),
                Err(e) => {
                    self.problem(path, &format!("{field}.inline_policies.{name}"), format!("invalid policy: {e}"))
                }
            }
        }
        out
    }

    fn tags(&mut self, path: &Path, field: &str, tags: &BTreeMap<String, String>) -> Vec<(String, String)> {
        if tags.len() > MAX_TAGS {
            self.problem(path, field, format!("at most {MAX_TAGS} tags, not {}", tags.len()));
        }
        for (k, v) in tags {
            if k.is_empty() || k.chars().count() > 128 || k.starts_with("aws:") {
                self.problem(
                    path,
                    &format!("{field}.{k}"),
                    "a tag key has 1 to 128 characters and does not start with `aws:`".to_owned(),
                );
            }
            if v.chars().count() > 256 {
                self.problem(path, &format!("{field}.{k}"), "a tag value has at most 256 characters".to_owned());
            }
        }
        tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn key(&mut self, path: &Path, field: &str, k: &AccessKey, user_arn: &str) {
        let id_ok =
            (16..=128).contains(&k.id.len()) && k.id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !id_ok {
            self.problem(
                path,
                &format!("{field}.id"),
                format!("`{}` is not an access key id (16-128 upper-case letters and digits)", k.id),
            );
            return;
        }
        if self.store.keys.contains_key(&k.id) {
            self.problem(path, &format!("{field}.id"), format!("access key `{}` is defined twice", k.id));
            return;
        }
        let secret = match (&k.secret, &k.secret_env) {
            (Some(s), None) => s.clone(),
            (None, Some(var)) => match std::env::var(var) {
                Ok(s) => s,
                Err(_) => {
                    self.problem(
                        path,
                        &format!("{field}.secret_env"),
                        format!("environment variable `{var}` is not set"),
                    );
                    return;
                }
            },
            _ => {
                self.problem(path, field, "give exactly one of `secret` and `secret_env`".to_owned());
                return;
            }
        };
        if secret.len() < 16 {
            self.problem(path, &format!("{field}.secret"), "a secret access key has at least 16 characters".to_owned());
            return;
        }
        match k.status.as_str() {
            "Active" => {
                self.store.keys.insert(
                    k.id.clone(),
                    Credential { access_key_id: k.id.clone(), secret, user_arn: user_arn.to_owned(), demo: k.demo },
                );
            }
            "Inactive" => {}
            other => self.problem(path, &format!("{field}.status"), format!("`{other}` is not `Active` or `Inactive`")),
        }
    }

    fn check_name(&mut self, path: &Path, field: &str, name: &str) {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !ok {
            self.problem(
                path,
                field,
                format!("`{name}` is not a valid IAM name (1-64 of letters, digits and +=,.@_-)"),
            );
        }
    }

    fn check_path(&mut self, path: &Path, field: &str, p: &str) {
        let ok = p.starts_with('/') && p.ends_with('/') && p.len() <= 512 && !p.contains("//");
        if !ok {
            self.problem(path, field, format!("`{p}` is not an IAM path (`/` or `/a/b/`)"));
        }
    }
}

/// A stable unique id for an identity without one: prefix + 17 base-32 characters of SHA-256(ARN).
fn derived_id(prefix: &str, arn: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(arn.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| char::from(ALPHABET.get(usize::from(b % 32)).copied().unwrap_or(b'A')))
        .collect();
    format!("{prefix}{tail}")
}
