#![no_main]
//! MTA-STS policy file parser and mx matching: never panics.
use authcensus_records::mta_sts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = mta_sts::parse_policy(data) {
        let _ = mta_sts::policy_covers(&policy, &["mx1.example.com".to_string()]);
    }
});
