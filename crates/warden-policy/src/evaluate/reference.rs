//! A deliberately naive reference evaluator, and the property that the indexed evaluator agrees
//! with it.
//!
//! The reference reads every statement of every policy (no index, no merged rules, no condition
//! memo, no early exit), matches each one on its own with [`first_miss`], and applies the
//! evaluation table of the module documentation written out again plainly. [`evaluate`] (the
//! decision path) must give the same outcome and, for an explicit deny, name the same policy
//! type; [`evaluate_all`] must also report the same matching statements and missing keys.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::ast::PolicyKind;
use crate::compile::CompiledPolicy;
use crate::context::ContextKeyType;

struct Reference {
    outcome: Outcome,
    deny_role: Option<PolicyRole>,
    /// (role, policy id, statement) of the statements a full evaluation reports.
    matched: BTreeSet<(u8, String, usize)>,
    missing: BTreeSet<String>,
}

fn role_order(role: PolicyRole) -> u8 {
    match role {
        PolicyRole::Resource => 0,
        PolicyRole::Identity => 1,
        PolicyRole::Boundary => 2,
        PolicyRole::Session => 3,
    }
}

fn reference(policies: &Policies<'_>, req: &Request<'_>) -> Reference {
    let action = req.action.to_lowercase();
    let asked = Asked::new(req, &action, policies.boundary.is_some());
    let mut denies = Vec::new();
    let mut allows = Vec::new();
    let mut missing = BTreeSet::new();
    for (set, role) in groups(policies, req) {
        let Some(set) = set else { continue };
        for policy in set.policies() {
            for (index, stmt) in policy.compiled_statements().iter().enumerate() {
                let result = first_miss(stmt, role, &asked);
                if matches!(result, Ok(_) | Err(Miss::Condition { .. })) {
                    for c in stmt.conditions.iter() {
                        if c.evaluate(req.context).missing {
                            missing.insert(c.key.to_lowercase());
                        }
                    }
                }
                if let Ok(class) = result {
                    let at = (role_order(role), policy.id().to_owned(), index);
                    match stmt.effect {
                        Effect::Deny => denies.push((role, at)),
                        Effect::Allow => allows.push((role, class, at)),
                    }
                }
            }
        }
    }
    let kind = req.principal.kind();
    let allowed_in = |role: PolicyRole| allows.iter().any(|(r, _, _)| *r == role);
    let id = kind == PrincipalKind::Root || allowed_in(PolicyRole::Identity);
    let pb = policies.boundary.is_none() || allowed_in(PolicyRole::Boundary);
    let sp = match policies.session {
        Some(_) => allowed_in(PolicyRole::Session),
        None => kind != PrincipalKind::FederatedUser,
    };
    let rp = allows.iter().filter(|(r, _, _)| *r == PolicyRole::Resource).map(|(_, c, _)| *c).max();
    let rp = rp.unwrap_or(MatchClass::None);
    let cross = !req.resource_account.is_empty()
        && !matches!(kind, PrincipalKind::Service | PrincipalKind::Unspecified)
        && req.principal.account() != req.resource_account;
    let allowed = if kind == PrincipalKind::Service {
        rp == MatchClass::Direct
    } else if cross {
        id && pb && sp && rp != MatchClass::None
    } else {
        (id && pb && sp) || rp == MatchClass::Direct || (rp == MatchClass::Role && pb && sp)
    };
    let deny_role = denies.iter().map(|(r, _)| *r).min_by_key(|r| role_order(*r));
    let (outcome, matched) = if deny_role.is_some() {
        (Outcome::ExplicitDeny, denies.into_iter().map(|(_, at)| at).collect())
    } else if allowed {
        let reported = allows.into_iter().filter(|(r, _, _)| matches!(r, PolicyRole::Identity | PolicyRole::Resource));
        (Outcome::Allowed, reported.map(|(_, _, at)| at).collect())
    } else {
        (Outcome::ImplicitDeny, BTreeSet::new())
    };
    Reference { outcome, deny_role, matched, missing }
}

const ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:Get*",
    "ecr:*",
    "*",
    "ecr:Batch*",
    "s3:GetObject",
    "s3:*",
    "ecr:Describe?mages",
    "ECR:putimage",
    "ecr:ListImages",
    "ecr:*Image*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:ecr:us-east-1:111122223333:repository/team/*",
    "arn:aws:ecr:*:111122223333:repository/team/app",
    "arn:aws:ecr:us-east-1:*",
    "arn:aws:ecr:us-east-1:1111*",
    "arn:aws:ecr:us-east-1",
    "arn:aws:ecr:*:*:repository/${aws:username}/*",
    "arn:aws:ecr:us-east-1:111122223333:repository/t*",
    "arn:aws:ecr:us-east-1:111122223333:repository/t*/app",
    "arn:aws:ecr:us-east-1:444455556666:repository/*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:ecr:us-east-?:111122223333:repository/team/ap?",
];
const CONDITIONS: &[&str] = &[
    r#""IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.1.0/24"]}"#,
    r#""StringEqualsIfExists":{"aws:PrincipalTag/team":"team-a"}"#,
    r#""Bool":{"aws:SecureTransport":"true"}"#,
    r#""StringLike":{"aws:username":"a*"}"#,
    r#""Null":{"aws:PrincipalTag/team":"false"}"#,
    r#""ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}"#,
    r#""StringNotEquals":{"aws:PrincipalTag/team":["team-b","data"]}"#,
];
const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"AWS":"arn:aws:iam::444455556666:root"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:role/ci"}"#,
    r#"{"AWS":["arn:aws:iam::444455556666:user/bob","arn:aws:iam::111122223333:user/alice"]}"#,
];
const CALLERS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::444455556666:user/bob",
    "arn:aws:sts::111122223333:assumed-role/ci/build",
    "arn:aws:iam::111122223333:root",
];
const REQUEST_ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:DescribeImages",
    "ecr:GetAuthorizationToken",
    "s3:GetObject",
    "s3:GetBucketAcl",
    "iam:PassRole",
];
const REQUEST_RESOURCES: &[&str] = &[
    "*",
    "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
    "arn:aws:ecr:us-east-2:111122223333:repository/team/apt",
    "arn:aws:ecr:us-east-1:111122223333:repository/alice/app",
    "arn:aws:ecr:us-east-1:111122223333:repository/other",
    "arn:aws:ecr:us-east-1:444455556666:repository/team/app",
    "arn:aws:s3:::bucket/x",
];

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<usize>,
    /// `None`: no Resource element (resource policies only).
    resources: Option<(bool, Vec<usize>)>,
    conditions: Vec<usize>,
    principal: (bool, usize),
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..ACTIONS.len(), 1..3),
        prop::option::weighted(0.9, (prop::bool::weighted(0.15), prop::collection::vec(0..RESOURCES.len(), 1..3))),
        prop::collection::vec(0..CONDITIONS.len(), 0..3),
        (prop::bool::weighted(0.1), 0..PRINCIPALS.len()),
    )
        .prop_map(|(deny, not_action, actions, resources, conditions, principal)| Stmt {
            deny,
            not_action,
            actions,
            resources,
            conditions,
            principal,
        })
}

