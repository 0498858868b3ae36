//! Structured requests against structured policies: the evaluator, its trace and its explanation.
//!
//! The input (`arbitrary`) picks the policies — built from a grammar of IAM elements whose values
//! come from a dictionary of realistic fragments or are raw fuzzed strings, taken whole from the
//! repository's policies (`policies/**`, collected by `build.rs`), or raw text — and a request:
//! principal, action, resource ARN, resource account and context entries.
//!
//! Invariants (beyond "never panics, never hangs"):
//! - `evaluate(..)` (the decision path, which stops once settled) decides as `evaluate_all(..)`
//!   (outcome, reason), and lists a subset of its statements; `trace(..).decision` is
//!   `evaluate_all`'s (outcome, reason, matched statements); `explain(..)` reports the same outcome;
//! - every statement either lists as matched is `Matched` in the trace, with the effect its
//!   outcome needs (Deny for `explicitDeny`, Allow for `allowed`); `implicitDeny` lists none;
//! - duplicating the identity policies (each statement then merges with its copy into one rule of
//!   the index) changes neither outcome nor reason.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use warden_policy::explain::explain;
use warden_policy::request::principal_context;
use warden_policy::{
    evaluate, evaluate_all, trace, CompiledPolicy, Context, ContextKeyType, Effect, Outcome, Policies, PolicyKind,
    PolicySet, Principal, Request, StatementOutcome,
};

mod seeds {
    include!(concat!(env!("OUT_DIR"), "/seeds.rs"));
}

// ---------------------------------------------------------------------------------------------
// Dictionaries of realistic fragments.

const ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:GetAuthorizationToken",
    "ecr:DescribeRepositories",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:BatchDeleteImage",
    "ecr:SetRepositoryPolicy",
    "ecr:TagResource",
    "ecr:*",
    "ecr:Get*",
    "ecr:Batch*",
    "ecr:*Image",
    "ecr:Batch?etImage",
    "ECR:batchgetimage",
    "*",
    "ecr:",
    "s3:GetObject",
    "iam:PassRole",
    "sts:AssumeRole",
    "ecr:???",
];

const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
    "arn:aws:ecr:us-east-1:111122223333:repository/team/*",
    "arn:aws:ecr:us-east-1:111122223333:repository/*",
    "arn:aws:ecr:*:111122223333:repository/*",
    "arn:aws:ecr:us-east-1:*:repository/app",
    "arn:aws:ecr:us-east-1:111122223333:repository/${aws:username}/*",
    "arn:aws:ecr:us-east-1:111122223333:repository/${aws:PrincipalTag/team}/*",
    "arn:aws:ecr:us-east-1:111122223333:repository/a?p",
    "arn:aws:ecr:us-east-1:444455556666:repository/shared/base",
    "arn:aws:ecr:us-west-2:111122223333:repository/alice/tools",
    "arn:aws:ecr:us-east-1:111122223333:*",
    "arn:aws:ecr:us-east-1:111122223333:repository",
    "arn:aws:ecr:*",
    "arn:aws:*",
    "arn:*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket",
    "arn:aws:iam::111122223333:role/teams/ci",
    "arn:aws-cn:ecr:cn-north-1:111122223333:repository/app",
    "arn:aws:ecr:us-east-1:111122223333:repository/${*}",
    "arn:aws:ecr:us-east-1:111122223333:repository/${?}${$}",
    "arn:aws:ecr:us-east-1:111122223333:repository/*/*/*/*?",
];

const PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/division/team/bob",
    "arn:aws:iam::111122223333:root",
    "111122223333",
    "arn:aws:sts::111122223333:assumed-role/ci/session-1",
    "arn:aws:iam::111122223333:role/teams/ci",
    "arn:aws:sts::444455556666:federated-user/carol",
    "arn:aws:iam::444455556666:user/mallory",
    "arn:aws:iam::444455556666:root",
    "ecs-tasks.amazonaws.com",
    "codebuild.amazonaws.com",
    "arn:aws-cn:iam::111122223333:user/alice",
];

