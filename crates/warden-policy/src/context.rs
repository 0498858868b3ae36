//! The request context: condition keys and their values.
//!
//! Keys are case-insensitive (`aws:SourceIp` ≡ `AWS:sourceip`, including the tag-key suffix of
//! `aws:PrincipalTag/Team`), values keep their case. Every value is parsed once, when it is added,
//! into the forms the operators compare (number, instant, boolean, IP address, bytes), so
//! evaluating a condition never parses.
//!
//! Like `aws iam simulate-custom-policy`, a context holds only what its builder put in: nothing is
//! filled in from the principal or the clock. Servers that enforce (the middleware, the registry)
//! fill the global keys themselves.

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::date::{self, Instant};
use crate::number::Decimal;

/// The value types of `ContextKeyType` in the IAM simulator API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "camelCase")]
pub enum ContextKeyType {
    /// One string.
    String,
    /// Several strings.
    StringList,
    /// One number.
    Numeric,
    /// Several numbers.
    NumericList,
    /// One boolean.
    Boolean,
    /// Several booleans.
    BooleanList,
    /// One IP address.
    Ip,
    /// Several IP addresses.
    IpList,
    /// One base64-encoded binary value.
    Binary,
    /// Several base64-encoded binary values.
    BinaryList,
    /// One date (ISO 8601 or epoch seconds).
    Date,
    /// Several dates.
    DateList,
}

impl ContextKeyType {
    /// True for the `…List` types: the key is multi-valued.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Self::StringList | Self::NumericList | Self::BooleanList | Self::IpList | Self::BinaryList | Self::DateList
        )
    }

    /// The name AWS uses (`stringList`, `ip`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::StringList => "stringList",
            Self::Numeric => "numeric",
            Self::NumericList => "numericList",
            Self::Boolean => "boolean",
            Self::BooleanList => "booleanList",
            Self::Ip => "ip",
            Self::IpList => "ipList",
            Self::Binary => "binary",
            Self::BinaryList => "binaryList",
            Self::Date => "date",
            Self::DateList => "dateList",
        }
    }
}

/// Why a context entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum ContextError {
    /// A single-valued type was given zero or several values.
    #[error("context key `{key}` of type `{ty}` takes exactly one value, not {count}")]
    #[diagnostic(help("use the `{ty}List` type for several values"))]
    NotSingle {
        /// The key as given.
        key: String,
        /// Its declared type.
        ty: &'static str,
        /// How many values it had.
        count: usize,
    },
    /// A value does not parse as its declared type.
    #[error("context key `{key}`: `{value}` is not a valid {ty} value")]
    BadValue {
        /// The key as given.
        key: String,
        /// The offending value.
        value: String,
        /// The declared type.
        ty: &'static str,
    },
    /// The key is empty.
    #[error("a context key name must not be empty")]
    EmptyKey,
}

/// One value of a context key, pre-parsed into every form an operator might compare.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextValue {
    /// The value as text.
    pub text: Box<str>,
    /// As a number, when it is one.
    pub number: Option<Decimal>,
    /// As an instant, when it is a date or epoch seconds.
    pub instant: Option<Instant>,
    /// As a boolean (`true`/`false`, any case).
    pub boolean: Option<bool>,
    /// As an IP address.
    pub ip: Option<IpAddr>,
    /// Base64-decoded bytes, for binary types (see [`ContextValue::bytes`]).
    binary: Option<Box<[u8]>>,
}

impl ContextValue {
    fn new(text: &str, binary: bool) -> Option<ContextValue> {
        let binary = if binary {
            Some(base64::engine::general_purpose::STANDARD.decode(text).ok()?.into_boxed_slice())
        } else {
            None
        };
        // Only shapes that can parse are tried: most values are plain strings.
        let first = text.bytes().next().unwrap_or(b' ');
        let numeric_start = first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.');
        Some(ContextValue {
            text: text.into(),
            number: if numeric_start { Decimal::parse(text) } else { None },
            instant: if numeric_start { date::parse(text) } else { None },
            boolean: if text.len() == 4 || text.len() == 5 { parse_bool(text) } else { None },
            ip: if first.is_ascii_hexdigit() || first == b':' { text.parse().ok() } else { None },
            binary,
        })
    }

