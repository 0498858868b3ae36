//! Who an Amazon ECR repository policy lets in from outside its owner's account: external-access
//! findings in the shape of IAM Access Analyzer's, and the public-access check
//! (`CheckNoPublicAccess`). No I/O.
//!
//! **Method.** A repository policy names its actions from ECR's finite catalog
//! ([`crate::catalog::ecr_actions`]), so the actions each statement grants are enumerated exactly.
//! The principals an `Allow` statement admits are read from `Principal`/`NotPrincipal` and from
//! the conditions that pin the caller:
//!
//! | condition (positive operator, no `IfExists`, no set qualifier) | admits |
//! | --- | --- |
//! | `aws:PrincipalAccount`, `aws:SourceAccount`, `aws:SourceOwner` = 12 digits | those accounts |
//! | `aws:PrincipalArn`, `aws:SourceArn` = ARNs with a literal account | those ARNs' accounts |
//! | `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths` | an organization: external, not public |
//! | `aws:SourceIp`, `aws:SourceVpc`, `aws:SourceVpce` | callers from that source: external, not public |
//!
//! A negated operator (`StringNotEquals aws:PrincipalAccount`) or `…IfExists` on such a key pins
//! nobody (it admits everyone else, and anonymous callers have no account), so the statement
//! stays public. Conditions on other keys (`aws:SecureTransport`, tags, the user agent) restrict
//! how, not who: each is satisfiable by some outside caller on its own, so the statement is
//! public *with* those conditions, listed in the finding's `condition` as Access Analyzer lists
//! them. `Deny` statements are applied exactly where their form is decided: a `Deny` to every
//! principal with no condition removes its actions; one whose only condition is a negated pin
//! (`StringNotEquals aws:PrincipalAccount`, `NotIpAddress aws:SourceIp`, …) pins the allowed
//! callers to what it names. Anything else — a set qualifier on a pinning key, a key constrained
//! twice, time keys (`aws:CurrentTime` depends on when), a `Deny` of another form that overlaps a
//! grant, a `Resource` other than `*` — makes the answer [`Verdict::Unknown`] with the reason,
//! never a PASS.
//!
//! ```
//! use warden_policy::analyze::{check_no_public_access, Verdict};
//! let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowPull","Effect":"Allow",
//!     "Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#;
//! let check = check_no_public_access(policy, "111122223333").unwrap();
//! assert_eq!(check.result, Verdict::Fail);
//! assert_eq!(check.reasons[0].statement_index, 0);
//! ```

pub mod compare;
mod strings;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use compare::{
    allowing, check_access_not_granted, check_no_new_access, check_no_new_access_in_sets, effective_permissions,
    Allowing, CheckResult, Permission, StatementWitnesses, Witness,
};

use crate::ast::operator::{BaseOp, Operator};
use crate::ast::{Effect, PolicyKind, PrincipalType, PrincipalValue, Statement};
use crate::compile::wildcard::{Case, Pattern};
use crate::{Policy, PolicyError};

/// A check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Proven: no access of the kind checked.
    Pass,
    /// Such access exists (see the reasons).
    Fail,
    /// The method cannot decide (see the reasons); never reported as a pass.
    Unknown,
}

/// Who a grant admits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Admits {
    /// Anyone, including anonymous callers and every account.
    Public,
    /// Principals of these accounts (other than the owner's).
    Accounts(BTreeSet<String>),
    /// Members of these organizations (or organization paths).
    Organizations(BTreeSet<String>),
    /// Callers from these networks, IP ranges or endpoints, of any account.
    Sources(BTreeSet<String>),
    /// These AWS service principals.
    Services(BTreeSet<String>),
    /// These federated identity providers or canonical users.
    Federated(BTreeSet<String>),
}

/// One external-access finding: an `Allow` statement that admits principals outside the owner's
/// account, with the actions it grants them (shaped as Access Analyzer's `Finding`: `principal`,
/// `action`, `condition`, `isPublic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Index of the statement in the policy.
    pub statement_index: usize,
    /// Its `Sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<String>,
    /// `{"AWS": "*"}`, `{"AWS": "444455556666"}`, `{"Service": …}`, …
    pub principal: BTreeMap<String, String>,
    /// The ECR actions granted.
    pub action: Vec<String>,
    /// The conditions it holds under (key → values), as Access Analyzer lists them.
    pub condition: BTreeMap<String, String>,
    /// Whether anyone at all is admitted.
    pub is_public: bool,
    /// Who is admitted.
    pub admits: Admits,
}

