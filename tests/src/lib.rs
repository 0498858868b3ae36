//! The conformance corpus under `policies/cases/` as data, and the runners that drive it through
//! each surface of warden: the engine ([`EngineRunner`]) and `warden simulate` (the CLI crate's
//! tests implement [`CaseRunner`] over the real binary with [`simulate_request`]).
//!
//! A case file holds a note, the AWS source of the rule, the policies, and requests with the
//! decision AWS gives; see `policies/cases/README.md` for the schema. Parsing is strict
//! (`deny_unknown_fields`), so a misspelt field fails the suite instead of being ignored.
//!
//! [`nginx`] runs a private nginx for the tests that put one in front of a warden server;
//! [`postgres`] a private PostgreSQL cluster and [`garage`] a private Garage (S3) for the tests of
//! the scale-out backends, which [`scale_out`] hands to `warden` processes.

pub mod garage;
pub mod nginx;
pub mod postgres;
pub mod scale_out;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use warden_policy::simulate::{ContextEntry, SimulateCustomPolicyRequest};
use warden_policy::{
    evaluate, evaluate_all, CompiledPolicy, Context, ContextKeyType, Outcome, Policies, Policy, PolicyKind, PolicySet,
    Principal, Request,
};

/// One `policies/cases/<topic>/<name>.json` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// What the file shows.
    pub note: String,
    /// The AWS document the rule comes from.
    pub source: String,
    /// The policies every case of the file is evaluated against.
    #[serde(default)]
    pub policies: CasePolicies,
    /// Evaluation cases.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// Validation cases.
    #[serde(default)]
    pub validate: Vec<ValidateCase>,
    /// Where the file is (filled by the loader).
    #[serde(skip)]
    pub path: PathBuf,
}

/// The policies of a case file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasePolicies {
    /// The caller's identity-based policies.
    #[serde(default)]
    pub identity: Vec<PolicyDoc>,
    /// The caller's permissions boundary.
    pub boundary: Option<PolicyDoc>,
    /// The caller's session policy.
    pub session: Option<PolicyDoc>,
    /// The repository (resource-based) policy.
    pub resource: Option<PolicyDoc>,
}

/// A policy given as a JSON object or as raw text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PolicyDoc {
    /// Raw text, used as is.
    Text(String),
    /// A JSON document, serialized compactly.
    Object(serde_json::Value),
}

impl PolicyDoc {
    /// The policy text.
    pub fn text(&self) -> String {
        match self {
            PolicyDoc::Text(t) => t.clone(),
            PolicyDoc::Object(v) => v.to_string(),
        }
    }
}

/// One request and the decision AWS gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short id, unique in the file.
    pub name: String,
    /// The rule it checks.
    pub why: String,
    /// Caller ARN (or service principal).
    pub principal: String,
    /// Role ARN with path, for role sessions of roles with a path.
    pub role_arn: Option<String>,
    /// The action.
    pub action: String,
    /// The resource ARN or `*`.
    pub resource: String,
    /// Owner of a resource whose ARN names no account.
    pub resource_owner: Option<String>,
    /// Condition keys.
    #[serde(default)]
    pub context: Vec<ContextItem>,
    /// The decision.
    pub expected: Outcome,
    /// Sids of the statements AWS lists in MatchedStatements.
    pub matched_sids: Option<Vec<String>>,
}

/// A context key in a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextItem {
    /// Key name.
    pub key: String,
    /// Type, as SimulateCustomPolicy's ContextKeyType.
    #[serde(rename = "type")]
    pub ty: ContextKeyType,
    /// Values.
    pub values: Vec<String>,
}

/// A validation case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateCase {
    /// Short id.
    pub name: String,
    /// The rule it checks.
    pub why: String,
    /// `identity`, `resource` or `repository`.
    pub kind: String,
    /// The document.
    pub policy: PolicyDoc,
    /// The error AWS gives, or null when the document is valid.
    pub expected_error: Option<ExpectedError>,
}

/// An AWS error.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// Exception name.
    pub exception: String,
    /// AWS's message.
    pub message: String,
}

