//! The crate's one decoder of request targets: a path is percent-decoded once ([`decode_path`]),
//! a query string is split and form-decoded once ([`Query::parse`]). Whatever authorizes a
//! request and whatever executes it read the values decoded here, so both see the same names.
//!
//! ```
//! use warden_registry::query::{decode_path, Query};
//! assert_eq!(decode_path("/v2/team%2Fapp/tags/list").as_deref(), Some("/v2/team/app/tags/list"));
//! let q = Query::parse("mount=sha256%3Aab&from=secret%2Fapp&from=other");
//! assert_eq!(q.get("from"), Some("secret/app")); // the first value, as Go's url.Values.Get
//! assert_eq!(q.get("mount"), Some("sha256:ab"));
//! assert_eq!(q.get("n"), None);
//! ```

use std::borrow::Cow;

/// The most query parameters read from one request.
const MAX_PARAMS: usize = 32;

/// A decoded query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Splits and decodes `raw` (`application/x-www-form-urlencoded`, as Go's `url.ParseQuery`
    /// reads a registry's query). At most 32 parameters are kept.
    pub fn parse(raw: &str) -> Query {
        let pairs = form_urlencoded::parse(raw.as_bytes())
            .take(MAX_PARAMS)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Query { pairs }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Percent-decodes a request path once; `None` when the result is not UTF-8 or holds a control
/// character (no such name exists, and none may reach a log line).
pub fn decode_path(path: &str) -> Option<Cow<'_, str>> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    if decoded.chars().any(char::is_control) {
        return None;
    }
    Some(decoded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_spelling_of_a_name_decodes_to_the_name() {
        for raw in ["secret/app", "secret%2Fapp", "secret%2fapp", "%73ecret/app", "secret/ap%70"] {
            assert_eq!(Query::parse(&format!("from={raw}")).get("from"), Some("secret/app"), "{raw}");
            assert_eq!(decode_path(&format!("/v2/{raw}/tags/list")).unwrap(), "/v2/secret/app/tags/list", "{raw}");
        }
        assert_eq!(decode_path("/v2/a/%2e%2e/b").unwrap(), "/v2/a/../b");
        assert_eq!(decode_path("/v2/%ff"), None);
        assert_eq!(decode_path("/v2/a%0ab"), None);
    }
}
