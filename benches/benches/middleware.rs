//! What `AuthorizeLayer` adds per request, in process (no network): the same trivial service
//! called with and without the layer, with a registry token (cached after its first use) and a
//! policy decision. `benches/middleware.sh` measures the same over HTTP with wrk.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response};
use tower::{Service, ServiceBuilder, ServiceExt};
use warden_auth::{TokenAuthenticator, TokenIssuer};
use warden_identity::StoreHandle;
use warden_tower::{AuthorizeLayer, Caller, Check, RegistryDeny, Rejection};

fn describe(req: &Request<Body>, caller: &Caller) -> Result<Vec<Check>, Rejection> {
    let path = req.uri().path();
    let repo = path.strip_prefix("/v2/").and_then(|p| p.strip_suffix("/tags/list")).unwrap_or(path);
    let context = warden_tower::context::request_context(req, caller, Some(false), "us-east-1").unwrap_or_default();
    Ok(vec![Check {
        action: "ecr:ListImages".into(),
        resource: ["arn:aws:ecr:us-east-1:111122223333:repository/", repo].concat(),
        resource_account: "111122223333".into(),
        resource_policy: None,
        context,
    }])
}

fn layer(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|e| panic!("{e}"));
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let store = Arc::new(StoreHandle::load(&policies).unwrap_or_else(|e| panic!("{e}")));
    let issuer = Arc::new(TokenIssuer::new(b"benchmark token key, 32 bytes or more", "111122223333", "us-east-1"));
    let (token, _) = issuer.authorization_token("arn:aws:iam::111122223333:user/reader", SystemTime::now());
    let handler =
        || tower::service_fn(|_: Request<Body>| async { Ok::<_, Infallible>(Response::new(Body::from("ok"))) });
    let request = || {
        Request::get("/v2/team/app/tags/list")
            .header("authorization", format!("Basic {token}"))
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut plain = handler();
    c.bench_function("handler_without_layer", |b| {
        b.iter(|| rt.block_on(async { plain.ready().await.map(|s| s.call(request())).ok() }))
    });
    let mut guarded = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(TokenAuthenticator::new(store, issuer, "bench"), describe).with_deny(RegistryDeny))
        .service(handler());
    c.bench_function("handler_with_layer", |b| {
        b.iter(|| {
            rt.block_on(async {
                let resp = guarded.ready().await.ok()?.call(request()).await.ok()?;
                assert_eq!(resp.status(), 200);
                Some(resp)
            })
        })
    });
}

criterion_group!(benches, layer);
criterion_main!(benches);
