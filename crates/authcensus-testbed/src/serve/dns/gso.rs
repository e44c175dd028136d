//! The server's batched UDP system calls on Linux: GSO writes of delayed
//! replies and GRO reads of queries (`udp(7)`), through nix's safe wrappers
//! (the workspace forbids unsafe code). Elsewhere, one datagram per call.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

use super::Delayed;

/// One UDP GSO write of `chunk` (replies of one length to one peer):
/// `sendmsg(2)` with a `UDP_SEGMENT` control message (`udp(7)`); the peer
/// receives one datagram per reply. False when nothing was sent; a refusal
/// that means the kernel cannot do GSO turns it off (`gso`).
#[cfg(target_os = "linux")]
pub(super) async fn send(sock: &UdpSocket, chunk: &[Delayed], gso: &mut bool) -> bool {
    use nix::errno::Errno;
    use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrStorage, sendmsg};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    use tokio::io::Interest;

    let Some(first) = chunk.first() else {
        return false;
    };
    let Ok(segment) = u16::try_from(first.bytes.len()) else {
        return false;
    };
    let peer = SockaddrStorage::from(first.peer);
    let iov: Vec<IoSlice<'_>> = chunk.iter().map(|d| IoSlice::new(&d.bytes)).collect();
    let fd = sock.as_raw_fd();
    let result = sock
        .async_io(Interest::WRITABLE, || {
            let cmsg = [ControlMessage::UdpGsoSegments(&segment)];
            sendmsg(fd, &iov, &cmsg, MsgFlags::empty(), Some(&peer)).map_err(std::io::Error::from)
        })
        .await;
    match result {
        Ok(_) => true,
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
                *gso = false;
            }
            false
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) async fn send(_: &UdpSocket, _: &[Delayed], _: &mut bool) -> bool {
    false
}

/// Asks the kernel to hand over GSO bursts whole (`UDP_GRO`); false when it
/// will not, and then [`recv`] reads one datagram per call. Set when the
/// socket is bound: a burst queued before is already split.
#[cfg(target_os = "linux")]
pub fn enable_gro(sock: &impl std::os::fd::AsFd) -> bool {
    nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::UdpGroSegment, &true).is_ok()
}

#[cfg(not(target_os = "linux"))]
pub fn enable_gro<T>(_: &T) -> bool {
    false
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
) -> std::io::Result<(usize, usize, SocketAddr)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};
    use std::io::{Error, ErrorKind, IoSliceMut};
    use std::os::fd::AsRawFd;
    use tokio::io::Interest;

    if !gro {
        let (n, peer) = sock.recv_from(buf).await?;
        return Ok((n, n, peer));
    }
    let fd = sock.as_raw_fd();
    let mut cmsg = nix::cmsg_space!(i32);
    sock.async_io(Interest::READABLE, || {
        let mut iov = [IoSliceMut::new(&mut *buf)];
        let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(Error::from)?;
        let n = msg.bytes;
        let mut segment = n;
        for c in msg.cmsgs().map_err(Error::from)? {
            if let ControlMessageOwned::UdpGroSegments(s) = c {
                segment = usize::try_from(s).unwrap_or(n);
            }
        }
        let peer = msg
            .address
            .and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::from(*v4))
                    .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6)))
            })
            .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no IP sender"))?;
        Ok((n, segment, peer))
    })
    .await
}

