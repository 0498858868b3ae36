//! The engine at scale (issue 13): warden and `cedar-policy` side by side, in the same process, on
//! the same 1,000 requests, at 100 and at 10,000 identity statements.
//!
//! The workload is written by `benches/data/make-big-request.py`, a copy (unchanged) of the
//! workplace generator `shared/bench/make-big-request.py`; this bench runs it with `python3` at
//! start: `make-big-request.py 20 50` (10 identity policies × 10 statements) and
//! `make-big-request.py 20 50 1000` (1,000 × 10). Both give a SimulateCustomPolicy request for
//! caller alice with a repository policy (applied to every resource, same account as the caller),
//! four context entries, 20 actions and 50 repositories. The 1,000 requests are taken in the
//! order `requests[j] = (actions[j % 20], repositories[j / 20])`, so that consecutive requests
//! differ.
//!
//! A third row takes the 10,000-statement workload without its Deny statements (8,888 Allow
//! statements left): as generated, every one of its requests meets an applicable Deny, so the
//! workload alone would time only the decision path's early stop; this row times the allow path
//! (every request allowed, all its candidate Deny rules ruled out) over the same index.
//!
//! Checks, each of which stops the bench with a message when it fails:
//! - at 100 statements warden decides 655 allowed / 254 explicit deny / 91 implicit deny (the
//!   counts at 10,000 are printed);
//! - warden's decisions equal those of its own `simulate_custom_policy` on the same request;
//! - cedar agrees with warden on every one of the 1,000 decisions of every row (allowed ↔
//!   `Allow`, both kinds of deny ↔ `Deny`) and reports no evaluation error.
//!
//! The cedar translation is written here ([`cedar`]), one `permit`/`forbid` per IAM statement:
//! - alice is `User::"alice"`, and `aws:PrincipalTag/team` from the context entries is an entity
//!   tag of hers; `StringEqualsIfExists` on it is `!principal.hasTag(k) || principal.getTag(k) == v`;
//! - a repository is `Repository::"<its ARN>"` with an `arn` attribute; `Resource` is
//!   `resource.arn like "<the IAM pattern>"` (the patterns here end in `/*`, where IAM's segment-wise
//!   ARN matching and `like` agree); the repository policy has no `Resource` and so no constraint;
//! - `Action` lists become `action in [Action::"ecr:…", …]`; the wildcards (`ecr:Batch*`,
//!   `ecr:Get*`) are expanded, case-insensitively as IAM matches actions, against the 20 actions;
//! - the context keys are attributes of `context`, each guarded with `has` as IAM treats an absent
//!   key: `IpAddress aws:SourceIp` is `context.sourceIp.isInRange(ip("10.0.0.0/8")) || …`,
//!   `Bool aws:SecureTransport` is `context.secureTransport == true`, `DateLessThan
//!   aws:CurrentTime` compares with cedar's `datetime` extension;
//! - an identity statement is scoped to `principal == User::"alice"` (the policy's holder); the
//!   repository policy's `Principal` `{"AWS": alice's ARN}` is the same scope and `"*"` none.
//!
//! Same account, no boundary and no session policy: IAM allows when nothing denies and an identity
//! policy or the repository policy allows, which is cedar's forbid-overrides-permit.
//!
//! What is timed, for both engines, per decision: building the request and deciding it. Warden's
//! `Request` borrows the caller, the action and resource strings and a `Context` built once;
//! cedar's `Request` is built per decision from the same pieces made once: the three `EntityUid`s
//! and the `Context` are cloned into it (reference counts), with no schema. The policies, cedar's
//! `Entities` (alice and the 50 repositories) and its `Authorizer` are built once, outside the
//! timing, as warden's `PolicySet`s are. One thread. The checking pass over the 1,000 requests
//! is the warm-up of each engine, and its time sets how many passes make one round (about
//! 200 ms, at least one pass). Then the rounds: warden and cedar alternate, and which goes first
//! alternates too; the figure is the median round's ns per decision, and the min–max of the
//! rounds is the noise. `SCALE_ROUNDS` changes the number of rounds (default 7);
//! `SCALE_PRINT_CEDAR=1` prints the cedar translation of the 100 statements instead.
//!
//! Parse + compile: warden compiles every identity policy text with `CompiledPolicy::compile` and
//! builds the `PolicySet`; cedar parses the translated text of the same statements into a
//! `PolicySet` (the translation from IAM JSON is not timed). Median of the same number of runs.
//!
//! `cargo bench -p warden-bench --bench scale`; figures in `benches/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a benchmark fails loudly

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use warden_bench::ACCOUNT;
use warden_policy::simulate::{simulate_custom_policy, SimulateCustomPolicyRequest};
use warden_policy::{
    evaluate, CompiledPolicy, Context, ContextKeyType, Outcome, Policies, PolicyKind, PolicySet, Principal, Request,
};

