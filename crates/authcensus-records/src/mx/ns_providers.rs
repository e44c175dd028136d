//! DNS-hosting-provider identification from NS host names (table-driven,
//! same style as [`super::providers`]).

use super::table::HostPattern::{FirstLabel, LabelPrefix, Suffix};
use super::table::{Provider, ProviderIndex};

/// DNS hosting providers, by authoritative name-server host name.
pub static DNS_PROVIDERS: &[Provider] = &[
    Provider {
        id: "cloudflare",
        name: "Cloudflare DNS",
        patterns: &[
            Suffix("ns.cloudflare.com"),
            Suffix("foundationdns.com"),
            Suffix("foundationdns.net"),
            Suffix("foundationdns.org"),
        ],
    },
    Provider {
        id: "route53",
        name: "Amazon Route 53",
        patterns: &[LabelPrefix("awsdns-")],
    },
    Provider {
        id: "azure",
        name: "Azure DNS",
        patterns: &[
            Suffix("azure-dns.com"),
            Suffix("azure-dns.net"),
            Suffix("azure-dns.org"),
            Suffix("azure-dns.info"),
        ],
    },
    Provider {
        id: "google_cloud",
        name: "Google Cloud DNS",
        patterns: &[FirstLabel {
            prefix: "ns-cloud-",
            suffix: "googledomains.com",
        }],
    },
    Provider {
        id: "google_domains",
        name: "Google Domains / Squarespace",
        patterns: &[Suffix("googledomains.com"), Suffix("squarespacedns.com")],
    },
    Provider {
        id: "godaddy",
        name: "GoDaddy",
        patterns: &[Suffix("domaincontrol.com")],
    },
    Provider {
        id: "ns1",
        name: "NS1 (IBM)",
        patterns: &[Suffix("nsone.net")],
    },
    Provider {
        id: "ultradns",
        name: "Vercara UltraDNS",
        patterns: &[
            Suffix("ultradns.com"),
            Suffix("ultradns.net"),
            Suffix("ultradns.org"),
            Suffix("ultradns.biz"),
            Suffix("ultradns.info"),
            Suffix("ultradns.co.uk"),
        ],
    },
    Provider {
        id: "akamai",
        name: "Akamai Edge DNS",
        patterns: &[Suffix("akam.net"), Suffix("akamaiedge.net")],
    },
    Provider {
        id: "dyn",
        name: "Oracle Dyn",
        patterns: &[Suffix("dynect.net")],
    },
    Provider {
        id: "dnsimple",
        name: "DNSimple",
        patterns: &[
            Suffix("dnsimple.com"),
            Suffix("dnsimple-edge.net"),
            Suffix("dnsimple-edge.org"),
        ],
    },
    Provider {
        id: "dnsmadeeasy",
        name: "DNS Made Easy",
        patterns: &[Suffix("dnsmadeeasy.com")],
    },
    Provider {
        id: "cscglobal",
        name: "CSC",
        patterns: &[Suffix("cscdns.net")],
    },
    Provider {
        id: "markmonitor",
        name: "MarkMonitor",
        patterns: &[Suffix("markmonitor.com")],
    },
    Provider {
        id: "gandi",
        name: "Gandi",
        patterns: &[Suffix("gandi.net")],
    },
    Provider {
        id: "ovh",
        name: "OVHcloud",
        patterns: &[Suffix("ovh.net"), Suffix("ovh.ca"), Suffix("anycast.me")],
    },
    Provider {
        id: "ionos",
        name: "IONOS",
        patterns: &[
            Suffix("ui-dns.com"),
            Suffix("ui-dns.de"),
            Suffix("ui-dns.org"),
            Suffix("ui-dns.biz"),
        ],
    },
    Provider {
        id: "hetzner",
        name: "Hetzner",
        patterns: &[
            Suffix("hetzner.com"),
            Suffix("hetzner.de"),
            Suffix("your-server.de"),
            Suffix("first-ns.de"),
            Suffix("second-ns.de"),
            Suffix("second-ns.com"),
        ],
    },
    Provider {
        id: "digitalocean",
        name: "DigitalOcean",
        patterns: &[Suffix("digitalocean.com")],
    },
    Provider {
        id: "linode",
        name: "Akamai Linode",
        patterns: &[Suffix("linode.com")],
    },
    Provider {
        id: "vultr",
        name: "Vultr",
        patterns: &[Suffix("vultr.com")],
    },
    Provider {
        id: "namecheap",
        name: "Namecheap",
        patterns: &[Suffix("registrar-servers.com")],
    },
    Provider {
        id: "porkbun",
        name: "Porkbun",
        patterns: &[Suffix("porkbun.com")],
    },
    Provider {
        id: "name_com",
        name: "Name.com",
        patterns: &[Suffix("name.com")],
    },
    Provider {
        id: "hostinger",
        name: "Hostinger",
        patterns: &[Suffix("dns-parking.com")],
    },
    Provider {
        id: "wix",
        name: "Wix",
        patterns: &[Suffix("wixdns.net")],
    },
    Provider {
        id: "vercel",
        name: "Vercel",
        patterns: &[Suffix("vercel-dns.com")],
    },
    Provider {
        id: "he",
        name: "Hurricane Electric",
        patterns: &[Suffix("he.net")],
    },
    Provider {
        id: "easydns",
        name: "easyDNS",
        patterns: &[
            Suffix("easydns.com"),
            Suffix("easydns.net"),
            Suffix("easydns.org"),
            Suffix("easydns.info"),
        ],
    },
    Provider {
        id: "cloudns",
        name: "ClouDNS",
        patterns: &[Suffix("cloudns.net")],
    },
    Provider {
        id: "infomaniak",
        name: "Infomaniak",
        patterns: &[Suffix("infomaniak.ch"), Suffix("infomaniak.com")],
    },
    Provider {
        id: "hostpoint",
        name: "Hostpoint",
        patterns: &[Suffix("hostpoint.ch")],
    },
    Provider {
        id: "strato",
        name: "STRATO",
        patterns: &[Suffix("rzone.de"), Suffix("strato.de")],
    },
    Provider {
        id: "sakura",
        name: "SAKURA internet",
        patterns: &[
            Suffix("dns.ne.jp"),
            Suffix("sakura.ne.jp"),
            Suffix("sakura.ad.jp"),
        ],
    },
    Provider {
        id: "xserver",
        name: "Xserver",
        patterns: &[Suffix("xserver.jp")],
    },
    Provider {
        id: "gmo_onamae",
        name: "GMO Onamae.com",
        patterns: &[
            Suffix("dnsv.jp"),
            Suffix("onamae.com"),
            Suffix("gmoserver.jp"),
        ],
    },
    Provider {
        id: "kagoya",
        name: "KAGOYA",
        patterns: &[Suffix("kagoya.net"), Suffix("kagoya.com")],
    },
    Provider {
        id: "value_domain",
        name: "VALUE-DOMAIN (GMO Digirock)",
        patterns: &[Suffix("value-domain.com")],
    },
    Provider {
        id: "iij",
        name: "IIJ",
        patterns: &[Suffix("iij.ad.jp")],
    },
    Provider {
        id: "ntt",
        name: "NTT Communications (OCN)",
        patterns: &[Suffix("ocn.ad.jp"), Suffix("ocn.ne.jp")],
    },
    Provider {
        id: "kddi",
        name: "KDDI",
        patterns: &[Suffix("kddi.com"), Suffix("dion.ne.jp")],
    },
    Provider {
        id: "yandex",
        name: "Yandex",
        patterns: &[Suffix("yandex.net"), Suffix("yandex.ru")],
    },
    Provider {
        id: "reg_ru",
        name: "REG.RU",
        patterns: &[Suffix("reg.ru")],
    },
    Provider {
        id: "nic_ru",
        name: "RU-CENTER",
        patterns: &[Suffix("nic.ru")],
    },
    Provider {
        id: "alidns",
        name: "Alibaba Cloud DNS",
        patterns: &[Suffix("alidns.com"), Suffix("hichina.com")],
    },
    Provider {
        id: "dnspod",
        name: "Tencent DNSPod",
        patterns: &[Suffix("dnspod.net"), Suffix("dnspod.com")],
    },
];

