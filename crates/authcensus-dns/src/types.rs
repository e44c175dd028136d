//! Query types and outcomes as data (no hickory types cross this boundary).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use authcensus_records::dns::{DnsFailure, MxRecord, TxtRecord};

/// The record types the crawl asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryType {
    /// IPv4 address (RFC 1035 §3.4.1).
    A,
    /// IPv6 address (RFC 3596).
    Aaaa,
    /// Mail exchange (RFC 1035 §3.3.9).
    Mx,
    /// Text (RFC 1035 §3.3.14).
    Txt,
    /// Domain name pointer (RFC 1035 §3.3.12).
    Ptr,
    /// Authoritative name server (RFC 1035 §3.3.11).
    Ns,
    /// Canonical name (RFC 1035 §3.3.1); asked directly, it is not followed.
    Cname,
}

impl QueryType {
    /// Stable lowercase label (`a`, `aaaa`, `mx`, `txt`, `ptr`, `ns`, `cname`).
    pub fn label(self) -> &'static str {
        match self {
            QueryType::A => "a",
            QueryType::Aaaa => "aaaa",
            QueryType::Mx => "mx",
            QueryType::Txt => "txt",
            QueryType::Ptr => "ptr",
            QueryType::Ns => "ns",
            QueryType::Cname => "cname",
        }
    }
}

/// The data of one resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
    /// An MX record (exchange lowercase, no trailing dot, `""` for the root).
    Mx(MxRecord),
    /// A TXT record (raw character-strings).
    Txt(TxtRecord),
    /// A PTR target (lowercase, no trailing dot).
    Ptr(String),
    /// An NS target (lowercase, no trailing dot).
    Ns(String),
    /// A CNAME target (lowercase, no trailing dot).
    Cname(String),
}

/// One record of the final answer, with its owner name and TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    /// Owner name (lowercase, no trailing dot): the last name of the CNAME chain.
    pub name: String,
    /// TTL in seconds as received.
    pub ttl: u32,
    /// The record data.
    pub data: RecordData,
}

/// How a query ended; [`QueryStatus::label`] gives the stable snake_case
/// value stored in snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryStatus {
    /// NOERROR with records of the asked type (after CNAMEs).
    Answer,
    /// NOERROR without records of the asked type.
    NoData,
    /// RCODE 3 (for the last name of the CNAME chain).
    NxDomain,
    /// RCODE 2 on the last attempt that got a reply, after retries.
    ServFail,
    /// RCODE 5 on the last attempt that got a reply, after retries.
    Refused,
    /// No reply to any attempt.
    Timeout,
    /// Another RCODE (FORMERR, NOTIMP, …); see [`QueryOutcome::rcode`].
    OtherRcode,
    /// A CNAME loop or a chain longer than the configured hop limit.
    CnameLoop,
    /// The name cannot be encoded as a DNS name (e.g. a label over 63 octets);
    /// nothing was sent.
    InvalidName,
    /// A TCP fallback failed on the last attempt (no usable reply).
    TcpError,
    /// The last attempt could not be sent (no route, no socket of the
    /// upstream's family, no free message ID).
    NetworkError,
}

impl QueryStatus {
    /// Stable snake_case label.
    pub fn label(self) -> &'static str {
        match self {
            QueryStatus::Answer => "answer",
            QueryStatus::NoData => "nodata",
            QueryStatus::NxDomain => "nxdomain",
            QueryStatus::ServFail => "servfail",
            QueryStatus::Refused => "refused",
            QueryStatus::Timeout => "timeout",
            QueryStatus::OtherRcode => "other_rcode",
            QueryStatus::CnameLoop => "cname_loop",
            QueryStatus::InvalidName => "invalid_name",
            QueryStatus::TcpError => "tcp_error",
            QueryStatus::NetworkError => "network_error",
        }
    }

    /// The failure a [`authcensus_records::dns::Lookup`] reports for this
    /// status, or `None` for answer/nodata/nxdomain. A CNAME loop is SERVFAIL,
    /// as the records crate's `MemoryResolver` reports it.
    pub fn failure(self) -> Option<DnsFailure> {
        match self {
            QueryStatus::Answer | QueryStatus::NoData | QueryStatus::NxDomain => None,
            QueryStatus::ServFail | QueryStatus::CnameLoop => Some(DnsFailure::ServFail),
            QueryStatus::Refused => Some(DnsFailure::Refused),
            QueryStatus::Timeout => Some(DnsFailure::Timeout),
            QueryStatus::OtherRcode
            | QueryStatus::InvalidName
            | QueryStatus::TcpError
            | QueryStatus::NetworkError => Some(DnsFailure::Other),
        }
    }
}

/// Everything known about one logical query (all attempts and CNAME
/// follow-ups), for the crawl's per-query status columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOutcome {
    /// How it ended.
    pub status: QueryStatus,
    /// Raw RCODE of the last reply used (EDNS extended bits merged), `None`
    /// when no reply was accepted.
    pub rcode: Option<u16>,
    /// Records of the asked type at the end of the CNAME chain.
    pub records: Vec<AnswerRecord>,
    /// Names the CNAME chain went through after the asked name, in order
    /// (lowercase, no trailing dot). Empty when there was no CNAME.
    pub cname_chain: Vec<String>,
    /// Whether any reply used came over TCP (TC=1 fallback).
    pub tcp: bool,
    /// Attempts sent in all (UDP and TCP, follow-ups included).
    pub attempts: u32,
    /// CNAME follow-up queries made (0 when the answer section held the chain).
    pub followups: u32,
    /// The upstream that gave the last reply used.
    pub upstream: Option<SocketAddr>,
    /// Wall time from the first attempt to the outcome.
    pub elapsed: Duration,
}

impl QueryOutcome {
    /// Smallest TTL of the answer records, if any.
    pub fn min_ttl(&self) -> Option<u32> {
        self.records.iter().map(|r| r.ttl).min()
    }

    pub(crate) fn empty(status: QueryStatus) -> Self {
        QueryOutcome {
            status,
            rcode: None,
            records: Vec::new(),
            cname_chain: Vec::new(),
            tcp: false,
            attempts: 0,
            followups: 0,
            upstream: None,
            elapsed: Duration::ZERO,
        }
    }
}
