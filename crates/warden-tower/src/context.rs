//! Helpers for describers: the global condition keys of a request.
//!
//! A request's context is layered so the request path builds little: the caller's keys (built
//! once per caller, [`Caller::context`]) and the time and server keys (region, secure transport;
//! built once a second per thread) are shared layers, stacked once per caller per second; only
//! the source IP and user agent are added per request.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

use http::Request;
use rustc_hash::FxHashMap;
use warden_policy::request::{time_context, GlobalKeys};
use warden_policy::{Context, ContextError, ContextKeyType};

use crate::caller::Caller;

/// The client's address, inserted into request extensions by the server (the layer cannot know
/// how the server accepts connections). Fills `aws:SourceIp`; without it the key is absent, and a
/// policy conditioned on it decides as AWS does for a missing key.
///
/// With axum, serve with `into_make_service_with_connect_info::<SocketAddr>()` and map axum's
/// `ConnectInfo` to a `ClientAddr` in a layer outside [`crate::AuthorizeLayer`], with
/// [`client_addr`] when the server sits behind proxies; with hyper, insert it in the service
/// closure that `serve_connection` gets, from the accepted stream's peer address:
///
/// ```
/// # use std::net::SocketAddr;
/// # use warden_tower::ClientAddr;
/// let peer: SocketAddr = "203.0.113.7:51000".parse().unwrap();
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(ClientAddr(peer.ip()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client's address of a request that arrived from `peer`. `X-Forwarded-For` is read only
/// when `peer` is one of the `trusted` proxies, and then from its right: the client is the
/// right-most address that is not a trusted proxy (each proxy appends the address it was
/// reached from, so entries left of the first untrusted one may be forged). An entry that is not
/// an address ends the walk at the hop that sent it.
///
/// ```
/// # use warden_tower::context::client_addr;
/// let trusted = ["10.0.0.0/8".parse().unwrap()];
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.1.2.3".parse().unwrap());
/// let from_proxy = client_addr("10.0.0.1".parse().unwrap(), &headers, &trusted);
/// assert_eq!(from_proxy.0.to_string(), "203.0.113.9");
/// let direct = client_addr("192.0.2.4".parse().unwrap(), &headers, &trusted);
/// assert_eq!(direct.0.to_string(), "192.0.2.4"); // a client cannot claim another address
/// ```
pub fn client_addr(peer: IpAddr, headers: &http::HeaderMap, trusted: &[ipnet::IpNet]) -> ClientAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(&peer) {
        return ClientAddr(peer);
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .take(64)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(ip) = parse_forwarded(entry) else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    ClientAddr(client)
}

/// An IPv4 address carried in IPv6 (`::ffff:a.b.c.d`) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    entry.parse::<std::net::SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// The request-dependent global keys as a [`GlobalKeys`] (source IP, time, user agent, secure
/// transport, region), for describers that add resource or request tags and build the context
/// with [`GlobalKeys::on`] the caller's context.
pub fn request_keys<B>(req: &Request<B>, tls: Option<bool>, region: &str) -> GlobalKeys {
    GlobalKeys {
        source_ip: req.extensions().get::<ClientAddr>().map(|a| a.0),
        epoch_seconds: now_secs(),
        secure_transport: tls,
        requested_region: region.to_owned(),
        user_agent: req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        ..GlobalKeys::default()
    }
}

fn now_secs() -> i64 {
    crate::clock::epoch_seconds()
}

/// The shared layers of the current second, per thread: the environment layer (time, region,
/// transport) and, for each caller seen in that second, the caller's layer stacked on it. A
/// request's context then holds one shared layer, so building and dropping it touches one
/// reference count.
struct Layers {
    secs: i64,
    tls: Option<bool>,
    region: String,
    env: Arc<Context>,
    /// By the address of the caller's layer. The entry holds that layer, so the address cannot be
    /// reused by another caller while the entry lives.
    callers: FxHashMap<usize, (Arc<Context>, Arc<Context>)>,
}

impl Layers {
    /// Whether these are the layers of second `secs` for `tls` and `region`.
    fn is_for(&self, secs: i64, tls: Option<bool>, region: &str) -> bool {
        self.secs == secs && self.tls == tls && self.region == region
    }
}

/// Callers remembered per thread per second, at most.
const CALLERS_PER_SECOND: usize = 4096;

thread_local! {
    static LAYERS: RefCell<Option<Layers>> = const { RefCell::new(None) };
}

/// The keys that depend only on the time (to the second) and the server: the time keys, the
/// region and the transport.
fn env_context(secs: i64, tls: Option<bool>, region: &str) -> Result<Context, ContextError> {
    let mut ctx = time_context(secs)?;
    if let Some(tls) = tls {
        ctx.insert("aws:SecureTransport", ContextKeyType::Boolean, &[if tls { "true" } else { "false" }])?;
    }
    if !region.is_empty() {
        ctx.insert("aws:RequestedRegion", ContextKeyType::String, &[region])?;
    }
    Ok(ctx)
}

/// The caller's layer on the environment layer of this second.
fn shared_layer(caller: &Arc<Context>, tls: Option<bool>, region: &str) -> Result<Arc<Context>, ContextError> {
    let secs = now_secs();
    LAYERS.with(|cell| {
        let mut cached = cell.borrow_mut();
        let key = Arc::as_ptr(caller) as usize;
        // The common case: this second's layers, and this caller seen before in it.
        if let Some(layers) = cached.as_ref().filter(|l| l.is_for(secs, tls, region)) {
            if let Some((_, stacked)) = layers.callers.get(&key) {
                return Ok(Arc::clone(stacked));
            }
        }
        let layers = match cached.take() {
            Some(l) if l.is_for(secs, tls, region) => cached.insert(l),
            _ => cached.insert(Layers {
                secs,
                tls,
                region: region.to_owned(),
                env: Arc::new(env_context(secs, tls, region)?),
                callers: FxHashMap::default(),
            }),
        };
        if let Some((_, stacked)) = layers.callers.get(&key) {
            return Ok(Arc::clone(stacked));
        }
        if layers.callers.len() >= CALLERS_PER_SECOND {
            layers.callers.clear();
        }
        let stacked = Arc::new(Context::on_owned_layers([Arc::clone(caller), Arc::clone(&layers.env)]));
        layers.callers.insert(key, (Arc::clone(caller), Arc::clone(&stacked)));
        Ok(stacked)
    })
}

/// The context of a request without resource or request tags: the caller's keys, the time, the
/// server's region and transport, the source IP, user agent and referer.
pub fn request_context<B>(
    req: &Request<B>,
    caller: &Caller,
    tls: Option<bool>,
    region: &str,
) -> Result<Context, ContextError> {
    let mut ctx = Context::on_owned_layers([shared_layer(&caller.context, tls, region)?]);
    if let Some(ClientAddr(ip)) = req.extensions().get::<ClientAddr>() {
        ctx.insert("aws:SourceIp", ContextKeyType::Ip, &[ip.to_string()])?;
    }
    if let Some(ua) = req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        ctx.insert("aws:UserAgent", ContextKeyType::String, &[ua])?;
    }
    if let Some(referer) = req.headers().get(http::header::REFERER).and_then(|v| v.to_str().ok()) {
        ctx.insert("aws:Referer", ContextKeyType::String, &[referer])?;
    }
    Ok(ctx)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use warden_policy::{PolicySet, Principal};

    #[test]
    fn request_context_has_every_layer() {
        let caller =
            Caller::new(Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap(), PolicySet::default());
        let mut req = Request::get("/")
            .header("user-agent", "docker/27.0")
            .header("referer", "https://a.example/")
            .body(())
            .unwrap();
        req.extensions_mut().insert(ClientAddr("203.0.113.7".parse().unwrap()));
        let ctx = request_context(&req, &caller, Some(true), "us-east-1").unwrap();
        for (key, value) in [
            ("aws:username", "alice"),
            ("aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice"),
            ("aws:SourceIp", "203.0.113.7"),
            ("aws:UserAgent", "docker/27.0"),
            ("aws:Referer", "https://a.example/"),
            ("aws:SecureTransport", "true"),
            ("aws:RequestedRegion", "us-east-1"),
        ] {
            assert_eq!(&*ctx.get(key).unwrap().values[0].text, value, "{key}");
        }
        assert!(ctx.get("aws:CurrentTime").unwrap().values[0].instant.is_some());
        assert!(ctx.get("aws:EpochTime").unwrap().values[0].number.is_some());
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let headers = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("x-forwarded-for", v.parse().unwrap());
            h
        };
        let addr = |peer: &str, xff: &str| client_addr(peer.parse().unwrap(), &headers(xff), &trusted).0.to_string();
        assert_eq!(addr("127.0.0.1", "54.240.143.7"), "54.240.143.7");
        assert_eq!(addr("127.0.0.1", "1.2.3.4, 54.240.143.7, 10.9.9.9"), "54.240.143.7");
        assert_eq!(addr("127.0.0.1", "[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(addr("127.0.0.1", "54.240.143.7:1234"), "54.240.143.7");
        assert_eq!(addr("127.0.0.1", "garbage, 10.1.1.1"), "10.1.1.1");
        assert_eq!(addr("127.0.0.1", "10.1.1.1, 10.2.2.2"), "10.1.1.1");
        assert_eq!(addr("192.0.2.1", "54.240.143.7"), "192.0.2.1");
        assert_eq!(addr("::ffff:192.0.2.1", "54.240.143.7"), "192.0.2.1");
        assert_eq!(
            client_addr("127.0.0.1".parse().unwrap(), &http::HeaderMap::new(), &trusted).0.to_string(),
            "127.0.0.1"
        );
    }

    #[test]
    fn each_caller_gets_its_own_keys_even_when_an_old_caller_is_gone() {
        let name = |ctx: &Context| ctx.get("aws:username").map(|e| e.values[0].text.to_string());
        let req = Request::get("/").body(()).unwrap();
        let mut seen = Vec::new();
        // Callers made and dropped one after another may land at the same address; the layer
        // cached for one must never answer for the next.
        for i in 0..50 {
            let user = format!("user{i}");
            let caller = Caller::new(
                Principal::parse(&format!("arn:aws:iam::111122223333:user/{user}")).unwrap(),
                PolicySet::default(),
            );
            let ctx = request_context(&req, &caller, None, "us-east-1").unwrap();
            assert_eq!(name(&ctx).as_deref(), Some(user.as_str()));
            seen.push(ctx);
        }
        // Earlier contexts are unaffected by later callers.
        assert_eq!(name(&seen[0]).as_deref(), Some("user0"));
        // Another region is another environment layer.
        let caller = Caller::new(Principal::parse("arn:aws:iam::111122223333:user/zed").unwrap(), PolicySet::default());
        let west = request_context(&req, &caller, Some(false), "us-west-2").unwrap();
        assert_eq!(&*west.get("aws:RequestedRegion").unwrap().values[0].text, "us-west-2");
        assert_eq!(&*west.get("aws:SecureTransport").unwrap().values[0].text, "false");
    }
}
