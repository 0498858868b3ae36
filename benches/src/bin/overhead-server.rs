//! Two servers with the same trivial handler, for measuring what `AuthorizeLayer` costs:
//! `plain` without the layer, `guarded` with registry-token authentication and a policy decision
//! per request. Prints the ports and a token for the demo `reader` user; `benches/middleware.sh`
//! drives both with wrk in the same run.
//!
//! Usage: `overhead-server POLICIES_DIR` (the repository's `policies/`).

#![allow(clippy::expect_used)] // a benchmark fixture: fail loudly

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::routing::get;
use axum::{Router, ServiceExt};
use http::Request;
use tower::Layer;
use warden_auth::{TokenAuthenticator, TokenIssuer};
use warden_identity::StoreHandle;
use warden_tower::{AuthorizeLayer, Caller, Check, RegistryDeny, Rejection};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

fn describe(req: &Request<Body>, caller: &Caller) -> Result<Vec<Check>, Rejection> {
    let path = req.uri().path();
    let repo = path.strip_prefix("/v2/").and_then(|p| p.strip_suffix("/tags/list")).unwrap_or(path);
    let context = warden_tower::context::request_context(req, caller, Some(false), REGION).unwrap_or_default();
    Ok(vec![Check {
        action: "ecr:ListImages".into(),
        resource: ["arn:aws:ecr:", REGION, ":", ACCOUNT, ":repository/", repo].concat(),
        resource_account: ACCOUNT.into(),
        resource_policy: None,
        context,
    }])
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "policies".into()));
    let store = Arc::new(StoreHandle::load(&dir).expect("the policies directory loads"));
    let issuer = Arc::new(TokenIssuer::new(b"benchmark token key, 32 bytes or more", ACCOUNT, REGION));
    let (token, _) = issuer.authorization_token("arn:aws:iam::111122223333:user/reader", SystemTime::now());
    let handler = || async { r#"{"name":"team/app","tags":["v1"]}"# };
    let plain = Router::new().route("/v2/{*rest}", get(handler));
    let layer = AuthorizeLayer::new(TokenAuthenticator::new(store, issuer, "bench"), describe).with_deny(RegistryDeny);
    // The layer around the whole router, as tower layers usually go (ServiceBuilder, Layer::layer).
    let guarded = layer.layer(Router::new().route("/v2/{*rest}", get(handler)));
    // The layer on each route (axum's Router::layer): axum boxes the wrapped route again, so each
    // request also pays a second boxed service clone and boxed future.
    let per_route = Router::new().route("/v2/{*rest}", get(handler)).layer(layer);
    let fixed = Caller::new(
        warden_policy::Principal::parse("arn:aws:iam::111122223333:user/reader").expect("arn"),
        warden_policy::PolicySet::default(),
    );
    let passthrough = Router::new().route("/v2/{*rest}", get(handler)).layer(AuthorizeLayer::new(
        move |_: &Request<Body>| -> Result<Caller, Rejection> { Ok(fixed.clone()) },
        |_: &Request<Body>, _: &Caller| -> Result<Vec<Check>, Rejection> { Ok(Vec::new()) },
    ));
    let c = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("passthrough={}", c.local_addr().expect("addr").port());
    tokio::spawn(async move { axum::serve(c, passthrough).await.expect("serve") });
    let a = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let b = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let r = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("plain={}", a.local_addr().expect("addr").port());
    println!("guarded={}", b.local_addr().expect("addr").port());
    println!("per_route={}", r.local_addr().expect("addr").port());
    println!("token={token}");
    tokio::spawn(async move { axum::serve(a, plain).await.expect("serve") });
    tokio::spawn(async move { axum::serve(r, per_route).await.expect("serve") });
    axum::serve(b, guarded.into_make_service()).await.expect("serve");
}
