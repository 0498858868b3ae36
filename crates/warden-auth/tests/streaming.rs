//! Streaming (`aws-chunked`) SigV4 bodies over real HTTP on loopback: AWS's published signed
//! chunked-upload example, byte for byte, and real boto3 `put_object` uploads, which botocore
//! streams as `STREAMING-UNSIGNED-PAYLOAD-TRAILER` with a CRC32 trailer over HTTPS (a private
//! nginx terminates TLS in front of the test server). Needs nginx, openssl and boto3
//! (`apt-get install -y nginx openssl`, `pip install boto3`): the test fails without them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::put;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use sha2::{Digest, Sha256};
use warden_auth::{Clock, ManualClock, SigV4Authenticator, SystemClock};
use warden_identity::StoreHandle;
use warden_testkit::nginx::{self, Nginx};
use warden_tower::{AuthorizeLayer, Authorized, Caller, Check, Rejection};

/// AWS's example key pair (the S3 streaming examples are signed with it), given to `uploader`.
const UPLOADER: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
/// A user without S3 permissions.
const OTHER: (&str, &str) = ("AKIAOTHEREXAMPLE0001", "other-secret-access-key-0000000000000001");

fn policies_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-streaming-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("identities")).unwrap();
    let identities = format!(
        r#"{{
  "account": "111122223333",
  "users": {{
    "uploader": {{
      "inline_policies": {{"put": {{"Version": "2012-10-17", "Statement": [
        {{"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::examplebucket/*", "arn:aws:s3:::uploads/*"]}}
      ]}}}},
      "access_keys": [{{"id": "{}", "secret": "{}"}}]
    }},
    "other": {{"access_keys": [{{"id": "{}", "secret": "{}"}}]}}
  }}
}}"#,
        UPLOADER.0, UPLOADER.1, OTHER.0, OTHER.1
    );
    std::fs::write(dir.join("identities/test.json"), identities).unwrap();
    dir
}

/// What the handler behind the layer received.
#[derive(Debug, Clone)]
struct Received {
    caller: String,
    path: String,
    len: usize,
    sha256: String,
    content_sha256: String,
    content_encoding: Option<String>,
    content_length: Option<String>,
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn store_object(State(log): State<Log>, req: Request<Body>) -> StatusCode {
    let caller = req.extensions().get::<Authorized>().map(|a| a.caller.principal.arn().to_owned()).unwrap_or_default();
    let header = |h: &HeaderMap, n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    log.lock().unwrap().push(Received {
        caller,
        path: parts.uri.path().to_owned(),
        len: bytes.len(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        content_sha256: header(&parts.headers, "x-amz-content-sha256").unwrap_or_default(),
        content_encoding: header(&parts.headers, "content-encoding"),
        content_length: header(&parts.headers, "content-length"),
    });
    StatusCode::OK
}

/// `PUT /<bucket>/<key>` is s3:PutObject on `arn:aws:s3:::<bucket>/<key>` (path-style requests).
fn describe(req: &Request<Body>, caller: &Caller) -> Result<Vec<Check>, Rejection> {
    let path = req.uri().path().trim_start_matches('/');
    let context = warden_tower::context::request_context(req, caller, Some(true), "us-east-1").unwrap_or_default();
    Ok(vec![Check {
        action: "s3:PutObject".into(),
        resource: format!("arn:aws:s3:::{path}"),
        resource_account: "111122223333".into(),
        resource_policy: None,
        context,
    }])
}

async fn serve(clock: Arc<dyn Clock>, name: &str) -> (SocketAddr, Log) {
    let store = Arc::new(StoreHandle::load(&policies_dir(name)).unwrap());
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/{*key}", put(store_object))
        .with_state(Arc::clone(&log))
        .layer(AuthorizeLayer::new(SigV4Authenticator::new(store, "us-east-1", "s3").with_clock(clock), describe));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, log)
}

/// AWS's example body (S3 API Reference, "Transferring Payload in Multiple Chunks", Example: PUT
/// Object): 65 KiB of `a` as a 64 KiB and a 1 KiB chunk with the published chunk signatures.
fn aws_example_body() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
    );
    body.extend(std::iter::repeat_n(b'a', 65536));
    body.extend_from_slice(
        b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
    );
    body.extend(std::iter::repeat_n(b'a', 1024));
    body.extend_from_slice(
        b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
    );
    body
}

