//! insta snapshots of structured verdicts: an SPF tree analysis, a DMARC
//! record judged by both standards, an MTA-STS policy. A change in any field
//! shows up as a reviewed diff (`cargo insta review`), never silently.

use authcensus_records::dmarc;
use authcensus_records::dns::{MemoryResolver, TxtRecord};
use authcensus_records::mta_sts;
use authcensus_records::spf::{self, Limits};
use futures::executor::block_on;

#[test]
fn spf_analysis_of_a_small_tree() {
    let mut r = MemoryResolver::new();
    r.add_txt(
        "example.com",
        TxtRecord::from_strings([
            "v=spf1 include:_spf.example.com mx ",
            "a:gone.example.com ptr ~all",
        ]),
    )
    .add_txt(
        "_spf.example.com",
        TxtRecord::single(
            "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com redirect=_r.example.net",
        ),
    )
    .add_txt("_r.example.net", TxtRecord::single("v=spf1 -all"))
    .add_mx("example.com", 10, "mx.example.com");
    let analysis = block_on(spf::analyze(&r, "example.com", &Limits::default()));
    insta::assert_snapshot!(serde_json::to_string_pretty(&analysis).unwrap());
}

#[test]
fn dmarc_record_under_both_standards() {
    let cmp = dmarc::parse_both(
        b"v=DMARC1; rua=mailto:agg@example.net!10m; pct=50; sp=reject; np=quarantine; t=y",
    );
    insta::assert_snapshot!(serde_json::to_string_pretty(&cmp).unwrap());
}

#[test]
fn mta_sts_policy() {
    let policy = mta_sts::parse_policy(
        b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\nextra: ignored\r\n",
    )
    .unwrap();
    insta::assert_debug_snapshot!(policy);
}
