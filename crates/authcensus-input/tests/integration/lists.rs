//! The committed `domain-lists/` folder: every manifest loads, and the
//! `us-gov` list is exactly CISA's current-full.csv domain set.

use std::collections::BTreeSet;
use std::path::PathBuf;

use authcensus_input::{DomainList, Format, InputError, StreamOptions};
use authcensus_testsupport::{shared_data, workspace_root};

use super::run_ok;

fn lists_dir() -> PathBuf {
    workspace_root().join("domain-lists")
}

#[test]
fn every_manifest_loads() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(lists_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if !DomainList::is_list_dir(&dir) {
            continue;
        }
        let list = DomainList::load(&dir).unwrap();
        assert_eq!(
            dir.file_name().unwrap().to_str(),
            Some(list.manifest.name.as_str())
        );
        assert!(!list.manifest.refresh.is_empty() && !list.manifest.licence.is_empty());
        names.push(list.manifest.name);
    }
    names.sort();
    assert_eq!(names, ["czds-com", "tranco", "us-gov"]);
    // Lists whose data is not committed explain how to get it.
    let err = DomainList::by_name("czds-com", &lists_dir())
        .unwrap()
        .input_spec()
        .unwrap_err();
    assert!(matches!(err, InputError::Manifest { .. }));
    assert!(err.to_string().contains("obtain it with"), "{err}");
    assert!(DomainList::by_name("../etc", &lists_dir()).is_err());
}

#[test]
fn us_gov_list_matches_cisa_csv() {
    let Some(csv) = shared_data("domains/dotgov/current-full.csv") else {
        return;
    };
    let expected: BTreeSet<String> = std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_ascii_lowercase())
        .collect();
    let list = DomainList::by_name("us-gov", &lists_dir()).unwrap();
    let spec = list.input_spec().unwrap();
    assert_eq!(spec.format, Some(Format::Plain));
    let r = run_ok(vec![spec], StreamOptions::default());
    assert!(r.rejections.is_empty());
    let got: BTreeSet<String> = r.domains.iter().map(|d| d.domain.clone()).collect();
    assert_eq!(got, expected);
    assert!(r.domains.iter().all(|d| d.tag.as_deref() == Some("us-gov")));
    assert_eq!(r.domains[0].source.as_ref(), "list:us-gov");
}
