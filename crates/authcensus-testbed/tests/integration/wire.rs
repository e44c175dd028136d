//! End to end over the wire: the records crate's analysers use the running
//! DNS server as their resolver (UDP, TCP after TC), and agree with the truth
//! for every planted case and a sample of ordinary domains.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use authcensus_records::dns::{DnsFailure, Lookup, MxRecord, Resolver, TxtRecord};
use authcensus_testbed::{ServeOptions, serve};
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::records::{compare, serving};
use super::{N, manifest, truth, universe};

/// A stub resolver speaking DNS to one server.
struct Wire(SocketAddr);

impl Wire {
    fn exchange(&self, name: &str, rtype: RecordType) -> Result<Message, DnsFailure> {
        let Ok(qname) = Name::from_ascii(format!("{}.", name.trim_end_matches('.'))) else {
            return Err(DnsFailure::Other);
        };
        let mut q = Message::query();
        q.metadata.recursion_desired = true;
        q.add_query(Query::query(qname, rtype));
        let mut e = Edns::new();
        e.set_max_payload(1232);
        q.set_edns(e);
        let bytes = q.to_vec().map_err(|_| DnsFailure::Other)?;
        let s = UdpSocket::bind("127.0.0.1:0").map_err(|_| DnsFailure::Other)?;
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|_| DnsFailure::Other)?;
        s.send_to(&bytes, self.0).map_err(|_| DnsFailure::Other)?;
        let mut buf = [0u8; 2048];
        let (n, _) = s.recv_from(&mut buf).map_err(|_| DnsFailure::Timeout)?;
        let m = Message::from_vec(&buf[..n]).map_err(|_| DnsFailure::Other)?;
        if !m.metadata.truncation {
            return Ok(m);
        }
        let mut t = TcpStream::connect(self.0).map_err(|_| DnsFailure::Other)?;
        t.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|_| DnsFailure::Other)?;
        let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        t.write_all(&framed).map_err(|_| DnsFailure::Other)?;
        let mut len = [0u8; 2];
        t.read_exact(&mut len).map_err(|_| DnsFailure::Timeout)?;
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        t.read_exact(&mut body).map_err(|_| DnsFailure::Timeout)?;
        Message::from_vec(&body).map_err(|_| DnsFailure::Other)
    }

    fn lookup<T>(
        &self,
        name: &str,
        rtype: RecordType,
        f: impl Fn(&Record) -> Option<T>,
    ) -> Lookup<T> {
        match self.exchange(name, rtype) {
            Err(e) => Lookup::Failed(e),
            Ok(m) => match m.metadata.response_code {
                ResponseCode::NXDomain => Lookup::NxDomain,
                ResponseCode::NoError => {
                    let v: Vec<T> = m
                        .answers
                        .iter()
                        .filter(|r| r.record_type() == rtype)
                        .filter_map(f)
                        .collect();
                    if v.is_empty() {
                        Lookup::NoData
                    } else {
                        Lookup::Records(v)
                    }
                }
                ResponseCode::Refused => Lookup::Failed(DnsFailure::Refused),
                ResponseCode::ServFail => Lookup::Failed(DnsFailure::ServFail),
                _ => Lookup::Failed(DnsFailure::Other),
            },
        }
    }
}

fn host(n: &Name) -> String {
    n.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

impl Resolver for Wire {
    fn txt(&self, name: &str) -> impl Future<Output = Lookup<TxtRecord>> + Send {
        ready(self.lookup(name, RecordType::TXT, |r| match &r.data {
            RData::TXT(t) => Some(TxtRecord::from_strings(
                t.txt_data.iter().map(|s| s.to_vec()),
            )),
            _ => None,
        }))
    }
    fn a(&self, name: &str) -> impl Future<Output = Lookup<Ipv4Addr>> + Send {
        ready(self.lookup(name, RecordType::A, |r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        }))
    }
    fn aaaa(&self, name: &str) -> impl Future<Output = Lookup<Ipv6Addr>> + Send {
        ready(self.lookup(name, RecordType::AAAA, |r| match &r.data {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        }))
    }
    fn mx(&self, name: &str) -> impl Future<Output = Lookup<MxRecord>> + Send {
        ready(self.lookup(name, RecordType::MX, |r| match &r.data {
            RData::MX(m) => Some(MxRecord {
                preference: m.preference,
                exchange: host(&m.exchange),
            }),
            _ => None,
        }))
    }
    fn ptr(&self, _ip: IpAddr) -> impl Future<Output = Lookup<String>> + Send {
        ready(Lookup::NxDomain)
    }
    fn ns(&self, name: &str) -> impl Future<Output = Lookup<String>> + Send {
        ready(self.lookup(name, RecordType::NS, |r| match &r.data {
            RData::NS(n) => Some(host(&n.0)),
            _ => None,
        }))
    }
}

#[test]
fn analysers_over_the_running_server_agree_with_the_truth() {
    let (t, _) = universe(17, N);
    let dir = t.path().join("u");
    let m = manifest(&dir);
    let rows = truth(&dir);
    let serving = serving(&dir);
    let tb = serve(&dir, ServeOptions::default()).expect("serve");
    let res = Wire(tb.dns_addr);
    let cases: HashMap<&str, &Vec<String>> = m
        .cases
        .iter()
        .map(|c| (c.domain.as_str(), &c.unasserted))
        .collect();
    let none = Vec::new();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for (i, r) in rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.domain_status == "ok")
    {
        let u = cases.get(r.domain.as_str()).copied();
        if u.is_none() && i % 8 != 0 {
            continue;
        }
        mismatches.extend(compare(&res, &dir, &serving, r, u.unwrap_or(&none)));
        checked += 1;
    }
    assert!(checked > 250, "{checked} domains checked");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    let long = super::case_domain(&m, "spf_long_txt_tcp");
    assert!(matches!(block(res.txt(&long)), Lookup::Records(ref v) if v[0].joined().len() > 1232));
    tb.shutdown();
}

fn block<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
