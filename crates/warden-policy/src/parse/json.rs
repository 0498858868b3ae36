//! A strict JSON reader that keeps source spans and rejects duplicate object keys.
//!
//! `serde_json` forgets where a value came from and silently keeps the last of two equal keys. IAM
//! rejects duplicate keys ("elements must not contain multiple instances of the same key") and our
//! errors and `MatchedStatements` positions point into the source text, so policy documents are
//! read by this small RFC 8259 reader first. Everything else (simulation requests, case files,
//! output) goes through serde.
//!
//! ```text
//! {"a": 1, "a": 2}      ⇒ error: duplicate key `a`
//! {"Statement": [ ... ]} ⇒ Object[("Statement", span 1..12) => Array(...)]
//! ```

use crate::ast::span::Span;
use crate::limits::MAX_JSON_DEPTH;

/// A JSON value with the byte span it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What the value is.
    pub kind: Kind,
    /// Where it stands in the source text.
    pub span: Span,
}

/// The kinds of JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, kept as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in source order.
    Object(Vec<Member>),
}

/// One `"key": value` member of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The unescaped key.
    pub key: String,
    /// Span of the key (with its quotes).
    pub key_span: Span,
    /// The value.
    pub value: Value,
}

impl Value {
    /// A short name of the kind, for messages ("a string", "an array", ...).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(_) => "a number",
            Kind::String(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }

    /// The text of a scalar (string, number or boolean) as IAM reads it: unquoted numbers and
    /// booleans are allowed wherever a string value is.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::String(s) => Some(s.clone()),
            Kind::Number(n) => Some(n.clone()),
            Kind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Why a text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What is wrong, lowercase, no final period.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// Reads one JSON value that must fill the whole text (whitespace around it is allowed).
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut reader = Reader { text, bytes: text.as_bytes(), pos: 0, depth: 0 };
    reader.skip_ws();
    let value = reader.value()?;
    reader.skip_ws();
    if reader.pos != reader.bytes.len() {
        return Err(reader.error_here("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn error_here(&self, message: &str) -> JsonError {
        let end = (self.pos + 1).min(self.bytes.len());
        JsonError { message: message.to_owned(), span: Span::new(self.pos, end.max(self.pos)) }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => {
                let start = self.pos;
                let s = self.string()?;
                Ok(Value { kind: Kind::String(s), span: Span::new(start, self.pos) })
            }
            Some(b't') => self.literal("true", Kind::Bool(true)),
            Some(b'f') => self.literal("false", Kind::Bool(false)),
            Some(b'n') => self.literal("null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error_here("expected a JSON value")),
            None => Err(self.error_here("unexpected end of text, expected a JSON value")),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Value, JsonError>) -> Result<Value, JsonError> {
        self.depth += 1;
        if self.depth > MAX_JSON_DEPTH {
            return Err(self.error_here("JSON nesting is too deep"));
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.bytes.get(start..start + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(Value { kind, span: Span::new(start, self.pos) })
        } else {
            Err(self.error_here("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error_here("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error_here("invalid number: expected digits after `.`"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error_here("invalid number: expected exponent digits"));
            }
            self.digits();
        }
        let text = self.text.get(start..self.pos).unwrap_or_default().to_owned();
        Ok(Value { kind: Kind::Number(text), span: Span::new(start, self.pos) })
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        // Caller guarantees the opening quote.
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.error_here("control character in a string")),
                None => return Err(self.error_here("unterminated string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = self.peek().ok_or_else(|| self.error_here("unterminated string"))?;
        self.pos += 1;
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.error_here("unpaired surrogate in a string"));
                    }
                    self.pos += 2;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.error_here("unpaired surrogate in a string"));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                let ch = char::from_u32(code).ok_or_else(|| self.error_here("invalid unicode escape"))?;
                out.push(ch);
            }
            _ => {
                self.pos -= 1;
                return Err(self.error_here("invalid escape in a string"));
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or_else(|| self.error_here("invalid unicode escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.error_here("invalid unicode escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value { kind: Kind::Array(items), span: Span::new(start, self.pos) });
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value { kind: Kind::Array(items), span: Span::new(start, self.pos) });
                }
                _ => return Err(self.error_here("expected `,` or `]` in an array")),
            }
        }
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let mut members: Vec<Member> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value { kind: Kind::Object(members), span: Span::new(start, self.pos) });
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error_here("expected a string key in an object"));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(key_start, self.pos);
            if members.iter().any(|m| m.key == key) {
                return Err(JsonError { message: format!("duplicate key `{key}`"), span: key_span });
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error_here("expected `:` after an object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            members.push(Member { key, key_span, value });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value { kind: Kind::Object(members), span: Span::new(start, self.pos) });
                }
                _ => return Err(self.error_here("expected `,` or `}` in an object")),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_values_with_spans() {
        let v = parse(r#" {"a": [1, "x\u00e9", true, null], "b": {"c": -1.5e3}} "#).unwrap();
        let Kind::Object(members) = &v.kind else { panic!() };
        assert_eq!(members[0].key, "a");
        assert_eq!(v.span, Span::new(1, 54));
        let Kind::Array(items) = &members[0].value.kind else { panic!() };
        assert_eq!(items[1].kind, Kind::String("xé".into()));
        assert_eq!(items[0].kind, Kind::Number("1".into()));
    }

    #[test]
    fn rejects_duplicate_keys_at_the_second_key() {
        let err = parse(r#"{"Sid": "a", "Sid": "b"}"#).unwrap_err();
        assert_eq!(err.message, "duplicate key `Sid`");
        assert_eq!(err.span, Span::new(13, 18));
    }

    #[test]
    fn rejects_trailing_commas_garbage_and_bad_escapes() {
        for bad in ["[1,]", "{\"a\":1,}", "{} x", "\"\\q\"", "[01]", "", "{\"a\" 1}", "\"\\ud800\""] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 1) + &"]".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(parse(&deep).unwrap_err().message, "JSON nesting is too deep");
        let ok = "[".repeat(MAX_JSON_DEPTH) + &"]".repeat(MAX_JSON_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn surrogate_pairs_decode() {
        assert_eq!(parse(r#""\ud83d\ude00""#).unwrap().kind, Kind::String("😀".into()));
    }
}
