//! UDP sockets, each with an in-flight table, one send task, one receive
//! task and one timeout task.
//!
//! Each socket is bound to an OS-chosen ephemeral port (randomised by the
//! kernel), connected to one upstream (so the kernel drops datagrams from
//! any other address and port, and sends skip the per-datagram route
//! lookup), and is shared. Callers put their encoded query in the socket's
//! outbox; the send task wakes once per scheduler round and sends everything
//! queued in that round back to back, so a burst of queries reaches the
//! server together (on loopback, one wake-up of the server's thread per
//! burst instead of one per query; see `benches/README.md`). One receive
//! task per socket checks every datagram once ([`crate::decode`]) and leaves
//! it in the waiting attempt's table entry, then wakes the attempt. The
//! in-flight table maps a random message ID (never reused while its entry
//! exists) to the question, waker and outcome of the attempt; the
//! attempt takes its outcome out of the table, and an RAII guard removes
//! the entry of an attempt that is dropped first, so a cancelled caller
//! leaves nothing behind.
//!
//! Timeouts: every socket's attempts share one timeout (the client's
//! `attempt_timeout`), so their deadlines come in the order they were
//! registered and one FIFO queue per socket holds them: the timeout task
//! sleeps until the oldest deadline (at most one wake-up per [`TIMEOUT_TICK`])
//! and marks each expired attempt that has no outcome yet as timed out.
//! Deadlines of attempts that ended earlier are skipped when they come up,
//! and each registration drops up to two of them from the front, so the
//! queue stays about as long as the attempts in flight. Against a tokio timer per
//! attempt this saves a timer-wheel insert and removal and a channel per
//! query (`benches/README.md`, "Timeout queue").
//!
//! RFC 1035 §7.3: match a response on the ID, then verify the question.
//! We also require the source address and port the query went to (RFC 5452's
//! anti-forgery conditions; §7.3 notes servers answering from another
//! address, and such replies are dropped here). A reply is accepted only
//! when all three match and the attempt has no outcome yet; everything else
//! is dropped and counted in [`crate::Stats`]. A receive task never panics
//! on input.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::DnsError;
use crate::decode::{self, Parsed, question_is};
use crate::qname::QName;
use crate::stats::{Stats, bump};

mod batch;
use batch::send_batch;

/// The outcome of one UDP attempt, left in its table entry.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A checked, matching reply with TC=0.
    Message(decode::Reply),
    /// A matching reply with TC=1 (its records are not read).
    Truncated,
    /// The query could not be sent (the socket refused it).
    SendFailed,
    /// No matching reply before the attempt's deadline.
    TimedOut,
}

/// A query waiting in a socket's outbox (to the socket's upstream).
#[derive(Debug)]
struct Outgoing {
    bytes: Vec<u8>,
    id: u16,
    token: u64,
}

#[derive(Debug)]
struct Pending {
    token: u64,
    name: QName,
    rtype: RecordType,
    /// Set once (reply, send failure or timeout); the attempt takes it.
    outcome: Option<Reply>,
    /// The attempt's task, woken when `outcome` is set.
    waker: Option<Waker>,
}

/// An attempt's deadline in the socket's timeout queue.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    /// Milliseconds after the socket's epoch, rounded up.
    at_ms: u64,
    /// The attempt's token, truncated: an entry is matched on ID and token,
    /// and 2^32 later attempts would have to be registered within one
    /// timeout for a stale deadline to hit a new attempt.
    token: u32,
    id: u16,
}

/// Hashes a message ID for the in-flight table: one multiplication
/// (Fibonacci hashing) instead of SipHash. The IDs are drawn at random by
/// [`Socket::register`], so a peer cannot choose which keys the table holds,
/// and the table holds at most 2^16 of them: nothing to flood. Every table
/// operation of every attempt hashes (about six per query).
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `u16` keys; kept correct for any other input.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, id: u16) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u16, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The in-flight table and the timeout queue, under one lock.
#[derive(Debug, Default)]
struct Table {
    pending: IdMap<Pending>,
    deadlines: VecDeque<Deadline>,
}

impl Table {
    /// The token of the attempt `d` was queued for, if that attempt is
    /// still registered (its ID may since have gone to another attempt).
    fn attempt_of(&self, d: &Deadline) -> Option<u64> {
        self.pending
            .get(&d.id)
            .map(|p| p.token)
            .filter(|t| *t as u32 == d.token)
    }

