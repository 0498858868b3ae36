//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, defaults
//! `${key, 'default'}`, and the escapes `${*}`, `${?}`, `${$}`.
//!
//! Rules (IAM User Guide, "IAM policy elements: Variables and tags",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>):
//! - variables are expanded only under `"Version": "2012-10-17"`; under `2008-10-17` or with no
//!   Version the text `${aws:username}` is literal;
//! - key names are case-insensitive; the key must be single-valued;
//! - a key with no value and no default leaves the variable unresolved: a Resource entry holding
//!   it matches nothing, and a condition value holding it is null;
//! - substituted text is literal, even inside `StringLike` or a Resource pattern.
//!
//! ```text
//! repository/${aws:username}/*      ⇒ Lit("repository/") Var(aws:username) Lit("/") Star
//! ${aws:PrincipalTag/team, 'x'}     ⇒ Var(aws:principaltag/team, default "x")
//! release${*}                        ⇒ Lit("release") Lit("*")
//! ${aws:username                     ⇒ Lit("${aws:username")   (unterminated: literal)
//! ```

/// One element of a pattern or value template.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// Literal text.
    Lit(Box<str>),
    /// `*` wildcard.
    Star,
    /// `?` wildcard.
    Question,
    /// A policy variable.
    Var(Variable),
}

/// A `${key}` or `${key, 'default'}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The context key, lower-cased.
    pub key: Box<str>,
    /// The default used when the key has no value.
    pub default: Option<Box<str>>,
}

/// Splits `text` into tokens. With `wildcards` false, `*` and `?` are literal characters; with
/// `variables` false, `${…}` is literal text.
pub fn tokenize(text: &str, wildcards: bool, variables: bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        if variables && rest.starts_with("${") {
            if let Some(close) = rest.find('}') {
                let inner = rest.get(2..close).unwrap_or_default();
                if let Some(tok) = variable_token(inner) {
                    match tok {
                        Token::Lit(s) => lit.push_str(&s),
                        other => {
                            flush(&mut lit, &mut tokens);
                            tokens.push(other);
                        }
                    }
                    rest = rest.get(close + 1..).unwrap_or_default();
                    continue;
                }
            }
        }
        match ch {
            '*' if wildcards => {
                flush(&mut lit, &mut tokens);
                tokens.push(Token::Star);
            }
            '?' if wildcards => {
                flush(&mut lit, &mut tokens);
                tokens.push(Token::Question);
            }
            _ => lit.push(ch),
        }
        rest = rest.get(ch.len_utf8()..).unwrap_or_default();
    }
    flush(&mut lit, &mut tokens);
    tokens
}

fn flush(lit: &mut String, tokens: &mut Vec<Token>) {
    if !lit.is_empty() {
        tokens.push(Token::Lit(std::mem::take(lit).into()));
    }
}

/// The token for the text between `${` and `}`, or `None` when it is not a valid variable (then
/// the text stays literal).
fn variable_token(inner: &str) -> Option<Token> {
    match inner {
        "*" => return Some(Token::Lit("*".into())),
        "?" => return Some(Token::Lit("?".into())),
        "$" => return Some(Token::Lit("$".into())),
        _ => {}
    }
    let (key, default) = match inner.split_once(", '") {
        Some((key, quoted)) => {
            let value = quoted.strip_suffix('\'')?;
            (key, Some(value.into()))
        }
        None => (inner, None),
    };
    if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c == '\'' || c == '{') {
        return None;
    }
    Some(Token::Var(Variable { key: key.to_ascii_lowercase().into(), default }))
}

/// The length in bytes of the variable `rest` starts with (`${…}`, including the escapes), or
/// `None` when it does not start with one that [`tokenize`] would read as a variable.
pub(crate) fn variable_len(rest: &str) -> Option<usize> {
    let after = rest.strip_prefix("${")?;
    let close = after.find('}')?;
    variable_token(after.get(..close)?)?;
    Some(close + 3)
}

/// True when `text` holds at least one variable that [`tokenize`] would expand.
pub fn has_variable(text: &str) -> bool {
    tokenize(text, false, true).iter().any(|t| matches!(t, Token::Var(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(key: &str, default: Option<&str>) -> Token {
        Token::Var(Variable { key: key.into(), default: default.map(Into::into) })
    }

    #[test]
    fn the_documented_table() {
        assert_eq!(
            tokenize("repository/${aws:username}/*", true, true),
            vec![Token::Lit("repository/".into()), var("aws:username", None), Token::Lit("/".into()), Token::Star]
        );
        assert_eq!(
            tokenize("${aws:PrincipalTag/team, 'x'}", true, true),
            vec![var("aws:principaltag/team", Some("x"))]
        );
        assert_eq!(tokenize("release${*}", true, true), vec![Token::Lit("release*".into())]);
        assert_eq!(tokenize("${aws:username", true, true), vec![Token::Lit("${aws:username".into())]);
    }

    #[test]
    fn literal_when_variables_are_off() {
        assert_eq!(tokenize("${aws:username}", true, false), vec![Token::Lit("${aws:username}".into())]);
    }

    #[test]
    fn invalid_variables_stay_literal() {
        assert_eq!(tokenize("${}", true, true), vec![Token::Lit("${}".into())]);
        assert_eq!(tokenize("${a b}", true, true), vec![Token::Lit("${a b}".into())]);
        assert_eq!(tokenize("${a, 'x}", true, true), vec![Token::Lit("${a, 'x}".into())]);
    }

    #[test]
    fn escapes_and_defaults_with_spaces() {
        assert_eq!(tokenize("${$}{x}", false, true), vec![Token::Lit("${x}".into())]);
        assert_eq!(tokenize("${k, 'a b'}", false, true), vec![var("k", Some("a b"))]);
        assert!(has_variable("x/${aws:userid}"));
        assert_eq!(variable_len("${aws:userid}:x"), Some(13));
        assert_eq!(variable_len("${*}"), Some(4));
        assert_eq!(variable_len("${a b}:x"), None);
        assert_eq!(variable_len("${aws:userid"), None);
        assert!(!has_variable("x/${*}"));
    }
}
