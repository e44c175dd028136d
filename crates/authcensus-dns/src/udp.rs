//! UDP sockets, each with an in-flight table, one send task and one receive
//! task.
//!
//! Each socket is bound to an OS-chosen ephemeral port (randomised by the
//! kernel) and is shared. Callers put their encoded query in the socket's
//! outbox; the send task wakes once per scheduler round and sends everything
//! queued in that round back to back, so a burst of queries reaches the
//! server together (on loopback, one wake-up of the server's thread per
//! burst instead of one per query; see `benches/README.md`). One receive
//! task per socket checks every datagram once ([`crate::decode`]) and hands it to the waiting
//! caller through a oneshot channel. The in-flight table maps a random
//! message ID (never reused while outstanding) to the upstream, question and
//! channel of the attempt. Timeouts are the caller's: it waits on its channel
//! under `tokio::time::timeout` and removes its entry on the way out (an RAII
//! guard, so a cancelled caller leaves nothing behind). tokio's timer wheel
//! is the timeout queue: one entry per attempt, no scan of the table.
//!
//! RFC 1035 §7.3: match a response on the ID, then verify the question.
//! We also require the source address and port the query went to (RFC 5452's
//! anti-forgery conditions; §7.3 notes servers answering from another
//! address, and such replies are dropped here). A reply is accepted only
//! when all three match; everything else is dropped and
//! counted in [`crate::Stats`]. A receive task never panics on input.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::DnsError;
use crate::decode::{self, Parsed, question_is};
use crate::stats::{Stats, bump};

/// What the receive task hands to a waiting attempt.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A checked, matching reply with TC=0.
    Message(decode::Reply),
    /// A matching reply with TC=1 (its records are not read).
    Truncated,
    /// The query could not be sent (the socket refused it).
    SendFailed,
}

/// A query waiting in a socket's outbox.
#[derive(Debug)]
struct Outgoing {
    bytes: Vec<u8>,
    to: SocketAddr,
    id: u16,
    token: u64,
}

#[derive(Debug)]
struct Pending {
    token: u64,
    upstream: SocketAddr,
    name: Name,
    rtype: RecordType,
    tx: oneshot::Sender<Reply>,
}

/// One socket and its in-flight table.
#[derive(Debug)]
pub(crate) struct Socket {
    sock: UdpSocket,
    table: Mutex<HashMap<u16, Pending>>,
    outbox: Mutex<Vec<Outgoing>>,
    /// Wakes the send task when the outbox goes from empty to non-empty.
    queued: Notify,
    tokens: AtomicU64,
    stats: Arc<Stats>,
}

/// Removes an attempt's table entry when dropped (if it is still its own).
#[derive(Debug)]
pub(crate) struct Registration<'a> {
    socket: &'a Socket,
    id: u16,
    token: u64,
    /// Receives the reply.
    pub(crate) rx: oneshot::Receiver<Reply>,
}

impl Registration<'_> {
    /// The message ID to put in the query.
    pub(crate) fn id(&self) -> u16 {
        self.id
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut table = self.socket.lock();
        if table.get(&self.id).is_some_and(|p| p.token == self.token) {
            table.remove(&self.id);
        }
    }
}

/// Random IDs tried before giving up on a socket. The client caps attempts in
/// flight at 32 768 in all, so a table is at most half full and 64 misses in
/// a row have probability below 2^-64.
const ID_TRIES: usize = 64;

