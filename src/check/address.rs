//! `HOST[:PORT]` to a socket address. Literal addresses and `localhost` never touch a resolver,
//! so a static binary in an empty container can check itself.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Resolves `HOST[:PORT]`, with `default_port` when none is written.
pub async fn resolve(authority: &str, default_port: u16) -> Result<SocketAddr, String> {
    if authority.is_empty() {
        return Err("missing host".to_string());
    }
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port_text) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("unclosed [ in {authority:?}"))?;
            (host, rest.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port_text {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("invalid port {p:?}"))?,
        None => default_port,
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_and_localhost_need_no_resolver() {
        assert_eq!(
            resolve("127.0.0.1:8080", 0).await.unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            resolve("localhost", 80).await.unwrap(),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            resolve("[::1]:81", 0).await.unwrap(),
            "[::1]:81".parse().unwrap()
        );
        assert!(resolve("", 80).await.is_err());
        assert!(resolve("[::1:81", 0).await.is_err());
        assert!(resolve("127.0.0.1:99999", 0).await.is_err());
    }
}