/// Decisions expected at 100 statements: allowed, explicit deny, implicit deny.
const EXPECTED_100: [usize; 3] = [655, 254, 91];
/// How long one timed round should take, roughly.
const ROUND_TARGET: Duration = Duration::from_millis(200);

/// Runs the generator and reads its request.
fn generate(args: &[&str]) -> SimulateCustomPolicyRequest {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/data/make-big-request.py");
    let out = Command::new("python3").arg(script).args(args).output().expect("python3 runs the generator");
    assert!(out.status.success(), "make-big-request.py {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the generator writes a SimulateCustomPolicy request")
}

/// `(action index, resource index)` for request `j`: `(actions[j % n_actions], repos[j / n_actions])`.
fn requests(req: &SimulateCustomPolicyRequest) -> Vec<(usize, usize)> {
    let (na, nr) = (req.action_names.len(), req.resource_arns.len());
    (0..na * nr).map(|j| (j % na, j / na)).collect()
}

fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Allowed => 0,
        Outcome::ExplicitDeny => 1,
        Outcome::ImplicitDeny => 2,
    }
}

/// Warden's side, built with its public API.
struct Warden {
    identity: PolicySet,
    resource: PolicySet,
    principal: Principal,
    context: Context,
}

fn warden_identity(texts: &[String], ids: &[String]) -> PolicySet {
    let compiled = texts
        .iter()
        .zip(ids)
        .map(|(t, id)| CompiledPolicy::compile(t, PolicyKind::Identity, id).unwrap_or_else(|e| panic!("{id}: {e}")))
        .collect();
    PolicySet::new(compiled)
}

fn policy_ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("PolicyInputList.{i}")).collect()
}

impl Warden {
    fn load(req: &SimulateCustomPolicyRequest) -> Warden {
        let identity = warden_identity(&req.policy_input_list, &policy_ids(req.policy_input_list.len()));
        let text = req.resource_policy.as_deref().expect("the workload has a repository policy");
        let resource = PolicySet::from(
            CompiledPolicy::compile(text, PolicyKind::Repository, "ResourcePolicy").unwrap_or_else(|e| panic!("{e}")),
        );
        let principal = Principal::parse(req.caller_arn.as_deref().expect("CallerArn")).expect("the caller parses");
        // As `simulate_custom_policy` builds it from ContextEntries.
        let mut context = Context::new();
        for e in &req.context_entries {
            let ty = e.context_key_type.unwrap_or(if e.context_key_values.len() == 1 {
                ContextKeyType::String
            } else {
                ContextKeyType::StringList
            });
            context.insert(&e.context_key_name, ty, &e.context_key_values).unwrap_or_else(|e| panic!("{e}"));
        }
        Warden { identity, resource, principal, context }
    }

    fn policies(&self) -> Policies<'_> {
        Policies { identity: &self.identity, boundary: None, session: None, resource: Some(&self.resource) }
    }

    fn decide(&self, policies: &Policies<'_>, action: &str, resource: &str) -> Outcome {
        let req = Request {
            principal: &self.principal,
            action: black_box(action),
            resource: black_box(resource),
            resource_account: ACCOUNT,
            context: &self.context,
        };
        evaluate(policies, &req).outcome
    }
}

/// The literal cedar translation of the workload.
mod cedar {
    use std::fmt::Write as _;

    use cedar_policy::{
        Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
        RestrictedExpression,
    };
    use serde_json::Value;
    use warden_policy::simulate::SimulateCustomPolicyRequest;
    use warden_policy::ContextKeyType;

    /// Cedar's side: everything but the per-decision `Request`, built once.
    pub struct Cedar {
        pub policies: PolicySet,
        pub entities: Entities,
        pub authorizer: Authorizer,
        pub principal: EntityUid,
        pub actions: Vec<EntityUid>,
        pub resources: Vec<EntityUid>,
        pub context: Context,
        /// The translated identity statements (what the parse timing parses).
        pub identity_text: String,
        /// The whole translation: identity statements, then the repository policy.
        pub text: String,
    }

