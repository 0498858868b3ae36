//! The route table of the check endpoint: which action on which resource an HTTP request
//! amounts to. See `ROUTES.md` for the file format and the matching rules.
//!
//! ```text
//! GET /notes/todo            {method: GET, path: /notes/{name}}       ⇒ name = todo
//! GET /notes/a/b             {path: /notes/{name}}                    ⇒ no match ({var} is one segment)
//! GET /files/a/b/c           {path: /files/{key+}}                    ⇒ key = a/b/c
//! GET /files/                {path: /files/{key+}}                    ⇒ no match ({var+} is not empty)
//! GET /notes/a%20b           {path: /notes/{name}}                    ⇒ name = a b (percent-decoded)
//! GET /notes/..              any route                                ⇒ refused (dot segment)
//! GET /notes/a%2Fb           any route                                ⇒ refused (encoded slash)
//! DELETE /notes/x            {method: GET, ...}                       ⇒ no match; `*` matches any method
//! ```

use std::path::Path;

use serde::Deserialize;
use warden_policy::arn::Arn;

/// A validated route table; the first route that matches wins.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

#[derive(Debug, Clone)]
struct Route {
    /// `None` matches any method.
    method: Option<String>,
    segments: Vec<Segment>,
    action: String,
    resource: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Var(String),
    Rest(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(String),
}

/// One entry of `routes.json`, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    method: String,
    path: String,
    action: String,
    resource: String,
}

/// What a request amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The action (`notes:GetNote`).
    pub action: String,
    /// The resource ARN with the path variables filled in.
    pub resource: String,
}

/// Why `routes.json` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteTableError {
    /// The file cannot be read.
    #[error("cannot read `{path}`: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The file is not a JSON array of routes.
    #[error("routes.json: {message}")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// One route is invalid.
    #[error("routes.json: [{index}].{field}: {message}")]
    Route {
        /// 0-based position in the array.
        index: usize,
        /// `method`, `path`, `action` or `resource`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Why a request path cannot be matched safely (the check endpoint refuses it, fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the path `{0}` does not start with `/`")]
    NotAbsolute(String),
    /// A `.` or `..` segment, which servers resolve differently.
    #[error("the path `{0}` has a `.` or `..` segment")]
    DotSegment(String),
    /// A segment decodes to a `/`, a control character or invalid UTF-8.
    #[error("the path `{0}` has a segment that decodes to `/`, a control character or invalid UTF-8")]
    BadEncoding(String),
}

