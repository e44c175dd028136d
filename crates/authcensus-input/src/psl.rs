//! Public Suffix List: public suffix and registrable domain (eTLD+1) of a name.
//!
//! Backed by the `publicsuffix` crate (v2), whose rule matching follows the
//! PSL algorithm (<https://publicsuffix.org/list/>): the longest matching
//! rule wins, `*` wildcards, `!` exceptions, and the implicit `*` rule for
//! unlisted TLDs. Names are looked up in A-label form; the crate also indexes
//! each Unicode rule under its Punycode form.
//!
//! Which list: [`SuffixList::load`] takes `--psl PATH` when given, else the
//! system list at [`SYSTEM_PSL`] (Debian's `publicsuffix` package, kept fresh
//! by the OS), else the copy embedded in this crate at build time from
//! `data/public_suffix_list.dat` (MPL-2.0, see `data/README.md`), so a fresh
//! machine without the package still works.
//!
//! Sections: by default both the ICANN and the PRIVATE sections apply
//! ([`PslSections::All`]). A survey counts organisations, and `alice.github.io`
//! and `bob.github.io` are run by different people: the private section says
//! so, and DMARC organizational-domain lookups (RFC 7489 §3.2, which defers to
//! the PSL) in common implementations use the whole list too.
//! [`PslSections::IcannOnly`] gives registry-level answers (`github.io`).

use std::path::{Path, PathBuf};

use publicsuffix::{IcannList, List, Psl};

use crate::InputError;
use crate::normalize::normalize_domain;

/// Path of the operating system's copy of the PSL (Debian package `publicsuffix`).
pub const SYSTEM_PSL: &str = "/usr/share/publicsuffix/public_suffix_list.dat";

/// The PSL embedded at build time (copied from Debian's `publicsuffix` package).
const EMBEDDED_PSL: &str = include_str!("../data/public_suffix_list.dat");

/// Which sections of the list apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PslSections {
    /// ICANN and PRIVATE rules (the default).
    #[default]
    All,
    /// Only the ICANN section: registry-operated suffixes.
    IcannOnly,
}

/// Where the loaded list came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PslOrigin {
    /// An explicit path (`--psl`).
    Path(PathBuf),
    /// The system list at [`SYSTEM_PSL`].
    System,
    /// The copy compiled into this crate.
    Embedded,
}

impl std::fmt::Display for PslOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(p) => write!(f, "`{}`", p.display()),
            Self::System => write!(f, "`{SYSTEM_PSL}`"),
            Self::Embedded => f.write_str("the embedded copy"),
        }
    }
}

#[derive(Debug)]
enum Rules {
    All(List),
    Icann(IcannList),
}

/// A parsed Public Suffix List.
#[derive(Debug)]
pub struct SuffixList {
    rules: Rules,
    origin: PslOrigin,
    sha256: String,
}

impl SuffixList {
    /// Loads `path` if given, else the system list if present, else the embedded copy.
    pub fn load(path: Option<&Path>, sections: PslSections) -> Result<Self, InputError> {
        if let Some(path) = path {
            let origin = PslOrigin::Path(path.to_path_buf());
            let text = std::fs::read_to_string(path).map_err(|e| InputError::Psl {
                origin: origin.to_string(),
                message: e.to_string(),
            })?;
            return Self::from_text(&text, sections, origin);
        }
        match std::fs::read_to_string(SYSTEM_PSL) {
            Ok(text) => Self::from_text(&text, sections, PslOrigin::System),
            Err(_) => Self::embedded(sections),
        }
    }

    /// The copy compiled into the crate.
    pub fn embedded(sections: PslSections) -> Result<Self, InputError> {
        Self::from_text(EMBEDDED_PSL, sections, PslOrigin::Embedded)
    }

    /// Parses list text (the `public_suffix_list.dat` format).
    pub fn from_text(
        text: &str,
        sections: PslSections,
        origin: PslOrigin,
    ) -> Result<Self, InputError> {
        let list: List = text.parse().map_err(|e| InputError::Psl {
            origin: origin.to_string(),
            message: format!("{e:?}"),
        })?;
        let rules = match sections {
            PslSections::All => Rules::All(list),
            PslSections::IcannOnly => Rules::Icann(IcannList::from(list)),
        };
        let sha256 = {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(text.as_bytes());
            digest.iter().map(|b| format!("{b:02x}")).collect()
        };
        Ok(Self {
            rules,
            origin,
            sha256,
        })
    }

