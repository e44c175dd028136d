//! Test-only helpers shared by the workspace's test suites.
//!
//! The reference data (official test suites, real zones and lists) lives in
//! `../shared/data` beside the repository and is never copied into it. Tests
//! ask [`shared_data`] for a path: when the folder is absent the test prints a
//! clear skip message, unless `AUTHCENSUS_REQUIRE_SHARED_DATA=1` is set (as
//! `scripts/test` and CI do), in which case a missing file fails the test: a
//! suite never passes by silently skipping its vectors.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the location of the shared data folder.
pub const SHARED_DATA_ENV: &str = "AUTHCENSUS_SHARED_DATA";
/// Environment variable that turns a missing shared data file into a failure.
pub const REQUIRE_ENV: &str = "AUTHCENSUS_REQUIRE_SHARED_DATA";

/// The workspace root (the folder holding the top-level `Cargo.toml`).
///
/// Found at run time from `CARGO_MANIFEST_DIR`, which `cargo test` and
/// nextest set for every test process, by walking up to the `Cargo.toml`
/// with a `[workspace]` table. Not from `env!` alone: cargo does not rebuild
/// this crate when the checkout moves, so with a shared `CARGO_TARGET_DIR`
/// (as `.ci/run` uses) a compile-time path can name another, older clone.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The shared data folder: `$AUTHCENSUS_SHARED_DATA`, else `<workspace>/../shared/data`.
pub fn shared_data_dir() -> PathBuf {
    match std::env::var_os(SHARED_DATA_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared/data"),
    }
}

/// The path of `relative` inside the shared data folder, or `None` (after
/// printing why) when it is absent and absence is allowed.
///
/// # Panics
/// When the file is absent and `AUTHCENSUS_REQUIRE_SHARED_DATA=1`.
#[allow(clippy::panic)]
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = shared_data_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    let required = std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1");
    if required {
        panic!(
            "shared reference data missing: {} ({REQUIRE_ENV}=1)",
            path.display()
        );
    }
    eprintln!(
        "SKIP: shared reference data not found at {} (set {SHARED_DATA_ENV})",
        path.display()
    );
    None
}

/// Starts a loopback DNS server on a thread that answers REFUSED to every
/// query (the way an authoritative-only server treats a name it does not
/// serve) and returns its address. It lives as long as the test process.
///
/// For tests that need a resolver that is alive but gives no data: input
/// handling, the start-up probe.
///
/// # Panics
/// When no loopback UDP socket can be bound.
#[allow(clippy::expect_used)]
pub fn refusing_dns_server() -> std::net::SocketAddr {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
    let addr = sock.local_addr().expect("local address of a bound socket");
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let Some(query) = buf.get(..n).filter(|q| q.len() >= 12) else {
                continue;
            };
            let mut reply = query.to_vec();
            if let Some(b) = reply.get_mut(2) {
                *b |= 0x80; // QR=1
            }
            if let Some(b) = reply.get_mut(3) {
                *b = (*b & 0xf0) | 5; // RCODE=REFUSED
            }
            let _ = sock.send_to(&reply, from);
        }
    });
    addr
}

/// Makes the kernel refuse every UDP GSO write (`UDP_SEGMENT`, `udp(7)`) on
/// `sock`, as a kernel or route without GSO would: with `SO_NO_CHECK` set
/// (`socket(7)`: no checksums on the socket's UDP datagrams) Linux refuses
/// them with `EINVAL` (`udp_send_skb` in `net/ipv4/udp.c`), where a route
/// without checksum offload refuses them with `EIO`. For tests of the GSO
/// fallbacks.
///
/// # Errors
/// When the kernel refuses the socket option.
#[cfg(target_os = "linux")]
pub fn refuse_gso_writes(sock: &impl std::os::fd::AsFd) -> std::io::Result<()> {
    nix::sys::socket::setsockopt(sock, no_check::NoCheck, &true).map_err(std::io::Error::from)
}

#[cfg(target_os = "linux")]
mod no_check {
    use nix::{setsockopt_impl, sockopt_impl};

    /// `SO_NO_CHECK` of Linux's `asm-generic/socket.h` (level `SOL_SOCKET`).
    const SO_NO_CHECK: libc::c_int = 11;

    sockopt_impl!(
        /// Turns UDP checksums off for the datagrams a socket sends.
        NoCheck,
        SetOnly,
        libc::SOL_SOCKET,
        SO_NO_CHECK,
        bool
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crates/README.md` has a line for every crate, and names no crate that
    /// is gone: an index that rots is worse than none.
    #[test]
    fn crate_index_lists_every_crate() {
        let root = workspace_root();
        let index = std::fs::read_to_string(root.join("crates/README.md")).unwrap();
        let mut on_disk: Vec<String> = std::fs::read_dir(root.join("crates"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Cargo.toml").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = index
            .lines()
            .filter_map(|l| l.strip_prefix("- `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_owned)
            .collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }
}
