//! BIMI, Brand Indicators for Message Identification
//! (draft-brand-indicators-for-message-identification, in `../shared/refs`).
//!
//! [`parse`] reads one Assertion Record into a [`BimiRecord`] with findings;
//! [`discover`] runs Assertion Record Discovery over a
//! [`crate::dns::Resolver`] with the organizational-domain fallback and
//! yields the snapshot status ([`BimiStatus`]) and the logo URL.

mod classify;
mod parse;
mod types;

pub use classify::{BimiAssessment, BimiStatus, classify_txt, discover, record_name};
pub use parse::{parse, starts_with_bimi_version};
pub use types::{Avp, BimiCode, BimiFinding, BimiParse, BimiRecord};
