//! The HTTPS server of the `mta-sts.*` policy hosts: a minimal HTTP/1.1
//! responder (one request per connection, `Connection: close`) over
//! tokio-rustls, serving each policy with its planned behaviour.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::generate::model::Serving;

/// The path of the policy (RFC 8461 §3.2).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";
/// Largest request head read.
const MAX_HEAD: usize = 8192;
/// Most open connections (more are closed at once).
pub const MAX_CONNECTIONS: usize = 512;

/// A host's policy body and behaviour.
#[derive(Debug, Clone)]
pub struct Site {
    /// Policy body.
    pub body: String,
    /// Behaviour.
    pub serving: Serving,
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn response(code: u16, content_type: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        reason(code),
        body.len()
    )
    .into_bytes()
}

/// The response for a request, or `None` to hang (the timeout behaviour).
pub fn respond(sites: &HashMap<String, Site>, host: &str, path: &str) -> Option<Vec<u8>> {
    let Some(site) = sites.get(host) else {
        return Some(response(404, "text/plain", "", "unknown host\n"));
    };
    if path != POLICY_PATH {
        return Some(response(404, "text/plain", "", "not found\n"));
    }
    Some(match &site.serving {
        Serving::Ok | Serving::BadCertificate => response(200, "text/plain", "", &site.body),
        Serving::Status { code } => response(*code, "text/plain", "", "policy unavailable\n"),
        Serving::ContentType { value } => response(200, value, "", &site.body),
        Serving::Redirect { location } => response(
            301,
            "text/plain",
            &format!("Location: {location}\r\n"),
            "moved\n",
        ),
        Serving::Timeout => return None,
    })
}

/// Serves until `stop` changes.
pub async fn run(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sites: Arc<HashMap<String, Site>>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = listener.accept() => {
                let Ok((tcp, _)) = r else { continue };
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else { continue };
                let (acceptor, sites, mut stop2) = (acceptor.clone(), Arc::clone(&sites), stop.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    tokio::select! {
                        _ = stop2.changed() => {}
                        _ = conn(tcp, acceptor, sites) => {}
                    }
                });
            }
        }
    }
}

async fn conn(
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    sites: Arc<HashMap<String, Site>>,
) {
    let Ok(Ok(mut tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
    else {
        return;
    };
    let sni = tls.get_ref().1.server_name().map(str::to_ascii_lowercase);
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        match tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut req = lines.next().unwrap_or("").split(' ');
    let (method, path) = (req.next().unwrap_or(""), req.next().unwrap_or(""));
    let host_header = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| {
            v.trim()
                .split(':')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        });
    let host = sni.or(host_header).unwrap_or_default();
    let out = if method == "GET" {
        respond(&sites, &host, path)
    } else {
        Some(response(
            405,
            "text/plain",
            "Allow: GET\r\n",
            "method not allowed\n",
        ))
    };
    match out {
        Some(bytes) => {
            let _ = tls.write_all(&bytes).await;
            let _ = tls.shutdown().await;
        }
        None => std::future::pending::<()>().await,
    }
}