const ACCOUNTS: &[&str] = &["111122223333", "444455556666", "", "*", "123456789012"];

/// Values of `Principal` maps.
const POLICY_PRINCIPALS: &[&str] = &[
    "*",
    "111122223333",
    "444455556666",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:root",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:role/teams/ci",
    "arn:aws:iam::111122223333:role/ci",
    "arn:aws:sts::111122223333:assumed-role/ci/session-1",
    "arn:aws:sts::444455556666:federated-user/carol",
    "ecs-tasks.amazonaws.com",
    "codebuild.amazonaws.com",
    "cognito-identity.amazonaws.com",
    "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
    "arn:aws:iam::111122223333:user/*",
];

const PRINCIPAL_TYPES: &[&str] = &["AWS", "Service", "Federated", "CanonicalUser", "aws", "Other"];

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

const SET_PREFIXES: &[&str] = &["", "ForAllValues:", "ForAnyValue:", "forallvalues:", "ForSomeValues:"];

const KEYS: &[&str] = &[
    "aws:username",
    "aws:userid",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalType",
    "aws:PrincipalOrgID",
    "aws:PrincipalTag/team",
    "aws:SourceIp",
    "aws:SourceVpce",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:TokenIssueTime",
    "aws:SecureTransport",
    "aws:MultiFactorAuthPresent",
    "aws:MultiFactorAuthAge",
    "aws:RequestedRegion",
    "aws:ResourceTag/environment",
    "ecr:ResourceTag/environment",
    "aws:RequestTag/environment",
    "aws:TagKeys",
    "aws:CalledVia",
    "aws:ViaAWSService",
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:ResourceAccount",
    "ecr:ImageTag",
    "AWS:USERNAME",
    "s3:prefix",
];

const VALUES: &[&str] = &[
    "alice",
    "Alice",
    "team",
    "prod",
    "dev",
    "environment",
    "",
    "*",
    "?",
    "a*b?c",
    "${aws:username}",
    "${aws:PrincipalTag/team}",
    "${aws:username}-*",
    "${*}",
    "${?}",
    "${$}",
    "${aws:username, 'anonymous'}",
    "${aws:nosuchkey}",
    "${",
    "203.0.113.0/24",
    "203.0.113.10",
    "10.0.0.0/8",
    "2001:db8::/32",
    "2001:db8::1",
    "::ffff:203.0.113.10",
    "0.0.0.0/0",
    "2020-01-01T00:00:00Z",
    "2020-01-01",
    "2020-01-01T00:00:00.123+01:00",
    "1577836800",
    "-1",
    "0",
    "3.14",
    "1e3",
    "18446744073709551616",
    "true",
    "false",
    "TRUE",
    "AAEC",
    "aGVsbG8=",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:*",
    "arn:aws:ecr:*:*:repository/*",
    "arn:aws:iam::*:role/teams/*",
    "111122223333",
    "o-exampleorgid",
    "us-east-1",
    "AIDAEXAMPLE",
    "AROAEXAMPLE:session-1",
    "User",
    "AssumedRole",
];

const CONTEXT_TYPES: [ContextKeyType; 12] = [
    ContextKeyType::String,
    ContextKeyType::StringList,
    ContextKeyType::Numeric,
    ContextKeyType::NumericList,
    ContextKeyType::Boolean,
    ContextKeyType::BooleanList,
    ContextKeyType::Ip,
    ContextKeyType::IpList,
    ContextKeyType::Binary,
    ContextKeyType::BinaryList,
    ContextKeyType::Date,
    ContextKeyType::DateList,
];

fn pick<T>(list: &[T], i: u16) -> Option<&T> {
    if list.is_empty() {
        None
    } else {
        list.get(usize::from(i) % list.len())
    }
}

// ---------------------------------------------------------------------------------------------
// The input.

/// A string: a dictionary entry (of the field's own list, or of the cases' list for the field),
/// or raw fuzzed text.
#[derive(Arbitrary, Debug)]
enum Text {
    Dict(u16),
    Case(u16),
    Raw(String),
}