    fn uid(ty: &str, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.parse::<EntityTypeName>().unwrap(), EntityId::new(id))
    }

    /// A cedar string literal.
    fn lit(s: &str) -> String {
        format!("\"{}\"", s.escape_default())
    }

    /// `User::"name"` for `arn:aws:iam::ACCOUNT:user/name`, the only principals of the workload.
    fn user_of_arn(arn: &str) -> String {
        let name = arn
            .strip_prefix("arn:aws:iam::")
            .and_then(|r| r.split_once(":user/"))
            .map(|(_, n)| n)
            .unwrap_or_else(|| panic!("no translation for principal {arn}"));
        format!("User::{}", lit(name))
    }

    /// IAM's action wildcard, `*` and `?`, case-insensitive.
    fn glob(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| glob(rest, &t[i..])),
            Some((b'?', rest)) => !t.is_empty() && glob(rest, &t[1..]),
            Some((c, rest)) => t.first().is_some_and(|d| d.eq_ignore_ascii_case(c)) && glob(rest, &t[1..]),
        }
    }

    fn one_or_many(v: &Value) -> Vec<&str> {
        match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().map(|x| x.as_str().expect("a string")).collect(),
            other => panic!("expected a string or a list of strings, got {other}"),
        }
    }

    /// `action in [...]`: each IAM action (wildcards expanded) as one of the workload's actions.
    fn action_scope(v: &Value, actions: &[String]) -> String {
        let mut names: Vec<&str> = Vec::new();
        for pattern in one_or_many(v) {
            for a in actions.iter().filter(|a| glob(pattern.as_bytes(), a.as_bytes())) {
                if !names.contains(&a.as_str()) {
                    names.push(a);
                }
            }
        }
        let list: Vec<String> = names.iter().map(|a| format!("Action::{}", lit(a))).collect();
        format!("action in [{}]", list.join(", "))
    }

    /// `resource.arn like "…"` for each pattern, or'ed; `None` when it is `*`.
    fn resource_condition(v: &Value) -> Option<String> {
        let patterns = one_or_many(v);
        if patterns.contains(&"*") {
            return None;
        }
        let likes: Vec<String> = patterns
            .iter()
            .map(|p| {
                assert!(!p.contains('?'), "`?` in {p}: cedar's like has no one-character wildcard");
                format!("resource.arn like {}", lit(p))
            })
            .collect();
        Some(format!("({})", likes.join(" || ")))
    }

    /// The context attribute of an IAM global condition key: `aws:SourceIp` → `sourceIp`.
    fn attr(key: &str) -> String {
        let name = key.strip_prefix("aws:").unwrap_or_else(|| panic!("no translation for key {key}"));
        let mut chars = name.chars();
        let first = chars.next().expect("a key name").to_ascii_lowercase();
        format!("{first}{}", chars.as_str())
    }

    fn condition(op: &str, key: &str, values: &[&str]) -> String {
        let any = |f: &dyn Fn(&str) -> String| {
            let parts: Vec<String> = values.iter().map(|v| f(v)).collect();
            format!("({})", parts.join(" || "))
        };
        if let Some(tag) = key.strip_prefix("aws:PrincipalTag/") {
            let t = lit(tag);
            return match op {
                "StringEqualsIfExists" => {
                    format!("(!principal.hasTag({t}) || {})", any(&|v| format!("principal.getTag({t}) == {}", lit(v))))
                }
                "StringEquals" => {
                    format!("(principal.hasTag({t}) && {})", any(&|v| format!("principal.getTag({t}) == {}", lit(v))))
                }
                _ => panic!("no translation for {op} on {key}"),
            };
        }
        let a = attr(key);
        let body = match op {
            "IpAddress" => any(&|v| format!("context.{a}.isInRange(ip({}))", lit(v))),
            "Bool" => any(&|v| {
                let b = v.to_ascii_lowercase();
                assert!(b == "true" || b == "false", "Bool {v}");
                format!("context.{a} == {b}")
            }),
            "DateLessThan" => any(&|v| format!("context.{a} < datetime({})", lit(v))),
            "DateGreaterThan" => any(&|v| format!("context.{a} > datetime({})", lit(v))),
            _ => panic!("no translation for {op}"),
        };
        format!("(context has {a} && {body})")
    }

    /// One IAM statement → one cedar policy. `principal_scope` is the scope of an identity
    /// statement (its holder); a resource-policy statement brings its own `Principal`.
    fn statement(s: &Value, principal_scope: Option<&str>, actions: &[String], out: &mut String) {
        let effect = match s["Effect"].as_str() {
            Some("Allow") => "permit",
            Some("Deny") => "forbid",
            other => panic!("Effect {other:?}"),
        };
        for unsupported in ["NotAction", "NotResource", "NotPrincipal"] {
            assert!(s.get(unsupported).is_none(), "no translation for {unsupported}");
        }
        let principal = match (principal_scope, s.get("Principal")) {
            (Some(p), None) => format!("principal == {p}"),
            (None, Some(Value::String(star))) if star == "*" => "principal".to_owned(),
            (None, Some(Value::Object(m))) if m.len() == 1 && m.contains_key("AWS") => {
                let users: Vec<String> = one_or_many(&m["AWS"]).into_iter().map(user_of_arn).collect();
                match users.as_slice() {
                    [one] => format!("principal == {one}"),
                    _ => format!("principal in [{}]", users.join(", ")),
                }
            }
            (_, p) => panic!("no translation for Principal {p:?}"),
        };
        let mut when: Vec<String> = Vec::new();
        if let Some(r) = s.get("Resource").and_then(resource_condition) {
            when.push(r);
        }
        if let Some(Value::Object(ops)) = s.get("Condition") {
            for (op, keys) in ops {
                for (key, values) in keys.as_object().expect("a condition block") {
                    when.push(condition(op, key, &one_or_many(values)));
                }
            }
        }
        let action = action_scope(&s["Action"], actions);
        write!(out, "{effect} (\n  {principal},\n  {action},\n  resource\n)").unwrap();
        if !when.is_empty() {
            write!(out, "\nwhen {{\n  {}\n}}", when.join(" &&\n  ")).unwrap();
        }
        out.push_str(";\n\n");
    }

    fn statements(doc: &str) -> Vec<Value> {
        let v: Value = serde_json::from_str(doc).expect("policy JSON");
        match &v["Statement"] {
            Value::Array(a) => a.clone(),
            one @ Value::Object(_) => vec![one.clone()],
            other => panic!("Statement {other}"),
        }
    }

    /// The identity policies of `caller`, translated.
    pub fn translate_identity(texts: &[String], caller: &str, actions: &[String]) -> String {
        let mut out = String::new();
        for t in texts {
            for s in statements(t) {
                statement(&s, Some(caller), actions, &mut out);
            }
        }
        out
    }

    pub fn parse(text: &str) -> PolicySet {
        text.parse().unwrap_or_else(|e| panic!("the translation does not parse: {e:?}"))
    }

    impl Cedar {
        pub fn load(req: &SimulateCustomPolicyRequest) -> Cedar {
            let caller_arn = req.caller_arn.as_deref().expect("CallerArn");
            let caller = user_of_arn(caller_arn);
            let actions = &req.action_names;
            let identity_text = translate_identity(&req.policy_input_list, &caller, actions);
            let mut text = identity_text.clone();
            for s in statements(req.resource_policy.as_deref().expect("ResourcePolicy")) {
                statement(&s, None, actions, &mut text);
            }
            let policies = parse(&text);

            // Context entries: `aws:PrincipalTag/…` become alice's tags, the others context attributes.
            let mut tags = Vec::new();
            let mut pairs = Vec::new();
            for e in &req.context_entries {
                let [v] = e.context_key_values.as_slice() else { panic!("{}: one value expected", e.context_key_name) };
                let value = match e.context_key_type.unwrap_or(ContextKeyType::String) {
                    ContextKeyType::String => RestrictedExpression::new_string(v.clone()),
                    ContextKeyType::Boolean => RestrictedExpression::new_bool(v == "true"),
                    ContextKeyType::Ip => RestrictedExpression::new_ip(v),
                    ContextKeyType::Date => RestrictedExpression::new_datetime(v),
                    other => panic!("no translation for context type {other:?}"),
                };
                match e.context_key_name.strip_prefix("aws:PrincipalTag/") {
                    Some(tag) => tags.push((tag.to_owned(), value)),
                    None => pairs.push((attr(&e.context_key_name), value)),
                }
            }
            let context = Context::from_pairs(pairs).expect("the context");
            let principal: EntityUid = caller.parse().unwrap();
            let alice = Entity::new_with_tags(principal.clone(), [], [], tags).expect("alice");
            let resources: Vec<EntityUid> = req.resource_arns.iter().map(|arn| uid("Repository", arn)).collect();
            let mut entities = vec![alice];
            for (u, arn) in resources.iter().zip(&req.resource_arns) {
                let attrs = [("arn".to_owned(), RestrictedExpression::new_string(arn.clone()))];
                entities.push(Entity::new_with_tags(u.clone(), attrs, [], []).expect("a repository"));
            }
            Cedar {
                policies,
                entities: Entities::from_entities(entities, None).expect("the entities"),
                authorizer: Authorizer::new(),
                principal,
                actions: actions.iter().map(|a| uid("Action", a)).collect(),
                resources,
                context,
                identity_text,
                text,
            }
        }

        /// The request of one decision, built from the pieces made once.
        fn request(&self, action: usize, resource: usize) -> Request {
            Request::new(
                self.principal.clone(),
                self.actions[action].clone(),
                self.resources[resource].clone(),
                self.context.clone(),
                None,
            )
            .expect("a request without schema")
        }

        /// One decision: the request is built here, per decision.
        pub fn decide(&self, action: usize, resource: usize) -> Decision {
            self.authorizer.is_authorized(&self.request(action, resource), &self.policies, &self.entities).decision()
        }

        /// As [`Cedar::decide`], failing on any evaluation error.
        pub fn decide_checked(&self, action: usize, resource: usize) -> Decision {
            let resp = self.authorizer.is_authorized(&self.request(action, resource), &self.policies, &self.entities);
            let errors: Vec<String> = resp.diagnostics().errors().map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "cedar evaluation errors: {errors:?}");
            resp.decision()
        }
    }
}