/// Why a statement could not be decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undecided {
    /// Index of the statement.
    pub statement_index: usize,
    /// Its `Sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<String>,
    /// What the method does not decide.
    pub reason: String,
}

/// The external access a repository policy grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAccess {
    /// The findings, in statement order.
    pub findings: Vec<Finding>,
    /// Statements the method could not decide.
    pub undecided: Vec<Undecided>,
}

/// A reason of a check's answer (Access Analyzer's `ReasonSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// What the statement does.
    pub description: String,
    /// Index of the statement.
    pub statement_index: usize,
    /// Its `Sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<String>,
    /// The policy of a set it is in (checks of several policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_index: Option<usize>,
}

/// The answer of [`check_no_public_access`], shaped as Access Analyzer's
/// `CheckNoPublicAccess` response (`result`, `message`, `reasons`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessCheck {
    /// PASS, FAIL or UNKNOWN.
    pub result: Verdict,
    /// One sentence.
    pub message: String,
    /// The statements behind the answer.
    pub reasons: Vec<Reason>,
}

/// Keys that pin the caller's account.
const ACCOUNT_KEYS: &[&str] = &["aws:principalaccount", "aws:sourceaccount", "aws:sourceowner"];
/// Keys that pin the caller's ARN (and so its account).
const ARN_KEYS: &[&str] = &["aws:principalarn", "aws:sourcearn"];
/// Keys that pin the caller's organization.
const ORG_KEYS: &[&str] = &["aws:principalorgid", "aws:principalorgpaths"];
/// Keys that pin where the call comes from.
const SOURCE_KEYS: &[&str] = &["aws:sourceip", "aws:sourcevpc", "aws:sourcevpce"];
/// Keys whose value is not the caller's choice: the time of the call.
const TIME_KEYS: &[&str] = &["aws:currenttime", "aws:epochtime"];

fn is_pin_key(key: &str) -> bool {
    [ACCOUNT_KEYS, ARN_KEYS, ORG_KEYS, SOURCE_KEYS].iter().any(|keys| keys.contains(&key))
}

/// The external access `policy_text` (a repository policy) grants to principals outside
/// `owner_account`.
pub fn external_access(policy_text: &str, owner_account: &str) -> Result<ExternalAccess, PolicyError> {
    let policy = Policy::parse(policy_text, PolicyKind::Repository)?;
    Ok(analyze(&policy, owner_account))
}

/// Whether a repository policy grants public access: FAIL with the statements that do, PASS
/// when proven that none does, UNKNOWN with the reasons when the method cannot decide.
pub fn check_no_public_access(policy_text: &str, owner_account: &str) -> Result<PublicAccessCheck, PolicyError> {
    let access = external_access(policy_text, owner_account)?;
    let public: Vec<&Finding> = access.findings.iter().filter(|f| f.is_public).collect();
    let check = if !public.is_empty() {
        PublicAccessCheck {
            result: Verdict::Fail,
            message: "The resource policy grants public access.".into(),
            reasons: public
                .iter()
                .map(|f| Reason {
                    description: format!("Grants public access to {}.", f.action.join(", ")),
                    statement_index: f.statement_index,
                    statement_id: f.statement_id.clone(),
                    policy_index: None,
                })
                .collect(),
        }
    } else if !access.undecided.is_empty() {
        PublicAccessCheck {
            result: Verdict::Unknown,
            message: "Whether the resource policy grants public access could not be decided.".into(),
            reasons: access
                .undecided
                .iter()
                .map(|u| Reason {
                    description: u.reason.clone(),
                    statement_index: u.statement_index,
                    statement_id: u.statement_id.clone(),
                    policy_index: None,
                })
                .collect(),
        }
    } else {
        PublicAccessCheck {
            result: Verdict::Pass,
            message: "The resource policy does not grant public access.".into(),
            reasons: Vec::new(),
        }
    };
    Ok(check)
}