impl Text {
    fn get<'a>(&'a self, dict: &[&'a str], cases: &[&'a str]) -> &'a str {
        match self {
            Text::Dict(i) => pick(dict, *i).copied().unwrap_or("*"),
            Text::Case(i) => pick(cases, *i).or_else(|| pick(dict, *i)).copied().unwrap_or("*"),
            Text::Raw(s) => s,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Many {
    One(Text),
    List(Vec<Text>),
}

impl Many {
    fn json(&self, dict: &[&str], cases: &[&str]) -> Value {
        match self {
            Many::One(t) => json!(t.get(dict, cases)),
            Many::List(ts) => Value::Array(ts.iter().take(6).map(|t| json!(t.get(dict, cases))).collect()),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum PolicyPrincipal {
    Star,
    Map(Vec<(u8, Many)>),
}

#[derive(Arbitrary, Debug)]
struct ConditionSpec {
    prefix: u8,
    operator: Text,
    if_exists: bool,
    entries: Vec<(Text, Many)>,
}

#[derive(Arbitrary, Debug)]
struct StatementSpec {
    sid: Option<Text>,
    deny: bool,
    principal: Option<(bool, PolicyPrincipal)>,
    not_action: bool,
    action: Many,
    /// `(NotResource, values)`; absent in most resource policies.
    resource: Option<(bool, Many)>,
    condition: Vec<ConditionSpec>,
}

#[derive(Arbitrary, Debug)]
enum PolicySpec {
    /// Built from the grammar; the byte picks the `Version`.
    Built { version: u8, single_statement: bool, statements: Vec<StatementSpec> },
    /// One of the repository's policies.
    Seed(u16),
    /// Raw text.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct ContextSpec {
    key: Text,
    ty: u8,
    values: Vec<Text>,
}

/// `aws:userid`, `aws:PrincipalTag/*` and `aws:MultiFactorAuthPresent`, from `principal_context`.
#[derive(Arbitrary, Debug)]
struct CallerKeys {
    user_id: Option<Text>,
    tags: Vec<(Text, Text)>,
    mfa_present: Option<bool>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    identity: Vec<PolicySpec>,
    boundary: Option<PolicySpec>,
    session: Option<PolicySpec>,
    /// The resource policy, and whether it is read as an ECR repository policy.
    resource: Option<(bool, PolicySpec)>,
    principal: Text,
    caller_keys: Option<CallerKeys>,
    action: Text,
    resource_arn: Text,
    /// The resource's account: the one in its ARN, or a dictionary / raw one.
    resource_account: Option<Text>,
    context: Vec<ContextSpec>,
}

// ---------------------------------------------------------------------------------------------
// Building policy text.

fn statement_json(s: &StatementSpec) -> Value {
    let mut m = Map::new();
    if let Some(sid) = &s.sid {
        m.insert("Sid".into(), json!(sid.get(&["Pull", "Deny", "", "1", "a b"], &[])));
    }
    m.insert("Effect".into(), json!(if s.deny { "Deny" } else { "Allow" }));
    if let Some((negated, p)) = &s.principal {
        let v = match p {
            PolicyPrincipal::Star => json!("*"),
            PolicyPrincipal::Map(entries) => {
                let mut pm = Map::new();
                for (ty, values) in entries.iter().take(4) {
                    let ty = pick(PRINCIPAL_TYPES, u16::from(*ty)).copied().unwrap_or("AWS");
                    pm.insert(ty.into(), values.json(POLICY_PRINCIPALS, seeds::PRINCIPALS));
                }
                Value::Object(pm)
            }
        };
        m.insert(if *negated { "NotPrincipal" } else { "Principal" }.into(), v);
    }
    m.insert(if s.not_action { "NotAction" } else { "Action" }.into(), s.action.json(ACTIONS, seeds::ACTIONS));
    if let Some((negated, r)) = &s.resource {
        m.insert(if *negated { "NotResource" } else { "Resource" }.into(), r.json(RESOURCES, seeds::RESOURCES));
    }
    if !s.condition.is_empty() {
        let mut blocks = Map::new();
        for c in s.condition.iter().take(4) {
            let prefix = pick(SET_PREFIXES, u16::from(c.prefix)).copied().unwrap_or("");
            let mut op = format!("{prefix}{}", c.operator.get(OPERATORS, &[]));
            if c.if_exists {
                op.push_str("IfExists");
            }
            let mut entries = Map::new();
            for (k, v) in c.entries.iter().take(4) {
                entries.insert(k.get(KEYS, &[]).to_owned(), v.json(VALUES, &[]));
            }
            blocks.insert(op, Value::Object(entries));
        }
        m.insert("Condition".into(), Value::Object(blocks));
    }
    Value::Object(m)
}

/// The policy's text.
fn policy_text(spec: &PolicySpec) -> String {
    match spec {
        PolicySpec::Built { version, single_statement, statements } => {
            let mut doc = Map::new();
            match version % 4 {
                0 => {}
                1 => {
                    doc.insert("Version".into(), json!("2008-10-17"));
                }
                _ => {
                    doc.insert("Version".into(), json!("2012-10-17"));
                }
            }
            let stmts: Vec<Value> = statements.iter().take(8).map(statement_json).collect();
            let statement = match (single_statement, stmts.as_slice()) {
                (true, [one]) => one.clone(),
                _ => Value::Array(stmts),
            };
            doc.insert("Statement".into(), statement);
            Value::Object(doc).to_string()
        }
        PolicySpec::Seed(i) => pick(seeds::POLICIES, *i).map(|(_, t)| (*t).to_owned()).unwrap_or_default(),
        PolicySpec::Raw(s) => s.clone(),
    }
}

fn compile(spec: &PolicySpec, kind: PolicyKind, id: &str) -> Option<CompiledPolicy> {
    CompiledPolicy::compile(&policy_text(spec), kind, id).ok()
}

// ---------------------------------------------------------------------------------------------

fn context_of(input: &Input, principal: &Principal) -> Context {
    let mut ctx = match &input.caller_keys {
        Some(CallerKeys { user_id, tags, mfa_present }) => {
            let tags: Vec<(String, String)> = tags
                .iter()
                .take(4)
                .map(|(k, v)| {
                    (k.get(&["team", "Team", "cost-center", ""], &[]).to_owned(), v.get(VALUES, &[]).to_owned())
                })
                .collect();
            let user_id =
                user_id.as_ref().map(|u| u.get(&["AIDAEXAMPLE", "AROAEXAMPLE:session-1", "111122223333"], &[]));
            match principal_context(principal, user_id, &tags, *mfa_present) {
                Ok(base) => Context::layered(Arc::new(base)),
                Err(_) => Context::new(),
            }
        }
        None => Context::new(),
    };
    for c in input.context.iter().take(8) {
        let ty = CONTEXT_TYPES[usize::from(c.ty) % CONTEXT_TYPES.len()];
        let key = c.key.get(KEYS, &[]);
        let values: Vec<&str> = c.values.iter().take(6).map(|v| v.get(VALUES, &[])).collect();
        let _ = ctx.insert(key, ty, &values);
    }
    // Context entries of the conformance cases, chosen by the first context spec's type byte.
    if let Some(first) = input.context.first() {
        if let Text::Case(i) = &first.key {
            if let Some((k, t, vs)) = pick(seeds::CONTEXT, *i) {
                let ty = serde_json::from_value::<ContextKeyType>(json!(t)).unwrap_or(ContextKeyType::String);
                let _ = ctx.insert(k, ty, vs);
            }
        }
    }
    ctx
}

fn check(policies: &Policies<'_>, req: &Request<'_>) {
    let decision = evaluate(policies, req);
    let full = evaluate_all(policies, req);
    let traced = trace(policies, req);
    assert_eq!(full.outcome, decision.outcome, "evaluate_all and evaluate decide differently");
    assert_eq!(full.reason, decision.reason, "evaluate_all and evaluate give different reasons");
    let key = |m: &warden_policy::MatchedStatement<'_>| (m.policy.id().to_owned(), m.role, m.index);
    let full_matched: Vec<_> = full.matched.iter().map(key).collect();
    let traced_matched: Vec<_> = traced.decision.matched.iter().map(key).collect();
    assert_eq!(full_matched, traced_matched, "trace and evaluate_all match different statements");
    assert_eq!(traced.decision.outcome, full.outcome);
    for m in &decision.matched {
        assert!(full_matched.contains(&key(m)), "evaluate lists {:?}, which evaluate_all does not", key(m));
    }
    if decision.outcome == Outcome::ImplicitDeny {
        assert!(decision.matched.is_empty() && full.matched.is_empty(), "implicitDeny lists matched statements");
    }
    for m in &full.matched {
        let entry = traced.statements.iter().find(|e| key(&e.statement) == key(m));
        let Some(entry) = entry else { panic!("matched statement {:?} is not in the trace", key(m)) };
        let want = if decision.outcome == Outcome::ExplicitDeny { Effect::Deny } else { Effect::Allow };
        assert_eq!(entry.outcome, StatementOutcome::Matched(want), "matched statement {:?} traced otherwise", key(m));
        assert_eq!(m.effect(), Some(want));
    }
    let explained = explain(policies, req);
    assert_eq!(explained.decision, decision.outcome.as_str(), "explain and evaluate decide differently");
}

fuzz_target!(|input: Input| {
    // The policies.
    let identity: Vec<CompiledPolicy> = input
        .identity
        .iter()
        .take(4)
        .enumerate()
        .filter_map(|(i, p)| compile(p, PolicyKind::Identity, &format!("identity.{i}")))
        .collect();
    let boundary = input.boundary.as_ref().and_then(|p| compile(p, PolicyKind::Boundary, "boundary"));
    let session = input.session.as_ref().and_then(|p| compile(p, PolicyKind::Session, "session"));
    let resource = input
        .resource
        .as_ref()
        .and_then(|(ecr, p)| compile(p, if *ecr { PolicyKind::Repository } else { PolicyKind::Resource }, "resource"));
    let identity_set = PolicySet::new(identity.clone());
    let boundary_set = boundary.map(PolicySet::from);
    let session_set = session.map(PolicySet::from);
    let resource_set = resource.map(PolicySet::from);
    let policies = Policies {
        identity: &identity_set,
        boundary: boundary_set.as_ref(),
        session: session_set.as_ref(),
        resource: resource_set.as_ref(),
    };

    // The request.
    let principal_text = input.principal.get(PRINCIPALS, seeds::PRINCIPALS);
    let principal = match Principal::parse(principal_text) {
        Ok(p) => p,
        Err(_) => match Principal::parse("arn:aws:iam::111122223333:user/alice") {
            Ok(p) => p,
            Err(e) => panic!("the fallback principal does not parse: {e}"),
        },
    };
    let action = input.action.get(ACTIONS, seeds::ACTIONS);
    let resource_arn = input.resource_arn.get(RESOURCES, seeds::RESOURCES);
    let resource_account = match &input.resource_account {
        Some(a) => a.get(ACCOUNTS, &[]).to_owned(),
        None => resource_arn.split(':').nth(4).filter(|a| !a.is_empty()).unwrap_or(principal.account()).to_owned(),
    };
    let context = context_of(&input, &principal);
    let req = Request {
        principal: &principal,
        action,
        resource: resource_arn,
        resource_account: &resource_account,
        context: &context,
    };

    check(&policies, &req);

    // The same identity policies several times over: each statement merges with its copies into
    // one rule of the index, and duplicates change nothing.
    let statements = identity_set.statement_count();
    if statements > 0 {
        let copies = 24usize.div_ceil(statements).max(2);
        let many: Vec<CompiledPolicy> = (0..copies).flat_map(|_| identity.iter().cloned()).collect();
        let many_set = PolicySet::new(many);
        let padded = Policies { identity: &many_set, ..policies };
        let once = evaluate(&policies, &req);
        let again = evaluate(&padded, &req);
        assert_eq!(once.outcome, again.outcome, "duplicated identity policies decide differently");
        assert_eq!(once.reason, again.reason, "duplicated identity policies decide for another reason");
        check(&padded, &req);
    }
});
