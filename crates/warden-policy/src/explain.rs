//! Explanations: for every statement considered, whether it matched and if not exactly why; the
//! rule that decided; and for a denied request, what would make it allowed.
//!
//! ```
//! use warden_policy::explain::explain;
//! use warden_policy::{CompiledPolicy, Context, Policies, PolicyKind, PolicySet, Principal, Request};
//! let set = PolicySet::from(CompiledPolicy::compile(
//!     r#"{"Version":"2012-10-17","Statement":{"Sid":"Pull","Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*",
//!         "Condition":{"StringEquals":{"aws:PrincipalTag/team":"platform"}}}}"#, PolicyKind::Identity, "pull").unwrap());
//! let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
//! let ctx = Context::new();
//! let req = Request { principal: &alice, action: "ecr:BatchGetImage", resource: "*", resource_account: "111122223333", context: &ctx };
//! let e = explain(&Policies::identity(&set), &req);
//! assert_eq!(e.decision, "implicitDeny");
//! assert!(e.suggestions[0].contains("`aws:PrincipalTag/team`"));
//! ```

use serde::Serialize;

use crate::ast::span::Position;
use crate::ast::PrincipalValue;
use crate::compile::{lowercase_action, CompiledStatement};
use crate::evaluate::{all_misses, trace, Asked, Miss, Policies, Request, StatementOutcome};
use crate::evaluate::{PolicyRole, Reason};

/// What a statement lacks to match the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "lacks", rename_all = "camelCase")]
pub enum Lack {
    /// Its `Action`/`NotAction` does not cover the action.
    Action {
        /// The patterns it has.
        patterns: Vec<String>,
        /// True for `NotAction`.
        negated: bool,
    },
    /// Its `Resource`/`NotResource` does not cover the resource.
    Resource {
        /// The patterns it has.
        patterns: Vec<String>,
        /// True for `NotResource`.
        negated: bool,
    },
    /// Its `Principal` does not name the caller.
    Principal {
        /// The principal element as written.
        principal: String,
    },
    /// A condition does not hold.
    Condition {
        /// Operator.
        operator: String,
        /// Key.
        key: String,
        /// Policy values.
        values: Vec<String>,
        /// The request does not carry the key.
        missing: bool,
    },
}

/// One statement of the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementExplanation {
    /// Policy id.
    pub policy_id: String,
    /// `identity`, `resource`, `boundary`, `session`.
    pub role: &'static str,
    /// Statement index.
    pub index: usize,
    /// Sid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Allow` / `Deny`.
    pub effect: &'static str,
    /// Where it starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// True when everything matched.
    pub matched: bool,
    /// Everything it lacks (empty when matched; not applicable statements list nothing).
    pub lacks: Vec<Lack>,
    /// True when the statement takes no part (a resource policy for a request without resource).
    pub not_applicable: bool,
}

/// The whole explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// `allowed`, `explicitDeny`, `implicitDeny`.
    pub decision: &'static str,
    /// The rule that decided, in words.
    pub rule: String,
    /// AWS's AccessDenied sentence, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Condition keys applicable statements read and the request lacked.
    pub missing_context_keys: Vec<String>,
    /// Every statement considered.
    pub statements: Vec<StatementExplanation>,
    /// For a denied request: what would make it allowed.
    pub suggestions: Vec<String>,
}

fn role_name(r: PolicyRole) -> &'static str {
    match r {
        PolicyRole::Identity => "identity",
        PolicyRole::Resource => "resource",
        PolicyRole::Boundary => "boundary",
        PolicyRole::Session => "session",
    }
}

fn rule_words(reason: Reason) -> String {
    match reason {
        Reason::ExplicitDeny(role) => format!("an explicit deny in {} decides", role.phrase()),
        Reason::RootUser => "the root user acts in its own account".into(),
        Reason::IdentityAllow => "an identity-based policy allows (and no boundary or session policy limits it)".into(),
        Reason::ResourceAllow => "the resource-based policy allows the caller directly".into(),
        Reason::BothSidesAllow => {
            "cross-account: the caller's identity policy and the resource policy both allow".into()
        }
        Reason::NoIdentityAllow => "no identity-based policy allows (default deny)".into(),
        Reason::NoResourceAllow => {
            "no resource-based policy allows (needed across accounts and for service principals)".into()
        }
        Reason::NoBoundaryAllow => "the permissions boundary does not allow".into(),
        Reason::NoSessionAllow => "the session policy does not allow".into(),
    }
}

