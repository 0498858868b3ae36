//! Helpers for describers: the global condition keys of a request.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Request;
use warden_policy::request::GlobalKeys;

use crate::caller::Caller;

/// The client's address, inserted into request extensions by the server (the layer cannot know
/// how the server accepts connections). Fills `aws:SourceIp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The global keys every check of this request shares: caller identity keys, source IP, time,
/// user agent, secure transport (`tls`), region. Add resource and request tags before
/// [`GlobalKeys::into_context`].
pub fn global_keys<B>(req: &Request<B>, caller: &Caller, tls: Option<bool>, region: &str) -> GlobalKeys {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    GlobalKeys {
        source_ip: req.extensions().get::<ClientAddr>().map(|a| a.0),
        epoch_seconds: i64::try_from(now).unwrap_or(i64::MAX),
        secure_transport: tls,
        requested_region: region.to_owned(),
        user_agent: req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        user_id: caller.unique_id.as_deref().map(str::to_owned),
        mfa_present: caller.mfa,
        principal_tags: caller.tags.to_vec(),
        ..GlobalKeys::default()
    }
}
