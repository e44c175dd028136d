//! Unit tests of the dmarc module.
