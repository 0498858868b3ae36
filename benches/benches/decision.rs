//! Decision latency and compile cost of the engine.
//!
//! Run with `cargo bench -p warden-bench`. Targets on the 2-core reference machine: (b) under
//! 500 ns median; (c) within 3× of (b).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use warden_bench::{account, one_policy, policy_texts, principal_with_repository_policy, Workload, ACCOUNT, RESOURCE};
use warden_policy::{evaluate, CompiledPolicy, Policies, PolicyKind, Request};

fn decide(c: &mut Criterion, name: &str, w: &Workload, action: &str) {
    let policies = Policies { identity: &w.identity, boundary: None, session: None, resource: w.resource.as_ref() };
    c.bench_function(name, |b| {
        b.iter(|| {
            let req = Request {
                principal: &w.principal,
                action: black_box(action),
                resource: black_box(RESOURCE),
                resource_account: ACCOUNT,
                context: &w.context,
            };
            black_box(evaluate(&policies, &req).outcome)
        })
    });
}

fn decisions(c: &mut Criterion) {
    decide(c, "a_one_identity_policy", &one_policy(), "ecr:BatchGetImage");
    let b = principal_with_repository_policy();
    decide(c, "b_10_policies_100_statements_plus_repository_policy", &b, "ecr:BatchGetImage");
    decide(c, "b_explicit_deny", &b, "ecr:BatchDeleteImage");
    let acct = account();
    decide(c, "c_account_10000_statements", &acct, "ecr:BatchGetImage");
    decide(c, "c_implicit_deny", &acct, "ecr:DeleteRepository");
}

fn compile(c: &mut Criterion) {
    let texts = policy_texts();
    c.bench_function("d_parse_and_compile_1000_policies", |b| {
        b.iter(|| {
            for (i, t) in texts.iter().enumerate() {
                black_box(CompiledPolicy::compile(t, PolicyKind::Identity, if i % 2 == 0 { "a" } else { "b" }).ok());
            }
        })
    });
}

criterion_group!(benches, decisions, compile);
criterion_main!(benches);
