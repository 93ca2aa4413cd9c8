//! Bytes copied both ways between a client and a backend once HTTP is out of the way
//! (upgrades, passthrough), ended when either side closes or when nothing has moved for the
//! route's tunnel timeout (HAProxy's `timeout tunnel`, 1 h unless annotated).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// HAProxy's default `timeout tunnel`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

const BUFFER: usize = 16 * 1024;

/// Copies until both directions have ended, either fails, or `idle` passes without a byte;
/// returns the bytes copied from `a` to `b` and from `b` to `a`.
pub async fn splice<A, B>(a: A, b: B, idle: Duration) -> (u64, u64)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let (mut abuf, mut bbuf) = (vec![0_u8; BUFFER], vec![0_u8; BUFFER]);
    let (mut a_open, mut b_open) = (true, true);
    let (mut a_to_b, mut b_to_a) = (0_u64, 0_u64);
    while a_open || b_open {
        let moved = tokio::time::timeout(idle, async {
            tokio::select! {
                n = ar.read(&mut abuf), if a_open => match n {
                    Ok(0) | Err(_) => { a_open = false; bw.shutdown().await.is_ok() }
                    Ok(n) => {
                        a_to_b += n as u64;
                        bw.write_all(&abuf[..n]).await.is_ok()
                    }
                },
                n = br.read(&mut bbuf), if b_open => match n {
                    Ok(0) | Err(_) => { b_open = false; aw.shutdown().await.is_ok() }
                    Ok(n) => {
                        b_to_a += n as u64;
                        aw.write_all(&bbuf[..n]).await.is_ok()
                    }
                },
            }
        })
        .await;
        match moved {
            Ok(true) => {}
            // A write failed, or the tunnel was idle too long.
            Ok(false) | Err(_) => break,
        }
    }
    (a_to_b, b_to_a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_go_both_ways_and_idle_tunnels_end() {
        let (client, proxy_a) = tokio::io::duplex(64);
        let (proxy_b, mut server) = tokio::io::duplex(64);
        let task = tokio::spawn(splice(proxy_a, proxy_b, Duration::from_millis(200)));
        let (mut cr, mut cw) = tokio::io::split(client);
        cw.write_all(b"ping").await.unwrap();
        let mut got = [0_u8; 4];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        server.write_all(b"pong").await.unwrap();
        cr.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong");
        // Nothing more: the tunnel ends by itself, having counted what it copied.
        let copied = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(copied, (4, 4));
    }
}
