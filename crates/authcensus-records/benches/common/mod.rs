//! Real data for the record benchmarks, read from `../shared/data` at bench
//! start (never copied into the repository). Absent data gives an empty set
//! and a `SKIP` message, so the benches still build and run without it.

// Each bench target (`records`, `classify`) uses a different part of this.
#![allow(dead_code)]

/// The JSON file at `rel` under the shared data folder, or `None` (after
/// saying why) when it is absent, unreadable or not JSON.
fn read_json(rel: &str) -> Option<serde_json::Value> {
    let path = authcensus_testsupport::shared_data(rel)?;
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP: cannot read {}", path.display());
        return None;
    };
    let parsed = serde_json::from_str(&text);
    if parsed.is_err() {
        eprintln!("SKIP: {} is not JSON", path.display());
    }
    parsed.ok()
}

/// One municipality of mxmap's `providers_*.min.json`: its domain, the MX
/// hosts it publishes and its SPF record (empty when it has none).
pub struct Municipality {
    pub domain: String,
    pub mx: Vec<String>,
    pub spf: String,
}

/// The municipalities of one mxmap `providers_*.min.json` file
/// (`municipalities[]` with `domain`, `mx[]`, `spf`).
fn mxmap(rel: &str) -> Vec<Municipality> {
    let Some(v) = read_json(rel) else {
        return Vec::new();
    };
    let Some(ms) = v.get("municipalities").and_then(|m| m.as_array()) else {
        eprintln!("SKIP: {rel} has no `municipalities` array");
        return Vec::new();
    };
    ms.iter()
        .filter_map(|m| {
            let domain = m.get("domain")?.as_str()?.trim().to_ascii_lowercase();
            let mx = m
                .get("mx")
                .and_then(|x| x.as_array())
                .map(|hosts| {
                    hosts
                        .iter()
                        .filter_map(|h| h.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let spf = m
                .get("spf")
                .and_then(|s| s.as_str())
                .unwrap_or_default()
                .trim()
                .to_string();
            (!domain.is_empty()).then_some(Municipality { domain, mx, spf })
        })
        .collect()
}

/// Every municipality of both mxmap files (Switzerland and Austria), as
/// listed: several municipalities share a domain.
pub fn mxmap_listed() -> Vec<Municipality> {
    let mut all = mxmap("realworld/mxmap/providers_ch.min.json");
    all.extend(mxmap("realworld/mxmap/providers_at.min.json"));
    all
}

/// [`mxmap_listed`], one entry per distinct domain (the first listed):
/// about 4,000.
pub fn mxmap_all() -> Vec<Municipality> {
    let mut all = mxmap_listed();
    let mut seen = std::collections::HashSet::new();
    all.retain(|m| seen.insert(m.domain.clone()));
    all
}

/// The bodies of the real MTA-STS policy files listed in
/// `mta-sts/real-policies/INDEX.json`.
pub fn real_policies() -> Vec<Vec<u8>> {
    let Some(serde_json::Value::Array(entries)) = read_json("mta-sts/real-policies/INDEX.json")
    else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| e.get("file")?.as_str())
        .filter_map(|f| authcensus_testsupport::shared_data(&format!("mta-sts/{f}")))
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

/// The records of Mail::BIMI's record vectors
/// (`bimi/mail-bimi/mail-bimi-vectors.json`, `record_vectors[].record`).
pub fn bimi_vectors() -> Vec<String> {
    let Some(v) = read_json("bimi/mail-bimi/mail-bimi-vectors.json") else {
        return Vec::new();
    };
    v.get("record_vectors")
        .and_then(|r| r.as_array())
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.get("record")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
