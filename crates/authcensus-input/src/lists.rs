//! Named domain lists: `domain-lists/<name>/list.toml` manifests.
//!
//! A manifest says what a list is, where it comes from, under which licence,
//! and how to refresh it; `file` names the local data (committed when the
//! licence allows and it is small, otherwise fetched by `refresh` and ignored
//! by git). Keys:
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `name` | yes | the list's name (= its folder name) |
//! | `tag` | yes | label carried into each [`crate::InputDomain::tag`] |
//! | `format` | yes | `plain`, `csv`, `tranco`, `majestic` or `zone` |
//! | `column` | no | CSV domain column (name or 1-based index) |
//! | `file` | no | data file inside the folder (may be gzip/zstd) |
//! | `source` | yes | where the data comes from (URL or procedure) |
//! | `licence` | yes | SPDX id or licence name of the data |
//! | `refresh` | yes | shell command that (re)creates `file` |
//! | `description` | no | one paragraph |

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Column, Format, InputError, InputPath, InputSpec};

/// The manifest's file name inside a list folder.
pub const MANIFEST_FILE: &str = "list.toml";

/// A parsed `list.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListManifest {
    /// The list's name.
    pub name: String,
    /// Tag for its domains.
    pub tag: String,
    /// Format label.
    pub format: String,
    /// CSV column.
    pub column: Option<String>,
    /// Data file name inside the folder.
    pub file: Option<String>,
    /// Origin of the data.
    pub source: String,
    /// Licence of the data.
    pub licence: String,
    /// Command recreating `file`.
    pub refresh: String,
    /// Free text.
    pub description: Option<String>,
}

/// A list folder and its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainList {
    /// The folder holding `list.toml`.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: ListManifest,
}

impl DomainList {
    /// True if `path` is a folder holding a manifest.
    pub fn is_list_dir(path: &Path) -> bool {
        path.join(MANIFEST_FILE).is_file()
    }

    /// Loads the list in folder `dir`.
    pub fn load(dir: &Path) -> Result<Self, InputError> {
        let path = dir.join(MANIFEST_FILE);
        let err = |message: String| InputError::Manifest {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        let manifest: ListManifest = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        manifest
            .format
            .parse::<Format>()
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Loads list `name` from `lists_dir` (`domain-lists/` by default).
    pub fn by_name(name: &str, lists_dir: &Path) -> Result<Self, InputError> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(InputError::Manifest {
                path: lists_dir.to_path_buf(),
                message: format!("invalid list name `{name}`"),
            });
        }
        Self::load(&lists_dir.join(name))
    }

    /// The input to read: the manifest's file, format, column and tag, named
    /// `list:<name>`. Fails when the data file is absent, quoting `refresh`.
    pub fn input_spec(&self) -> Result<InputSpec, InputError> {
        let m = &self.manifest;
        let missing = |what: &str| InputError::Manifest {
            path: self.dir.clone(),
            message: format!("{what}; obtain it with: {}", m.refresh),
        };
        let file = m
            .file
            .as_deref()
            .ok_or_else(|| missing("the manifest names no local data file"))?;
        let path = self.dir.join(file);
        if !path.is_file() {
            return Err(missing(&format!(
                "data file `{}` is absent",
                path.display()
            )));
        }
        Ok(InputSpec {
            path: InputPath::File(path),
            name: format!("list:{}", m.name),
            format: m.format.parse().ok(),
            column: m.column.as_deref().map(|c| match c.parse::<Column>() {
                Ok(col) => col,
                Err(never) => match never {},
            }),
            tag: Some(m.tag.clone()),
        })
    }
}
