//! Writing RFC 1035 master files: one zone per TLD, SOA and NS at the apex,
//! every record with an absolute owner name, one record per line.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::model::{Rr, TTL, zone_of};

/// The SOA serial of a universe's zones (RFC 1035 §3.3.13), by generation.
pub fn serial(generation: u32) -> u32 {
    2_026_010_100u32.saturating_add(generation)
}

/// Groups records into zones (by TLD) and renders each as master-file text.
/// Duplicate records are merged (an RRset is a set, RFC 2181 §5).
pub fn render(records: &[Rr], generation: u32) -> BTreeMap<String, String> {
    let mut by_zone: BTreeMap<String, BTreeSet<(String, String, String)>> = BTreeMap::new();
    for r in records {
        by_zone
            .entry(zone_of(&r.owner).to_string())
            .or_default()
            .insert((r.owner.clone(), r.rtype.clone(), r.rdata.clone()));
    }
    let mut out = BTreeMap::new();
    for (zone, rrs) in by_zone {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "; authcensus testbed zone {zone} (generated; do not edit)"
        );
        let _ = writeln!(s, "$ORIGIN {zone}.");
        let _ = writeln!(s, "$TTL {TTL}");
        let _ = writeln!(
            s,
            "{zone}. {TTL} IN SOA ns1.{zone}. hostmaster.{zone}. {} 7200 3600 1209600 3600",
            serial(generation)
        );
        let _ = writeln!(s, "{zone}. {TTL} IN NS ns1.{zone}.");
        let _ = writeln!(s, "ns1.{zone}. {TTL} IN A 127.0.0.1");
        for (owner, rtype, rdata) in rrs {
            let _ = writeln!(s, "{owner}. {TTL} IN {rtype} {rdata}");
        }
        out.insert(zone, s);
    }
    out
}
