//! [`Seed`]: the JSON a [`crate::Store`] starts from (see `fixtures/cases/README.md`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use thirdparty_core::{Case, IntegrationMetadata, OrgId, ProjectSettings, UserId};

/// A Case Management user the sandbox can resolve third-party identities to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxUser {
    /// Organisation the user belongs to.
    pub org_id: OrgId,
    /// The Case Management user id.
    pub user_id: UserId,
    /// Display name (matched exactly, last).
    pub display_name: String,
    /// Email (matched case-insensitively, second).
    #[serde(default)]
    pub email: Option<String>,
    /// Third-party account ids / usernames of this user (matched exactly, first).
    #[serde(default)]
    pub account_ids: Vec<String>,
}

/// Everything a [`crate::Store`] starts with. The JSON form is this struct with every field
/// optional: `{"cases": [...], "settings": [...], "metadata": [...], "users": [...]}`, each
/// element in `thirdparty-core`'s serde form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Cases.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// Project settings, one per (org, project, integration).
    #[serde(default)]
    pub settings: Vec<ProjectSettings>,
    /// Integration metadata rows.
    #[serde(default)]
    pub metadata: Vec<IntegrationMetadata>,
    /// Users.
    #[serde(default)]
    pub users: Vec<SandboxUser>,
}

/// A seed file or directory that could not be loaded. Retrying does not help: fix the file
/// or the path ([`SeedError::is_retryable`] is always `false`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// The file or directory could not be read.
    #[error("cannot read seed path {path}: {source}; check that it exists and is readable")]
    Read {
        /// Path that failed.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid seed.
    #[error(
        "seed file {path} is not a valid seed: {source}; see fixtures/cases/README.md for the format"
    )]
    Parse {
        /// File that failed.
        path: PathBuf,
        /// The JSON error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The directory holds no `*.json` file.
    #[error(
        "seed directory {dir} holds no *.json file; point it at a folder such as fixtures/cases"
    )]
    NoSeedFiles {
        /// Directory searched.
        dir: PathBuf,
    },
    /// Two seed files (or one, twice) define the same case or settings.
    #[error(
        "seed file {path} defines {what} again; each case and each (org, project, integration) settings must appear once across the seed directory"
    )]
    Duplicate {
        /// File with the second definition.
        path: PathBuf,
        /// What is defined twice.
        what: String,
    },
}

impl SeedError {
    /// Whether loading again can succeed without a change: never.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

impl Seed {
    /// Reads one seed file.
    pub fn read_file(path: &Path) -> Result<Self, SeedError> {
        let bytes = std::fs::read(path).map_err(|source| SeedError::Read {
            path: path.to_owned(),
            source,
        })?;
        let seed: Seed = serde_json::from_slice(&bytes).map_err(|source| SeedError::Parse {
            path: path.to_owned(),
            source,
        })?;
        seed.check_duplicates(&Seed::default(), path)?;
        Ok(seed)
    }

    /// Reads every `*.json` file of `dir` (not recursive), in file-name order, merged.
    pub fn read_dir(dir: &Path) -> Result<Self, SeedError> {
        let read_err = |source| SeedError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(SeedError::NoSeedFiles {
                dir: dir.to_owned(),
            });
        }
        files.sort();
        let mut merged = Seed::default();
        for path in files {
            let seed = Seed::read_file(&path)?;
            seed.check_duplicates(&merged, &path)?;
            merged.merge(seed);
        }
        Ok(merged)
    }

    /// Appends `other` to this seed.
    pub fn merge(&mut self, other: Seed) {
        self.cases.extend(other.cases);
        self.settings.extend(other.settings);
        self.metadata.extend(other.metadata);
        self.users.extend(other.users);
    }

    /// Fails when `self` repeats a case or settings key, in itself or already in `before`.
    fn check_duplicates(&self, before: &Seed, path: &Path) -> Result<(), SeedError> {
        let duplicate = |what: String| SeedError::Duplicate {
            path: path.to_owned(),
            what,
        };
        let mut cases: BTreeSet<_> = before.cases.iter().map(|c| (c.org_id, &c.id)).collect();
        for c in &self.cases {
            if !cases.insert((c.org_id, &c.id)) {
                return Err(duplicate(format!("case {} of org {}", c.id, c.org_id)));
            }
        }
        let mut settings: BTreeSet<_> = before
            .settings
            .iter()
            .map(|s| (s.org_id, &s.project_id, &s.integration))
            .collect();
        for s in &self.settings {
            if !settings.insert((s.org_id, &s.project_id, &s.integration)) {
                return Err(duplicate(format!(
                    "settings of org {} project {} integration {}",
                    s.org_id, s.project_id, s.integration
                )));
            }
        }
        Ok(())
    }
}
