//! A start-up check of one upstream: is anything answering DNS there?
//!
//! The crawl's sockets are connected to their upstream, but the
//! `ECONNREFUSED` an ICMP port-unreachable leaves there names no query
//! (several are in flight on each socket), so the crawl lets attempts at a
//! closed port time out like those at a silent one: against an address
//! where nothing listens, every query would run into its timeout and a large
//! crawl would take hours to produce rows of `error`. A socket of its own
//! with one query on it turns the same `ECONNREFUSED` into an answer, so the
//! probe tells "nothing listens here" apart from "answers" in a round trip.
//!
//! Any DNS reply counts as an answer, whatever its response code (an
//! authoritative-only server REFUSES the probe name, a resolver says
//! NXDOMAIN): the question is only whether a DNS server is there.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::net::UdpSocket;

use crate::decode::{Parsed, parse};
use crate::qname::QName;
use crate::wire::encode_query;

/// The name asked: RFC 6761 §6.4 reserves `invalid.`, so every resolver can
/// answer it at once (NXDOMAIN), and no server on the path learns anything.
pub const PROBE_NAME: &str = "authcensus-probe.invalid.";

/// What the probe of one upstream found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// A DNS reply came back.
    Answered,
    /// The host said nothing listens on that port (ICMP port unreachable,
    /// seen as `ECONNREFUSED`), or the address cannot be reached at all.
    Unreachable(String),
    /// No reply within the time allowed (the upstream may still be fine:
    /// some drop unknown names or rate-limit; the crawl goes on).
    Silent,
}

/// Sends up to `tries` probe queries to `upstream`, each waiting at most
/// `wait` for a reply, from a socket connected to it.
pub async fn probe(upstream: SocketAddr, tries: u32, wait: Duration) -> ProbeOutcome {
    match probe_inner(upstream, tries.max(1), wait).await {
        Ok(true) => ProbeOutcome::Answered,
        Ok(false) => ProbeOutcome::Silent,
        Err(e) => ProbeOutcome::Unreachable(e.to_string()),
    }
}

async fn probe_inner(upstream: SocketAddr, tries: u32, wait: Duration) -> io::Result<bool> {
    let local: SocketAddr = if upstream.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await?;
    sock.connect(upstream).await?;
    let name = QName::parse(PROBE_NAME)
        .ok_or_else(|| io::Error::other("the probe name is not a DNS name"))?;
    let mut buf = vec![0u8; 65_535];
    for _ in 0..tries {
        let id: u16 = rand::random();
        let query = encode_query(id, &name, RecordType::A, 1232, 0)
            .ok_or_else(|| io::Error::other("cannot encode the probe query"))?;
        sock.send(&query).await?;
        let deadline = tokio::time::Instant::now() + wait;
        // Ignore anything that is not the reply to this query; a bounded
        // number of stray datagrams cannot extend the wait (the deadline).
        loop {
            match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(e),
                Ok(Ok(n)) => {
                    if is_reply(buf.get(..n).unwrap_or(&[]), id) {
                        return Ok(true);
                    }
                }
            }
        }
    }
    Ok(false)
}

fn is_reply(datagram: &[u8], id: u16) -> bool {
    // `parse` takes only responses with one question.
    matches!(parse(datagram), Parsed::Reply(l) if l.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_unreachable_at_once() {
        // Bind a port, then free it: nothing listens there afterwards.
        let addr = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap()
        };
        let started = std::time::Instant::now();
        let out = probe(addr, 2, Duration::from_secs(5)).await;
        assert!(matches!(out, ProbeOutcome::Unreachable(_)), "{out:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "must not wait for the timeout"
        );
    }

    #[tokio::test]
    async fn a_socket_that_never_answers_is_silent() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let out = probe(s.local_addr().unwrap(), 2, Duration::from_millis(100)).await;
        assert_eq!(out, ProbeOutcome::Silent);
    }

    #[tokio::test]
    async fn any_dns_reply_is_an_answer() {
        let addr = authcensus_testsupport::refusing_dns_server();
        assert_eq!(
            probe(addr, 1, Duration::from_secs(5)).await,
            ProbeOutcome::Answered
        );
    }
}