    /// Drops up to two deadlines at the front of the queue whose attempts
    /// have ended. Called once per registration, which adds one: the queue
    /// then holds about as many deadlines as attempts in flight (replies
    /// come back roughly in the order the queries left), not every attempt
    /// of the last timeout period.
    fn prune_front(&mut self) {
        for _ in 0..2 {
            match self.deadlines.front() {
                Some(d) if self.attempt_of(d).is_none() => self.deadlines.pop_front(),
                _ => return,
            };
        }
    }
}

/// One socket and its in-flight table.
#[derive(Debug)]
pub(crate) struct Socket {
    sock: UdpSocket,
    /// The upstream the socket is connected to: every attempt's destination
    /// and the only source a reply is accepted from.
    peer: SocketAddr,
    table: Mutex<Table>,
    outbox: Mutex<Vec<Outgoing>>,
    /// Wakes the send task when the outbox goes from empty to non-empty.
    queued: Notify,
    /// Wakes the timeout task when the timeout queue goes from empty to
    /// non-empty.
    deadline_queued: Notify,
    /// Every attempt's timeout.
    timeout: Duration,
    /// Origin of the deadlines' millisecond clock.
    epoch: Instant,
    tokens: AtomicU64,
    stats: Arc<Stats>,
    /// Bursts go out as UDP GSO writes of [`GSO_SEGMENT`]-octet queries
    /// (see [`crate::DnsConfig::udp_gso`]); cleared for good when the
    /// kernel refuses one.
    gso: AtomicBool,
}

/// Removes an attempt's table entry when dropped (if it is still its own).
#[derive(Debug)]
pub(crate) struct Registration<'a> {
    socket: &'a Socket,
    id: u16,
    token: u64,
}

impl Registration<'_> {
    /// The message ID to put in the query.
    pub(crate) fn id(&self) -> u16 {
        self.id
    }

    /// Waits for the attempt's outcome: a reply, a send failure or the
    /// timeout.
    pub(crate) async fn outcome(&self) -> Reply {
        poll_fn(|cx| self.socket.poll_outcome(self.id, self.token, cx)).await
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut table = self.socket.lock();
        if table
            .pending
            .get(&self.id)
            .is_some_and(|p| p.token == self.token)
        {
            table.pending.remove(&self.id);
        }
    }
}

/// Random IDs tried before giving up on a socket. The client caps attempts in
/// flight at 32 768 in all, so a table is at most half full and 64 misses in
/// a row have probability below 2^-64.
const ID_TRIES: usize = 64;

/// The timeout task wakes at most once per tick: a timeout fires up to this
/// much after its deadline (timeouts are seconds), and a busy socket costs
/// at most a few hundred wake-ups a second whatever its query rate.
pub(crate) const TIMEOUT_TICK: Duration = Duration::from_millis(5);

impl Socket {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // Entries are self-contained; a poisoned table is still consistent.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds from the epoch to `t`, rounded down (up with `ceil`).
    fn ms_since_epoch(&self, t: Instant, ceil: bool) -> u64 {
        let d = t.saturating_duration_since(self.epoch);
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if ceil && !d.subsec_nanos().is_multiple_of(1_000_000) {
            ms.saturating_add(1)
        } else {
            ms
        }
    }