/// Every way `stmt` fails to match (no short-circuit), for "what would make it match".
fn lacks(stmt: &CompiledStatement, s: &crate::Statement, role: PolicyRole, asked: &Asked<'_>) -> Vec<Lack> {
    all_misses(stmt, role, asked)
        .into_iter()
        .filter_map(|m| match m {
            Miss::Action => Some(Lack::Action { patterns: s.action.values.values.clone(), negated: s.action.negated }),
            Miss::Resource => {
                s.resource.as_ref().map(|r| Lack::Resource { patterns: r.values.values.clone(), negated: r.negated })
            }
            Miss::Principal => {
                let principal = match s.principal.as_ref().map(|p| &p.value) {
                    Some(PrincipalValue::Any) => "\"*\"".to_owned(),
                    Some(PrincipalValue::Map(m)) => m
                        .iter()
                        .map(|(t, v)| format!("{}: {}", t.as_str(), v.values.join(", ")))
                        .collect::<Vec<_>>()
                        .join("; "),
                    None => "(none)".to_owned(),
                };
                Some(Lack::Principal { principal })
            }
            Miss::Condition { index, missing } => stmt.conditions.get(index).map(|c| Lack::Condition {
                operator: c.operator_name.to_string(),
                key: c.key.to_string(),
                values: c.raw_values.to_vec(),
                missing,
            }),
        })
        .collect()
}

/// A lack in words, for the request it was found for.
pub fn lack_words(l: &Lack, req: &Request<'_>) -> String {
    match l {
        Lack::Action { patterns, negated: false } => format!("its Action {patterns:?} does not cover `{}`", req.action),
        Lack::Action { patterns, negated: true } => format!("its NotAction {patterns:?} excludes `{}`", req.action),
        Lack::Resource { patterns, negated: false } => {
            format!("its Resource {patterns:?} does not cover `{}`", req.resource)
        }
        Lack::Resource { patterns, negated: true } => {
            format!("its NotResource {patterns:?} excludes `{}`", req.resource)
        }
        Lack::Principal { principal } => format!("its Principal ({principal}) does not name `{}`", req.principal.arn()),
        Lack::Condition { operator, key, values, missing: true } => {
            format!("the request must carry `{key}` with a value that satisfies `{operator}` {values:?}")
        }
        Lack::Condition { operator, key, values, missing: false } => {
            format!("the request's `{key}` must satisfy `{operator}` {values:?}")
        }
    }
}

