//! MX sets: null MX (RFC 7505), preference ordering (RFC 5321 §5.1), and
//! table-driven identification of mailbox providers (from MX host names)
//! and DNS hosting providers (from NS host names).

mod classify;
mod ns_providers;
mod providers;
mod table;

pub use classify::{MxAssessment, MxCode, MxHost, MxStatus, classify, classify_records};
pub use ns_providers::{DNS_PROVIDERS, dns_provider, dns_providers};
pub use providers::{MAIL_PROVIDERS, mail_provider};
pub use table::{HostPattern, Provider, ProviderIndex, identify, identify_all};
