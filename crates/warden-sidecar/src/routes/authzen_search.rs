//! The Search APIs of the OpenID AuthZEN Authorization API 1.0 (§ "Subject Search API",
//! "Resource Search API", "Action Search API"), over the identity store and the IAM evaluator that
//! answer `/access/v1/evaluation`. The mapping onto IAM is that of `authzen.rs`: `subject.id` is
//! a principal ARN, `action.name` an IAM action, `resource.id` an ARN, and the members of
//! `context` and of the `properties` objects whose name has a `:` are condition keys.
//!
//! # What each search answers
//!
//! - **`POST /access/v1/search/subject`** (`subject.type`, `action`, `resource`, `context`?):
//!   every user and role of the identity store (role sessions are not enumerated) for which
//!   `/access/v1/evaluation` with that subject, the same action, resource, resource properties
//!   (`resourcePolicy`, `resourceAccount`) and condition keys decides `true` — each candidate is
//!   decided by exactly that evaluation, so every subject returned evaluates to `true`, as § "Subject
//!   Search Semantics" requires. `subject.id`, when present, is ignored (§ "The Subject Search
//!   API Request"). A result is `{"type": <the request's subject.type>, "id": <ARN>,
//!   "properties": {"kind": "user"|"role"}}`. Groups are transitive: a user's group policies are
//!   its own policies in the store.
//! - **`POST /access/v1/search/action`** (`subject`, `resource`, `context`?): the actions the
//!   subject may perform on the resource under the given context — decided by the evaluator, one
//!   evaluation per candidate, over a **finite list**: the ECR action catalog (`ecr:<Name>` for
//!   each action of `warden_policy::catalog::ecr_actions()`) plus every wildcard-free action named
//!   in an `Action` element of the subject's policies (and of the resource's `resourcePolicy`,
//!   when sent). An action only a wildcard grants (`notes:*`) and that is named nowhere is not
//!   found. A result is `{"name": "ecr:BatchGetImage"}`, in case-insensitive name order.
//! - **`POST /access/v1/search/resource`** (`subject`, `action`, `resource.type`, `context`?):
//!   the **ARN patterns** under which the subject may perform the action, not an enumeration of
//!   concrete resources (the IAM policies name patterns; the store of resources is elsewhere).
//!   They come from `warden_policy::analyze::effective_permissions` over the subject's identity
//!   policies and permissions boundary: the resource regions of the permissions whose action
//!   patterns all match the action; each region is kept when the evaluator allows the action on
//!   the region's example resource under the request's context. A result is `{"type":
//!   "arn_pattern", "id": <the region's most specific pattern, e.g.
//!   arn:aws:ecr:us-east-1:111122223333:repository/team/*>, "properties": {"resourceType": <the
//!   request's resource.type>, "patterns": <every pattern of the region>, "example": <a concrete
//!   ARN of it>, "always": <allowed whatever the condition keys>}}`. A resource matching a
//!   pattern may still be denied by a narrower `Deny` or a condition: check it with
//!   `/access/v1/evaluation`. `resource.id` is ignored, and so are `resourcePolicy` and
//!   `resourceAccount` (there is no one resource to own them).
//!
//! A subject the identity store does not know has no actions and no resources: 200 with empty
//! `results` (as `/access/v1/evaluation` answers it `false`, not an error).
//!
//! # Pagination (§ "Paged requests")
//!
//! The request's `page` is `{"token"?, "limit"?}` (the draft's `{"next_token"}` is accepted as
//! `token`); `limit` is 1 to [`MAX_PAGE`] (larger is served as [`MAX_PAGE`]), default
//! [`DEFAULT_PAGE`]. The response's `page` is `{"next_token", "count"}`: `next_token` is an opaque
//! string, empty on the last page, to send as `page.token` with the same request to get the
//! next page; `count` the number of results in this page. Results are in a fixed order (ARN,
//! action name, pattern), and a token holds the last result returned, so pages neither repeat
//! nor skip results even when the identity store is reloaded between them. A token is bound to
//! the search and to its request (apart from `page`): sent with another, or not issued by warden,
//! it is a 400 naming `page.token`.
//!
//! # Errors and cost
//!
//! As the other AuthZEN endpoints: 400 with an error message string naming the member (a
//! required member missing — `subject`, `subject.type`, `subject.id` for the action and resource
//! searches, `action.name`, `resource.id` for the subject and action searches — an invalid ARN,
//! action name or condition key, a bad `page`), 413, 415, 503. Every search runs in the
//! evaluation pool, off the async workers. Each evaluation a search makes counts in `/metrics`
//! and the decision log (endpoint `authzen-search`) as a decision.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use warden_identity::IdentityKind;
use warden_policy::analyze::effective_permissions;
use warden_policy::wildcard::{Case, Pattern};
use warden_policy::Policies;

