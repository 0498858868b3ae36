//! A small notes service — not a registry — protected by warden: AWS SigV4 authentication against
//! an identity store, IAM policies deciding every request, AWS-shaped denials. Built only from the
//! public APIs of `warden-tower`, `warden-auth` and `warden-identity`.
//!
//! Run with:
//!
//! ```sh
//! cargo run -p warden-auth --example notes -- crates/warden-auth/examples/notes-policies 127.0.0.1:8080
//! # (its keys are demo keys: it refuses to listen beyond loopback unless given --allow-demo-keys)
//! curl --aws-sigv4 "aws:amz:us-east-1:notes" --user AKIANOTESWRITER00001:notes-writer-secret-key-0000000000000001 \
//!      -H 'x-amz-target: Notes.PutNote' -d '{"name":"public/todo","text":"buy milk"}' http://127.0.0.1:8080/
//! curl --aws-sigv4 "aws:amz:us-east-1:notes" --user AKIANOTESREADER00001:notes-reader-secret-key-0000000000000001 \
//!      -H 'x-amz-target: Notes.PutNote' -d '{"name":"public/todo","text":"x"}' http://127.0.0.1:8080/
//! # {"__type":"AccessDeniedException","message":"User: arn:aws:iam::111122223333:user/reader is not authorized to perform: notes:PutNote on resource: …"}
//! ```
//!
//! Operations (`X-Amz-Target: Notes.<Op>`, JSON body): `PutNote {name, text}`, `GetNote {name}`,
//! `ListNotes {}`; each is the IAM action `notes:<Op>` on `arn:aws:notes:us-east-1:<account>:note/<name>`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use http::{HeaderMap, Request};
use http_body_util::BodyExt;
use warden_auth::SigV4Authenticator;
use warden_identity::{ReloadEvent, StoreHandle};
use warden_tower::{AuthorizeLayer, Caller, Check, DecisionRecord, DescribeRequest, Rejection};

const REGION: &str = "us-east-1";

/// Maps a request to `notes:<Op>` on the note it names.
#[derive(Clone)]
struct Describe {
    account: String,
}

impl DescribeRequest<Body> for Describe {
    async fn describe(&self, req: Request<Body>, caller: &Caller) -> Result<(Request<Body>, Vec<Check>), Rejection> {
        let bad = |m: String| Rejection::new("ValidationException", http::StatusCode::BAD_REQUEST, m);
        let op = target(req.headers()).ok_or_else(|| bad("X-Amz-Target must be Notes.<Operation>".into()))?;
        let (parts, body) = req.into_parts();
        let bytes = body.collect().await.map_err(|e| bad(e.to_string()))?.to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let req = Request::from_parts(parts, Body::from(bytes));
        let name = json.get("name").and_then(|n| n.as_str()).unwrap_or("*");
        let context = warden_tower::context::request_context(&req, caller, Some(false), REGION)
            .map_err(|e| bad(e.to_string()))?;
        let check = Check {
            action: format!("notes:{op}").into(),
            resource: format!("arn:aws:notes:{REGION}:{}:note/{name}", self.account),
            resource_account: self.account.clone().into(),
            resource_policy: None,
            context,
        };
        Ok((req, vec![check]))
    }
}

fn target(headers: &HeaderMap) -> Option<String> {
    headers.get("x-amz-target")?.to_str().ok()?.strip_prefix("Notes.").map(str::to_owned)
}

type Notes = Arc<Mutex<BTreeMap<String, String>>>;

async fn handle(State(notes): State<Notes>, headers: HeaderMap, body: Bytes) -> String {
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let name = json.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
    let mut notes = notes.lock().unwrap_or_else(|p| p.into_inner());
    match target(&headers).as_deref() {
        Some("PutNote") => {
            let text = json.get("text").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
            notes.insert(name, text);
            "{}".to_owned()
        }
        Some("GetNote") => serde_json::json!({"name": name, "text": notes.get(&name)}).to_string(),
        _ => serde_json::json!({"names": notes.keys().collect::<Vec<_>>()}).to_string(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let policies = PathBuf::from(args.next().unwrap_or_else(|| "crates/warden-auth/examples/notes-policies".into()));
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let allow_demo_keys = args.next().as_deref() == Some("--allow-demo-keys");
    let store = Arc::new(StoreHandle::load(&policies)?);
    store.current().check_listen(&listen.parse()?, allow_demo_keys)?;
    let account = store.current().accounts().first().cloned().unwrap_or_default();
    let _watcher = store.watch(Duration::from_secs(1), |event| match event {
        ReloadEvent::Reloaded => eprintln!("notes: identities reloaded"),
        ReloadEvent::Rejected(e) => eprintln!("notes: identities not reloaded, the last good set keeps serving:\n{e}"),
    })?;
    let audit = |r: &DecisionRecord<'_, '_>| {
        eprintln!(
            "notes: {} {} {} -> {}",
            r.caller.principal.arn(),
            r.check.action,
            r.check.resource,
            r.decision.outcome.as_str()
        );
    };
    let app = Router::new().route("/", post(handle)).with_state(Notes::default()).layer(
        AuthorizeLayer::new(SigV4Authenticator::new(Arc::clone(&store), REGION, "notes"), Describe { account })
            .with_hook(audit),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("notes: listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
