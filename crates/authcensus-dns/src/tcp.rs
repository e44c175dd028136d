//! DNS over TCP for replies that came back truncated (TC=1).
//!
//! RFC 1035 §4.2.2 and RFC 7766 §8: each message is preceded by a two-octet
//! length, so a reply is at most 65 535 octets; that is the allocation bound.
//! One connection per fallback, closed after the reply: fallbacks are rare
//! (answers over 1 232 bytes) and connection reuse would add state for no gain.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::decode::{self, Parsed, Reply};
use crate::qname::QName;

/// Why a TCP exchange produced no reply.
#[derive(Debug)]
pub(crate) enum TcpFail {
    /// The deadline passed.
    Timeout,
    /// Connect, read or write failed.
    Io,
    /// The reply did not decode, or its ID or question did not match.
    BadReply,
}

/// Sends `query` (already encoded with message `id`) over a new TCP
/// connection to `upstream` and reads one reply, all within `deadline`.
pub(crate) async fn exchange(
    upstream: SocketAddr,
    query: &[u8],
    id: u16,
    name: &QName,
    rtype: RecordType,
    deadline: Duration,
) -> Result<Reply, TcpFail> {
    let work = async {
        let len = u16::try_from(query.len()).map_err(|_| TcpFail::BadReply)?;
        let mut stream = TcpStream::connect(upstream)
            .await
            .map_err(|_| TcpFail::Io)?;
        // Nagle would hold the single small write; no harm if unsupported.
        let _ = stream.set_nodelay(true);
        let mut out = Vec::with_capacity(query.len() + 2);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(query);
        stream.write_all(&out).await.map_err(|_| TcpFail::Io)?;
        let mut len_buf = [0u8; 2];
        stream
            .read_exact(&mut len_buf)
            .await
            .map_err(|_| TcpFail::Io)?;
        let n = usize::from(u16::from_be_bytes(len_buf));
        let mut buf = vec![0u8; n];
        stream.read_exact(&mut buf).await.map_err(|_| TcpFail::Io)?;
        let Parsed::Reply(layout) = decode::parse_full(&buf) else {
            return Err(TcpFail::BadReply);
        };
        if layout.id != id || !decode::question_is(&buf, &layout, name, u16::from(rtype)) {
            return Err(TcpFail::BadReply);
        }
        Ok(Reply::new(buf, layout))
    };
    match tokio::time::timeout(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(TcpFail::Timeout),
    }
}
