//! A real HTTP server on loopback guarded by the layer: an ECR-shaped JSON endpoint authenticated
//! by SigV4, and a registry-shaped endpoint authenticated by tokens.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use axum::Router;
use http::Request;
use http_body_util::BodyExt;
use warden_auth::{Clock, SigV4Authenticator, TokenAuthenticator, TokenIssuer};
use warden_identity::StoreHandle;
use warden_policy::{CompiledPolicy, PolicyKind, PolicySet};
use warden_tower::{AuthorizeLayer, Caller, Check, DecisionRecord, DescribeRequest, RegistryDeny, Rejection};

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
pub const ADMIN: (&str, &str) = ("AKIAADMINEXAMPLE0001", "admin-secret-access-key-0000000000000001");
pub const READER: (&str, &str) = ("AKIAREADEREXAMPLE001", "reader-secret-access-key-000000000000001");
pub const NOBODY: (&str, &str) = ("AKIANOBODYEXAMPLE001", "nobody-secret-access-key-000000000000001");
pub const TOKEN_KEY: &[u8] = b"test token key, at least 32 bytes long";

pub fn identities() -> String {
    format!(
        r#"{{
  "account": "{ACCOUNT}",
  "users": {{
    "admin":  {{"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"], "access_keys": [{{"id": "{}", "secret": "{}"}}]}},
    "reader": {{"attached_policies": ["AmazonEC2ContainerRegistryReadOnly"], "access_keys": [{{"id": "{}", "secret": "{}"}}]}},
    "nobody": {{"access_keys": [{{"id": "{}", "secret": "{}"}}]}}
  }}
}}"#,
        ADMIN.0, ADMIN.1, READER.0, READER.1, NOBODY.0, NOBODY.1
    )
}

pub fn policies_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-auth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("identities")).unwrap();
    std::fs::write(dir.join("identities/test.json"), identities()).unwrap();
    dir
}

/// Maps `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>` to `ecr:<Op>` on the named
/// repositories (or `repository/*` when none are named, as DescribeRepositories does).
#[derive(Clone)]
pub struct EcrDescriber;

impl DescribeRequest<Body> for EcrDescriber {
    async fn describe(&self, req: Request<Body>, caller: &Caller) -> Result<(Request<Body>, Vec<Check>), Rejection> {
        let bad = |m: String| Rejection::new("SerializationException", http::StatusCode::BAD_REQUEST, m);
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix("AmazonEC2ContainerRegistry_V20150921."))
            .ok_or_else(|| bad("missing X-Amz-Target".into()))?
            .to_owned();
        let (parts, body) = req.into_parts();
        let bytes = body.collect().await.map_err(|e| bad(e.to_string()))?.to_bytes();
        let json: serde_json::Value = if bytes.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?
        };
        let req = Request::from_parts(parts, Body::from(bytes));
        let ctx = warden_tower::context::request_context(&req, caller, Some(false), REGION)
            .map_err(|e| bad(e.to_string()))?;
        let resource = |name: &str| format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}");
        let names: Vec<String> = json
            .get("repositoryNames")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|n| n.as_str().map(resource)).collect())
            .unwrap_or_default();
        let resources = if target == "GetAuthorizationToken" {
            vec!["*".to_owned()]
        } else if names.is_empty() {
            vec![resource("*")]
        } else {
            names
        };
        let checks = resources
            .into_iter()
            .map(|r| Check {
                action: format!("ecr:{target}").into(),
                resource: r,
                resource_account: ACCOUNT.into(),
                resource_policy: None,
                context: ctx.clone(),
            })
            .collect();
        Ok((req, checks))
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub store: Arc<StoreHandle>,
    pub issuer: Arc<TokenIssuer>,
    pub decisions: Arc<AtomicUsize>,
    /// The hook's structured explanations of denied decisions.
    pub explanations: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pub dir: PathBuf,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts the guarded server on 127.0.0.1:0.
pub async fn start(name: &str, clock: Arc<dyn Clock>) -> Server {
    let dir = policies_dir(name);
    let store = Arc::new(StoreHandle::load(&dir).unwrap());
    let issuer = Arc::new(TokenIssuer::new(TOKEN_KEY, ACCOUNT, REGION));
    let decisions = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&decisions);
    let explanations = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&explanations);
    let hook = move |r: &DecisionRecord<'_, '_>| {
        counter.fetch_add(1, Ordering::Relaxed);
        if !r.decision.is_allowed() {
            log.lock().unwrap().push(serde_json::to_value(r.explanation()).unwrap());
        }
    };
    let sigv4 = SigV4Authenticator::new(Arc::clone(&store), REGION, "ecr").with_clock(Arc::clone(&clock));
    let api = Router::new()
        .route("/", post(|body: Bytes| async move { api_answer(&body) }))
        .layer(AuthorizeLayer::new(sigv4, EcrDescriber).with_hook(hook));
    let tokens =
        TokenAuthenticator::new(Arc::clone(&store), Arc::clone(&issuer), "https://127.0.0.1/").with_clock(clock);
    // Repository policies: `shared/app` lets the `nobody` user list it, `locked/app` denies
    // everyone, other repositories have none.
    let shared = CompiledPolicy::compile(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"LetNobodyList","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"ecr:ListImages"}]}"#,
        PolicyKind::Repository,
        "shared/app",
    )
    .unwrap();
    let locked = CompiledPolicy::compile(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"ecr:*"}]}"#,
        PolicyKind::Repository,
        "locked/app",
    )
    .unwrap();
    let (shared, locked) = (PolicySet::from(shared), PolicySet::from(locked));
    let registry_describe = move |req: &Request<Body>, caller: &Caller| -> Result<Vec<Check>, Rejection> {
        let repo = req.uri().path().trim_start_matches("/v2/").trim_end_matches("/tags/list").to_owned();
        let resource_policy = match repo.as_str() {
            "shared/app" => Some(shared.clone()),
            "locked/app" => Some(locked.clone()),
            _ => None,
        };
        let ctx = warden_tower::context::request_context(req, caller, Some(false), REGION).unwrap_or_default();
        Ok(vec![Check {
            action: "ecr:ListImages".into(),
            resource: format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}"),
            resource_account: ACCOUNT.into(),
            resource_policy,
            context: ctx,
        }])
    };
    let registry = Router::new()
        .route("/v2/{*rest}", get(|| async { r#"{"name":"team/app","tags":["v1"]}"# }))
        .layer(AuthorizeLayer::new(tokens, registry_describe).with_deny(RegistryDeny));
    let app = api.merge(registry);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, store, issuer, decisions, explanations, dir }
}

fn api_answer(body: &[u8]) -> (http::HeaderMap, String) {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-json-1.1"));
    let _ = body;
    (headers, r#"{"repositories":[]}"#.to_owned())
}