    /// Registers an attempt sent at `now` under a fresh random ID, with its
    /// deadline `now` + the socket's timeout; `None` if no ID was free.
    pub(crate) fn register(
        &self,
        name: &QName,
        rtype: RecordType,
        now: Instant,
    ) -> Option<Registration<'_>> {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let at_ms = self.ms_since_epoch(now + self.timeout, true);
        let mut table = self.lock();
        table.prune_front();
        for _ in 0..ID_TRIES {
            let id: u16 = rand::random();
            if let std::collections::hash_map::Entry::Vacant(v) = table.pending.entry(id) {
                v.insert(Pending {
                    token,
                    name: name.clone(),
                    rtype,
                    outcome: None,
                    waker: None,
                });
                let was_empty = table.deadlines.is_empty();
                table.deadlines.push_back(Deadline {
                    at_ms,
                    // Truncation intended (see `Deadline::token`).
                    token: token as u32,
                    id,
                });
                drop(table);
                if was_empty {
                    self.deadline_queued.notify_one();
                }
                return Some(Registration {
                    socket: self,
                    id,
                    token,
                });
            }
        }
        None
    }

    /// The outcome of attempt (`id`, `token`) if it has one (removing the
    /// entry); otherwise remembers the waker.
    fn poll_outcome(&self, id: u16, token: u64, cx: &mut Context<'_>) -> Poll<Reply> {
        let mut table = self.lock();
        let Some(p) = table.pending.get_mut(&id).filter(|p| p.token == token) else {
            // Only this attempt removes its entry once registered: unreachable.
            return Poll::Ready(Reply::SendFailed);
        };
        if let Some(outcome) = p.outcome.take() {
            table.pending.remove(&id);
            return Poll::Ready(outcome);
        }
        match &p.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => p.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Gives attempt (`id`, `token`) its outcome unless it has one already
    /// (or is gone); returns its waker to wake after the lock is released.
    fn settle(table: &mut Table, id: u16, token: u64, outcome: Reply) -> Option<Waker> {
        let p = table
            .pending
            .get_mut(&id)
            .filter(|p| p.token == token && p.outcome.is_none())?;
        p.outcome = Some(outcome);
        p.waker.take()
    }

    /// Queues the query of `reg` for the send task. A query the socket
    /// refuses ends its attempt with [`Reply::SendFailed`]; one whose
    /// attempt ended before it went out is still sent (its reply is then
    /// dropped as unmatched).
    pub(crate) fn enqueue(&self, reg: &Registration<'_>, bytes: Vec<u8>) {
        let was_empty = {
            let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
            outbox.push(Outgoing {
                bytes,
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

    /// Queries for this socket should be padded to [`GSO_SEGMENT`] octets
    /// (so a burst can go out as one GSO write).
    pub(crate) fn pads(&self) -> bool {
        self.gso.load(Ordering::Relaxed)
    }

    /// Fails the attempt that sent `out` (if it is still waiting).
    fn send_failed(&self, out: &Outgoing) {
        let waker = Self::settle(&mut self.lock(), out.id, out.token, Reply::SendFailed);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Attempts currently registered.
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().pending.len()
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
        let waker = {
            let mut table = self.lock();
            let Some(p) = table.pending.get_mut(&id).filter(|p| {
                p.outcome.is_none()
                    && src == self.peer
                    && question_is(buf, &layout, &p.name, u16::from(p.rtype))
            }) else {
                drop(table);
                bump(&self.stats.dropped_mismatched);
                return;
            };
            p.outcome = Some(if layout.truncated {
                Reply::Truncated
            } else {
                Reply::Message(decode::Reply::new(buf.to_vec(), layout))
            });
            p.waker.take()
        };
        bump(&self.stats.received);
        // The caller may have given up a moment ago; its guard then removes
        // the entry.
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Times out every attempt whose deadline is at or before `now`;
    /// returns the wakers to wake, and the next deadline if any.
    fn expire(&self, now: Instant, wakers: &mut Vec<Waker>) -> Option<Instant> {
        let now_ms = self.ms_since_epoch(now, false);
        let mut table = self.lock();
        while let Some(d) = table.deadlines.front().copied() {
            if d.at_ms > now_ms {
                return Some(self.epoch + Duration::from_millis(d.at_ms));
            }
            table.deadlines.pop_front();
            if let Some(token) = table.attempt_of(&d) {
                wakers.extend(Self::settle(&mut table, d.id, token, Reply::TimedOut));
            }
        }
        None
    }
}

/// Ends attempts at their deadlines (see the module docs).
async fn timeout_loop(socket: Arc<Socket>) {
    let mut wakers = Vec::new();
    let mut last = Instant::now();
    loop {
        let next = socket.expire(Instant::now(), &mut wakers);
        for w in wakers.drain(..) {
            w.wake();
        }
        match next {
            None => socket.deadline_queued.notified().await,
            Some(at) => {
                let at = at.max(last + TIMEOUT_TICK);
                tokio::time::sleep_until(at.into()).await;
                last = Instant::now();
            }
        }
    }
}

/// The sockets of one upstream.
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
    /// Binds `count` sockets on the wildcard address of `upstream`'s family,
    /// connects each to `upstream` and starts their tasks. Must run inside a
    /// tokio runtime.
    pub(crate) async fn bind(
        upstream: SocketAddr,
        count: usize,
        timeout: Duration,
        stats: Arc<Stats>,
        gso: bool,
    ) -> Result<Self, DnsError> {
        let family = if upstream.is_ipv6() { "ipv6" } else { "ipv4" };
        let local: SocketAddr = if upstream.is_ipv6() {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let mut sockets = Vec::with_capacity(count);
        let mut tasks = Vec::with_capacity(count);
        for _ in 0..count {
            let sock =
                bind_socket(local, upstream).map_err(|source| DnsError::Bind { family, source })?;
            let socket = Arc::new(Socket {
                sock,
                peer: upstream,
                table: Mutex::new(Table::default()),
                outbox: Mutex::new(Vec::new()),
                queued: Notify::new(),
                deadline_queued: Notify::new(),
                timeout,
                epoch: Instant::now(),
                tokens: AtomicU64::new(0),
                stats: Arc::clone(&stats),
                gso: AtomicBool::new(gso && cfg!(target_os = "linux")),
            });
            tasks.push(tokio::spawn(receive_loop(Arc::clone(&socket))));
            tasks.push(tokio::spawn(send_loop(Arc::clone(&socket))));
            tasks.push(tokio::spawn(timeout_loop(Arc::clone(&socket))));
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

/// A non-blocking UDP socket bound to `local` with a large receive buffer,
/// connected to `peer`. A connected socket receives only what comes from
/// `peer`'s address and port (the kernel drops the rest, which
/// [`Socket::deliver`] would drop anyway), its sends reuse the cached route
/// instead of looking it up per datagram, and ICMP errors from `peer`
/// (port unreachable) surface as `ECONNREFUSED` on its next send or
/// receive. It does not ask for UDP GRO: reading with `recvmsg(2)` and its
/// control messages cost more system time per reply than GRO saved against
/// servers that do not send GSO writes (`benches/README.md`, eighteenth
/// session).
fn bind_socket(local: SocketAddr, peer: SocketAddr) -> io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(local);
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: a smaller buffer still works.
    let _ = sock.set_recv_buffer_size(RECV_BUFFER_BYTES);
    sock.set_nonblocking(true)?;
    sock.bind(&local.into())?;
    // Non-blocking: a UDP connect only records the peer and returns at once.
    sock.connect(&peer.into())?;
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
            send_batch(&socket, &mut batch).await;
            batch.clear();
        }
    }
}

/// Length of every query in a GSO write: the block length RFC 8467 §4.1
/// recommends for padding queries (RFC 7830). All but the longest names
/// fit in one block; a longer query goes out on its own.
pub(crate) const GSO_SEGMENT: usize = 128;

async fn receive_loop(socket: Arc<Socket>) {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        match socket.sock.recv_from(&mut buf).await {
            Ok((n, src)) => socket.deliver(buf.get(..n).unwrap_or(&[]), src),
            // An ICMP error from the upstream (its port is closed): the
            // call consumed it, nothing names a query to fail (the
            // attempts time out and fail over as usual).
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(_) => {
                // ICMP errors surface here on some platforms; they name no
                // query we could fail. Pause briefly so a persistent error
                // cannot spin.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(token: u64) -> Pending {
        Pending {
            token,
            name: QName::root(),
            rtype: RecordType::A,
            outcome: None,
            waker: None,
        }
    }

    fn deadline(id: u16, token: u32) -> Deadline {
        Deadline {
            at_ms: u64::from(id),
            token,
            id,
        }
    }

    #[test]
    fn pruning_drops_only_ended_attempts_at_the_front() {
        let mut t = Table::default();
        // Attempts 1 and 2 ended; 3 is in flight; 4 ended; 5's ID was
        // reused by a later attempt (another token).
        t.pending.insert(3, pending(3));
        t.pending.insert(5, pending(50));
        for (id, token) in [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)] {
            t.deadlines.push_back(deadline(id, token));
        }
        t.prune_front();
        // Two at most per call, and never past a live attempt.
        let ids = |t: &Table| t.deadlines.iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(ids(&t), [3, 4, 5]);
        t.prune_front();
        assert_eq!(ids(&t), [3, 4, 5]);
        t.pending.remove(&3);
        t.prune_front();
        assert_eq!(ids(&t), [5]);
        t.prune_front();
        assert!(
            t.deadlines.is_empty(),
            "a reused ID with another token is not the same attempt"
        );
        t.prune_front();
        assert!(t.deadlines.is_empty());
    }
}