impl ValidateCase {
    /// The policy kind named by `kind`.
    pub fn policy_kind(&self) -> Result<PolicyKind, String> {
        match self.kind.as_str() {
            "identity" => Ok(PolicyKind::Identity),
            "resource" => Ok(PolicyKind::Resource),
            "repository" => Ok(PolicyKind::Repository),
            other => Err(format!("unknown kind `{other}`")),
        }
    }
}

/// The workspace's `policies/cases` directory.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/cases")
}

/// Loads every case file under `dir`, sorted by path.
pub fn load_corpus(dir: &Path) -> Result<Vec<CaseFile>, String> {
    let mut paths = Vec::new();
    collect(dir, &mut paths).map_err(|e| format!("{}: {e}", dir.display()))?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut file: CaseFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            file.path = path;
            Ok(file)
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// What a surface decided for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The decision.
    pub outcome: Outcome,
    /// Sids of the matched statements (`<no sid>` for statements without one), sorted.
    pub matched_sids: Vec<String>,
}

/// A surface of warden the corpus can run through.
pub trait CaseRunner {
    /// A name for reports.
    fn name(&self) -> &str;
    /// Decides `case` of `file`; `Ok(None)` when this surface cannot express the case (reported,
    /// and counted, by [`run_corpus`]).
    fn decide(&self, file: &CaseFile, case: &Case) -> Result<Option<Observed>, String>;
}

/// The result of running a corpus.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that held.
    pub passed: usize,
    /// Cases the surface cannot express.
    pub not_expressible: Vec<String>,
    /// What failed, one line each.
    pub failures: Vec<String>,
}

/// Runs every evaluation case of `corpus` through `runner`.
pub fn run_corpus(runner: &dyn CaseRunner, corpus: &[CaseFile]) -> Report {
    let mut report = Report::default();
    for file in corpus {
        for case in &file.cases {
            let id = format!("{}#{}", file.path.display(), case.name);
            match runner.decide(file, case) {
                Err(e) => report.failures.push(format!("{id}: {e}")),
                Ok(None) => report.not_expressible.push(id),
                Ok(Some(seen)) => {
                    let mut problems = Vec::new();
                    if seen.outcome != case.expected {
                        problems.push(format!(
                            "decided {} but AWS decides {}",
                            seen.outcome.as_str(),
                            case.expected.as_str()
                        ));
                    }
                    if let Some(expected) = &case.matched_sids {
                        let mut expected = expected.clone();
                        expected.sort();
                        if seen.outcome == case.expected && seen.matched_sids != expected {
                            problems.push(format!("matched {:?}, expected {:?}", seen.matched_sids, expected));
                        }
                    }
                    if problems.is_empty() {
                        report.passed += 1;
                    } else {
                        report.failures.push(format!("{id}: {} ({})", problems.join("; "), case.why));
                    }
                }
            }
        }
    }
    report
}

/// The account that owns the case's resource: the ARN's account, else `resource_owner`, else the
/// caller's account (the rule `warden simulate` applies).
pub fn resource_account(case: &Case, caller: &Principal) -> Result<String, String> {
    let arn_account = warden_policy::arn::Arn::parse(&case.resource).map(|a| a.account).filter(|a| !a.is_empty());
    let owner = case.resource_owner.as_deref().map(owner_account);
    match (arn_account, owner) {
        (Some(a), Some(o)) if a != o => {
            Err(format!("resource_owner `{o}` contradicts the account `{a}` in the resource ARN"))
        }
        (Some(a), _) => Ok(a.to_owned()),
        (None, Some(o)) => Ok(o.to_owned()),
        (None, None) => Ok(caller.account().to_owned()),
    }
}

fn owner_account(owner: &str) -> &str {
    warden_policy::arn::Arn::parse(owner).map_or(owner, |a| a.account)
}

/// Evaluates cases with the engine API directly.
pub struct EngineRunner;

impl CaseRunner for EngineRunner {
    fn name(&self) -> &str {
        "engine"
    }

