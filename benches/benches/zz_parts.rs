use axum::body::Body;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::Request;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;
use warden_auth::{TokenAuthenticator, TokenIssuer};
use warden_identity::StoreHandle;
use warden_tower::{Authenticate, Authorized, Check};

fn parts(c: &mut Criterion) {
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
    c.bench_function("token_hit", |b| b.iter(|| auth.authenticate_head(black_box(&req))));
    c.bench_function("clock", |b| b.iter(|| warden_tower::clock::now()));
    c.bench_function("request_context", |b| {
        b.iter(|| warden_tower::context::request_context(black_box(&req), &caller, Some(false), "us-east-1"))
    });
    c.bench_function("arn_vec", |b| {
        b.iter(|| vec![["arn:aws:ecr:us-east-1:111122223333:repository/", black_box("team/app")].concat()])
    });
    let ctx = warden_tower::context::request_context(&req, &caller, Some(false), "us-east-1").unwrap();
    let check = Check {
        action: "ecr:ListImages".into(),
        resource: "arn:aws:ecr:us-east-1:111122223333:repository/team/app".into(),
        resource_account: "111122223333".into(),
        resource_policy: None,
        context: ctx,
    };
    c.bench_function("evaluate", |b| b.iter(|| warden_tower::evaluate_check(&caller, black_box(&check), None).outcome));
    c.bench_function("caller_clone_drop", |b| b.iter(|| black_box(caller.clone())));
    c.bench_function("extension", |b| {
        b.iter(|| {
            let mut r = Request::new(());
            r.extensions_mut().insert(Authorized { caller: caller.clone(), checks: Vec::new() });
            r
        })
    });
    c.bench_function("request_new", |b| b.iter(|| Request::new(())));
}
criterion_group!(benches, parts);
criterion_main!(benches);
