//! Helpers for describers: the global condition keys of a request.
//!
//! A request's context is layered so the request path builds little: the caller's keys (built
//! once per caller, [`Caller::context`]) and the time and server keys (region, secure transport;
//! built once a second per thread) are shared layers; only the source IP and user agent are added
//! per request.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

use http::Request;
use warden_policy::request::{time_context, GlobalKeys};
use warden_policy::{Context, ContextError, ContextKeyType};

use crate::caller::Caller;

/// The client's address, inserted into request extensions by the server (the layer cannot know
/// how the server accepts connections). Fills `aws:SourceIp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

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

/// The environment layer cached per thread: the second, `tls` and `region` it was built for, and
/// the layer.
type EnvLayer = (i64, Option<bool>, String, Arc<Context>);

thread_local! {
    static ENV: RefCell<Option<EnvLayer>> = const { RefCell::new(None) };
}

/// The keys that depend only on the time (to the second) and the server: the time keys, the
/// region and the transport. Built once a second per thread.
fn env_layer(secs: i64, tls: Option<bool>, region: &str) -> Result<Arc<Context>, ContextError> {
    ENV.with(|cell| {
        let mut cached = cell.borrow_mut();
        if let Some((at, t, r, ctx)) = cached.as_ref() {
            if *at == secs && *t == tls && r == region {
                return Ok(Arc::clone(ctx));
            }
        }
        let mut ctx = time_context(secs)?;
        if let Some(tls) = tls {
            ctx.insert("aws:SecureTransport", ContextKeyType::Boolean, &[if tls { "true" } else { "false" }])?;
        }
        if !region.is_empty() {
            ctx.insert("aws:RequestedRegion", ContextKeyType::String, &[region])?;
        }
        let ctx = Arc::new(ctx);
        *cached = Some((secs, tls, region.to_owned(), Arc::clone(&ctx)));
        Ok(ctx)
    })
}

/// The context of a request without resource or request tags: the caller's keys, the time, the
/// server's region and transport, the source IP and user agent.
pub fn request_context<B>(
    req: &Request<B>,
    caller: &Caller,
    tls: Option<bool>,
    region: &str,
) -> Result<Context, ContextError> {
    let mut ctx = Context::on_owned_layers([Arc::clone(&caller.context), env_layer(now_secs(), tls, region)?]);
    if let Some(ClientAddr(ip)) = req.extensions().get::<ClientAddr>() {
        ctx.insert("aws:SourceIp", ContextKeyType::Ip, &[ip.to_string()])?;
    }
    if let Some(ua) = req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        ctx.insert("aws:UserAgent", ContextKeyType::String, &[ua])?;
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
        let mut req = Request::get("/").header("user-agent", "docker/27.0").body(()).unwrap();
        req.extensions_mut().insert(ClientAddr("203.0.113.7".parse().unwrap()));
        let ctx = request_context(&req, &caller, Some(true), "us-east-1").unwrap();
        for (key, value) in [
            ("aws:username", "alice"),
            ("aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice"),
            ("aws:SourceIp", "203.0.113.7"),
            ("aws:UserAgent", "docker/27.0"),
            ("aws:SecureTransport", "true"),
            ("aws:RequestedRegion", "us-east-1"),
        ] {
            assert_eq!(&*ctx.get(key).unwrap().values[0].text, value, "{key}");
        }
        assert!(ctx.get("aws:CurrentTime").unwrap().values[0].instant.is_some());
        assert!(ctx.get("aws:EpochTime").unwrap().values[0].number.is_some());
    }
}
