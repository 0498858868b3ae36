//! The steps of `AuthorizeLayer`'s request path one by one, in process: token authentication
//! (a cache hit), the request context, the ARN and check vector a describer builds, the decision,
//! and the `Authorized` extension. `benches/README.md` tables the medians.

#![allow(clippy::unwrap_used)] // a benchmark fixture: fail loudly

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::Request;
use warden_auth::{TokenAuthenticator, TokenIssuer};
use warden_identity::StoreHandle;
use warden_tower::{Authenticate, Authorized, Check};

fn steps(c: &mut Criterion) {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let store = Arc::new(StoreHandle::load(&policies).unwrap());
    let issuer = Arc::new(TokenIssuer::new(b"benchmark token key, 32 bytes or more", "111122223333", "us-east-1"));
    let (token, _) = issuer.authorization_token("arn:aws:iam::111122223333:user/reader", SystemTime::now());
    let auth = TokenAuthenticator::new(store, issuer, "bench");
    let req = Request::get("/v2/team/app/tags/list")
        .header("authorization", format!("Basic {token}"))
        .body(Body::empty())
        .unwrap();
    let caller = auth.authenticate_head(&req).unwrap().unwrap();

    c.bench_function("step_token_cache_hit", |b| b.iter(|| auth.authenticate_head(black_box(&req))));
    c.bench_function("step_clock", |b| b.iter(warden_tower::clock::now));
    c.bench_function("step_request_context", |b| {
        b.iter(|| warden_tower::context::request_context(black_box(&req), &caller, Some(false), "us-east-1"))
    });
    c.bench_function("step_arn_and_check_vector", |b| {
        b.iter(|| vec![["arn:aws:ecr:us-east-1:111122223333:repository/", black_box("team/app")].concat()])
    });
    let context = warden_tower::context::request_context(&req, &caller, Some(false), "us-east-1").unwrap();
    let check = Check {
        action: "ecr:ListImages".into(),
        resource: "arn:aws:ecr:us-east-1:111122223333:repository/team/app".into(),
        resource_account: "111122223333".into(),
        resource_policy: None,
        context,
    };
    c.bench_function("step_decision", |b| {
        b.iter(|| warden_tower::evaluate_check(&caller, black_box(&check), None).outcome)
    });
    c.bench_function("step_caller_clone_and_drop", |b| b.iter(|| black_box(caller.clone())));
    c.bench_function("step_request_alone", |b| b.iter(|| Request::new(())));
    c.bench_function("step_request_with_authorized_extension", |b| {
        b.iter(|| {
            let mut r = Request::new(());
            r.extensions_mut().insert(Authorized { caller: caller.clone(), checks: Vec::new() });
            r
        })
    });
}

criterion_group!(benches, steps);
criterion_main!(benches);
