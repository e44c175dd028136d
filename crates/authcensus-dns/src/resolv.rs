//! The system's resolvers from `/etc/resolv.conf` (a tiny, bounded parser).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};

use crate::DnsError;

/// Most bytes of resolv.conf read; the real file is a few hundred bytes.
const MAX_BYTES: u64 = 64 * 1024;
/// Most nameservers kept. glibc uses the first three (MAXNS, resolv.conf(5));
/// we keep a few more and let the caller decide.
const MAX_SERVERS: usize = 16;

/// The `nameserver` addresses of `/etc/resolv.conf`, port 53.
///
/// # Errors
/// [`DnsError::ResolvConf`] if the file cannot be read.
pub fn system_resolvers() -> Result<Vec<SocketAddr>, DnsError> {
    read_resolv_conf("/etc/resolv.conf")
}

/// The `nameserver` addresses of a resolv.conf-format file, port 53.
///
/// # Errors
/// [`DnsError::ResolvConf`] if the file cannot be read.
pub fn read_resolv_conf(path: &str) -> Result<Vec<SocketAddr>, DnsError> {
    let err = |source| DnsError::ResolvConf {
        path: path.to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES).read_to_end(&mut bytes).map_err(err)?;
    Ok(parse_resolv_conf(&String::from_utf8_lossy(&bytes)))
}

/// Parses resolv.conf text (resolv.conf(5)): lines `nameserver ADDRESS`;
/// `#` and `;` start comments. Addresses with an IPv6 zone (`fe80::1%eth0`)
/// are skipped (a zone name cannot be mapped to a scope id portably), as are
/// unparsable ones. Duplicates are dropped; at most 16 are returned.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_ascii_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        let addr = SocketAddr::new(ip, 53);
        if !out.contains(&addr) {
            out.push(addr);
        }
        if out.len() >= MAX_SERVERS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nameservers_and_skips_the_rest() {
        let text = "# generated\nsearch example.com\nnameserver 127.0.0.53\n\
                    nameserver\t2001:db8::1 # v6\n;nameserver 10.0.0.1\n\
                    nameserver fe80::1%eth0\nnameserver bogus\nnameserver 127.0.0.53\n\
                    options edns0 trust-ad\n nameserver 192.0.2.7";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "127.0.0.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::1]:53".parse().unwrap(),
                "192.0.2.7:53".parse().unwrap(),
            ]
        );
        let many: String = (0..40)
            .map(|i| format!("nameserver 10.0.0.{i}\n"))
            .collect();
        assert_eq!(parse_resolv_conf(&many).len(), 16);
        assert!(matches!(
            read_resolv_conf("/nonexistent/resolv.conf"),
            Err(DnsError::ResolvConf { .. })
        ));
    }
}