fn text(stmts: &[Stmt], with_principal: bool) -> String {
    let list = |names: &[&str], ids: &[usize]| {
        let v: Vec<String> = ids.iter().map(|i| format!("{:?}", names[*i])).collect();
        format!("[{}]", v.join(","))
    };
    let body: Vec<String> = stmts
        .iter()
        .map(|s| {
            let mut parts = vec![format!(r#""Effect":"{}""#, if s.deny { "Deny" } else { "Allow" })];
            let action_key = if s.not_action { "NotAction" } else { "Action" };
            parts.push(format!(r#""{action_key}":{}"#, list(ACTIONS, &s.actions)));
            match (&s.resources, with_principal) {
                (Some((negated, ids)), _) => {
                    let key = if *negated { "NotResource" } else { "Resource" };
                    parts.push(format!(r#""{key}":{}"#, list(RESOURCES, ids)));
                }
                (None, false) => parts.push(r#""Resource":"*""#.to_owned()),
                (None, true) => {}
            }
            if with_principal {
                let key = if s.principal.0 && s.deny { "NotPrincipal" } else { "Principal" };
                parts.push(format!(r#""{key}":{}"#, PRINCIPALS[s.principal.1]));
            }
            if !s.conditions.is_empty() {
                let mut ids = s.conditions.clone();
                ids.sort_unstable();
                ids.dedup();
                let c: Vec<&str> = ids.iter().map(|i| CONDITIONS[*i]).collect();
                parts.push(format!(r#""Condition":{{{}}}"#, c.join(",")));
            }
            format!("{{{}}}", parts.join(","))
        })
        .collect();
    format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","))
}

#[derive(Debug, Clone)]
struct Case {
    identity: Vec<Vec<Stmt>>,
    resource: Option<Vec<Stmt>>,
    boundary: Option<Vec<Stmt>>,
    session: Option<Vec<Stmt>>,
    caller: usize,
    action: usize,
    resource_arn: usize,
    context: (Option<bool>, Option<bool>, Option<bool>, Option<bool>),
}

fn case() -> impl Strategy<Value = Case> {
    let policy = || prop::collection::vec(stmt(), 1..8);
    (
        prop::collection::vec(policy(), 0..5),
        prop::option::of(policy()),
        prop::option::weighted(0.2, policy()),
        prop::option::weighted(0.1, policy()),
        0..CALLERS.len(),
        0..REQUEST_ACTIONS.len(),
        0..REQUEST_RESOURCES.len(),
        (any::<Option<bool>>(), any::<Option<bool>>(), any::<Option<bool>>(), any::<Option<bool>>()),
    )
        .prop_map(|(identity, resource, boundary, session, caller, action, resource_arn, context)| Case {
            identity,
            resource,
            boundary,
            session,
            caller,
            action,
            resource_arn,
            context,
        })
}

fn compile_set(policies: &[Vec<Stmt>], kind: PolicyKind, name: &str) -> Option<PolicySet> {
    let mut compiled = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        compiled
            .push(CompiledPolicy::compile(&text(p, kind == PolicyKind::Resource), kind, &format!("{name}{i}")).ok()?);
    }
    Some(PolicySet::new(compiled))
}

/// An optional policy that was given and compiled, or not given (`Some(None)`); `None` when it was
/// given and failed to compile.
fn compiled(o: Option<Option<PolicySet>>) -> Option<Option<PolicySet>> {
    match o {
        None => Some(None),
        Some(set) => set.map(Some),
    }
}

fn context(c: &Case) -> Context {
    let mut ctx = Context::new();
    let (ip, team, secure, username) = c.context;
    if let Some(inside) = ip {
        ctx.insert("aws:SourceIp", ContextKeyType::Ip, &[if inside { "10.1.2.3" } else { "192.0.2.1" }]).unwrap();
    }
    if let Some(a) = team {
        ctx.insert("aws:PrincipalTag/team", ContextKeyType::String, &[if a { "team-a" } else { "team-b" }]).unwrap();
    }
    if let Some(s) = secure {
        ctx.insert("aws:SecureTransport", ContextKeyType::Boolean, &[if s { "true" } else { "false" }]).unwrap();
    }
    if let Some(a) = username {
        ctx.insert("aws:username", ContextKeyType::String, &[if a { "alice" } else { "bob" }]).unwrap();
    }
    let caller = CALLERS[c.caller];
    ctx.insert("aws:PrincipalArn", ContextKeyType::String, &[caller]).unwrap();
    ctx
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn the_indexed_evaluator_agrees_with_the_naive_reference(c in case()) {
        let identity = compile_set(&c.identity, PolicyKind::Identity, "id");
        let resource = c.resource.as_ref().map(|p| compile_set(std::slice::from_ref(p), PolicyKind::Resource, "res"));
        let boundary = c.boundary.as_ref().map(|p| compile_set(std::slice::from_ref(p), PolicyKind::Boundary, "pb"));
        let session = c.session.as_ref().map(|p| compile_set(std::slice::from_ref(p), PolicyKind::Session, "sp"));
        // Policies validation refuses (a short ARN with an empty field, say) are not cases.
        let (Some(identity), Some(resource), Some(boundary), Some(session)) =
            (identity, compiled(resource), compiled(boundary), compiled(session))
        else {
            return Err(TestCaseError::reject("a policy does not validate"));
        };
        let principal = Principal::parse(CALLERS[c.caller]).unwrap();
        let ctx = context(&c);
        let req = Request {
            principal: &principal,
            action: REQUEST_ACTIONS[c.action],
            resource: REQUEST_RESOURCES[c.resource_arn],
            resource_account: "111122223333",
            context: &ctx,
        };
        let policies = Policies {
            identity: &identity,
            boundary: boundary.as_ref(),
            session: session.as_ref(),
            resource: resource.as_ref(),
        };
        let want = reference(&policies, &req);
        let fast = evaluate(&policies, &req);
        let full = evaluate_all(&policies, &req);
        prop_assert_eq!(fast.outcome, want.outcome);
        prop_assert_eq!(full.outcome, want.outcome);
        prop_assert_eq!(fast.reason, full.reason);
        if let Some(role) = want.deny_role {
            prop_assert_eq!(full.reason, Reason::ExplicitDeny(role));
        }
        let matched: BTreeSet<(u8, String, usize)> =
            full.matched.iter().map(|m| (role_order(m.role), m.policy.id().to_owned(), m.index)).collect();
        prop_assert_eq!(matched.len(), full.matched.len(), "a statement reported twice");
        prop_assert_eq!(&matched, &want.matched);
        let missing: BTreeSet<String> = full.missing_context.iter().map(|k| k.to_lowercase()).collect();
        prop_assert_eq!(missing, want.missing);
        // The decision path reports statements that settled it, all of them matching ones.
        for m in &fast.matched {
            prop_assert!(want.matched.contains(&(role_order(m.role), m.policy.id().to_owned(), m.index)));
        }
    }
}
