//! Addresses: the client address a host reports (`get_source_addr`) and CIDR allow-lists.
//!
//! Hosts report the source as `ip:port` (`127.0.0.1:53122`, `[::1]:53122`); a bare IP is
//! accepted too. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) match IPv4 networks.

use std::net::IpAddr;

/// Parses a source address as reported by a host: `ip:port`, `[ipv6]:port`, or a bare IP.
pub fn parse_source_addr(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(unmap(ip));
    }
    if let Some(rest) = t.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse().ok().map(unmap);
    }
    let (ip, _port) = t.rsplit_once(':')?;
    ip.parse().ok().map(unmap)
}

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An IP network (`10.0.0.0/8`, `2001:db8::/32`; a bare IP is a host network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ip/prefix` or a bare `ip`; `None` when malformed or the prefix is too long.
    pub fn parse(text: &str) -> Option<Cidr> {
        let t = text.trim();
        let (ip, prefix) = match t.split_once('/') {
            Some((ip, p)) => (ip, Some(p.parse::<u8>().ok()?)),
            None => (t, None),
        };
        let addr = unmap(ip.parse::<IpAddr>().ok()?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// True when `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, unmap(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses() {
        let v4: IpAddr = "127.0.0.1".parse().expect("ip");
        let v6: IpAddr = "::1".parse().expect("ip");
        assert_eq!(parse_source_addr("127.0.0.1:53122"), Some(v4));
        assert_eq!(parse_source_addr("127.0.0.1"), Some(v4));
        assert_eq!(parse_source_addr("[::1]:80"), Some(v6));
        assert_eq!(parse_source_addr("::1"), Some(v6));
        assert_eq!(parse_source_addr("[::ffff:127.0.0.1]:9"), Some(v4));
        assert_eq!(parse_source_addr(""), None);
        assert_eq!(parse_source_addr("example.com:80"), None);
    }

    #[test]
    fn networks() {
        let net = Cidr::parse("10.1.0.0/16").expect("cidr");
        assert!(net.contains("10.1.255.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("ip")));
        let odd = Cidr::parse("192.168.0.0/23").expect("cidr");
        assert!(odd.contains("192.168.1.7".parse().expect("ip")));
        assert!(!odd.contains("192.168.2.7".parse().expect("ip")));
        let host = Cidr::parse("127.0.0.1").expect("cidr");
        assert!(host.contains("127.0.0.1".parse().expect("ip")));
        assert!(!host.contains("127.0.0.2".parse().expect("ip")));
        let all = Cidr::parse("0.0.0.0/0").expect("cidr");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        assert!(!all.contains("::1".parse().expect("ip")));
        let v6 = Cidr::parse("2001:db8::/32").expect("cidr");
        assert!(v6.contains("2001:db8:1::1".parse().expect("ip")));
        for bad in ["10.0.0.0/33", "::/129", "nope", "10.0.0.0/x", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
