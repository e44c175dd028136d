//! The sockets' batched system calls: on Linux, bursts of queries as UDP
//! GSO writes (`sendmsg(2)` with `UDP_SEGMENT`) or `sendmmsg(2)`, and
//! bursts of replies read whole with UDP GRO (`udp(7)`), through the safe
//! wrappers of nix and rustix (the workspace forbids unsafe code);
//! elsewhere, one datagram per call.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use tokio::net::UdpSocket;

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

/// Asks the kernel to hand over bursts of replies whole (`UDP_GRO`, Linux
/// 5.0): a server's GSO write, or datagrams of one flow and length a NIC
/// coalesced, then arrive in one receive call. Best effort, at bind time
/// (a burst queued before is already split); false when refused.
#[cfg(target_os = "linux")]
pub(super) fn enable_gro(sock: &impl std::os::fd::AsFd) -> bool {
    nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::UdpGroSegment, &true).is_ok()
}

/// Whether [`enable_gro`] took effect on `sock`.
#[cfg(target_os = "linux")]
pub(super) fn gro_enabled(sock: &UdpSocket) -> bool {
    nix::sys::socket::getsockopt(sock, nix::sys::socket::sockopt::UdpGroSegment).unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn gro_enabled(_: &UdpSocket) -> bool {
    false
}

/// Receives into `buf`: the length, the segment size (the length itself
/// unless GRO joined several datagrams of that size; the last may be
/// shorter) and the sender.
#[cfg(target_os = "linux")]
pub(super) async fn recv(
    sock: &UdpSocket,
    buf: &mut [u8],
    gro: bool,
) -> io::Result<(usize, usize, SocketAddr)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    use tokio::io::Interest;

    if !gro {
        let (n, src) = sock.recv_from(buf).await?;
        return Ok((n, n, src));
    }
    let fd = sock.as_raw_fd();
    let mut cmsg = nix::cmsg_space!(i32);
    sock.async_io(Interest::READABLE, || {
        let mut iov = [IoSliceMut::new(&mut *buf)];
        let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(io::Error::from)?;
        let n = msg.bytes;
        let mut segment = n;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::UdpGroSegments(s) = c {
                segment = usize::try_from(s).unwrap_or(n);
            }
        }
        let src = msg
            .address
            .and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::from(*v4))
                    .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6)))
            })
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no IP sender"))?;
        Ok((n, segment, src))
    })
    .await
}

/// Elsewhere: one datagram per call.
#[cfg(not(target_os = "linux"))]
pub(super) async fn recv(
    sock: &UdpSocket,
    buf: &mut [u8],
    _gro: bool,
) -> io::Result<(usize, usize, SocketAddr)> {
    let (n, src) = sock.recv_from(buf).await?;
    Ok((n, n, src))
}