    /// As bytes: base64-decoded for binary types, the UTF-8 text otherwise.
    pub fn bytes(&self) -> &[u8] {
        self.binary.as_deref().unwrap_or(self.text.as_bytes())
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The values of one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key as first given (for reports).
    pub name: Box<str>,
    /// Declared type.
    pub ty: ContextKeyType,
    /// The values.
    pub values: Vec<ContextValue>,
}

/// Condition keys and values of one request.
///
/// A context may sit on a shared base ([`Context::layered`]): keys the server knows once per
/// caller (principal ARN, tags, user id) are built once and shared, and each request adds only its
/// own keys (time, source IP, user agent) on top.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// Sorted by lower-cased key.
    entries: Vec<(Box<str>, Entry)>,
    /// Shared layers under this one, searched in order; keys here shadow theirs.
    bases: SmallVec<[Arc<Context>; 3]>,
}

impl Context {
    /// A context with no keys.
    pub const EMPTY: Context = Context { entries: Vec::new(), bases: SmallVec::new_const() };

    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// An empty context on top of `base`.
    pub fn layered(base: Arc<Context>) -> Context {
        Context::on_layers(&[base])
    }

    /// An empty context on top of several shared layers, searched in order (the first that has a
    /// key wins).
    pub fn on_layers(bases: &[Arc<Context>]) -> Context {
        Context::on_owned_layers(bases.iter().cloned())
    }

    /// As [`Context::on_layers`], taking the layers: no reference count is touched.
    pub fn on_owned_layers(bases: impl IntoIterator<Item = Arc<Context>>) -> Context {
        let mut layers = SmallVec::new();
        for base in bases {
            layers.push(base);
        }
        Context { entries: Vec::new(), bases: layers }
    }

