//! Two small fixed snapshots whose figures are computed by hand in the tests.

use std::path::{Path, PathBuf};

use authcensus_store::{SnapshotRow, SnapshotWriter, WriterOptions};

/// A text column's value (`String`, or a `Label` for fixed-list columns).
fn s<T: From<String>>(v: &str) -> T {
    T::from(v.to_string())
}

fn o<T: From<String>>(v: &str) -> Option<T> {
    Some(s(v))
}

/// A resolving row with nothing published.
pub fn base(domain: &str, suffix: &str) -> SnapshotRow {
    SnapshotRow {
        domain: s(domain),
        registrable_domain: o(domain),
        public_suffix: o(suffix),
        input_source: s("test"),
        domain_status: s("ok"),
        spf_status: s("none"),
        spf_dns_status: s("answer"),
        dmarc_status: s("none"),
        dmarc_rfc7489_status: s("none"),
        mx_dns_status: s("answer"),
        mta_sts_status: s("none"),
        tlsrpt_status: s("none"),
        bimi_status: s("none"),
        ..SnapshotRow::default()
    }
}

fn spf(r: &mut SnapshotRow, record: &str, status: &str, all: Option<&str>, lookups: Option<i32>) {
    r.spf_record = o(record);
    r.spf_status = s(status);
    r.spf_all = all.map(s);
    r.spf_dns_lookups = lookups;
}

fn dmarc(r: &mut SnapshotRow, p: &str, pct: Option<i32>, sp: Option<&str>, rua: &[&str]) {
    r.dmarc_status = s("valid");
    r.dmarc_record = o(&format!("v=DMARC1; p={p}"));
    r.dmarc_source = o("domain");
    r.dmarc_policy = o(p);
    r.dmarc_effective_policy = o(p);
    r.dmarc_pct = pct;
    r.dmarc_subdomain_policy = sp.map(s);
    r.dmarc_rua = rua.iter().map(|x| s(x)).collect();
}

/// Month 1 (`2026-01-01`):
///
/// | domain    | status   | SPF                | DMARC                         | MX        | MTA-STS       | TLS-RPT | BIMI    |
/// |-----------|----------|--------------------|-------------------------------|-----------|---------------|---------|---------|
/// | a.go.jp   | ok       | valid -all, 3 lk   | reject, rua dhs + r@x         | google    | enforce       | valid   | valid   |
/// | b.go.jp   | ok       | valid ~all, 12 lk  | quarantine pct=50 sp=none     | microsoft | testing       | none    | none    |
/// | c.co.jp   | ok       | v=spf1 -all        | reject (organizational)       | null MX   | none          | none    | none    |
/// | d.co.jp   | ok       | permerror          | invalid                       | unknown   | fetch failed  | invalid | invalid |
/// | e.example | nxdomain | none               | none                          | -         | none          | none    | none    |
/// | f.example | error    | temperror servfail | temperror                     | timeout   | none          | none    | none    |
pub fn month1() -> Vec<SnapshotRow> {
    let mut a = base("a.go.jp", "go.jp");
    spf(
        &mut a,
        "v=spf1 include:_spf.google.com -all",
        "valid",
        Some("-all"),
        Some(3),
    );
    dmarc(
        &mut a,
        "reject",
        None,
        None,
        &["mailto:reports@dmarc.cyber.dhs.gov", "mailto:r@x.example"],
    );
    a.mx_exchanges = vec![s("aspmx.l.google.com")];
    a.mx_provider = o("google");
    a.dns_provider = o("cloudflare");
    a.mta_sts_status = s("valid");
    a.mta_sts_mode = o("enforce");
    a.tlsrpt_status = s("valid");
    a.bimi_status = s("valid");
    a.input_tag = o("ministries");
    a.input_rank = Some(5);

    let mut b = base("b.go.jp", "go.jp");
    spf(
        &mut b,
        "v=spf1 include:big ~all",
        "valid",
        Some("~all"),
        Some(12),
    );
    dmarc(&mut b, "quarantine", Some(50), Some("none"), &[]);
    b.mx_exchanges = vec![s("b-go-jp.mail.protection.outlook.com")];
    b.mx_provider = o("microsoft");
    b.dns_provider = o("route53");
    b.mta_sts_status = s("valid");
    b.mta_sts_mode = o("testing");
    b.input_tag = o("ministries");
    b.input_rank = Some(5000);

    let mut c = base("c.co.jp", "co.jp");
    spf(&mut c, "v=spf1 -all", "valid", Some("-all"), Some(0));
    dmarc(&mut c, "reject", None, None, &[]);
    c.dmarc_source = o("organizational");
    c.mx_null = true;

    let mut d = base("d.co.jp", "co.jp");
    spf(&mut d, "v=spf1 foo:bar -all", "permerror", None, None);
    d.dmarc_status = s("invalid");
    d.dmarc_record = o("v=DMARC1; p=bogus");
    d.mx_exchanges = vec![s("mx.d.co.jp")];
    d.mta_sts_status = s("policy_fetch_failed");
    d.mta_sts_fetch_error = o("http_status");
    d.tlsrpt_status = s("invalid");
    d.bimi_status = s("invalid");

    let mut e = base("e.example", "example");
    e.domain_status = s("nxdomain");
    e.spf_dns_status = s("nxdomain");
    e.mx_dns_status = s("nxdomain");

    let mut f = base("f.example", "example");
    f.domain_status = s("error");
    f.spf_status = s("temperror");
    f.spf_dns_status = s("servfail");
    f.mx_dns_status = s("timeout");
    f.dmarc_status = s("temperror");
    vec![a, b, c, d, e, f]
}

/// Month 2 (`2026-02-01`): a.go.jp regresses to p=none; b.go.jp goes to
/// p=reject, `-all` and MTA-STS enforce; d.co.jp gets a valid p=none;
/// e.example disappears; g.example appears; c.co.jp and f.example unchanged.
pub fn month2() -> Vec<SnapshotRow> {
    let mut rows = month1();
    let a = &mut rows[0];
    a.dmarc_policy = o("none");
    a.dmarc_effective_policy = o("none");
    let b = &mut rows[1];
    b.dmarc_policy = o("reject");
    b.dmarc_effective_policy = o("reject");
    b.spf_all = o("-all");
    b.mta_sts_mode = o("enforce");
    let d = &mut rows[3];
    dmarc(d, "none", None, None, &[]);
    rows.remove(4);
    rows.push(base("g.example", "example"));
    rows
}

/// Writes `rows` as snapshot `id` under `root` (two part files, so the
/// engine reads more than one) and returns the snapshot directory.
pub fn write(root: &Path, id: &str, rows: Vec<SnapshotRow>) -> PathBuf {
    let opts = WriterOptions {
        rows_per_file: 4,
        ..WriterOptions::default()
    };
    let (mut w, _) = SnapshotWriter::open(root, id, opts).unwrap();
    for r in rows {
        w.push(r).unwrap();
    }
    let dir = w.dir().to_path_buf();
    w.finish(0).unwrap();
    dir
}