#[cfg(not(target_os = "linux"))]
pub(super) async fn recv(
    sock: &UdpSocket,
    buf: &mut [u8],
    _gro: bool,
) -> std::io::Result<(usize, usize, SocketAddr)> {
    let (n, peer) = sock.recv_from(buf).await?;
    Ok((n, n, peer))
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;
    use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrStorage, sendmsg};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;

    /// One GSO write of `datagrams` (all as long as the first, the last
    /// possibly shorter) from `from` to `to`.
    fn send_burst(from: &std::net::UdpSocket, to: SocketAddr, datagrams: &[Vec<u8>]) {
        let segment = u16::try_from(datagrams[0].len()).expect("segment");
        let iov: Vec<IoSlice<'_>> = datagrams.iter().map(|d| IoSlice::new(d)).collect();
        let cmsg = [ControlMessage::UdpGsoSegments(&segment)];
        let peer = SockaddrStorage::from(to);
        sendmsg(
            from.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::empty(),
            Some(&peer),
        )
        .expect("GSO write");
    }

    #[tokio::test]
    async fn a_gso_burst_arrives_in_one_read_with_its_segment_size() {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        if !enable_gro(&server) {
            eprintln!("skipped: this kernel refuses UDP_GRO");
            return;
        }
        let to = server.local_addr().expect("addr");
        let client = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let from = client.local_addr().expect("addr");
        // Five datagrams of 100 octets and a last one of 40.
        let mut burst: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 100]).collect();
        burst.push(vec![9; 40]);
        send_burst(&client, to, &burst);
        let mut buf = vec![0u8; 65_535];
        let (n, segment, peer) = recv(&server, &mut buf, true).await.expect("recv");
        assert_eq!((n, segment, peer), (540, 100, from));
        let parts: Vec<&[u8]> = buf[..n].chunks(segment).collect();
        assert_eq!(parts.len(), 6);
        for (part, sent) in parts.iter().zip(&burst) {
            assert_eq!(part, sent);
        }
        // A lone datagram: its own length is the segment.
        client.send_to(&[7; 33], to).expect("send");
        let (n, segment, _) = recv(&server, &mut buf, true).await.expect("recv");
        assert_eq!((n, segment), (33, 33));
        // Without GRO asked for, the plain path.
        client.send_to(&[8; 21], to).expect("send");
        let (n, segment, peer) = recv(&server, &mut buf, false).await.expect("recv");
        assert_eq!((n, segment, peer), (21, 21, from));
    }

    /// Sends ten replies of 64 octets and two of 90 (all due) from a server
    /// socket to a GRO reader; returns each read's (length, segment) and
    /// whether GSO is still on.
    async fn send_group_to_gro_reader(refuse_gso: bool) -> (Vec<(usize, usize)>, Vec<u8>, bool) {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        if refuse_gso {
            authcensus_testsupport::refuse_gso_writes(&server).expect("SO_NO_CHECK");
        }
        let reader = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        assert!(enable_gro(&reader), "this kernel refuses UDP_GRO");
        let peer = reader.local_addr().expect("addr");
        let now = tokio::time::Instant::now();
        let mut group: Vec<Delayed> = (0..12u8)
            .map(|i| Delayed {
                due: now,
                peer,
                bytes: vec![i; if i < 10 { 64 } else { 90 }],
            })
            .collect();
        let mut gso = true;
        super::super::send_group(&server, &mut group, &mut gso).await;
        let mut reads = Vec::new();
        let mut first_octets = Vec::new();
        let mut buf = vec![0u8; 65_535];
        while first_octets.len() < 12 {
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                recv(&reader, &mut buf, true),
            )
            .await
            .expect("every reply arrives")
            .expect("recv");
            let (n, segment, _) = read;
            for part in buf[..n].chunks(segment) {
                assert!(part.iter().all(|&b| b == part[0]), "a reply arrives whole");
                first_octets.push(part[0]);
            }
            reads.push((n, segment));
        }
        // Nothing more: no reply was sent twice.
        let extra =
            tokio::time::timeout(std::time::Duration::from_millis(200), reader.recv(&mut buf))
                .await;
        assert!(extra.is_err(), "a reply arrived twice");
        first_octets.sort_unstable();
        (reads, first_octets, gso)
    }

    #[tokio::test]
    async fn when_the_kernel_refuses_gso_writes_each_reply_goes_out_once_on_its_own() {
        let all: Vec<u8> = (0..12).collect();
        // The control: the ten equal replies go out as one GSO write (one
        // read of 640 octets in 64-octet segments), the other two as one
        // more.
        let (reads, got, gso) = send_group_to_gro_reader(false).await;
        assert_eq!(got, all);
        assert!(gso);
        assert!(reads.contains(&(640, 64)), "{reads:?}");
        // Refused: one datagram per reply, each once, and GSO off.
        let (reads, got, gso) = send_group_to_gro_reader(true).await;
        assert_eq!(got, all);
        assert!(!gso, "a refused GSO write turns GSO off");
        assert_eq!(reads.len(), 12, "{reads:?}");
        assert!(reads.iter().all(|&(n, segment)| n == segment), "{reads:?}");
    }
}