impl Socket {
    fn lock(&self) -> MutexGuard<'_, HashMap<u16, Pending>> {
        // Entries are self-contained; a poisoned table is still consistent.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an attempt under a fresh random ID; `None` if none was free.
    pub(crate) fn register(
        &self,
        upstream: SocketAddr,
        name: &Name,
        rtype: RecordType,
    ) -> Option<Registration<'_>> {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let mut table = self.lock();
        for _ in 0..ID_TRIES {
            let id: u16 = rand::random();
            if let std::collections::hash_map::Entry::Vacant(v) = table.entry(id) {
                v.insert(Pending {
                    token,
                    upstream,
                    name: name.clone(),
                    rtype,
                    tx,
                });
                return Some(Registration {
                    socket: self,
                    id,
                    token,
                    rx,
                });
            }
        }
        None
    }

    /// Queues the query of `reg` for the send task. A query the socket
    /// refuses is answered [`Reply::SendFailed`] on the registration's
    /// channel; one whose attempt ended before it went out is still sent
    /// (its reply is then dropped as unmatched).
    pub(crate) fn enqueue(&self, reg: &Registration<'_>, bytes: Vec<u8>, to: SocketAddr) {
        let was_empty = {
            let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
            outbox.push(Outgoing {
                bytes,
                to,
                id: reg.id,
                token: reg.token,
            });
            outbox.len() == 1
        };
        if was_empty {
            self.queued.notify_one();
        }
    }

    fn take_outbox(&self, into: &mut Vec<Outgoing>) {
        let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *outbox, into);
    }

    /// Fails the attempt that sent `out` (if it is still waiting).
    fn send_failed(&self, out: &Outgoing) {
        let pending = {
            let mut table = self.lock();
            match table.get(&out.id) {
                Some(p) if p.token == out.token => table.remove(&out.id),
                _ => None,
            }
        };
        if let Some(p) = pending {
            let _ = p.tx.send(Reply::SendFailed);
        }
    }

    /// Attempts currently registered.
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().len()
    }

    fn deliver(&self, buf: &[u8], src: SocketAddr) {
        let layout = match decode::parse(buf) {
            Parsed::Reply(layout) => layout,
            Parsed::NotOurs => {
                bump(&self.stats.dropped_mismatched);
                return;
            }
            Parsed::Malformed => {
                bump(&self.stats.dropped_malformed);
                return;
            }
        };
        let id = layout.id;
        let pending = {
            let mut table = self.lock();
            match table.get(&id) {
                Some(p)
                    if p.upstream == src
                        && question_is(buf, &layout, &p.name, u16::from(p.rtype)) =>
                {
                    table.remove(&id)
                }
                _ => None,
            }
        };
        let Some(p) = pending else {
            bump(&self.stats.dropped_mismatched);
            return;
        };
        bump(&self.stats.received);
        let reply = if layout.truncated {
            Reply::Truncated
        } else {
            Reply::Message(decode::Reply::new(buf.to_vec(), layout))
        };
        // The caller may have given up a moment ago; that is fine.
        let _ = p.tx.send(reply);
    }
}

/// The sockets of one address family.
#[derive(Debug)]
pub(crate) struct SocketSet {
    sockets: Vec<Arc<Socket>>,
    next: AtomicUsize,
    tasks: Vec<JoinHandle<()>>,
}

/// Largest datagram accepted: the UDP maximum. Replies are normally at most
/// the advertised EDNS payload, but a server may ignore it.
const RECV_BUF: usize = 65_535;

impl SocketSet {
    /// Binds `count` sockets on the wildcard address of the family and
    /// starts their receive tasks. Must run inside a tokio runtime.
    pub(crate) async fn bind(
        ipv6: bool,
        count: usize,
        stats: Arc<Stats>,
    ) -> Result<Self, DnsError> {
        let family = if ipv6 { "ipv6" } else { "ipv4" };
        let local: SocketAddr = if ipv6 {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let mut sockets = Vec::with_capacity(count);
        let mut tasks = Vec::with_capacity(count);
        for _ in 0..count {
            let sock = bind_socket(local).map_err(|source| DnsError::Bind { family, source })?;
            let socket = Arc::new(Socket {
                sock,
                table: Mutex::new(HashMap::new()),
                outbox: Mutex::new(Vec::new()),
                queued: Notify::new(),
                tokens: AtomicU64::new(0),
                stats: Arc::clone(&stats),
            });
            tasks.push(tokio::spawn(receive_loop(Arc::clone(&socket))));
            tasks.push(tokio::spawn(send_loop(Arc::clone(&socket))));
            sockets.push(socket);
        }
        Ok(SocketSet {
            sockets,
            next: AtomicUsize::new(0),
            tasks,
        })
    }

    /// The next socket, round-robin.
    pub(crate) fn pick(&self) -> Option<&Socket> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.sockets
            .get(i % self.sockets.len().max(1))
            .map(|s| &**s)
    }