/// The ECR actions a statement's `Action`/`NotAction` names, from the catalog.
fn actions_of(statement: &Statement) -> BTreeSet<&'static str> {
    let clause = statement.action();
    let patterns: Vec<Pattern> =
        clause.values().iter().map(|v| Pattern::new(v, Case::Insensitive, true, false)).collect();
    crate::catalog::ecr_actions()
        .iter()
        .filter(|a| {
            let full = format!("ecr:{}", a.name);
            patterns.iter().any(|p| p.matches_plain(&full)) != clause.is_negated()
        })
        .map(|a| a.name)
        .collect()
}

/// Whether a statement's `Resource` may leave the repository out (anything but `*` is not
/// decided here: the repository's ARN is not part of the check).
fn resource_undecided(statement: &Statement) -> Option<String> {
    let clause = statement.resource()?;
    let any = clause.values().iter().all(|v| v == "*");
    (clause.is_negated() || !any).then(|| "a Resource other than \"*\" is not decided".to_owned())
}

/// Who the statement's principal element names.
fn principals_of(statement: &Statement, owner: &str) -> Vec<Admits> {
    let Some(p) = statement.principal() else { return vec![Admits::Public] };
    if p.is_negated() {
        // NotPrincipal with Allow: everyone but those named.
        return vec![Admits::Public];
    }
    match p.value() {
        PrincipalValue::Any => vec![Admits::Public],
        PrincipalValue::Map(entries) => {
            let mut out = Vec::new();
            for (kind, values) in entries {
                for v in values.values() {
                    match kind {
                        PrincipalType::Aws if v == "*" => out.push(Admits::Public),
                        PrincipalType::Aws => match account_of(v) {
                            Some(a) if a == owner => {}
                            Some(a) => out.push(Admits::Accounts([a].into())),
                            None => out.push(Admits::Public),
                        },
                        PrincipalType::Service => out.push(Admits::Services([v.clone()].into())),
                        PrincipalType::Federated | PrincipalType::CanonicalUser => {
                            out.push(Admits::Federated([v.clone()].into()))
                        }
                    }
                }
            }
            out
        }
    }
}

/// The account of `123456789012` or `arn:aws:iam::123456789012:…` (`None` when it has a
/// wildcard or no account).
fn account_of(v: &str) -> Option<String> {
    let account = if v.starts_with("arn:") { v.split(':').nth(4)? } else { v };
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(|| account.to_owned())
}

/// What one `Allow` statement's conditions say about who is admitted.
enum Pin {
    /// Nobody in particular: every admitted principal, under the listed conditions.
    None,
    /// Only this kind of caller.
    To(Admits),
}

