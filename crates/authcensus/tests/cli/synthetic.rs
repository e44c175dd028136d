//! The synthetic universe answered on the fly (`testbed serve --synthetic`,
//! `testbed synthetic-list`): the input of the scale runs. A crawl of it
//! sees exactly the records the synthetic zone defines.

use std::path::Path;

use authcensus_store::layout::snapshot_dir;
use authcensus_store::reader::read_snapshot_rows;
use authcensus_testbed::serve::synthetic::Synthetic;
use authcensus_testbed::{ServeOptions, serve_synthetic};
use hickory_proto::rr::RecordType;

use super::authcensus;
use super::crawl::crawl_args_with;

fn txt(s: Synthetic, name: &str) -> Vec<String> {
    s.answer(name, RecordType::TXT)
        .map(|a| a.txt_strings())
        .unwrap_or_default()
}

#[test]
fn synthetic_universe_crawls_to_its_definition() {
    const N: u64 = 2_000;
    let o = authcensus(&["testbed", "synthetic-list", &N.to_string()], None);
    assert!(o.status.success());
    let list = String::from_utf8(o.stdout).unwrap();
    let names: Vec<&str> = list.lines().collect();
    assert_eq!(names.len(), N as usize);
    assert_eq!((names[0], names[1999]), ("d0.test", "d1999.test"));

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("list.txt");
    std::fs::write(&input, &list).unwrap();
    let tb = serve_synthetic(N, ServeOptions::default()).unwrap();
    let out = dir.path().join("out");
    let args = crawl_args_with(
        &tb.dns_addr.to_string(),
        None,
        &out,
        "0.5",
        "1",
        &[],
        Path::new(&input),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = authcensus(&args, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = read_snapshot_rows(&snapshot_dir(&out, "s1")).unwrap();
    assert_eq!(rows.len(), N as usize);

    let s = Synthetic { count: N };
    let mut checked = 0;
    for r in &rows {
        assert_eq!(r.domain_status, "ok", "{}", r.domain);
        let dmarc = txt(s, &format!("_dmarc.{}", r.domain));
        let want = dmarc.first().and_then(|t| {
            t.split(';')
                .find_map(|kv| kv.trim().strip_prefix("p=").map(str::to_string))
        });
        assert_eq!(r.dmarc_policy.as_deref(), want.as_deref(), "{}", r.domain);
        let spf = txt(s, &r.domain);
        let want_all = spf
            .iter()
            .find(|t| t.starts_with("v=spf1"))
            .and_then(|t| t.rsplit(' ').next())
            .map(str::to_string);
        let want_status = if want_all.is_some() { "valid" } else { "none" };
        assert_eq!(r.spf_status, want_status, "{}", r.domain);
        assert_eq!(r.spf_all.as_deref(), want_all.as_deref(), "{}", r.domain);
        let tls = !txt(s, &format!("_smtp._tls.{}", r.domain)).is_empty();
        assert_eq!(
            r.tlsrpt_status != "none",
            tls,
            "{} {}",
            r.domain,
            r.tlsrpt_status
        );
        checked += 1;
    }
    assert_eq!(checked, N);
}
