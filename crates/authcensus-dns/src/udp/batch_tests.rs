//! The GSO fallback against a kernel that refuses GSO writes
//! ([`authcensus_testsupport::refuse_gso_writes`]: a real refusal by the
//! kernel, not a mock).

use std::collections::HashMap;
use std::net::UdpSocket as StdUdpSocket;
use std::sync::Arc;
use std::time::Duration;

use super::super::{GSO_SEGMENT, Outgoing, SocketSet};
use super::send_batch;
use crate::stats::Stats;

/// Distinct queries of exactly [`GSO_SEGMENT`] octets (one GSO write's
/// worth and a few more, so two writes are tried) and two longer ones.
fn batch() -> Vec<Outgoing> {
    let mut out: Vec<Outgoing> = (0..70u16)
        .map(|i| {
            let mut bytes = vec![0u8; GSO_SEGMENT];
            bytes[..2].copy_from_slice(&i.to_be_bytes());
            Outgoing {
                bytes,
                id: i,
                token: u64::from(i),
            }
        })
        .collect();
    for i in 70..72u16 {
        let mut bytes = vec![1u8; GSO_SEGMENT * 2];
        bytes[..2].copy_from_slice(&i.to_be_bytes());
        out.push(Outgoing {
            bytes,
            id: i,
            token: u64::from(i),
        });
    }
    out
}

/// Every datagram the server has received, by its first two octets, within
/// a short wait for the last ones.
fn drain(server: &StdUdpSocket) -> HashMap<u16, Vec<Vec<u8>>> {
    let mut got: HashMap<u16, Vec<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = server.recv(&mut buf) {
        let d = buf[..n].to_vec();
        got.entry(u16::from_be_bytes([d[0], d[1]]))
            .or_default()
            .push(d);
    }
    got
}

async fn send_all(refuse_gso: bool) -> (HashMap<u16, Vec<Vec<u8>>>, u64, bool) {
    let server = StdUdpSocket::bind("127.0.0.1:0").expect("bind");
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let stats = Arc::new(Stats::default());
    let set = SocketSet::bind(
        server.local_addr().expect("addr"),
        1,
        Duration::from_secs(2),
        Arc::clone(&stats),
        true,
    )
    .await
    .expect("client socket");
    let socket = set.pick().expect("one socket");
    if refuse_gso {
        authcensus_testsupport::refuse_gso_writes(&socket.sock).expect("SO_NO_CHECK");
    }
    let mut b = batch();
    send_batch(socket, &mut b).await;
    let got = drain(&server);
    (got, stats.snapshot().gso_datagrams, socket.pads())
}

#[tokio::test]
async fn when_the_kernel_refuses_gso_writes_every_query_goes_out_once_without_gso() {
    let expected: HashMap<u16, Vec<Vec<u8>>> =
        batch().into_iter().map(|o| (o.id, vec![o.bytes])).collect();

    // The control: the same socket without SO_NO_CHECK sends the 70
    // equal-length queries as GSO writes.
    let (got, gso, pads) = send_all(false).await;
    assert_eq!(got, expected);
    assert_eq!(gso, 70);
    assert!(pads, "GSO stays on while the kernel takes the writes");

    // Refused: nothing lost, nothing sent twice, nothing counted as GSO,
    // and GSO (with the padding that serves it) is off for the socket.
    let (got, gso, pads) = send_all(true).await;
    assert_eq!(got, expected, "each query exactly once, unchanged");
    assert_eq!(gso, 0);
    assert!(!pads, "a refused GSO write turns GSO off for the socket");
}