fn analyze(policy: &Policy, owner: &str) -> ExternalAccess {
    let mut findings = Vec::new();
    let mut undecided = Vec::new();
    let statements = policy.statements();
    let denies: Vec<(usize, &Statement)> =
        statements.iter().enumerate().filter(|(_, s)| s.effect() == Effect::Deny).collect();
    for (index, s) in statements.iter().enumerate() {
        if s.effect() != Effect::Allow {
            continue;
        }
        let sid = s.sid().map(str::to_owned);
        let undecide = |reason: String| Undecided { statement_index: index, statement_id: sid.clone(), reason };
        let mut actions = actions_of(s);
        if actions.is_empty() {
            continue;
        }
        if let Some(reason) = resource_undecided(s) {
            undecided.push(undecide(reason));
            continue;
        }
        let (pin, condition) = match conditions_of(s, owner) {
            Ok(c) => c,
            Err(reason) => {
                undecided.push(undecide(reason));
                continue;
            }
        };
        // Denies to every principal: remove what they deny outright, pin what they pin.
        let mut pins = Vec::new();
        let mut blocked = false;
        for (d_index, d) in &denies {
            let d_actions = actions_of(d);
            if d_actions.is_disjoint(&actions) {
                continue;
            }
            let to_everyone = principals_of(d, "").contains(&Admits::Public);
            if !to_everyone {
                continue; // denies named principals only; the grant stays for everyone else
            }
            match deny_form(d) {
                DenyForm::All if resource_undecided(d).is_none() => {
                    actions.retain(|a| !d_actions.contains(a));
                    if actions.is_empty() {
                        blocked = true;
                        break;
                    }
                }
                DenyForm::PinsTo(admits) if d_actions.is_superset(&actions) && resource_undecided(d).is_none() => {
                    pins.push(admits)
                }
                _ => {
                    undecided.push(undecide(format!(
                        "statement {d_index} denies some of these actions under a condition that is not decided"
                    )));
                    blocked = true;
                    break;
                }
            }
        }
        if blocked {
            continue;
        }
        for admits in principals_of(s, owner) {
            // The narrowest of the principal, the statement's pin and the denies' pins.
            let mut who = admits;
            for p in std::iter::once(&pin).filter_map(|p| match p {
                Pin::To(a) => Some(a),
                Pin::None => None,
            }) {
                who = narrow(who, p.clone(), owner);
            }
            for p in &pins {
                who = narrow(who, p.clone(), owner);
            }
            if let Admits::Accounts(a) = &mut who {
                a.remove(owner);
                if a.is_empty() {
                    continue; // only the owner's account
                }
            }
            findings.push(Finding {
                statement_index: index,
                statement_id: sid.clone(),
                principal: principal_map(&who),
                action: actions.iter().map(|a| format!("ecr:{a}")).collect(),
                condition: condition.clone(),
                is_public: who == Admits::Public,
                admits: who,
            });
        }
    }
    ExternalAccess { findings, undecided }
}

/// `principal` of a finding.
fn principal_map(who: &Admits) -> BTreeMap<String, String> {
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
    match who {
        Admits::Public | Admits::Organizations(_) | Admits::Sources(_) => [("AWS".into(), "*".into())].into(),
        Admits::Accounts(a) => [("AWS".into(), join(a))].into(),
        Admits::Services(s) => [("Service".into(), join(s))].into(),
        Admits::Federated(f) => [("Federated".into(), join(f))].into(),
    }
}

/// Who is admitted when both `a` and `b` must hold.
fn narrow(a: Admits, b: Admits, owner: &str) -> Admits {
    match (a, b) {
        (Admits::Public, b) => b,
        (a, Admits::Public) => a,
        (Admits::Accounts(x), Admits::Accounts(y)) => Admits::Accounts(x.intersection(&y).cloned().collect()),
        // A named principal stays named; an account pin of the owner only leaves nobody outside.
        (a @ (Admits::Services(_) | Admits::Federated(_)), _) => a,
        (_, Admits::Accounts(y)) => Admits::Accounts(y.into_iter().filter(|a| a != owner).collect()),
        (Admits::Accounts(x), _) => Admits::Accounts(x),
        (a, _) => a,
    }
}

/// The pinning and the listed conditions of an `Allow` statement, or why they are not decided.
fn conditions_of(statement: &Statement, owner: &str) -> Result<(Pin, BTreeMap<String, String>), String> {
    let mut listed = BTreeMap::new();
    let mut pin = Pin::None;
    let mut seen = BTreeSet::new();
    for block in statement.condition() {
        let op =
            Operator::parse(block.operator()).ok_or_else(|| format!("operator {} is not decided", block.operator()))?;
        for entry in block.entries() {
            let key = entry.key().to_ascii_lowercase();
            if !seen.insert(key.clone()) {
                return Err(format!("{} is constrained twice", entry.key()));
            }
            if TIME_KEYS.contains(&key.as_str()) {
                return Err(format!("{} depends on when the call is made", entry.key()));
            }
            listed.insert(entry.key().to_owned(), entry.values().join(","));
            if !is_pin_key(&key) {
                continue;
            }
            if op.set.is_some() {
                return Err(format!("a set qualifier on {} is not decided", entry.key()));
            }
            if op.if_exists || op.base.is_negated() || op.base == BaseOp::Null {
                continue; // admits everyone else, and callers without the key
            }
            let admits = pinned(&key, op.base, entry.values(), owner)
                .ok_or_else(|| format!("the values of {} are not decided", entry.key()))?;
            pin = match pin {
                Pin::None => Pin::To(admits),
                Pin::To(prev) => Pin::To(narrow(prev, admits, owner)),
            };
            listed.remove(entry.key());
        }
    }
    Ok((pin, listed))
}