use super::authzen::{complete, rename, Action, AuthzenError, Resource, Subject, Tuple};
use crate::authorize::{authorize, check_action, AuthorizeRequest};
use crate::error::ApiError;
use crate::extract::{from_value, ApiJson};
use crate::state::AppState;

/// The path of the Subject Search API (§ "HTTPS Subject Search Request").
pub(super) const SUBJECT_PATH: &str = "/access/v1/search/subject";
/// The path of the Resource Search API (§ "HTTPS Resource Search Request").
pub(super) const RESOURCE_PATH: &str = "/access/v1/search/resource";
/// The path of the Action Search API (§ "HTTPS Action Search Request").
pub(super) const ACTION_PATH: &str = "/access/v1/search/action";

/// Results per page when the request names no `page.limit`.
pub const DEFAULT_PAGE: usize = 50;
/// Results per page at most.
pub const MAX_PAGE: usize = 1000;
/// The longest `page.token` accepted, in characters.
const MAX_TOKEN: usize = 4096;
/// Conditions examined per permission when searching resources.
const MAX_CONTEXTS: usize = 1;

/// An entity of a search request: `type` required, `id` required or ignored by the search.
#[derive(Debug, Clone, Deserialize)]
struct Entity {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
}

/// `page` of a search request.
#[derive(Debug, Clone, Default, Deserialize)]
struct PageRequest {
    #[serde(default)]
    token: Option<String>,
    /// The 1.0 drafts' name of the request token.
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    limit: Option<u64>,
}

/// The body of a search request (§ "The Subject Search API Request", ...). Members the spec does
/// not define are ignored.
#[derive(Debug, Deserialize)]
struct SearchRequest {
    #[serde(default)]
    subject: Option<Entity>,
    #[serde(default)]
    action: Option<Action>,
    #[serde(default)]
    resource: Option<Entity>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
    #[serde(default)]
    page: Option<PageRequest>,
}

/// The response's `page`.
#[derive(Debug, Serialize)]
pub(super) struct PageResponse {
    next_token: String,
    count: usize,
}

/// A search response: a page of results.
#[derive(Debug, Serialize)]
pub(super) struct SearchResponse {
    results: Vec<Value>,
    page: PageResponse,
}

/// Which search a token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Subject,
    Resource,
    Action,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Subject => "s",
            Kind::Resource => "r",
            Kind::Action => "a",
        }
    }
}

/// A parsed search: the request as `/access/v1/evaluation` would build it (with placeholders
/// for the searched member), the page asked for, and the type names to answer with.
struct Search {
    req: AuthorizeRequest,
    subject_type: String,
    resource_type: String,
    limit: usize,
    /// The last result of the previous page.
    after: Option<String>,
    kind: Kind,
    fingerprint: u64,
}