    /// Attempts registered on all sockets.
    pub(crate) fn in_flight(&self) -> usize {
        self.sockets.iter().map(|s| s.in_flight()).sum()
    }
}

impl Drop for SocketSet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Receive buffer asked for each socket (the kernel caps it at
/// `net.core.rmem_max`). The default (`rmem_default`, often 208 KiB) holds
/// only a few hundred small datagrams: replies arriving while the runtime's
/// threads are busy or descheduled would be dropped and cost a full attempt
/// timeout each. 4 MiB holds thousands.
const RECV_BUFFER_BYTES: usize = 4 << 20;

/// A non-blocking UDP socket bound to `local` with a large receive buffer.
fn bind_socket(local: SocketAddr) -> io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(local);
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: a smaller buffer still works.
    let _ = sock.set_recv_buffer_size(RECV_BUFFER_BYTES);
    sock.set_nonblocking(true)?;
    sock.bind(&local.into())?;
    UdpSocket::from_std(sock.into())
}

/// Sends what callers queued. After each wake-up it yields once, so every
/// task that becomes ready in the same scheduler round adds its query
/// first, then sends the whole outbox back to back.
async fn send_loop(socket: Arc<Socket>) {
    let mut batch = Vec::new();
    loop {
        socket.queued.notified().await;
        tokio::task::yield_now().await;
        loop {
            socket.take_outbox(&mut batch);
            if batch.is_empty() {
                break;
            }
            send_batch(&socket, &batch).await;
            batch.clear();
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
async fn send_batch(socket: &Socket, batch: &[Outgoing]) {
    use rustix::net::{
        MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, addr::SocketAddrArg, sendmmsg,
    };
    use std::io::IoSlice;
    use tokio::io::Interest;

    let mut start = 0;
    while start < batch.len() {
        let chunk = batch.get(start..).unwrap_or(&[]);
        let chunk = chunk.get(..SENDMMSG_MAX).unwrap_or(chunk);
        let addrs: Vec<SocketAddrAny> = chunk.iter().map(|o| o.to.as_any()).collect();
        let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|o| [IoSlice::new(&o.bytes)]).collect();
        let result = socket
            .sock
            .async_io(Interest::WRITABLE, || {
                let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = chunk
                    .iter()
                    .map(|_| SendAncillaryBuffer::default())
                    .collect();
                let mut msgs: Vec<MMsgHdr<'_>> = addrs
                    .iter()
                    .zip(&iovs)
                    .zip(controls.iter_mut())
                    .map(|((addr, iov), control)| MMsgHdr::new_with_addr(addr, iov, control))
                    .collect();
                sendmmsg(&socket.sock, &mut msgs, SendFlags::empty()).map_err(io::Error::from)
            })
            .await;
        match result {
            Ok(sent) if sent > 0 => start += sent,
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
async fn send_batch(socket: &Socket, batch: &[Outgoing]) {
    for out in batch {
        if socket.sock.send_to(&out.bytes, out.to).await.is_err() {
            socket.send_failed(out);
        }
    }
}

async fn receive_loop(socket: Arc<Socket>) {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        match socket.sock.recv_from(&mut buf).await {
            Ok((n, src)) => socket.deliver(buf.get(..n).unwrap_or(&[]), src),
            Err(_) => {
                // ICMP errors surface here on some platforms; they name no
                // query we could fail. Pause briefly so a persistent error
                // cannot spin.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    }
}
