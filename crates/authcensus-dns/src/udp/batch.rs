//! The sockets' batched sends: on Linux, bursts of queries as UDP GSO
//! writes (`sendmsg(2)` with `UDP_SEGMENT`, `udp(7)`) or `sendmmsg(2)`,
//! through the safe wrappers of nix and rustix (the workspace forbids
//! unsafe code); elsewhere, one datagram per call.

use std::io;
use std::sync::atomic::Ordering;

use super::{GSO_SEGMENT, Outgoing, Socket};

/// Most segments in one GSO write (`UDP_MAX_SEGMENTS` of Linux 4.18-6.x).
#[cfg(target_os = "linux")]
const GSO_MAX_SEGMENTS: usize = 64;

/// Sends a burst: the [`GSO_SEGMENT`]-octet queries as UDP GSO writes (one
/// system call and one pass through the kernel's IP output and loopback or
/// driver path per write, the server still receiving one datagram per
/// query), everything else, and anything a GSO write could not take, with
/// `sendmmsg(2)`. Reorders `batch`.
#[cfg(target_os = "linux")]
pub(super) async fn send_batch(socket: &Socket, batch: &mut [Outgoing]) {
    if !socket.gso.load(Ordering::Relaxed) || batch.len() < 2 {
        send_mmsg(socket, batch).await;
        return;
    }
    // Stable: queries of one burst keep their order within each group.
    batch.sort_by_key(|o| o.bytes.len() != GSO_SEGMENT);
    let same = batch
        .iter()
        .take_while(|o| o.bytes.len() == GSO_SEGMENT)
        .count();
    let (gso, rest) = batch.split_at(same);
    for chunk in gso.chunks(GSO_MAX_SEGMENTS) {
        if chunk.len() < 2 || !send_gso(socket, chunk).await {
            send_mmsg(socket, chunk).await;
        }
    }
    if !rest.is_empty() {
        send_mmsg(socket, rest).await;
    }
}

/// Writes `chunk` (queries of exactly [`GSO_SEGMENT`] octets) as one UDP
/// GSO write: `sendmsg(2)` with a `UDP_SEGMENT` control message
/// (`udp(7)`). False when nothing was sent, and the caller sends the chunk
/// with `sendmmsg`. A refusal that means the kernel or the route cannot do
/// GSO (`EIO` without checksum offload, `EINVAL` on a kernel before 4.18,
/// `ENOPROTOOPT`, `EOPNOTSUPP`) turns GSO off for this socket.
#[cfg(target_os = "linux")]
async fn send_gso(socket: &Socket, chunk: &[Outgoing]) -> bool {
    use nix::errno::Errno;
    use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrStorage, sendmsg};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    use tokio::io::Interest;

    let Ok(segment) = u16::try_from(GSO_SEGMENT) else {
        return false;
    };
    let iov: Vec<IoSlice<'_>> = chunk.iter().map(|o| IoSlice::new(&o.bytes)).collect();
    let fd = socket.sock.as_raw_fd();
    let mut refused = false;
    loop {
        let result = socket
            .sock
            .async_io(Interest::WRITABLE, || {
                let cmsg = [ControlMessage::UdpGsoSegments(&segment)];
                sendmsg::<SockaddrStorage>(fd, &iov, &cmsg, MsgFlags::empty(), None)
                    .map_err(io::Error::from)
            })
            .await;
        match result {
            Ok(_) => {
                socket
                    .stats
                    .gso_datagrams
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                return true;
            }
            // As in `send_mmsg`: an ICMP error left by an earlier datagram
            // was reported and cleared; send once more.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && !refused => refused = true,
            Err(e) => {
                let no_gso = [
                    Errno::EIO,
                    Errno::EINVAL,
                    Errno::ENOPROTOOPT,
                    Errno::EOPNOTSUPP,
                ];
                if e.raw_os_error()
                    .is_some_and(|c| no_gso.contains(&Errno::from_raw(c)))
                {
                    socket.gso.store(false, Ordering::Relaxed);
                }
                return false;
            }
        }
    }
}

/// Datagrams handed to one `sendmmsg(2)` call.
#[cfg(target_os = "linux")]
const SENDMMSG_MAX: usize = 16;

/// Sends `batch` with `sendmmsg(2)`, up to [`SENDMMSG_MAX`] datagrams per
/// call: the burst reaches the server's socket in one system call, and the
/// scheduler can switch to the woken server only once per call rather than
/// after every datagram. A datagram the kernel refuses fails its attempt
/// ([`Reply::SendFailed`]); the rest of the batch still goes out.
#[cfg(target_os = "linux")]
async fn send_mmsg(socket: &Socket, batch: &[Outgoing]) {
    use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, sendmmsg};
    use std::io::IoSlice;
    use tokio::io::Interest;

    let mut start = 0;
    let mut refused_at = None;
    while start < batch.len() {
        let chunk = batch.get(start..).unwrap_or(&[]);
        let chunk = chunk.get(..SENDMMSG_MAX).unwrap_or(chunk);
        let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|o| [IoSlice::new(&o.bytes)]).collect();
        let result = socket
            .sock
            .async_io(Interest::WRITABLE, || {
                let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = chunk
                    .iter()
                    .map(|_| SendAncillaryBuffer::default())
                    .collect();
                let mut msgs: Vec<MMsgHdr<'_>> = iovs
                    .iter()
                    .zip(controls.iter_mut())
                    .map(|(iov, control)| MMsgHdr::new(iov, control))
                    .collect();
                sendmmsg(&socket.sock, &mut msgs, SendFlags::empty()).map_err(io::Error::from)
            })
            .await;
        match result {
            Ok(sent) if sent > 0 => start += sent,
            // An ICMP error left by an earlier datagram (the upstream's
            // port was closed): the failed call reported and cleared it and
            // sent nothing. Send the chunk again, once, so the error is not
            // charged to a query that had nothing to do with it.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && refused_at != Some(start) => {
                refused_at = Some(start);
            }
            _ => {
                // The call failed on its first datagram (or sent nothing):
                // fail that one, so it is neither skipped nor retried here.
                if let Some(out) = chunk.first() {
                    socket.send_failed(out);
                }
                start += 1;
            }
        }
    }
}

/// Elsewhere: one `send_to` per datagram.
#[cfg(not(target_os = "linux"))]
pub(super) async fn send_batch(socket: &Socket, batch: &mut [Outgoing]) {
    for out in batch {
        if socket.sock.send(&out.bytes).await.is_err() {
            socket.send_failed(out);
        }
    }
}

#[cfg(test)]
#[cfg(target_os = "linux")]
#[path = "batch_tests.rs"]
mod tests;