/// Who a positive operator on a pinning key admits.
fn pinned(key: &str, op: BaseOp, values: &[String], _owner: &str) -> Option<Admits> {
    if ACCOUNT_KEYS.contains(&key) {
        let exact = matches!(op, BaseOp::StringEquals | BaseOp::StringEqualsIgnoreCase | BaseOp::StringLike);
        let accounts: Option<BTreeSet<String>> = values.iter().map(|v| account_of(v)).collect();
        return if exact { accounts.map(Admits::Accounts) } else { None };
    }
    if ARN_KEYS.contains(&key) {
        let accounts: Option<BTreeSet<String>> =
            values.iter().map(|v| if v.starts_with("arn:") { account_of(v) } else { None }).collect();
        return accounts.map(Admits::Accounts);
    }
    if ORG_KEYS.contains(&key) {
        return Some(Admits::Organizations(values.iter().cloned().collect()));
    }
    if SOURCE_KEYS.contains(&key) {
        return Some(Admits::Sources(values.iter().cloned().collect()));
    }
    None
}

/// The decided forms of a `Deny` to every principal.
enum DenyForm {
    /// No condition: denies its actions to everyone.
    All,
    /// Only negated pins: denies everyone but those; what it allows is pinned to them.
    PinsTo(Admits),
    /// Anything else.
    Other,
}

