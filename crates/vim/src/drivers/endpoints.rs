//! Which addresses a VIM endpoint may have (`[vim_endpoints]`). Registering a VIM makes this
//! server call a URL the API client chose; these lists keep those calls away from networks
//! the operator names (by default the link-local ranges, where cloud metadata services
//! answer). Every address a host name resolves to is checked, when each connection is made,
//! so a name cannot resolve to an allowed address for a check and a denied one for the call;
//! an IP address written in the URL is checked before the call.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// An IP network, `address/prefix` (a bare address is the network of that one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP network (address/prefix)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl IpNetwork {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(net.into(), self.prefix, 128) == masked(ip.into(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:169.254.169.254`) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// `[vim_endpoints]`: an address is allowed when no `denied_networks` entry contains it and,
/// if `allowed_networks` is not empty, one of those does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// `allowed_networks` (list of networks, default empty: every address not denied).
    pub allowed: Vec<IpNetwork>,
    /// `denied_networks` (list of networks, default `169.254.0.0/16, fe80::/10`).
    pub denied: Vec<IpNetwork>,
}

impl Default for EndpointPolicy {
    fn default() -> Self {
        Self {
            allowed: Vec::new(),
            denied: DEFAULT_DENIED
                .iter()
                .map(|n| n.parse().expect("the default networks parse"))
                .collect(),
        }
    }
}

/// The default `denied_networks`: IPv4 and IPv6 link-local.
pub const DEFAULT_DENIED: [&str; 2] = ["169.254.0.0/16", "fe80::/10"];

impl EndpointPolicy {
    /// Why `ip` may not be called, if it may not.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        let ip = canonical(ip);
        if let Some(net) = self.denied.iter().find(|n| n.contains(ip)) {
            return Err(format!(
                "address {ip} is in {net}, denied to VIM endpoints ([vim_endpoints] denied_networks)"
            ));
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|n| n.contains(ip)) {
            return Err(format!(
                "address {ip} is not in [vim_endpoints] allowed_networks"
            ));
        }
        Ok(())
    }

    /// The check for a URL whose host is an IP address (a host name is checked when it is
    /// resolved); a URL that does not parse is left to the HTTP client to refuse.
    pub(crate) fn check_url(&self, url: &str) -> Result<(), String> {
        let Ok(url) = reqwest::Url::parse(url) else {
            return Ok(());
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }
}

/// The HTTP clients' resolver: the system's, keeping only addresses the policy allows; a name
/// with none left fails to resolve, naming the first refused address.
pub(crate) struct PolicyResolver(pub(crate) Arc<EndpointPolicy>);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refused.get_or_insert(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = refused.unwrap_or_else(|| format!("{host} has no address"));
                tracing::warn!(host, "VIM endpoint refused: {reason}");
                return Err(reason.into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_denies_link_local_only() {
        let p = EndpointPolicy::default();
        for denied in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "febf::1",
            "::ffff:169.254.169.254",
        ] {
            assert!(p.check(ip(denied)).is_err(), "{denied}");
        }
        for allowed in ["127.0.0.1", "10.0.0.1", "::1", "fec0::1", "169.253.255.255"] {
            assert!(p.check(ip(allowed)).is_ok(), "{allowed}");
        }
    }

    #[test]
    fn allowed_list_restricts_and_deny_wins() {
        let p = EndpointPolicy {
            allowed: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            denied: vec!["10.1.0.0/16".parse().unwrap()],
        };
        assert!(p.check(ip("10.2.3.4")).is_ok());
        assert!(p.check(ip("2001:db8::5")).is_ok());
        assert!(p.check(ip("10.1.2.3")).is_err());
        assert!(p.check(ip("192.168.1.1")).is_err());
        assert!(p.check(ip("127.0.0.1")).is_err());
    }

    #[test]
    fn networks_parse_and_refuse_nonsense() {
        assert_eq!(
            "0.0.0.0/0".parse::<IpNetwork>().unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert!("0.0.0.0/0"
            .parse::<IpNetwork>()
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert_eq!(
            "127.0.0.1".parse::<IpNetwork>().unwrap().to_string(),
            "127.0.0.1/32"
        );
        for bad in ["", "10.0.0.0/33", "fe80::/129", "host/8", "10.0.0.0/x"] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }

    #[test]
    fn url_with_an_ip_host_is_checked() {
        let p = EndpointPolicy::default();
        assert!(p.check_url("http://169.254.169.254/latest").is_err());
        assert!(p.check_url("http://[fe80::1]:8080/").is_err());
        assert!(p.check_url("http://127.0.0.1:6443").is_ok());
        assert!(p.check_url("http://metadata.internal/").is_ok());
    }
}