    /// Where the list was read from.
    pub fn origin(&self) -> &PslOrigin {
        &self.origin
    }

    /// SHA-256 of the list text, lowercase hex (recorded in snapshot
    /// manifests: registrable domains depend on the list's version).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The public suffix of a normalised (A-label, lowercase) name; for an
    /// unlisted TLD the implicit `*` rule makes the TLD itself the suffix.
    pub fn public_suffix<'a>(&self, a_label: &'a str) -> Option<&'a str> {
        let suffix = match &self.rules {
            Rules::All(l) => l.suffix(a_label.as_bytes()),
            Rules::Icann(l) => l.suffix(a_label.as_bytes()),
        }?;
        let len = suffix.as_bytes().len();
        a_label.get(a_label.len().checked_sub(len)?..)
    }

    /// The registrable domain (public suffix plus one label) of a normalised
    /// name, `None` when the name is itself a public suffix.
    pub fn registrable_domain<'a>(&self, a_label: &'a str) -> Option<&'a str> {
        let domain = match &self.rules {
            Rules::All(l) => l.domain(a_label.as_bytes()),
            Rules::Icann(l) => l.domain(a_label.as_bytes()),
        }?;
        let len = domain.as_bytes().len();
        a_label.get(a_label.len().checked_sub(len)?..)
    }

    /// Both answers with one rule lookup: `(registrable_domain, public_suffix)`.
    pub fn split<'a>(&self, a_label: &'a str) -> (Option<&'a str>, Option<&'a str>) {
        let tail = |len: usize| a_label.get(a_label.len().checked_sub(len)?..);
        let domain = match &self.rules {
            Rules::All(l) => l.domain(a_label.as_bytes()),
            Rules::Icann(l) => l.domain(a_label.as_bytes()),
        };
        match domain {
            Some(d) => (tail(d.as_bytes().len()), tail(d.suffix().as_bytes().len())),
            None => (None, self.public_suffix(a_label)),
        }
    }

    /// The organizational domain of any user-supplied name: normalised first
    /// (IDNA to A-labels, lowercase, one trailing dot stripped), then its
    /// registrable domain. `None` for names that do not normalise (empty,
    /// leading dot, ...) and for public suffixes themselves.
    ///
    /// RFC 7489 §3.2: the organizational domain is the public suffix plus one
    /// label. The records crate's DMARC module wires this into its trait.
    pub fn organizational_domain(&self, name: &str) -> Option<String> {
        let normalized = normalize_domain(name.trim()).ok()?;
        self.registrable_domain(&normalized).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sections_differ_on_private_rules() {
        let all = SuffixList::embedded(PslSections::All).unwrap();
        let icann = SuffixList::embedded(PslSections::IcannOnly).unwrap();
        assert_eq!(
            all.registrable_domain("alice.github.io"),
            Some("alice.github.io")
        );
        assert_eq!(all.public_suffix("alice.github.io"), Some("github.io"));
        assert_eq!(
            icann.registrable_domain("alice.github.io"),
            Some("github.io")
        );
        assert_eq!(icann.public_suffix("alice.github.io"), Some("io"));
        assert_eq!(all.public_suffix("www.example.co.uk"), Some("co.uk"));
        assert_eq!(all.registrable_domain("co.uk"), None);
        assert_eq!(all.public_suffix("unlisted"), Some("unlisted"));
        assert_eq!(
            all.organizational_domain("WWW.Bücher.DE."),
            Some("xn--bcher-kva.de".into())
        );
        assert_eq!(all.origin(), &PslOrigin::Embedded);
        for name in [
            "a.b.example.co.uk",
            "co.uk",
            "com",
            "x.github.io",
            "unlisted",
            "a.unlisted",
        ] {
            for list in [&all, &icann] {
                assert_eq!(
                    list.split(name),
                    (list.registrable_domain(name), list.public_suffix(name)),
                    "{name}"
                );
            }
        }
    }
}