    fn decide(&self, file: &CaseFile, case: &Case) -> Result<Option<Observed>, String> {
        let compile = |doc: &PolicyDoc, kind: PolicyKind, id: &str| {
            CompiledPolicy::compile(&doc.text(), kind, id).map_err(|e| format!("policy `{id}` is invalid: {e}"))
        };
        let identity = file
            .policies
            .identity
            .iter()
            .enumerate()
            .map(|(i, d)| compile(d, PolicyKind::Identity, &format!("identity.{}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        let identity = PolicySet::new(identity);
        let boundary =
            file.policies.boundary.as_ref().map(|d| compile(d, PolicyKind::Boundary, "boundary")).transpose()?;
        let session = file.policies.session.as_ref().map(|d| compile(d, PolicyKind::Session, "session")).transpose()?;
        let resource =
            file.policies.resource.as_ref().map(|d| compile(d, PolicyKind::Resource, "resource")).transpose()?;
        let (boundary, session, resource) =
            (boundary.map(PolicySet::from), session.map(PolicySet::from), resource.map(PolicySet::from));
        let mut caller = Principal::parse(&case.principal).map_err(|e| e.to_string())?;
        if let Some(role) = &case.role_arn {
            caller = caller.with_role_arn(role).map_err(|e| e.to_string())?;
        }
        let mut ctx = Context::new();
        for item in &case.context {
            ctx.insert(&item.key, item.ty, &item.values).map_err(|e| e.to_string())?;
        }
        let account = resource_account(case, &caller)?;
        let req = Request {
            principal: &caller,
            action: &case.action,
            resource: &case.resource,
            resource_account: &account,
            context: &ctx,
        };
        let policies = Policies {
            identity: &identity,
            boundary: boundary.as_ref(),
            session: session.as_ref(),
            resource: resource.as_ref(),
        };
        // The cases list every matching statement: the full evaluation. The decision path must
        // reach the same outcome for the same reason.
        let decision = evaluate_all(&policies, &req);
        let fast = evaluate(&policies, &req);
        if (fast.outcome, fast.reason) != (decision.outcome, decision.reason) {
            return Err(format!(
                "evaluate decided {:?} ({:?}), evaluate_all {:?} ({:?})",
                fast.outcome, fast.reason, decision.outcome, decision.reason
            ));
        }
        let mut sids: Vec<String> = decision.matched.iter().map(|m| m.sid().unwrap_or("<no sid>").to_owned()).collect();
        sids.sort();
        Ok(Some(Observed { outcome: decision.outcome, matched_sids: sids }))
    }
}

/// The `simulate-custom-policy` request for a case; `None` when the case needs something the
/// simulator API cannot carry (a session policy).
pub fn simulate_request(file: &CaseFile, case: &Case) -> Option<SimulateCustomPolicyRequest> {
    if file.policies.session.is_some() {
        return None;
    }
    Some(SimulateCustomPolicyRequest {
        policy_input_list: file.policies.identity.iter().map(PolicyDoc::text).collect(),
        permissions_boundary_policy_input_list: file.policies.boundary.iter().map(PolicyDoc::text).collect(),
        action_names: vec![case.action.clone()],
        resource_arns: vec![case.resource.clone()],
        resource_policy: file.policies.resource.as_ref().map(PolicyDoc::text),
        resource_owner: case.resource_owner.as_deref().map(|o| {
            if o.starts_with("arn:") {
                o.to_owned()
            } else {
                format!("arn:aws:iam::{o}:root")
            }
        }),
        caller_arn: Some(case.principal.clone()),
        context_entries: case
            .context
            .iter()
            .map(|c| ContextEntry {
                context_key_name: c.key.clone(),
                context_key_values: c.values.clone(),
                context_key_type: Some(c.ty),
            })
            .collect(),
        ..Default::default()
    })
}

/// The Sid of the statement that starts at `line`:`column` of `text` (a policy of the request),
/// for mapping `MatchedStatements` positions back to Sids.
pub fn sid_at(text: &str, kind: PolicyKind, line: usize, column: usize) -> Option<String> {
    let policy = Policy::parse(text, kind).ok()?;
    (0..policy.statements().len()).find_map(|i| {
        let (start, _) = policy.statement_positions(i)?;
        if start.line != line || start.column != column {
            return None;
        }
        Some(policy.statements().get(i)?.sid().unwrap_or("<no sid>").to_owned())
    })
}
