//! Integration tests of the records crate against real vectors in `../shared/data`.
//! One test binary per crate (each extra binary costs a link on two cores).

mod bimi;
mod dmarc;
mod mta_sts;
mod mx;
mod snapshots;
mod spf;
mod tlsrpt;