    /// Adds (or replaces) `key` with `values` of type `ty`, checking each value against the type.
    pub fn insert<S: AsRef<str>>(&mut self, key: &str, ty: ContextKeyType, values: &[S]) -> Result<(), ContextError> {
        if key.is_empty() {
            return Err(ContextError::EmptyKey);
        }
        if !ty.is_list() && values.len() != 1 {
            return Err(ContextError::NotSingle { key: key.to_owned(), ty: ty.name(), count: values.len() });
        }
        let binary = matches!(ty, ContextKeyType::Binary | ContextKeyType::BinaryList);
        let mut parsed = Vec::with_capacity(values.len());
        for v in values {
            let v = v.as_ref();
            let bad = || ContextError::BadValue { key: key.to_owned(), value: v.to_owned(), ty: ty.name() };
            let value = ContextValue::new(v, binary).ok_or_else(bad)?;
            let ok = match ty {
                ContextKeyType::Numeric | ContextKeyType::NumericList => value.number.is_some(),
                ContextKeyType::Boolean | ContextKeyType::BooleanList => value.boolean.is_some(),
                ContextKeyType::Ip | ContextKeyType::IpList => value.ip.is_some(),
                ContextKeyType::Date | ContextKeyType::DateList => value.instant.is_some(),
                _ => true,
            };
            if !ok {
                return Err(bad());
            }
            parsed.push(value);
        }
        let lower: Box<str> = key.to_lowercase().into();
        let entry = Entry { name: key.into(), ty, values: parsed };
        match self.entries.binary_search_by(|(k, _)| (**k).cmp(&*lower)) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    slot.1 = entry;
                }
            }
            Err(i) => self.entries.insert(i, (lower, entry)),
        }
        Ok(())
    }

    /// Builder form of [`Context::insert`] for a single string value.
    pub fn with(mut self, key: &str, value: &str) -> Result<Context, ContextError> {
        self.insert(key, ContextKeyType::String, &[value])?;
        Ok(self)
    }

    /// The entry for a key given in lower case.
    pub fn get_lower(&self, lower_key: &str) -> Option<&Entry> {
        match self.entries.binary_search_by(|(k, _)| (**k).cmp(lower_key)) {
            Ok(i) => self.entries.get(i).map(|(_, e)| e),
            Err(_) => self.bases.iter().find_map(|b| b.get_lower(lower_key)),
        }
    }

    /// The entry for a key in any case.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.get_lower(&key.to_lowercase())
    }

    /// The text a policy variable `${key}` (lower-cased key) resolves to: present only for a key
    /// with exactly one value that is not declared as a list (multi-valued keys cannot be variables).
    pub fn variable(&self, lower_key: &str) -> Option<&str> {
        let entry = self.get_lower(lower_key)?;
        match entry.values.as_slice() {
            [one] if !entry.ty.is_list() => Some(&one.text),
            _ => None,
        }
    }

    /// The length of the longest value of any key, in bytes (0 when there is none).
    pub fn longest_value(&self) -> usize {
        let own = self.entries.iter().flat_map(|(_, e)| e.values.iter()).map(|v| v.text.len()).max().unwrap_or(0);
        self.bases.iter().map(|b| b.longest_value()).fold(own, usize::max)
    }

    /// All entries: this layer's, then the base's that this layer does not shadow.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut out: Vec<&Entry> = self.entries.iter().map(|(_, e)| e).collect();
        let mut seen: Vec<String> = self.entries.iter().map(|(k, _)| k.to_string()).collect();
        for base in &self.bases {
            for e in base.entries() {
                let lower = e.name.to_lowercase();
                if !seen.contains(&lower) {
                    seen.push(lower);
                    out.push(e);
                }
            }
        }
        out
    }

    /// Number of keys, the base's included.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True when no key is set here or in the base.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.bases.iter().all(|b| b.is_empty())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_values_are_not() {
        let ctx = Context::new().with("aws:PrincipalTag/Team", "Platform").unwrap();
        assert_eq!(&*ctx.get("AWS:principaltag/team").unwrap().values[0].text, "Platform");
        assert_eq!(ctx.variable("aws:principaltag/team"), Some("Platform"));
    }

    #[test]
    fn typed_values_are_checked_and_preparsed() {
        let mut ctx = Context::new();
        assert!(matches!(
            ctx.insert("aws:SourceIp", ContextKeyType::Ip, &["nope"]),
            Err(ContextError::BadValue { .. })
        ));
        assert!(matches!(
            ctx.insert("aws:SourceIp", ContextKeyType::Ip, &["1.1.1.1", "2.2.2.2"]),
            Err(ContextError::NotSingle { count: 2, .. })
        ));
        ctx.insert("aws:SourceIp", ContextKeyType::Ip, &["203.0.113.9"]).unwrap();
        assert!(ctx.get("aws:sourceip").unwrap().values[0].ip.is_some());
        ctx.insert("k", ContextKeyType::Binary, &["QmluYXJ5"]).unwrap();
        assert_eq!(ctx.get("k").unwrap().values[0].bytes(), b"Binary");
    }

    #[test]
    fn layers_shadow_their_base() {
        let base = Arc::new(Context::new().with("aws:username", "alice").unwrap().with("aws:userid", "AIDA1").unwrap());
        let mut ctx = Context::layered(Arc::clone(&base));
        ctx.insert("aws:userid", ContextKeyType::String, &["AIDA2"]).unwrap();
        assert_eq!(ctx.variable("aws:username"), Some("alice"));
        assert_eq!(ctx.variable("aws:userid"), Some("AIDA2"));
        assert_eq!(ctx.len(), 2);
        assert_eq!(base.variable("aws:userid"), Some("AIDA1"));
    }

    #[test]
    fn list_keys_are_not_variables() {
        let mut ctx = Context::new();
        ctx.insert("aws:TagKeys", ContextKeyType::StringList, &["a"]).unwrap();
        assert_eq!(ctx.variable("aws:tagkeys"), None);
    }
}