impl RouteTable {
    /// Reads `path`; a missing file is an empty table (every check is refused).
    pub fn load(path: &Path) -> Result<RouteTable, RouteTableError> {
        match std::fs::read_to_string(path) {
            Ok(text) => RouteTable::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RouteTable::default()),
            Err(e) => Err(RouteTableError::Read { path: path.display().to_string(), message: e.to_string() }),
        }
    }

    /// Parses and validates a `routes.json` text.
    pub fn parse(text: &str) -> Result<RouteTable, RouteTableError> {
        let specs: Vec<RouteSpec> =
            serde_json::from_str(text).map_err(|e| RouteTableError::Json { message: e.to_string() })?;
        let routes = specs.into_iter().enumerate().map(|(i, s)| Route::new(i, s)).collect::<Result<_, _>>()?;
        Ok(RouteTable { routes })
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The first route matching `method` and `uri` (a path with an optional query, which is
    /// ignored), with its resource filled in.
    pub fn find(&self, method: &str, uri: &str) -> Result<Option<RouteMatch>, PathError> {
        let segments = split_path(uri)?;
        Ok(self.routes.iter().find_map(|r| r.matches(method, &segments)))
    }
}

impl Route {
    fn new(index: usize, spec: RouteSpec) -> Result<Route, RouteTableError> {
        let err = |field, message: String| RouteTableError::Route { index, field, message };
        let method = match spec.method.as_str() {
            "*" => None,
            m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => Some(m.to_owned()),
            m => return Err(err("method", format!("`{m}` is not an upper-case HTTP method or `*`"))),
        };
        let segments = parse_path(&spec.path).map_err(|m| err("path", m))?;
        let vars: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Var(v) | Segment::Rest(v) => Some(v.as_str()),
                Segment::Literal(_) => None,
            })
            .collect();
        let valid_action =
            spec.action.split_once(':').is_some_and(|(s, n)| !s.is_empty() && !n.is_empty() && !n.contains(':'));
        if !valid_action || spec.action.contains(['*', '?', '{', '}']) {
            return Err(err(
                "action",
                format!("`{}` is not an action name: expected `service:Action` without wildcards", spec.action),
            ));
        }
        let resource = parse_template(&spec.resource).map_err(|m| err("resource", m))?;
        let mut sample = String::new();
        for piece in &resource {
            match piece {
                Piece::Text(t) => sample.push_str(t),
                Piece::Var(v) if vars.contains(&v.as_str()) => sample.push('x'),
                Piece::Var(v) => {
                    return Err(err("resource", format!("`{{{v}}}` is not a variable of the path `{}`", spec.path)))
                }
            }
        }
        if sample != "*" && Arn::parse(&sample).is_none() {
            return Err(err("resource", format!("`{}` is not an ARN or `*`", spec.resource)));
        }
        Ok(Route { method, segments, action: spec.action, resource })
    }

    fn matches(&self, method: &str, path: &[String]) -> Option<RouteMatch> {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return None;
        }
        let mut bound: Vec<(&str, String)> = Vec::new();
        let mut rest = path;
        for seg in &self.segments {
            match seg {
                Segment::Literal(l) => {
                    let (first, tail) = rest.split_first()?;
                    if first != l {
                        return None;
                    }
                    rest = tail;
                }
                Segment::Var(v) => {
                    let (first, tail) = rest.split_first()?;
                    if first.is_empty() {
                        return None;
                    }
                    bound.push((v, first.clone()));
                    rest = tail;
                }
                Segment::Rest(v) => {
                    if rest.is_empty() || rest.iter().any(String::is_empty) {
                        return None;
                    }
                    bound.push((v, rest.join("/")));
                    rest = &[];
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
        let mut resource = String::new();
        for piece in &self.resource {
            match piece {
                Piece::Text(t) => resource.push_str(t),
                Piece::Var(v) => resource.push_str(bound.iter().find(|(name, _)| name == v).map(|(_, x)| x.as_str())?),
            }
        }
        Some(RouteMatch { action: self.action.clone(), resource })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let body = path.strip_prefix('/').ok_or_else(|| format!("`{path}` does not start with `/`"))?;
    if path.contains(['?', '#']) {
        return Err(format!("`{path}` has a query or fragment: routes match paths only"));
    }
    let parts: Vec<&str> = body.split('/').collect();
    let count = parts.len();
    let mut segments = Vec::with_capacity(count);
    let mut names: Vec<&str> = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let (name, rest) = match inner.strip_suffix('+') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            if !valid_name(name) {
                return Err(format!(
                    "`{part}` is not a variable: expected `{{name}}` or `{{name+}}` (letters, digits, `_`)"
                ));
            }
            if names.contains(&name) {
                return Err(format!("the variable `{name}` appears twice"));
            }
            names.push(name);
            if rest && i + 1 != count {
                return Err(format!("`{part}` must be the last segment"));
            }
            segments.push(if rest { Segment::Rest(name.to_owned()) } else { Segment::Var(name.to_owned()) });
        } else if part.contains(['{', '}']) {
            return Err(format!("`{part}`: a variable must be a whole segment"));
        } else if part == "." || part == ".." {
            return Err(format!("`{path}` has a dot segment"));
        } else {
            segments.push(Segment::Literal(part.to_owned()));
        }
    }
    Ok(segments)
}