async fn put_aws_example(addr: SocketAddr, body: Vec<u8>) -> (u16, String) {
    let resp = reqwest::Client::new()
        .put(format!("http://{addr}/examplebucket/chunkObject.txt"))
        .header("host", "s3.amazonaws.com")
        .header("x-amz-date", "20130524T000000Z")
        .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        )
        .header("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", "66560")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn the_aws_signed_chunked_example_authenticates_over_http() {
    // The example was signed at 2013-05-24T00:00:00Z; the server's clock is set there.
    let clock = Arc::new(ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_369_353_600)));
    let (addr, log) = serve(clock, "example").await;
    let body = aws_example_body();
    assert_eq!(body.len(), 66824, "the example's Content-Length");

    let (status, text) = put_aws_example(addr, body.clone()).await;
    assert_eq!(status, 200, "{text}");
    let got = log.lock().unwrap().pop().unwrap();
    assert_eq!(got.caller, "arn:aws:iam::111122223333:user/uploader");
    assert_eq!(got.path, "/examplebucket/chunkObject.txt");
    assert_eq!((got.len, got.sha256.as_str()), (66560, hex::encode(Sha256::digest(vec![b'a'; 66560])).as_str()));
    // The handler sees the decoded body: its length, no aws-chunked encoding.
    assert_eq!(got.content_length.as_deref(), Some("66560"));
    assert_eq!(got.content_encoding, None);
    assert_eq!(got.content_sha256, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");

    // One byte of the data altered: the first chunk's signature fails; the handler never runs.
    let mut tampered = body.clone();
    tampered[1000] = b'b';
    let (status, text) = put_aws_example(addr, tampered).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    // Cut short after the first chunk: Content-Length is signed, so the seed signature fails.
    let (status, text) = put_aws_example(addr, body[..88 + 65536 + 2].to_vec()).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("InvalidSignatureException"), "{text}");
    assert!(log.lock().unwrap().is_empty(), "no refused body reached the handler");
}

/// nginx terminating TLS on `port` in front of `backend`, passing the request through as sent
/// (Host included, body unbuffered): botocore only streams bodies over HTTPS.
fn start_tls_proxy(prefix: &Path, port: u16, backend: SocketAddr) -> Nginx {
    let (cert, key) = (prefix.join("cert.pem"), prefix.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is required for this test: install it with `apt-get install -y openssl`");
    assert!(made.success(), "openssl could not make a certificate");
    let server = format!(
        r#"    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        client_max_body_size 0;
        location / {{
            proxy_pass http://{backend};
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_set_header Host $http_host;
        }}
    }}"#,
        cert = cert.display(),
        key = key.display()
    );
    nginx::start(prefix, &server).unwrap()
}

const BOTO3_UPLOAD: &str = r#"
import json, os, sys, warnings
import boto3, botocore
from botocore.config import Config
warnings.filterwarnings("ignore")
s3 = boto3.client(
    "s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1", verify=False,
    aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=os.environ["SECRET"],
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
data = os.urandom(3 * 1024 * 1024 + 17)
results = {}
for key in ["photos/cat.bin", "with space/and+plus.bin"]:
    try:
        s3.put_object(Bucket=sys.argv[1], Key=key, Body=data)
        results[key] = "ok"
    except botocore.exceptions.ClientError as e:
        results[key] = e.response["ResponseMetadata"]["HTTPStatusCode"]
import hashlib
print(json.dumps({"results": results, "sha256": hashlib.sha256(data).hexdigest(), "len": len(data),
                  "botocore": botocore.__version__}))
"#;

fn boto3_upload(endpoint: &str, key: (&str, &str), bucket: &str) -> serde_json::Value {
    let out = Command::new("python3")
        .args(["-c", BOTO3_UPLOAD, bucket])
        .env("ENDPOINT", endpoint)
        .env("KEY_ID", key.0)
        .env("SECRET", key.1)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("python3 is required for this test");
    assert!(out.status.success(), "boto3 failed (pip install boto3): {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_put_object_streams_unsigned_chunks_with_a_crc32_trailer() {
    let (backend, log) = serve(Arc::new(SystemClock), "boto3").await;
    let prefix = std::env::temp_dir().join(format!("warden-streaming-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(&prefix).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _nginx = start_tls_proxy(&prefix, port, backend);
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "nginx did not start: {}", std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default());
    let endpoint = format!("https://127.0.0.1:{port}");

    let run = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || boto3_upload(&endpoint, UPLOADER, "uploads")
    });
    let out = run.await.unwrap();
    assert_eq!(out["results"], serde_json::json!({"photos/cat.bin": "ok", "with space/and+plus.bin": "ok"}), "{out}");
    let got: Vec<Received> = std::mem::take(&mut *log.lock().unwrap());
    assert_eq!(got.len(), 2, "{got:?}");
    for (r, path) in got.iter().zip(["/uploads/photos/cat.bin", "/uploads/with%20space/and%2Bplus.bin"]) {
        // botocore streamed the body, and the handler got it decoded and whole.
        assert_eq!(r.content_sha256, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "{r:?}");
        assert_eq!(r.path, path);
        assert_eq!(r.caller, "arn:aws:iam::111122223333:user/uploader");
        assert_eq!(r.len as u64, out["len"].as_u64().unwrap());
        assert_eq!(r.sha256, out["sha256"].as_str().unwrap());
        assert_eq!(r.content_encoding, None);
    }

    // Another user, whom no policy allows s3:PutObject; and the uploader outside its buckets.
    let out = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || boto3_upload(&endpoint, OTHER, "uploads")
    })
    .await
    .unwrap();
    assert_eq!(out["results"]["photos/cat.bin"], 400, "{out}");
    let out = tokio::task::spawn_blocking(move || boto3_upload(&endpoint, UPLOADER, "elsewhere")).await.unwrap();
    assert_eq!(out["results"]["photos/cat.bin"], 400, "{out}");
    assert!(log.lock().unwrap().is_empty(), "refused uploads never reach the handler");
}
