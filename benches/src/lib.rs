//! Workloads for the engine benchmarks, shared so that tests can check they decide what the
//! benchmarks claim they decide.
//!
//! - [`one_policy`]: one identity policy with one statement (benchmark a);
//! - [`principal_with_repository_policy`]: a principal with 10 policies of 10 statements each and a
//!   repository policy with conditions (benchmark b);
//! - [`account`]: 10,000 identity statements across 2,000 repositories (benchmark c);
//! - [`policy_texts`]: 1,000 policy documents to parse and compile (benchmark d).

#![allow(clippy::panic, clippy::indexing_slicing)] // fixtures: a broken fixture must stop the benchmark

use warden_policy::{CompiledPolicy, Context, ContextKeyType, PolicyKind, PolicySet, Principal};

/// The account that owns the registry.
pub const ACCOUNT: &str = "111122223333";
/// The repository every workload asks about.
pub const RESOURCE: &str = "arn:aws:ecr:us-east-1:111122223333:repository/team-3/app";

/// Everything one decision needs.
pub struct Workload {
    /// Identity-based policies of the caller.
    pub identity: PolicySet,
    /// The repository policy, if any.
    pub resource: Option<PolicySet>,
    /// The caller.
    pub principal: Principal,
    /// The request context a registry fills.
    pub context: Context,
}

fn compile(text: &str, kind: PolicyKind, id: &str) -> CompiledPolicy {
    match CompiledPolicy::compile(text, kind, id) {
        Ok(p) => p,
        Err(e) => panic!("benchmark policy {id} is invalid: {e}"),
    }
}

/// The context keys a registry fills for a request by alice.
pub fn registry_context() -> Context {
    let mut ctx = Context::new();
    let entries: &[(&str, ContextKeyType, &[&str])] = &[
        ("aws:SourceIp", ContextKeyType::Ip, &["203.0.113.7"]),
        ("aws:CurrentTime", ContextKeyType::Date, &["2026-11-26T12:00:00Z"]),
        ("aws:EpochTime", ContextKeyType::Numeric, &["1795694400"]),
        ("aws:SecureTransport", ContextKeyType::Boolean, &["true"]),
        ("aws:PrincipalArn", ContextKeyType::String, &["arn:aws:iam::111122223333:user/alice"]),
        ("aws:PrincipalAccount", ContextKeyType::String, &["111122223333"]),
        ("aws:PrincipalType", ContextKeyType::String, &["User"]),
        ("aws:userid", ContextKeyType::String, &["AIDAEXAMPLEALICE0001"]),
        ("aws:username", ContextKeyType::String, &["alice"]),
        ("aws:PrincipalTag/team", ContextKeyType::String, &["team-3"]),
        ("aws:RequestedRegion", ContextKeyType::String, &["us-east-1"]),
        ("aws:UserAgent", ContextKeyType::String, &["docker/27.0"]),
        ("ecr:ResourceTag/env", ContextKeyType::String, &["prod"]),
        ("aws:ResourceTag/env", ContextKeyType::String, &["prod"]),
    ];
    for (k, t, v) in entries {
        if let Err(e) = ctx.insert(k, *t, v) {
            panic!("{e}");
        }
    }
    ctx
}