fn deny_form(statement: &Statement) -> DenyForm {
    let blocks = statement.condition();
    if blocks.is_empty() {
        return DenyForm::All;
    }
    let mut pin: Option<Admits> = None;
    for block in blocks {
        let Some(op) = Operator::parse(block.operator()) else { return DenyForm::Other };
        if op.set.is_some() || op.if_exists || !op.base.is_negated() {
            return DenyForm::Other;
        }
        for entry in block.entries() {
            let key = entry.key().to_ascii_lowercase();
            if !is_pin_key(&key) {
                return DenyForm::Other;
            }
            let positive = match op.base {
                BaseOp::StringNotEquals => BaseOp::StringEquals,
                BaseOp::StringNotEqualsIgnoreCase => BaseOp::StringEqualsIgnoreCase,
                BaseOp::StringNotLike => BaseOp::StringLike,
                BaseOp::ArnNotEquals => BaseOp::ArnEquals,
                BaseOp::ArnNotLike => BaseOp::ArnLike,
                BaseOp::NotIpAddress => BaseOp::IpAddress,
                _ => return DenyForm::Other,
            };
            let Some(admits) = pinned(&key, positive, entry.values(), "") else { return DenyForm::Other };
            // Several negated pins in one Deny: it denies when any fails... only one is decided.
            if pin.is_some() {
                return DenyForm::Other;
            }
            pin = Some(admits);
        }
    }
    pin.map_or(DenyForm::Other, DenyForm::PinsTo)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const OWNER: &str = "111122223333";

    fn check(policy: &str) -> PublicAccessCheck {
        check_no_public_access(policy, OWNER).unwrap()
    }

    fn example(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../../policies/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_guides_repository_policies() {
        // "Allow all AWS accounts to pull": public, the three pull actions.
        let all = external_access(&example("repository-allow-all-accounts-pull.json"), OWNER).unwrap();
        assert_eq!(all.findings.len(), 1);
        assert!(all.findings[0].is_public);
        assert_eq!(
            all.findings[0].action,
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        );
        assert_eq!(check(&example("repository-allow-all-accounts-pull.json")).result, Verdict::Fail);

        // "Allow another account to push": cross-account, not public.
        let push = external_access(&example("repository-allow-other-accounts-push.json"), OWNER).unwrap();
        assert_eq!(push.findings.len(), 1);
        assert!(!push.findings[0].is_public);
        assert_eq!(push.findings[0].admits, Admits::Accounts(["444455556666".to_owned()].into()));
        assert_eq!(push.findings[0].principal["AWS"], "444455556666");
        assert!(push.findings[0].action.contains(&"ecr:PutImage".to_owned()));
        assert_eq!(check(&example("repository-allow-other-accounts-push.json")).result, Verdict::Pass);

        // "Deny all": nothing granted.
        let deny = external_access(&example("repository-deny-all.json"), OWNER).unwrap();
        assert!(deny.findings.is_empty() && deny.undecided.is_empty());
        assert_eq!(check(&example("repository-deny-all.json")).result, Verdict::Pass);

        // The service principal (CodeBuild) example: a service, not public.
        let cb = external_access(&example("repository-allow-codebuild-service-pull.json"), OWNER).unwrap();
        assert!(cb.findings.iter().all(|f| !f.is_public && matches!(f.admits, Admits::Services(_))), "{cb:?}");
        assert_eq!(check(&example("repository-allow-codebuild-service-pull.json")).result, Verdict::Pass);
    }

    #[test]
    fn pins_and_their_negations() {
        let stmt = |cond: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Condition":{cond}}}]}}"#
            )
        };
        // Pinned to the owner's account: no finding at all.
        let own = external_access(&stmt(r#"{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#), OWNER).unwrap();
        assert!(own.findings.is_empty(), "{own:?}");
        // Pinned to another account: cross-account.
        let other =
            external_access(&stmt(r#"{"StringEquals":{"aws:PrincipalAccount":["444455556666"]}}"#), OWNER).unwrap();
        assert_eq!(other.findings[0].admits, Admits::Accounts(["444455556666".to_owned()].into()));
        // An organization: external, not public.
        let org = check(&stmt(r#"{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#));
        assert_eq!(org.result, Verdict::Pass);
        // Negated or IfExists: everyone else, and anonymous callers: public.
        assert_eq!(
            check(&stmt(r#"{"StringNotEquals":{"aws:PrincipalAccount":"444455556666"}}"#)).result,
            Verdict::Fail
        );
        assert_eq!(
            check(&stmt(r#"{"StringEqualsIfExists":{"aws:PrincipalAccount":"444455556666"}}"#)).result,
            Verdict::Fail
        );
        // A condition that restricts how, not who: public, with the condition listed.
        let how = external_access(&stmt(r#"{"Bool":{"aws:SecureTransport":"true"}}"#), OWNER).unwrap();
        assert!(how.findings[0].is_public);
        assert_eq!(how.findings[0].condition["aws:SecureTransport"], "true");
        // Undecided forms are UNKNOWN, never PASS.
        for cond in [
            r#"{"ForAnyValue:StringEquals":{"aws:PrincipalAccount":"444455556666"}}"#,
            r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            r#"{"StringLike":{"aws:PrincipalAccount":"4444*"}}"#,
        ] {
            assert_eq!(check(&stmt(cond)).result, Verdict::Unknown, "{cond}");
        }
    }

    #[test]
    fn denies_remove_or_pin_what_they_cover() {
        let allow_all = r#"{"Sid":"Pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#;
        let policy = |deny: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{allow_all},{deny}]}}"#);
        // The guide's IP-range policy as a Deny: pins the allowed callers to the range.
        let ip = policy(
            r#"{"Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"NotIpAddress":{"aws:SourceIp":"54.240.143.0/24"}}}"#,
        );
        let found = external_access(&ip, OWNER).unwrap();
        assert_eq!(found.findings[0].admits, Admits::Sources(["54.240.143.0/24".to_owned()].into()));
        assert_eq!(check(&ip).result, Verdict::Pass);
        // Only the owner's account: nothing external.
        let mine = policy(
            r#"{"Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}"#,
        );
        assert!(external_access(&mine, OWNER).unwrap().findings.is_empty());
        // A deny of one action leaves the other public.
        let one = policy(r#"{"Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage"}"#);
        let found = external_access(&one, OWNER).unwrap();
        assert_eq!(found.findings[0].action, ["ecr:GetDownloadUrlForLayer"]);
        assert_eq!(check(&one).result, Verdict::Fail);
        // A deny of another form over the same actions: UNKNOWN.
        let other = policy(
            r#"{"Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        );
        assert_eq!(check(&other).result, Verdict::Unknown);
    }
}