/// `POST /access/v1/search/subject` → 200 `{"results": [{"type", "id", "properties"}], "page"}`.
pub(super) async fn subject(
    State(state): State<AppState>,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Json<SearchResponse>, AuthzenError> {
    let search = parse(body?.0, Kind::Subject)?;
    let shared = state.clone();
    Ok(Json(state.pool().run(move || search_subjects(&shared, &search)).await??))
}

/// `POST /access/v1/search/resource` → 200 `{"results": [{"type": "arn_pattern", "id", ...}],
/// "page"}`.
pub(super) async fn resource(
    State(state): State<AppState>,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Json<SearchResponse>, AuthzenError> {
    let search = parse(body?.0, Kind::Resource)?;
    let shared = state.clone();
    Ok(Json(state.pool().run(move || search_resources(&shared, &search)).await??))
}

/// `POST /access/v1/search/action` → 200 `{"results": [{"name"}], "page"}`.
pub(super) async fn action(
    State(state): State<AppState>,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Json<SearchResponse>, AuthzenError> {
    let search = parse(body?.0, Kind::Action)?;
    let shared = state.clone();
    Ok(Json(state.pool().run(move || search_actions(&shared, &search)).await??))
}

/// Checks the members `kind` requires and builds the evaluation request: the searched member is
/// a placeholder (`*`), replaced per candidate.
fn parse(mut body: Value, kind: Kind) -> Result<Search, ApiError> {
    let page_value = body.as_object_mut().and_then(|o| o.remove("page"));
    let fingerprint = {
        let mut h = std::hash::DefaultHasher::new();
        kind.tag().hash(&mut h);
        body.to_string().hash(&mut h);
        h.finish()
    };
    if let Some(p) = page_value {
        if let Some(o) = body.as_object_mut() {
            o.insert("page".to_owned(), p);
        }
    }
    let request: SearchRequest = from_value(body, "")?;
    let missing = |name: &str| {
        let member = name.rsplit('.').next().unwrap_or(name);
        ApiError::invalid(name, format!("missing field `{member}`"))
    };
    let subject = request.subject.ok_or_else(|| missing("subject"))?;
    let resource = request.resource.ok_or_else(|| missing("resource"))?;
    let subject_id = match (kind, subject.id) {
        (Kind::Subject, _) => "*".to_owned(),
        (_, Some(id)) => id,
        (_, None) => return Err(missing("subject.id")),
    };
    let resource_id = match (kind, resource.id) {
        (Kind::Resource, _) => "*".to_owned(),
        (_, Some(id)) => id,
        (_, None) => return Err(missing("resource.id")),
    };
    let action = match (kind, request.action) {
        // The Action Search request is a 3-tuple: an `action` sent is ignored but for its
        // condition-key properties.
        (Kind::Action, a) => Action { name: "*:*".to_owned(), properties: a.and_then(|a| a.properties) },
        (_, Some(a)) => {
            check_action(&a.name).map_err(|m| ApiError::invalid("action.name", m))?;
            a
        }
        (_, None) => return Err(missing("action")),
    };
    let mut resource_properties = resource.properties;
    if kind == Kind::Resource {
        if let Some(p) = resource_properties.as_mut() {
            p.remove("resourcePolicy");
            p.remove("resourceAccount");
        }
    }
    if resource_id != "*" && warden_policy::arn::Arn::parse(&resource_id).is_none() {
        return Err(ApiError::invalid("resource.id", format!("`{resource_id}` is not an ARN or `*`")));
    }
    let tuple = Tuple {
        subject: Some(Subject { ty: subject.ty.clone(), id: subject_id, properties: subject.properties }),
        action: Some(action),
        resource: Some(Resource { ty: resource.ty.clone(), id: resource_id, properties: resource_properties }),
        context: request.context,
    };
    let req = complete(tuple, &Tuple::default(), "")?;
    let page = request.page.unwrap_or_default();
    let limit = match page.limit {
        None => DEFAULT_PAGE,
        Some(0) => return Err(ApiError::invalid("page.limit", "expected at least 1")),
        Some(n) => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
    };
    let after = match page.token.or(page.next_token).filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => Some(read_token(&token, kind, fingerprint)?),
    };
    Ok(Search { req, subject_type: subject.ty, resource_type: resource.ty, limit, after, kind, fingerprint })
}

/// The token of a page that ends at `last`: hex of `v1:<kind>:<fingerprint>:<last>`.
fn write_token(kind: Kind, fingerprint: u64, last: &str) -> String {
    let text = format!("v1:{}:{fingerprint:016x}:{last}", kind.tag());
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The last result of the previous page, from a token [`write_token`] issued for this search.
fn read_token(token: &str, kind: Kind, fingerprint: u64) -> Result<String, ApiError> {
    let bad =
        || ApiError::invalid("page.token", "not a page token of this search: send the `next_token` of its last page");
    if token.len() > MAX_TOKEN || !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(4, ':');
    let (version, tag, print, last) = (parts.next(), parts.next(), parts.next(), parts.next());
    if version != Some("v1") || tag != Some(kind.tag()) {
        return Err(bad());
    }
    if print != Some(format!("{fingerprint:016x}").as_str()) {
        return Err(ApiError::invalid(
            "page.token",
            "the token was issued for another request: send the same request with the token",
        ));
    }
    last.map(str::to_owned).ok_or_else(bad)
}

/// Decides one candidate: `Some(allowed)`, `None` for a subject the store does not know.
fn allowed(state: &AppState, req: &AuthorizeRequest) -> Result<Option<bool>, ApiError> {
    match authorize(state, req, "", "authzen-search") {
        Ok(r) => Ok(Some(r.decision == "Allow")),
        Err(ApiError::InvalidInput { field, .. }) if field == "principal" => Ok(None),
        Err(e) => Err(rename(e, req, "")),
    }
}

/// Walks `candidates` (sorted by key, keys unique) after the page's start, keeping those `keep`
/// accepts, until one more than the page is found: the page and its `next_token`.
fn paginate<T>(
    search: &Search,
    candidates: impl Iterator<Item = (String, T)>,
    mut keep: impl FnMut(&T) -> Result<Option<Value>, ApiError>,
) -> Result<SearchResponse, ApiError> {
    let mut results = Vec::new();
    let mut last = String::new();
    let mut more = false;
    for (key, candidate) in candidates {
        if search.after.as_ref().is_some_and(|after| key.as_str() <= after.as_str()) {
            continue;
        }
        if let Some(result) = keep(&candidate)? {
            if results.len() == search.limit {
                more = true;
                break;
            }
            results.push(result);
            last = key;
        }
    }
    let next_token = if more { write_token(search.kind, search.fingerprint, &last) } else { String::new() };
    Ok(SearchResponse { page: PageResponse { next_token, count: results.len() }, results })
}

fn search_subjects(state: &AppState, search: &Search) -> Result<SearchResponse, ApiError> {
    let store = state.store().current();
    let candidates = store.identities().into_iter().map(|i| (i.arn.clone(), (i.arn.clone(), i.kind)));
    let mut req = search.req.clone();
    paginate(search, candidates, |(arn, kind)| {
        arn.clone_into(&mut req.principal);
        Ok(allowed(state, &req)?.unwrap_or(false).then(|| {
            let kind = match kind {
                IdentityKind::User => "user",
                IdentityKind::Role => "role",
            };
            json!({"type": search.subject_type, "id": arn, "properties": {"kind": kind}})
        }))
    })
}

fn search_actions(state: &AppState, search: &Search) -> Result<SearchResponse, ApiError> {
    // Lower-cased name → the name as spelt first: the catalog's, else a policy's.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for a in warden_policy::catalog::ecr_actions() {
        let name = format!("ecr:{}", a.name);
        names.entry(name.to_lowercase()).or_insert(name);
    }
    let Some(caller) = state.caller(&search.req.principal) else {
        return Ok(SearchResponse { results: Vec::new(), page: PageResponse { next_token: String::new(), count: 0 } });
    };
    let resource_policy = match &search.req.resource_policy {
        Some(Value::String(text)) => state.resource_policy(text).ok(),
        _ => None,
    };
    let sets = [Some(&caller.identity.policies), caller.identity.boundary.as_ref(), resource_policy.as_ref()];
    for statement in sets.iter().flatten().flat_map(|s| s.policies()).flat_map(|p| p.policy().statements()) {
        let clause = statement.action();
        if clause.is_negated() {
            continue;
        }
        for name in clause.values() {
            if check_action(name).is_ok() {
                names.entry(name.to_lowercase()).or_insert_with(|| name.clone());
            }
        }
    }
    let mut req = search.req.clone();
    paginate(search, names.into_iter(), |name| {
        name.clone_into(&mut req.action);
        Ok(allowed(state, &req)?.unwrap_or(false).then(|| json!({"name": name})))
    })
}

fn search_resources(state: &AppState, search: &Search) -> Result<SearchResponse, ApiError> {
    let Some(caller) = state.caller(&search.req.principal) else {
        return Ok(SearchResponse { results: Vec::new(), page: PageResponse { next_token: String::new(), count: 0 } });
    };
    let policies = Policies {
        identity: &caller.identity.policies,
        boundary: caller.identity.boundary.as_ref(),
        session: None,
        resource: None,
    };
    let permissions =
        effective_permissions(&policies, &caller.principal, &caller.context, MAX_CONTEXTS).map_err(|reason| {
            ApiError::invalid("subject.id", format!("the subject's policies cannot be searched: {reason}"))
        })?;
    let action = search.req.action.as_str();
    // Pattern → (every pattern of its region, an example, always), the first region found.
    let mut found: BTreeMap<String, (Vec<String>, String, bool)> = BTreeMap::new();
    let mut req = search.req.clone();
    for p in permissions {
        let covers = if p.actions.is_empty() {
            p.example_action.eq_ignore_ascii_case(action)
        } else {
            p.actions.iter().all(|a| Pattern::new(a, Case::Insensitive, true, false).matches_plain(action))
        };
        if !covers || p.resources.is_empty() {
            continue;
        }
        let Some(id) = most_specific(&p.resources) else { continue };
        if found.contains_key(&id) {
            continue;
        }
        // The shortest member of a region may be no ARN (`""` for `*`): then the request
        // resource `*`, when every pattern of the region matches it; else the region is left out.
        let example = if p.example_resource == "*" || warden_policy::arn::Arn::parse(&p.example_resource).is_some() {
            p.example_resource
        } else if p.resources.iter().all(|r| Pattern::new(r, Case::Sensitive, true, false).matches_plain("*")) {
            "*".to_owned()
        } else {
            continue;
        };
        example.clone_into(&mut req.resource);
        if allowed(state, &req)? == Some(true) {
            found.insert(id, (p.resources, example, p.allowing.always));
        }
    }
    paginate(search, found.into_iter(), |(patterns, example, always)| {
        let id = most_specific(patterns).unwrap_or_default();
        Ok(Some(json!({
            "type": "arn_pattern",
            "id": id,
            "properties": {
                "resourceType": search.resource_type,
                "patterns": patterns,
                "example": example,
                "always": always,
            },
        })))
    })
}

/// The pattern of a region (the intersection of `patterns`) with the most literal characters.
fn most_specific(patterns: &[String]) -> Option<String> {
    patterns.iter().max_by_key(|p| (p.chars().filter(|c| !matches!(c, '*' | '?')).count(), p.len())).cloned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_search() {
        let t = write_token(Kind::Subject, 42, "arn:aws:iam::111122223333:user/a:b");
        assert_eq!(read_token(&t, Kind::Subject, 42).unwrap(), "arn:aws:iam::111122223333:user/a:b");
        assert!(read_token(&t, Kind::Action, 42).is_err());
        assert!(read_token(&t, Kind::Subject, 43).is_err());
        for bad in ["x", "zz", "0", &"00".repeat(3000)] {
            assert!(read_token(bad, Kind::Subject, 42).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_most_specific_pattern_names_the_region() {
        let p = ["*".to_owned(), "arn:aws:ecr:*:*:repository/team/*".to_owned()];
        assert_eq!(most_specific(&p).unwrap(), "arn:aws:ecr:*:*:repository/team/*");
        assert_eq!(most_specific(&[]), None);
    }
}