fn alice() -> Principal {
    match Principal::parse("arn:aws:iam::111122223333:user/alice") {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// (a) One identity policy, one statement.
pub fn one_policy() -> Workload {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team-3/*"}]}"#;
    Workload {
        identity: PolicySet::from(compile(text, PolicyKind::Identity, "pull")),
        resource: None,
        principal: alice(),
        context: registry_context(),
    }
}

const ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:ListImages",
    "ecr:Describe*",
];

fn statement(i: usize, repo: &str) -> String {
    let action = ACTIONS[i % ACTIONS.len()];
    let condition = match i % 4 {
        0 => r#","Condition":{"StringEquals":{"aws:PrincipalTag/team":"${aws:username}"}}"#.to_owned(),
        1 => r#","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","198.51.100.0/24"]}}"#.to_owned(),
        2 => r#","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"Bool":{"aws:SecureTransport":"true"}}"#.to_owned(),
        _ => String::new(),
    };
    format!(
        r#"{{"Sid":"S{i}","Effect":"Allow","Action":"{action}","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/{repo}"{condition}}}"#
    )
}

/// The repository policy of [`RESOURCE`]: tag- and network-conditioned allows and a deny.
pub const REPOSITORY_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "TeamPull", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::444455556666:root"]},
     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "team-3"}, "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
    {"Sid": "CiPush", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/ci"},
     "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"]},
    {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
     "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ["111122223333", "444455556666"]}}},
    {"Sid": "ProdImmutable", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchDeleteImage",
     "Condition": {"StringEquals": {"ecr:ResourceTag/env": "prod"}}}
  ]
}"#;

/// (b) 10 identity policies × 10 statements over 20 repositories, and [`REPOSITORY_POLICY`].
pub fn principal_with_repository_policy() -> Workload {
    let policies = (0..10)
        .map(|p| {
            let stmts: Vec<String> =
                (0..10).map(|s| statement(p * 10 + s, &format!("team-{}/*", (p * 10 + s) % 20))).collect();
            let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, stmts.join(","));
            compile(&text, PolicyKind::Identity, &format!("policy-{p}"))
        })
        .collect();
    Workload {
        identity: PolicySet::new(policies),
        resource: Some(PolicySet::from(compile(REPOSITORY_POLICY, PolicyKind::Repository, "team-3/app"))),
        principal: alice(),
        context: registry_context(),
    }
}

/// (c) 10,000 identity statements (100 policies × 100) across 2,000 repositories, and
/// [`REPOSITORY_POLICY`].
pub fn account() -> Workload {
    let policies = (0..100)
        .map(|p| {
            let stmts: Vec<String> = (0..100)
                .map(|s| {
                    let i = p * 100 + s;
                    let repo = if i % 5 == 0 {
                        format!("team-{}/*", i % 400)
                    } else {
                        format!("team-{}/svc-{}", i % 400, i % 2000)
                    };
                    statement(i, &repo)
                })
                .collect();
            let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, stmts.join(","));
            compile(&text, PolicyKind::Identity, &format!("policy-{p}"))
        })
        .collect();
    Workload {
        identity: PolicySet::new(policies),
        resource: Some(PolicySet::from(compile(REPOSITORY_POLICY, PolicyKind::Repository, "team-3/app"))),
        principal: alice(),
        context: registry_context(),
    }
}

/// (d) 1,000 policy documents of 5 statements each.
pub fn policy_texts() -> Vec<String> {
    (0..1000)
        .map(|p| {
            let stmts: Vec<String> = (0..5).map(|s| statement(p * 5 + s, &format!("team-{}/*", p % 50))).collect();
            format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, stmts.join(","))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_policy::{evaluate, Outcome, Policies, Request};

    fn decide(w: &Workload, action: &str) -> Outcome {
        let req = Request {
            principal: &w.principal,
            action,
            resource: RESOURCE,
            resource_account: ACCOUNT,
            context: &w.context,
        };
        let policies = Policies { identity: &w.identity, boundary: None, session: None, resource: w.resource.as_ref() };
        evaluate(&policies, &req).outcome
    }

    #[test]
    fn workloads_decide_what_the_benchmarks_claim() {
        assert_eq!(decide(&one_policy(), "ecr:BatchGetImage"), Outcome::Allowed);
        let b = principal_with_repository_policy();
        assert_eq!(b.identity.statement_count(), 100);
        assert_eq!(decide(&b, "ecr:BatchGetImage"), Outcome::Allowed);
        assert_eq!(decide(&b, "ecr:BatchDeleteImage"), Outcome::ExplicitDeny);
        let c = account();
        assert_eq!(c.identity.statement_count(), 10_000);
        assert_eq!(decide(&c, "ecr:BatchGetImage"), Outcome::Allowed);
        assert_eq!(decide(&c, "ecr:DeleteRepository"), Outcome::ImplicitDeny);
        assert_eq!(policy_texts().len(), 1000);
    }
}