/// The DNS hosting provider of one NS host name, if known.
pub fn dns_provider(ns_host: &str) -> Option<&'static Provider> {
    DNS_INDEX.identify(ns_host)
}

/// The distinct DNS hosting providers of a domain's NS set, in order of
/// first appearance.
pub fn dns_providers<S: AsRef<str>>(ns_hosts: &[S]) -> Vec<&'static Provider> {
    DNS_INDEX.identify_all(ns_hosts)
}

/// [`DNS_PROVIDERS`], indexed.
static DNS_INDEX: std::sync::LazyLock<ProviderIndex> =
    std::sync::LazyLock::new(|| ProviderIndex::new(DNS_PROVIDERS));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ns_hosts() {
        let cases = [
            ("kara.ns.cloudflare.com", Some("cloudflare")),
            ("ns-1234.awsdns-12.org", Some("route53")),
            ("ns-567.awsdns-07.co.uk.", Some("route53")),
            ("ns1-01.azure-dns.com", Some("azure")),
            ("ns-cloud-a1.googledomains.com", Some("google_cloud")),
            ("ns1.googledomains.com", Some("google_domains")),
            ("ns01.domaincontrol.com", Some("godaddy")),
            ("dns1.p01.nsone.net", Some("ns1")),
            ("pdns196.ultradns.com", Some("ultradns")),
            ("a1-64.akam.net", Some("akamai")),
            ("ns1.dnsimple.com", Some("dnsimple")),
            ("ns-123-a.gandi.net", Some("gandi")),
            ("dns10.ovh.net", Some("ovh")),
            ("ns1045.ui-dns.de", Some("ionos")),
            ("hydrogen.ns.hetzner.com", Some("hetzner")),
            ("ns1.digitalocean.com", Some("digitalocean")),
            ("dns1.registrar-servers.com", Some("namecheap")),
            ("ns1.dns.ne.jp", Some("sakura")),
            ("ns1.xserver.jp", Some("xserver")),
            ("01.dnsv.jp", Some("gmo_onamae")),
            ("dns01.kagoya.net", Some("kagoya")),
            ("ns1.value-domain.com", Some("value_domain")),
            ("ns.iij.ad.jp", Some("iij")),
            ("ns1.example.com", None),
            ("awsdns-1.example", None),
        ];
        for (host, id) in cases {
            assert_eq!(dns_provider(host).map(|p| p.id), id, "{host}");
        }
        let ids: Vec<&str> = dns_providers(&[
            "a.ns.cloudflare.com",
            "b.ns.cloudflare.com",
            "ns-1.awsdns-1.net",
        ])
        .iter()
        .map(|p| p.id)
        .collect();
        assert_eq!(ids, ["cloudflare", "route53"]);
    }
}