/// One size: its request, both engines and the checks.
struct Size {
    label: &'static str,
    statements: usize,
    req: SimulateCustomPolicyRequest,
    requests: Vec<(usize, usize)>,
    warden: Warden,
    cedar: cedar::Cedar,
    counts: [usize; 3],
    /// Passes over the 1,000 requests per timed round: warden, cedar.
    passes: (usize, usize),
}

impl Size {
    /// The generator's request for `args`; with `allow_path`, its identity policies lose their
    /// Deny statements (at 10,000 statements every request meets an applicable Deny, so the
    /// workload as written times only the path that stops at the first one).
    fn new(label: &'static str, args: &[&str], allow_path: bool) -> Size {
        let mut req = generate(args);
        if allow_path {
            req.policy_input_list = without_denies(&req.policy_input_list);
        }
        let requests = requests(&req);
        assert_eq!(requests.len(), 1_000, "the workload has 1,000 requests");
        let warden = Warden::load(&req);
        let cedar = cedar::Cedar::load(&req);
        let statements = warden.identity.statement_count();
        if !allow_path {
            assert_eq!(statements, req.policy_input_list.len() * 10);
        }

        // Warden's decisions, and the same request through its own SimulateCustomPolicy. This
        // first pass (and cedar's below) is also the warm-up and calibrates the rounds.
        let policies = warden.policies();
        let start = Instant::now();
        let outcomes: Vec<Outcome> = requests
            .iter()
            .map(|&(a, r)| warden.decide(&policies, &req.action_names[a], &req.resource_arns[r]))
            .collect();
        let warden_pass = start.elapsed();
        let mut counts = [0; 3];
        for o in &outcomes {
            counts[outcome_index(*o)] += 1;
        }
        let simulated = simulate_custom_policy(&req).expect("simulate_custom_policy runs the workload");
        let nr = req.resource_arns.len();
        for (j, &(a, r)) in requests.iter().enumerate() {
            let sim = &simulated.evaluation_results[a * nr + r];
            assert_eq!(
                (sim.eval_action_name.as_str(), sim.eval_resource_name.as_str()),
                (req.action_names[a].as_str(), req.resource_arns[r].as_str())
            );
            assert_eq!(
                sim.eval_decision, outcomes[j],
                "{label}, request {j} ({}, {}): evaluate and simulate_custom_policy disagree",
                req.action_names[a], req.resource_arns[r]
            );
        }

        // Cedar agrees on every decision.
        let mut disagreements = Vec::new();
        let start = Instant::now();
        let cedar_allowed: Vec<bool> =
            requests.iter().map(|&(a, r)| cedar.decide_checked(a, r) == cedar_policy::Decision::Allow).collect();
        let cedar_pass = start.elapsed();
        for (j, (&(a, r), &allowed)) in requests.iter().zip(&cedar_allowed).enumerate() {
            if allowed != (outcomes[j] == Outcome::Allowed) {
                disagreements.push(format!(
                    "request {j} ({}, {}): warden {}, cedar {}",
                    req.action_names[a],
                    req.resource_arns[r],
                    outcomes[j].as_str(),
                    if allowed { "Allow" } else { "Deny" }
                ));
            }
        }
        assert!(
            disagreements.is_empty(),
            "{label}: cedar and warden disagree on {} of 1,000 decisions:\n{}",
            disagreements.len(),
            disagreements.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
        let passes = (passes_for(warden_pass), passes_for(cedar_pass));
        Size { label, statements, req, requests, warden, cedar, counts, passes }
    }

    /// `passes` × the 1,000 requests through warden; the number allowed.
    fn warden_round(&self, passes: usize) -> usize {
        let policies = self.warden.policies();
        let mut allowed = 0;
        for _ in 0..passes {
            for &(a, r) in &self.requests {
                let o = self.warden.decide(&policies, &self.req.action_names[a], &self.req.resource_arns[r]);
                allowed += usize::from(o == Outcome::Allowed);
            }
        }
        allowed
    }

    fn cedar_round(&self, passes: usize) -> usize {
        let mut allowed = 0;
        for _ in 0..passes {
            for &(a, r) in &self.requests {
                allowed += usize::from(self.cedar.decide(black_box(a), black_box(r)) == cedar_policy::Decision::Allow);
            }
        }
        allowed
    }
}

/// The policies with their Deny statements removed (a policy left empty is dropped).
fn without_denies(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .filter_map(|t| {
            let mut doc: serde_json::Value = serde_json::from_str(t).expect("the generator writes JSON policies");
            let statements = doc["Statement"].as_array_mut().expect("Statement is an array");
            statements.retain(|s| s["Effect"] != "Deny");
            (!statements.is_empty()).then(|| doc.to_string())
        })
        .collect()
}

/// Median, min and max.
fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

/// Times `round(passes)`; checks it allowed `allowed × passes`; ns per decision.
fn timed(size: &Size, passes: usize, round: impl Fn(&Size, usize) -> usize) -> f64 {
    let start = Instant::now();
    let allowed = black_box(round(size, passes));
    let ns = start.elapsed().as_nanos() as f64 / (passes * size.requests.len()) as f64;
    assert_eq!(allowed, size.counts[0] * passes, "{}: a timed round decided differently", size.label);
    ns
}

/// Passes per round so that a round takes about [`ROUND_TARGET`], given the time of one pass.
fn passes_for(one: Duration) -> usize {
    (ROUND_TARGET.as_nanos() / one.as_nanos().max(1)).clamp(1, 10_000) as usize
}

struct Measured {
    warden: (f64, f64, f64),
    cedar: (f64, f64, f64),
    passes: (usize, usize),
}

fn measure(size: &Size, rounds: usize) -> Measured {
    let (wp, cp) = size.passes;
    let (mut w, mut c) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        if i % 2 == 0 {
            w.push(timed(size, wp, Size::warden_round));
            c.push(timed(size, cp, Size::cedar_round));
        } else {
            c.push(timed(size, cp, Size::cedar_round));
            w.push(timed(size, wp, Size::warden_round));
        }
    }
    Measured { warden: stats(w), cedar: stats(c), passes: (wp, cp) }
}

