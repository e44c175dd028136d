//! Zone files: an independent line-by-line well-formedness check, and
//! `kzonecheck` (Knot) when installed.

use std::collections::BTreeSet;
use std::process::Command;

use super::{N, universe};

const TYPES: &[&str] = &["SOA", "NS", "A", "AAAA", "MX", "TXT", "CNAME"];

/// Checks one zone file without the crate's own parser.
fn check(zone: &str, text: &str) -> Result<usize, String> {
    let mut soa = 0;
    let mut records = 0;
    let mut cname_owners = BTreeSet::new();
    let mut owners_other = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        if line.is_empty() || line.starts_with(';') || line.starts_with("$TTL ") {
            continue;
        }
        if let Some(o) = line.strip_prefix("$ORIGIN ") {
            if o != format!("{zone}.") {
                return Err(format!("{ln}: origin {o}"));
            }
            continue;
        }
        let f: Vec<&str> = line.splitn(5, ' ').collect();
        let [owner, ttl, class, rtype, rdata] = f.as_slice() else {
            return Err(format!("{ln}: {line}"));
        };
        if !owner.ends_with(&format!(".{zone}.")) && *owner != format!("{zone}.") {
            return Err(format!("{ln}: owner {owner} outside {zone}"));
        }
        if owner
            .trim_end_matches('.')
            .split('.')
            .any(|l| l.is_empty() || l.len() > 63)
            || owner.len() > 254
        {
            return Err(format!("{ln}: bad owner {owner}"));
        }
        if ttl.parse::<u32>().is_err() || *class != "IN" || !TYPES.contains(rtype) {
            return Err(format!("{ln}: {line}"));
        }
        match *rtype {
            "SOA" => {
                soa += 1;
                if rdata.split(' ').count() != 7 {
                    return Err(format!("{ln}: SOA"));
                }
            }
            "TXT" => {
                // Quoted strings, each at most 255 bytes after unescaping.
                let mut rest = *rdata;
                while !rest.is_empty() {
                    let Some(r) = rest.strip_prefix('"') else {
                        return Err(format!("{ln}: TXT {rest}"));
                    };
                    let mut n = 0;
                    let mut chars = r.char_indices();
                    let mut end = None;
                    while let Some((j, c)) = chars.next() {
                        match c {
                            '\\' => {
                                let (_, e) = chars.next().ok_or(format!("{ln}: escape"))?;
                                if e.is_ascii_digit() {
                                    chars.next();
                                    chars.next();
                                }
                                n += 1;
                            }
                            '"' => {
                                end = Some(j);
                                break;
                            }
                            c => n += c.len_utf8(),
                        }
                    }
                    let end = end.ok_or(format!("{ln}: unterminated"))?;
                    if n > 255 {
                        return Err(format!("{ln}: string of {n} bytes"));
                    }
                    rest = r[end + 1..].trim_start();
                }
            }
            "MX" => {
                let p: Vec<&str> = rdata.split(' ').collect();
                if p.len() != 2 || p[0].parse::<u16>().is_err() || !p[1].ends_with('.') {
                    return Err(format!("{ln}: MX {rdata}"));
                }
            }
            "A" if rdata.parse::<std::net::Ipv4Addr>().is_err() => return Err(format!("{ln}: A")),
            "CNAME" | "NS" if !rdata.ends_with('.') => return Err(format!("{ln}: target")),
            _ => {}
        }
        if *rtype == "CNAME" {
            cname_owners.insert(owner.to_string());
        } else {
            owners_other.insert(owner.to_string());
        }
        records += 1;
    }
    if soa != 1 {
        return Err(format!("{soa} SOA records"));
    }
    if let Some(o) = cname_owners.intersection(&owners_other).next() {
        return Err(format!("CNAME and other data at {o} (RFC 1034 §3.6.2)"));
    }
    Ok(records)
}

#[test]
fn every_zone_line_is_well_formed() {
    let (t, s) = universe(21, N);
    let dir = t.path().join("u").join("zones");
    let mut total = 0;
    for z in &s.zones {
        let text = std::fs::read_to_string(dir.join(format!("{z}.zone"))).expect("zone");
        total += check(z, &text).unwrap_or_else(|e| panic!("{z}.zone: {e}"));
    }
    assert!(total > N, "{total} records");
    let com = std::fs::read_to_string(dir.join("com.zone")).expect("com");
    for needle in [
        "tb-spf-lookups-10.com. 3600 IN TXT \"v=spf1 include:l1._spf.tb-spf-lookups-10.com -all\"",
        "l10._spf.tb-spf-lookups-10.com. 3600 IN TXT \"v=spf1 ip4:192.0.2.10 -all\"",
        "l11._spf.tb-spf-lookups-11.com. 3600 IN TXT",
        "_dmarc.tb-dmarc-cname.com. 3600 IN CNAME tb-dmarc-cname-com._dmarc.dmarc-service.net.",
        "_spf.google.com. 3600 IN TXT",
    ] {
        assert!(com.contains(needle), "com.zone lacks {needle}");
    }
    let org = std::fs::read_to_string(dir.join("org.zone")).expect("org");
    assert!(org.contains("tb-null-mx.org. 3600 IN MX 0 ."));

    external_checks(&dir, &s.zones);
}

/// Runs the zone checkers that are installed: Knot's `kzonecheck`, Knot's
/// `knotc zone-check` (with a throw-away configuration) and BIND's
/// `named-checkzone`; prints a SKIP note for each one absent.
fn external_checks(dir: &std::path::Path, zones: &[String]) {
    let have = |cmd: &str, arg: &str| Command::new(cmd).arg(arg).output().is_ok();
    if have("kzonecheck", "--version") {
        for z in zones {
            let out = Command::new("kzonecheck")
                .args(["-o", &format!("{z}.")])
                .arg(dir.join(format!("{z}.zone")))
                .output()
                .expect("kzonecheck");
            assert!(
                out.status.success(),
                "kzonecheck {z}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    } else {
        println!("SKIP: kzonecheck not installed");
    }
    if have("knotc", "--version") {
        let conf_dir = tempfile::tempdir().expect("tempdir");
        let mut conf = format!(
            "template:\n  - id: default\n    storage: \"{}\"\n    semantic-checks: on\nzone:\n",
            dir.display()
        );
        for z in zones {
            conf.push_str(&format!("  - domain: {z}.\n    file: {z}.zone\n"));
        }
        let conf_path = conf_dir.path().join("knot.conf");
        std::fs::write(&conf_path, conf).expect("conf");
        for z in zones {
            let out = Command::new("knotc")
                .arg("-c")
                .arg(&conf_path)
                .args(["zone-check", &format!("{z}.")])
                .output()
                .expect("knotc");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success() && !text.contains("error"),
                "knotc zone-check {z}: {text}"
            );
        }
    } else {
        println!("SKIP: knotc not installed (Debian package knot)");
    }
    if have("named-checkzone", "-v") {
        for z in zones {
            let out = Command::new("named-checkzone")
                .args(["-i", "local", "-k", "ignore", z])
                .arg(dir.join(format!("{z}.zone")))
                .output()
                .expect("named-checkzone");
            assert!(
                out.status.success(),
                "named-checkzone {z}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    } else {
        println!("SKIP: named-checkzone not installed (Debian package bind9-utils)");
    }
}
