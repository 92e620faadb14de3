//! The bearer token a [`crate::CaseClient`] sends as `authorization: Bearer <token>` on every
//! call: given inline, or read from a file (a mounted secret) and read again whenever the
//! file changes (its modification time, size or the file it points to), so a rotated
//! secret is picked up without a restart. The token is never logged or printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

/// Where the Case API bearer token comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthToken {
    /// The token itself (`case_api.auth_token`, from the environment or `--set`).
    Inline(String),
    /// A file holding the token (`case_api.auth_token_file`, a mounted secret); surrounding
    /// white space is ignored.
    File(PathBuf),
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline(<redacted>)"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl AuthToken {
    /// Where the token comes from, for messages: `the token from <file>` or `the inline
    /// token (case_api.auth_token)`.
    pub fn origin(&self) -> String {
        match self {
            Self::Inline(_) => "the token of case_api.auth_token".to_owned(),
            Self::File(path) => format!("the token from {}", path.display()),
        }
    }
}

impl AuthToken {
    /// Reads the token as a call does and checks that it can be sent (`check-config`): its
    /// length in bytes, or the message a call would fail with, naming what to fix.
    pub fn check(&self) -> Result<usize, String> {
        TokenSource::new(self.clone())
            .header()
            .map(|value| value.len().saturating_sub("Bearer ".len()))
    }
}

/// What identifies one version of the token file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    target: Option<PathBuf>,
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        Ok(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            // Kubernetes swaps a symlink when it updates a mounted secret.
            target: std::fs::canonicalize(path).ok(),
        })
    }
}

/// The `authorization` value of every call, read again when the token file changes.
pub(crate) struct TokenSource {
    token: AuthToken,
    cached: Mutex<Option<(Option<FileStamp>, AsciiMetadataValue)>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// The `authorization` value for `token`, or why it cannot be sent.
fn bearer(token: &str) -> Result<AsciiMetadataValue, String> {
    let token = token.trim();
    if token.is_empty() {
        return Err("it is empty".to_owned());
    }
    MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
        "it holds characters a gRPC header cannot carry (non-ASCII or control characters)"
            .to_owned()
    })
}

impl TokenSource {
    pub(crate) fn new(token: AuthToken) -> Self {
        Self {
            token,
            cached: Mutex::new(None),
        }
    }

    /// Where the token comes from (see [`AuthToken::origin`]).
    pub(crate) fn origin(&self) -> String {
        self.token.origin()
    }

    /// The `authorization: Bearer …` value to send now; an error names what to fix.
    pub(crate) fn header(&self) -> Result<AsciiMetadataValue, String> {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        match &self.token {
            AuthToken::Inline(token) => {
                if let Some((_, value)) = cached.as_ref() {
                    return Ok(value.clone());
                }
                let value = bearer(token)
                    .map_err(|why| format!("case_api.auth_token cannot be sent: {why}"))?;
                *cached = Some((None, value.clone()));
                Ok(value)
            }
            AuthToken::File(path) => {
                let unreadable = |e: std::io::Error| {
                    format!(
                        "cannot read the Case API token file {}: {e}; mount the secret there or fix case_api.auth_token_file",
                        path.display()
                    )
                };
                let stamp = FileStamp::of(path).map_err(unreadable)?;
                if let Some((Some(seen), value)) = cached.as_ref()
                    && *seen == stamp
                {
                    return Ok(value.clone());
                }
                let text = std::fs::read_to_string(path).map_err(unreadable)?;
                let value = bearer(&text).map_err(|why| {
                    format!(
                        "the Case API token file {} cannot be sent: {why}",
                        path.display()
                    )
                })?;
                if cached.is_some() {
                    tracing::info!(file = %path.display(), "Case API token file changed; using the new token");
                }
                *cached = Some((Some(stamp), value.clone()));
                Ok(value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(source: &TokenSource) -> Result<String, String> {
        source
            .header()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    }

    #[test]
    fn a_token_file_is_read_again_when_it_changes_and_a_bad_one_says_what_to_fix() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap_or_else(|e| panic!("{e}"));
        let source = TokenSource::new(AuthToken::File(path.clone()));
        assert_eq!(sent(&source), Ok("Bearer first".to_owned()));
        assert_eq!(
            sent(&source),
            Ok("Bearer first".to_owned()),
            "unchanged: cached"
        );
        // A rotation as Kubernetes does it: a new file swapped in place.
        let next = dir.path().join("token.new");
        std::fs::write(&next, "second-token").unwrap_or_else(|e| panic!("{e}"));
        std::fs::rename(&next, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sent(&source), Ok("Bearer second-token".to_owned()));

        std::fs::write(&path, "  \n").unwrap_or_else(|e| panic!("{e}"));
        let empty = sent(&source).unwrap_err();
        assert!(
            empty.contains("token file") && empty.contains("empty"),
            "{empty}"
        );
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let missing = sent(&source).unwrap_err();
        assert!(missing.contains("case_api.auth_token_file"), "{missing}");
    }

    #[test]
    fn an_inline_token_is_sent_and_never_shown() {
        let token = AuthToken::Inline("s3cret".into());
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(!token.origin().contains("s3cret"));
        let source = TokenSource::new(token);
        assert_eq!(sent(&source), Ok("Bearer s3cret".to_owned()));
        assert!(!format!("{source:?}").contains("s3cret"));
        let bad = TokenSource::new(AuthToken::Inline("two\nlines".into()));
        assert!(sent(&bad).unwrap_err().contains("case_api.auth_token"));
        assert_eq!(AuthToken::Inline("s3cret".into()).check(), Ok(6));
        assert_eq!(
            AuthToken::Inline("two\nlines".into()).check(),
            sent(&bad).map(|_| 0),
            "check-config says what a call would"
        );
    }
}