/// Parse + compile, ms: warden's `CompiledPolicy::compile` of every identity text and
/// `PolicySet::new`; cedar's parse of the translated statements.
fn compile_times(size: &Size, runs: usize) -> ((f64, f64, f64), (f64, f64, f64)) {
    let texts = &size.req.policy_input_list;
    let ids = policy_ids(texts.len());
    let (mut w, mut c) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let start = Instant::now();
        let set = black_box(warden_identity(black_box(texts), &ids));
        w.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(set.statement_count(), size.statements);
        drop(set);
        let start = Instant::now();
        let set = black_box(cedar::parse(black_box(&size.cedar.identity_text)));
        c.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(set.policies().count(), size.statements);
        drop(set);
    }
    (stats(w), stats(c))
}

/// A figure for the table: whole numbers with thousands separators from 1,000 on.
fn ns(x: f64) -> String {
    if x < 100.0 {
        return format!("{x:.1}");
    }
    let digits = format!("{x:.0}");
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no arguments.
    let rounds: usize = std::env::var("SCALE_ROUNDS").ok().map_or(7, |v| v.parse().expect("SCALE_ROUNDS: a number"));
    assert!(rounds >= 1);
    if std::env::var_os("SCALE_PRINT_CEDAR").is_some() {
        print!("{}", cedar::Cedar::load(&generate(&["20", "50"])).text);
        return;
    }
    let started = Instant::now();
    println!("warden vs cedar-policy {}, {rounds} rounds, one thread", cedar_policy::get_sdk_version());

    let sizes = [
        Size::new("100", &["20", "50"], false),
        Size::new("10,000", &["20", "50", "1000"], false),
        Size::new("10,000 without its Deny statements", &["20", "50", "1000"], true),
    ];
    assert_eq!(
        sizes[0].counts, EXPECTED_100,
        "at 100 statements warden decided {:?} (allowed, explicit deny, implicit deny); the workload's table says {:?}",
        sizes[0].counts, EXPECTED_100
    );
    println!("checked: counts at 100 statements; evaluate = simulate_custom_policy; cedar agrees on all 3 × 1,000");
    println!("setup (generate, compile, check): {:.1} s\n", started.elapsed().as_secs_f64());

    let measured: Vec<Measured> = sizes.iter().map(|s| measure(s, rounds)).collect();
    let compiled: Vec<_> = sizes.iter().map(|s| compile_times(s, rounds)).collect();

    println!("| statements | warden ns/decision (min–max) | cedar ns/decision (min–max) | cedar ÷ warden | passes per round (warden, cedar) |");
    println!("| --- | --- | --- | --- | --- |");
    for (s, m) in sizes.iter().zip(&measured) {
        println!(
            "| {} ({}) | {} ({}–{}) | {} ({}–{}) | {:.1}× | {}, {} |",
            s.label,
            ns(s.statements as f64),
            ns(m.warden.0),
            ns(m.warden.1),
            ns(m.warden.2),
            ns(m.cedar.0),
            ns(m.cedar.1),
            ns(m.cedar.2),
            m.cedar.0 / m.warden.0,
            m.passes.0,
            m.passes.1
        );
    }
    println!();
    println!("| statements | allowed | explicit deny | implicit deny |");
    println!("| --- | --- | --- | --- |");
    for s in &sizes {
        println!("| {} ({}) | {} | {} | {} |", s.label, ns(s.statements as f64), s.counts[0], s.counts[1], s.counts[2]);
    }
    println!();
    println!("| statements | warden parse + compile, ms (min–max) | cedar parse, ms (min–max) |");
    println!("| --- | --- | --- |");
    for (s, (w, c)) in sizes.iter().zip(&compiled) {
        println!(
            "| {} ({}) | {:.2} ({:.2}–{:.2}) | {:.2} ({:.2}–{:.2}) |",
            s.label,
            ns(s.statements as f64),
            w.0,
            w.1,
            w.2,
            c.0,
            c.1,
            c.2
        );
    }
    let (small, big, allow) = (measured[0].warden.0, measured[1].warden.0, measured[2].warden.0);
    let growth = big.max(allow) / small;
    let compile_big = compiled[1].0 .0;
    println!();
    println!("targets (warden):");
    println!("- median ≤ 250 ns at 100 statements: {} ns, {}", ns(small), verdict(small <= 250.0));
    println!("- ≤ 1 µs at 10,000 statements: {} ns, {}", ns(big), verdict(big <= 1_000.0));
    println!("  (the allow path, without the Deny statements: {} ns, {})", ns(allow), verdict(allow <= 1_000.0));
    println!("- growth ≤ 4×: {growth:.1}×, {}", verdict(growth <= 4.0));
    println!("- parse + compile of 10,000 statements ≤ 50 ms: {compile_big:.1} ms, {}", verdict(compile_big <= 50.0));
    println!("\ntotal: {:.1} s", started.elapsed().as_secs_f64());
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "not met"
    }
}
