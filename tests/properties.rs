//! Properties the engine must keep for every policy and request, checked on generated inputs:
//!
//! - adding a Deny statement never turns a denied request into an allowed one;
//! - removing an Allow statement never grants more;
//! - parse → serialize → parse gives the same policy;
//! - evaluation never panics, whatever the policy text and context;
//! - the `*`/`?` matcher agrees with a regex built from the same pattern (`[` and every other
//!   character literal).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use proptest::prelude::*;
use serde_json::{json, Value};
use warden_policy::wildcard::{Case, Pattern};
use warden_policy::{
    evaluate, CompiledPolicy, Context, ContextKeyType, Outcome, Policies, Policy, PolicyKind, PolicySet, Principal,
    Request,
};

const ACTIONS: &[&str] = &[
    "*",
    "ecr:*",
    "ecr:BatchGetImage",
    "ECR:batchgetimage",
    "ecr:Get*",
    "ecr:Batch?etImage",
    "ecr:PutImage",
    "ecr:GetAuthorizationToken",
    "s3:*",
];
const REQUEST_ACTIONS: &[&str] =
    &["ecr:BatchGetImage", "ecr:PutImage", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer", "s3:GetObject"];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:ecr:us-east-1:111122223333:repository/team/*",
    "arn:aws:ecr:*:*:repository/app",
    "arn:aws:ecr:us-east-1:111122223333:repository/${aws:username}/*",
    "arn:aws:ecr:us-east-1:444455556666:repository/*",
    "arn:aws:ecr:*",
];
const REQUEST_RESOURCES: &[&str] = &[
    "*",
    "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
    "arn:aws:ecr:us-east-1:111122223333:repository/alice/tool",
    "arn:aws:ecr:eu-west-1:444455556666:repository/app",
    "arn:aws:s3:::bucket/key",
];
const CALLERS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::444455556666:user/bob",
    "arn:aws:sts::111122223333:assumed-role/ci/s1",
    "arn:aws:iam::111122223333:root",
    "codebuild.amazonaws.com",
];
const CONDITIONS: &[(&str, &str, &str)] = &[
    ("StringEquals", "aws:username", "alice"),
    ("StringNotEquals", "aws:PrincipalTag/team", "ops"),
    ("StringLike", "aws:UserAgent", "docker*"),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "PLATFORM"),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24"),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8"),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "3600"),
    ("DateGreaterThan", "aws:CurrentTime", "2024-01-01T00:00:00Z"),
    ("Bool", "aws:SecureTransport", "true"),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false"),
    ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/*"),
    ("ForAnyValue:StringEquals", "aws:TagKeys", "env"),
    ("ForAllValues:StringEquals", "aws:TagKeys", "team"),
    ("Null", "aws:PrincipalTag/team", "true"),
    ("StringEqualsIfExists", "ecr:ResourceTag/env", "dev"),
];
const PRINCIPALS: &[&str] = &[
    "*",
    "111122223333",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::444455556666:root",
    "arn:aws:iam::111122223333:role/ci",
];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

prop_compose! {
    fn statement(resource_side: bool)(
        deny in any::<bool>(),
        not_action in proptest::bool::weighted(0.15),
        actions in proptest::collection::vec(pick(ACTIONS), 1..3),
        not_resource in proptest::bool::weighted(0.15),
        resources in proptest::collection::vec(pick(RESOURCES), 1..3),
        not_principal in proptest::bool::weighted(0.1),
        principals in proptest::collection::vec(pick(PRINCIPALS), 1..3),
        conditions in proptest::collection::vec(pick(CONDITIONS), 0..3),
        sid in proptest::option::of("[A-Za-z0-9]{1,6}"),
    ) -> Value {
        let mut s = serde_json::Map::new();
        if let Some(sid) = sid { s.insert("Sid".into(), json!(sid)); }
        s.insert("Effect".into(), json!(if deny { "Deny" } else { "Allow" }));
        s.insert((if not_action { "NotAction" } else { "Action" }).into(), json!(actions));
        if resource_side {
            let p = if principals.contains(&"*") && !not_principal { json!("*") } else { json!({"AWS": principals}) };
            s.insert((if not_principal && deny { "NotPrincipal" } else { "Principal" }).into(), p);
        } else {
            s.insert((if not_resource { "NotResource" } else { "Resource" }).into(), json!(resources));
        }
        if !conditions.is_empty() {
            let mut c = serde_json::Map::new();
            for (op, key, value) in conditions {
                c.entry(op.to_owned()).or_insert_with(|| json!({})).as_object_mut().map(|m| m.insert(key.to_owned(), json!(value)));
            }
            s.insert("Condition".into(), Value::Object(c));
        }
        Value::Object(s)
    }
}

fn document(statements: Vec<Value>) -> String {
    // Sids must be unique: number them.
    let statements: Vec<Value> = statements
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            if let Some(sid) = s.get("Sid").and_then(Value::as_str).map(|x| format!("{x}{i}")) {
                s["Sid"] = json!(sid);
            }
            s
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

#[derive(Debug, Clone)]
struct Scenario {
    identity: Vec<Value>,
    resource: Vec<Value>,
    caller: &'static str,
    action: &'static str,
    resource_arn: &'static str,
    context: Vec<(String, ContextKeyType, Vec<String>)>,
}

const CONTEXT: &[(&str, ContextKeyType, &[&str])] = &[
    ("aws:username", ContextKeyType::String, &["alice"]),
    ("aws:PrincipalTag/team", ContextKeyType::String, &["platform"]),
    ("aws:UserAgent", ContextKeyType::String, &["docker/24.0"]),
    ("aws:SourceIp", ContextKeyType::Ip, &["203.0.113.7"]),
    ("aws:MultiFactorAuthAge", ContextKeyType::Numeric, &["120"]),
    ("aws:CurrentTime", ContextKeyType::Date, &["2025-06-01T00:00:00Z"]),
    ("aws:SecureTransport", ContextKeyType::Boolean, &["true"]),
    ("aws:PrincipalArn", ContextKeyType::String, &["arn:aws:iam::111122223333:role/ci"]),
    ("aws:TagKeys", ContextKeyType::StringList, &["env", "team"]),
    ("ecr:ResourceTag/env", ContextKeyType::String, &["prod"]),
];

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::collection::vec(statement(false), 0..6),
        proptest::collection::vec(statement(true), 0..4),
        pick(CALLERS),
        pick(REQUEST_ACTIONS),
        pick(REQUEST_RESOURCES),
        proptest::sample::subsequence(CONTEXT, 0..CONTEXT.len()),
    )
        .prop_map(|(identity, resource, caller, action, resource_arn, context)| Scenario {
            identity,
            resource,
            caller,
            action,
            resource_arn,
            context: context
                .into_iter()
                .map(|(k, t, v)| (k.to_owned(), t, v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        })
}

fn decide(s: &Scenario) -> Outcome {
    let identity = if s.identity.is_empty() {
        PolicySet::default()
    } else {
        PolicySet::from(
            CompiledPolicy::compile(&document(s.identity.clone()), PolicyKind::Identity, "identity")
                .unwrap_or_else(|e| panic!("generated identity policy is valid: {e}")),
        )
    };
    let resource = (!s.resource.is_empty()).then(|| {
        PolicySet::from(
            CompiledPolicy::compile(&document(s.resource.clone()), PolicyKind::Repository, "repository")
                .unwrap_or_else(|e| panic!("generated repository policy is valid: {e}")),
        )
    });
    let caller = Principal::parse(s.caller).unwrap_or_else(|e| panic!("{e}"));
    let mut ctx = Context::new();
    for (k, t, v) in &s.context {
        ctx.insert(k, *t, v).unwrap_or_else(|e| panic!("{e}"));
    }
    let account = warden_policy::arn::Arn::parse(s.resource_arn)
        .map(|a| a.account)
        .filter(|a| !a.is_empty())
        .unwrap_or("111122223333");
    let req = Request {
        principal: &caller,
        action: s.action,
        resource: s.resource_arn,
        resource_account: account,
        context: &ctx,
    };
    let policies = Policies { identity: &identity, boundary: None, session: None, resource: resource.as_ref() };
    let outcome = evaluate(&policies, &req).outcome;
    outcome
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn adding_a_deny_never_allows_more(s in scenario(), extra in statement(false), extra_rp in statement(true), to_resource in any::<bool>()) {
        let before = decide(&s);
        let mut more = s.clone();
        let mut deny = if to_resource { extra_rp } else { extra };
        deny["Effect"] = json!("Deny");
        if to_resource { more.resource.push(deny) } else { more.identity.push(deny) }
        let after = decide(&more);
        if before != Outcome::Allowed {
            prop_assert_ne!(after, Outcome::Allowed);
        }
        if before == Outcome::ExplicitDeny {
            prop_assert_eq!(after, Outcome::ExplicitDeny);
        }
    }

    #[test]
    fn removing_an_allow_never_grants_more(s in scenario(), which in any::<prop::sample::Index>(), from_resource in any::<bool>()) {
        let before = decide(&s);
        let mut less = s.clone();
        let list = if from_resource { &mut less.resource } else { &mut less.identity };
        let allows: Vec<usize> = list.iter().enumerate().filter(|(_, st)| st["Effect"] == "Allow").map(|(i, _)| i).collect();
        if !allows.is_empty() {
            list.remove(allows[which.index(allows.len())]);
        }
        let after = decide(&less);
        if before != Outcome::Allowed {
            prop_assert_ne!(after, Outcome::Allowed);
        }
    }

    #[test]
    fn parse_serialize_parse_is_identity(stmts in proptest::collection::vec(statement(false), 1..6), single in any::<bool>(), version in pick(&["2012-10-17", "2008-10-17", ""])) {
        let mut doc: Value = serde_json::from_str(&document(stmts)).unwrap_or_else(|e| panic!("{e}"));
        if version.is_empty() { doc.as_object_mut().map(|m| m.remove("Version")); } else { doc["Version"] = json!(version); }
        if single {
            let first = doc["Statement"][0].clone();
            doc["Statement"] = first;
        }
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        let first = Policy::parse(&text, PolicyKind::Identity).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let again = Policy::parse(&first.to_json().to_string(), PolicyKind::Identity).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(&first, &again);
        prop_assert_eq!(first.to_json(), again.to_json());
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}", kind in pick(&[PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Repository])) {
        let _ = Policy::parse(&text, kind);
    }

    #[test]
    fn arbitrary_json_shapes_never_panic(value in arbitrary_json(), kind in pick(&[PolicyKind::Identity, PolicyKind::Repository])) {
        let text = json!({"Version": "2012-10-17", "Statement": value}).to_string();
        if let Ok(p) = CompiledPolicy::compile(&text, kind, "p") {
            let set = PolicySet::from(p);
            let caller = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap_or_else(|e| panic!("{e}"));
            let ctx = Context::new();
            for action in REQUEST_ACTIONS {
                let req = Request { principal: &caller, action, resource: "arn:aws:ecr:us-east-1:111122223333:repository/a", resource_account: "111122223333", context: &ctx };
                let _ = evaluate(&Policies { identity: &set, boundary: None, session: None, resource: Some(&set) }, &req);
            }
        }
    }

    #[test]
    fn evaluation_never_panics_on_odd_contexts(s in scenario(), key in "[a-zA-Z:/]{1,20}", values in proptest::collection::vec(".{0,12}", 0..4)) {
        // Odd keys and values, typed as lists so that every value is accepted as text.
        let mut s = s;
        s.context.push((key, ContextKeyType::StringList, values.clone()));
        s.context.push(("aws:SourceIp".to_owned(), ContextKeyType::StringList, values.clone()));
        s.context.push(("aws:CurrentTime".to_owned(), ContextKeyType::StringList, values));
        let _ = decide(&s);
    }

    #[test]
    fn wildcard_agrees_with_a_regex_oracle(pattern in "[ab*?\\[/:.]{0,8}", text in "[ab\\[/:.]{0,10}", insensitive in any::<bool>()) {
        let mut re = String::from("^");
        for ch in pattern.chars() {
            match ch {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        let oracle = regex::RegexBuilder::new(&re).case_insensitive(insensitive).dot_matches_new_line(true).build().unwrap_or_else(|e| panic!("{e}"));
        let case = if insensitive { Case::Insensitive } else { Case::Sensitive };
        let text = if insensitive { text.to_uppercase() } else { text };
        prop_assert_eq!(Pattern::new(&pattern, case, true, false).matches_plain(&text), oracle.is_match(&text), "pattern {:?} text {:?}", pattern, text);
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        pick(&["*", "Allow", "Deny", "ecr:*", "arn:aws:ecr:*:*:repository/*", "aws:SourceIp", "", "${aws:username}"])
            .prop_map(|s| json!(s)),
        ".{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    pick(&[
                        "Effect",
                        "Action",
                        "NotAction",
                        "Resource",
                        "NotResource",
                        "Principal",
                        "NotPrincipal",
                        "Condition",
                        "Sid",
                        "AWS",
                        "StringEquals",
                        "ForAnyValue:StringLike",
                        "Null",
                        "IpAddress",
                        "DateLessThan"
                    ]),
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}