fn parse_template(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let (before, after) = rest.split_at(open);
        if before.contains('}') {
            return Err(format!("`{text}` has an unbalanced `}}`"));
        }
        if !before.is_empty() {
            pieces.push(Piece::Text(before.to_owned()));
        }
        let after = after.get(1..).unwrap_or_default();
        let close = after.find('}').ok_or_else(|| format!("`{text}` has an unclosed `{{`"))?;
        let (name, tail) = after.split_at(close);
        if !valid_name(name) {
            return Err(format!("`{{{name}}}` is not a variable"));
        }
        pieces.push(Piece::Var(name.to_owned()));
        rest = tail.get(1..).unwrap_or_default();
    }
    if rest.contains('}') {
        return Err(format!("`{text}` has an unbalanced `}}`"));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

/// Splits a request URI into percent-decoded path segments, refusing what could be resolved
/// differently by the protected server.
fn split_path(uri: &str) -> Result<Vec<String>, PathError> {
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    let body = path.strip_prefix('/').ok_or_else(|| PathError::NotAbsolute(path.to_owned()))?;
    body.split('/')
        .map(|raw| {
            let decoded = percent_decode(raw).ok_or_else(|| PathError::BadEncoding(path.to_owned()))?;
            if decoded == "." || decoded == ".." {
                return Err(PathError::DotSegment(path.to_owned()));
            }
            if decoded.contains('/') || decoded.chars().any(char::is_control) {
                return Err(PathError::BadEncoding(path.to_owned()));
            }
            Ok(decoded)
        })
        .collect()
}

fn percent_decode(raw: &str) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::parse(
            r#"[
              {"method": "GET", "path": "/notes/{name}", "action": "notes:GetNote",
               "resource": "arn:aws:notes:us-east-1:111122223333:note/{name}"},
              {"method": "*", "path": "/files/{key+}", "action": "files:Touch",
               "resource": "arn:aws:files:us-east-1:111122223333:file/{key}"},
              {"method": "GET", "path": "/health", "action": "notes:Health", "resource": "*"}
            ]"#,
        )
        .unwrap()
    }

    fn find(method: &str, uri: &str) -> Option<(String, String)> {
        table().find(method, uri).unwrap().map(|m| (m.action, m.resource))
    }

    #[test]
    fn matches_as_documented() {
        assert_eq!(
            find("GET", "/notes/todo?x=1"),
            Some(("notes:GetNote".into(), "arn:aws:notes:us-east-1:111122223333:note/todo".into()))
        );
        assert_eq!(find("GET", "/notes/a/b"), None);
        assert_eq!(find("GET", "/notes/"), None);
        assert_eq!(find("DELETE", "/notes/x"), None);
        assert_eq!(
            find("PUT", "/files/a/b/c").map(|m| m.1).as_deref(),
            Some("arn:aws:files:us-east-1:111122223333:file/a/b/c")
        );
        assert_eq!(find("PUT", "/files/"), None);
        assert_eq!(find("PUT", "/files/a//b"), None);
        assert_eq!(
            find("GET", "/notes/a%20b").map(|m| m.1).as_deref(),
            Some("arn:aws:notes:us-east-1:111122223333:note/a b")
        );
        assert_eq!(find("GET", "/health").map(|m| m.1).as_deref(), Some("*"));
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        let t = table();
        assert!(matches!(t.find("GET", "/notes/.."), Err(PathError::DotSegment(_))));
        assert!(matches!(t.find("GET", "/notes/%2e%2E"), Err(PathError::DotSegment(_))));
        assert!(matches!(t.find("GET", "/notes/a%2Fb"), Err(PathError::BadEncoding(_))));
        assert!(matches!(t.find("GET", "/notes/%ff"), Err(PathError::BadEncoding(_))));
        assert!(matches!(t.find("GET", "/notes/%0a"), Err(PathError::BadEncoding(_))));
        assert!(matches!(t.find("GET", "notes"), Err(PathError::NotAbsolute(_))));
    }

    #[test]
    fn invalid_routes_name_index_and_field() {
        let cases = [
            (r#"[{"method":"get","path":"/a","action":"a:B","resource":"*"}]"#, "[0].method"),
            (r#"[{"method":"GET","path":"a","action":"a:B","resource":"*"}]"#, "[0].path"),
            (r#"[{"method":"GET","path":"/{a+}/b","action":"a:B","resource":"*"}]"#, "[0].path"),
            (r#"[{"method":"GET","path":"/x{a}","action":"a:B","resource":"*"}]"#, "[0].path"),
            (r#"[{"method":"GET","path":"/{a}/{a}","action":"a:B","resource":"*"}]"#, "[0].path"),
            (r#"[{"method":"GET","path":"/a","action":"a:*","resource":"*"}]"#, "[0].action"),
            (r#"[{"method":"GET","path":"/a","action":"a:B","resource":"arn:aws:s3:::{b}"}]"#, "[0].resource"),
            (r#"[{"method":"GET","path":"/a","action":"a:B","resource":"nope"}]"#, "[0].resource"),
        ];
        for (text, field) in cases {
            let e = RouteTable::parse(text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("routes.json: {field}: ")), "{text}: {e}");
        }
        let e = RouteTable::parse(r#"[{"method":"GET","path":"/a","action":"a:B","resource":"*","x":1}]"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `x`"), "{e}");
    }
}