/// Explains the decision for `req`.
pub fn explain(policies: &Policies<'_>, req: &Request<'_>) -> Explanation {
    let t = trace(policies, req);
    let d = &t.decision;
    let mut buf = [0u8; 128];
    let action = lowercase_action(req.action, &mut buf);
    let asked = Asked::new(req, &action, policies.boundary.is_some());
    let mut statements = Vec::with_capacity(t.statements.len());
    for e in &t.statements {
        let m = &e.statement;
        let Some(s) = m.statement() else { continue };
        let compiled = m.policy.compiled_statements().get(m.index);
        let not_applicable = e.outcome == StatementOutcome::NotApplicable;
        let l = match (compiled, not_applicable) {
            (Some(c), false) => lacks(c, s, m.role, &asked),
            _ => Vec::new(),
        };
        statements.push(StatementExplanation {
            policy_id: m.policy.id().to_owned(),
            role: role_name(m.role),
            index: m.index,
            sid: s.sid.clone(),
            effect: s.effect.as_str(),
            position: m.positions().map(|(p, _)| p),
            matched: matches!(e.outcome, StatementOutcome::Matched(_)),
            lacks: l,
            not_applicable,
        });
    }
    let mut suggestions = Vec::new();
    let place = |st: &StatementExplanation| {
        let sid = st.sid.as_ref().map(|s| format!(" `{s}`")).unwrap_or_default();
        let at = st.position.map(|p| format!(" (line {}, column {})", p.line, p.column)).unwrap_or_default();
        format!("statement {}{sid} of {} policy `{}`{at}", st.index, st.role, st.policy_id)
    };
    match d.reason {
        Reason::ExplicitDeny(_) => {
            for st in statements.iter().filter(|s| s.matched && s.effect == "Deny") {
                suggestions.push(format!("{} explicitly denies it: remove or narrow it; no Allow can override a Deny", place(st)));
            }
        }
        Reason::NoResourceAllow => suggestions.push(format!(
            "the resource's policy must allow `{}` for `{}`: across accounts (and for service principals) the resource side must grant too",
            req.principal.arn(),
            req.action
        )),
        Reason::NoBoundaryAllow => {
            suggestions.push(format!("the permissions boundary must allow `{}` on `{}`", req.action, req.resource))
        }
        Reason::NoSessionAllow => suggestions.push(format!("the session policy must allow `{}` on `{}`", req.action, req.resource)),
        Reason::NoIdentityAllow => {
            let mut allows: Vec<&StatementExplanation> = statements
                .iter()
                .filter(|s| s.effect == "Allow" && !s.matched && !s.not_applicable && matches!(s.role, "identity" | "resource"))
                .collect();
            allows.sort_by_key(|s| s.lacks.len());
            let fewest = allows.first().map(|s| s.lacks.len());
            for st in allows.iter().filter(|s| Some(s.lacks.len()) == fewest) {
                let needs: Vec<String> = st.lacks.iter().map(|l| lack_words(l, req)).collect();
                suggestions.push(format!("closest: {} would allow it, but {}", place(st), needs.join("; and ")));
            }
            if allows.is_empty() {
                suggestions.push(format!("no Allow statement in any policy considered mentions `{}`", req.action));
            }
        }
        Reason::RootUser | Reason::IdentityAllow | Reason::ResourceAllow | Reason::BothSidesAllow => {}
    }
    Explanation {
        decision: d.outcome.as_str(),
        rule: rule_words(d.reason),
        message: d.denial_message(req.principal.arn(), req.action, req.resource),
        missing_context_keys: d.missing_context.iter().map(|k| (*k).to_owned()).collect(),
        statements,
        suggestions,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::{CompiledPolicy, Context, PolicyKind, PolicySet, Principal};

    const R: &str = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";

    fn set(text: &str, kind: PolicyKind, id: &str) -> PolicySet {
        PolicySet::from(CompiledPolicy::compile(text, kind, id).unwrap())
    }

    #[test]
    fn the_closest_allow_says_what_it_lacks() {
        let identity = set(
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"Far","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"},
                {"Sid":"Near","Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:*:111122223333:repository/team/*",
                 "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#,
            PolicyKind::Identity,
            "pull",
        );
        let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let ctx = Context::new();
        let req = Request {
            principal: &alice,
            action: "ecr:BatchGetImage",
            resource: R,
            resource_account: "111122223333",
            context: &ctx,
        };
        let e = explain(&Policies::identity(&identity), &req);
        assert_eq!(e.decision, "implicitDeny");
        assert_eq!(e.statements[0].lacks.len(), 2);
        assert_eq!(
            e.statements[1].lacks,
            [Lack::Condition {
                operator: "IpAddress".into(),
                key: "aws:SourceIp".into(),
                values: vec!["203.0.113.0/24".into()],
                missing: true
            }]
        );
        assert_eq!(e.suggestions.len(), 1);
        assert!(
            e.suggestions[0].starts_with("closest: statement 1 `Near` of identity policy `pull`"),
            "{:?}",
            e.suggestions
        );
        assert!(e.suggestions[0].contains("must carry `aws:SourceIp`"));
        assert_eq!(e.missing_context_keys, ["aws:SourceIp"]);
        assert!(e.message.unwrap().ends_with("because no identity-based policy allows the ecr:BatchGetImage action"));
    }

    #[test]
    fn explicit_denies_and_cross_account_grants_are_named() {
        let identity = set(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"},{"Sid":"NoDelete","Effect":"Deny","Action":"ecr:BatchDeleteImage","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "p",
        );
        let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let ctx = Context::new();
        let req = Request {
            principal: &alice,
            action: "ecr:BatchDeleteImage",
            resource: R,
            resource_account: "111122223333",
            context: &ctx,
        };
        let e = explain(&Policies::identity(&identity), &req);
        assert_eq!(e.decision, "explicitDeny");
        assert!(e.suggestions[0].contains("`NoDelete`") && e.suggestions[0].contains("explicitly denies it"));
        let bob = Principal::parse("arn:aws:iam::444455556666:user/bob").unwrap();
        let req = Request { principal: &bob, action: "ecr:BatchGetImage", ..req };
        let e = explain(&Policies::identity(&identity), &req);
        assert_eq!(e.rule, rule_words(Reason::NoResourceAllow));
        assert!(e.suggestions[0].contains("the resource's policy must allow `arn:aws:iam::444455556666:user/bob`"));
    }
}
