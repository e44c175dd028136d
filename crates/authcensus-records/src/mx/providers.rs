//! Mailbox-provider identification from MX host names (table-driven).
//!
//! The table maps host-name patterns of receiving MX hosts to a provider id.
//! Order matters: the first matching provider wins. Gateways (Proofpoint,
//! Mimecast, ...) are providers in their own right: the MX says who
//! receives the mail first, not who hosts the mailboxes behind it.

use super::table::HostPattern::{FirstLabel, Suffix};
use super::table::{Provider, ProviderIndex};

/// Mailbox providers and mail-security gateways, by MX host name.
pub static MAIL_PROVIDERS: &[Provider] = &[
    Provider {
        id: "google",
        name: "Google Workspace / Gmail",
        patterns: &[Suffix("google.com"), Suffix("googlemail.com")],
    },
    Provider {
        id: "microsoft",
        name: "Microsoft 365 / Exchange Online / Outlook.com",
        patterns: &[
            Suffix("protection.outlook.com"),
            Suffix("outlook.com"),
            Suffix("hotmail.com"),
            Suffix("outlook.cn"),
        ],
    },
    Provider {
        id: "proofpoint",
        name: "Proofpoint",
        patterns: &[
            Suffix("pphosted.com"),
            Suffix("ppe-hosted.com"),
            Suffix("ppops.net"),
        ],
    },
    Provider {
        id: "mimecast",
        name: "Mimecast",
        patterns: &[
            Suffix("mimecast.com"),
            Suffix("mimecast.co.za"),
            Suffix("mimecast-offshore.com"),
        ],
    },
    Provider {
        id: "cisco_ironport",
        name: "Cisco Secure Email (IronPort)",
        patterns: &[Suffix("iphmx.com")],
    },
    Provider {
        id: "barracuda",
        name: "Barracuda Email Security",
        patterns: &[Suffix("barracudanetworks.com"), Suffix("barracuda.com")],
    },
    Provider {
        id: "symantec",
        name: "Broadcom Symantec Email Security.cloud (MessageLabs)",
        patterns: &[Suffix("messagelabs.com")],
    },
    Provider {
        id: "forcepoint",
        name: "Forcepoint Email Security",
        patterns: &[Suffix("mailcontrol.com")],
    },
    Provider {
        id: "trend_micro",
        name: "Trend Micro Email Security",
        patterns: &[
            Suffix("trendmicro.eu"),
            Suffix("trendmicro.com"),
            Suffix("trendmicro.co.jp"),
        ],
    },
    Provider {
        id: "sophos",
        name: "Sophos Email",
        patterns: &[Suffix("sophos.com")],
    },
    Provider {
        id: "hornetsecurity",
        name: "Hornetsecurity",
        patterns: &[
            Suffix("hornetsecurity.com"),
            Suffix("hornetsecurity.ch"),
            Suffix("hornetsecurity.de"),
            Suffix("antispameurope.com"),
        ],
    },
    Provider {
        id: "seppmail",
        name: "SEPPmail Cloud",
        patterns: &[Suffix("seppmail.cloud")],
    },
    Provider {
        id: "amazon",
        name: "Amazon SES / WorkMail",
        patterns: &[FirstLabel {
            prefix: "inbound-smtp",
            suffix: "amazonaws.com",
        }],
    },
    Provider {
        id: "yahoo",
        name: "Yahoo Mail",
        patterns: &[Suffix("yahoodns.net"), Suffix("yahoo.com")],
    },
    Provider {
        id: "apple",
        name: "Apple iCloud Mail",
        patterns: &[Suffix("icloud.com"), Suffix("me.com")],
    },
    Provider {
        id: "zoho",
        name: "Zoho Mail",
        patterns: &[
            Suffix("zoho.com"),
            Suffix("zoho.eu"),
            Suffix("zoho.in"),
            Suffix("zoho.com.au"),
            Suffix("zoho.jp"),
            Suffix("zohomail.com"),
        ],
    },
    Provider {
        id: "fastmail",
        name: "Fastmail",
        patterns: &[Suffix("messagingengine.com")],
    },
    Provider {
        id: "proton",
        name: "Proton Mail",
        patterns: &[Suffix("protonmail.ch"), Suffix("proton.ch")],
    },
    Provider {
        id: "tutanota",
        name: "Tuta (Tutanota)",
        patterns: &[Suffix("tutanota.de")],
    },
    Provider {
        id: "mailbox_org",
        name: "mailbox.org",
        patterns: &[Suffix("mailbox.org")],
    },
    Provider {
        id: "yandex",
        name: "Yandex 360",
        patterns: &[Suffix("yandex.net"), Suffix("yandex.ru")],
    },
    Provider {
        id: "mail_ru",
        name: "Mail.ru / VK WorkSpace",
        patterns: &[Suffix("mail.ru")],
    },
    Provider {
        id: "cloudflare",
        name: "Cloudflare Email Routing",
        patterns: &[Suffix("mx.cloudflare.net")],
    },
    Provider {
        id: "mailgun",
        name: "Mailgun",
        patterns: &[Suffix("mailgun.org")],
    },
    Provider {
        id: "forwardemail",
        name: "Forward Email",
        patterns: &[Suffix("forwardemail.net")],
    },
    Provider {
        id: "improvmx",
        name: "ImprovMX",
        patterns: &[Suffix("improvmx.com")],
    },
    Provider {
        id: "godaddy",
        name: "GoDaddy (secureserver.net)",
        patterns: &[Suffix("secureserver.net")],
    },
    Provider {
        id: "ionos",
        name: "IONOS (1&1)",
        patterns: &[
            Suffix("ionos.de"),
            Suffix("ionos.com"),
            Suffix("ionos.co.uk"),
            Suffix("ionos.es"),
            Suffix("ionos.fr"),
            Suffix("ionos.it"),
            Suffix("kundenserver.de"),
            Suffix("1and1.com"),
            Suffix("1and1.co.uk"),
            Suffix("perfora.net"),
        ],
    },
    Provider {
        id: "ovh",
        name: "OVHcloud",
        patterns: &[Suffix("ovh.net"), Suffix("ovh.ca")],
    },
    Provider {
        id: "gandi",
        name: "Gandi",
        patterns: &[Suffix("gandi.net")],
    },
    Provider {
        id: "namecheap",
        name: "Namecheap Private Email",
        patterns: &[Suffix("privateemail.com"), Suffix("registrar-servers.com")],
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
        id: "iij",
        name: "IIJ",
        patterns: &[
            Suffix("iij.ad.jp"),
            Suffix("iijmio-mail.jp"),
            Suffix("iij.jp"),
        ],
    },
    Provider {
        id: "ntt",
        name: "NTT Communications (OCN)",
        patterns: &[Suffix("ocn.ne.jp"), Suffix("ocn.ad.jp")],
    },
    Provider {
        id: "kddi",
        name: "KDDI",
        patterns: &[
            Suffix("kddi.com"),
            Suffix("dion.ne.jp"),
            Suffix("kddi-webcommunications.com"),
        ],
    },
    Provider {
        id: "sakura",
        name: "SAKURA internet",
        patterns: &[Suffix("sakura.ne.jp"), Suffix("sakura.ad.jp")],
    },
    Provider {
        id: "xserver",
        name: "Xserver",
        patterns: &[Suffix("xserver.jp")],
    },
    Provider {
        id: "gmo",
        name: "GMO Internet (Onamae / ConoHa)",
        patterns: &[
            Suffix("gmoserver.jp"),
            Suffix("onamae.ne.jp"),
            Suffix("conoha.ne.jp"),
        ],
    },
    Provider {
        id: "kagoya",
        name: "KAGOYA",
        patterns: &[Suffix("kagoya.net"), Suffix("kagoya.com")],
    },
    Provider {
        id: "qq",
        name: "Tencent Exmail / QQ Mail",
        patterns: &[Suffix("qq.com")],
    },
    Provider {
        id: "netease",
        name: "NetEase Qiye Mail",
        patterns: &[Suffix("163.com"), Suffix("qiye.163.com")],
    },
    Provider {
        id: "aliyun",
        name: "Alibaba Mail",
        patterns: &[Suffix("aliyun.com"), Suffix("mxhichina.com")],
    },
];

/// The mailbox provider of one MX host name, if known.
pub fn mail_provider(mx_host: &str) -> Option<&'static Provider> {
    MAIL_INDEX.identify(mx_host)
}

/// [`MAIL_PROVIDERS`], indexed.
pub(crate) static MAIL_INDEX: std::sync::LazyLock<ProviderIndex> =
    std::sync::LazyLock::new(|| ProviderIndex::new(MAIL_PROVIDERS));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_mx_hosts() {
        let cases = [
            ("aspmx.l.google.com", Some("google")),
            ("ALT1.ASPMX.L.GOOGLE.COM.", Some("google")),
            ("aspmx2.googlemail.com", Some("google")),
            ("contoso-com.mail.protection.outlook.com", Some("microsoft")),
            ("mx0a-001234.pphosted.com", Some("proofpoint")),
            ("mx1-eu1.ppe-hosted.com", Some("proofpoint")),
            ("eu-smtp-inbound-1.mimecast.com", Some("mimecast")),
            ("mx1.hc1234-56.iphmx.com", Some("cisco_ironport")),
            ("d123.a.ess.barracudanetworks.com", Some("barracuda")),
            ("cluster1.eu.messagelabs.com", Some("symantec")),
            ("inbound-smtp.eu-west-1.amazonaws.com", Some("amazon")),
            ("ec2-192-0-2-1.compute-1.amazonaws.com", None),
            ("mta5.am0.yahoodns.net", Some("yahoo")),
            ("mx01.mail.icloud.com", Some("apple")),
            ("mx.zoho.eu", Some("zoho")),
            ("in1-smtp.messagingengine.com", Some("fastmail")),
            ("mail.protonmail.ch", Some("proton")),
            ("mail.tutanota.de", Some("tutanota")),
            ("route1.mx.cloudflare.net", Some("cloudflare")),
            (
                "mx-cluster01-hz13.hornetsecurity.ch",
                Some("hornetsecurity"),
            ),
            ("hydra.sophos.com", Some("sophos")),
            ("mx1.mail.ovh.net", Some("ovh")),
            ("mx00.ionos.de", Some("ionos")),
            ("smtp.secureserver.net", Some("godaddy")),
            ("mxa.mailgun.org", Some("mailgun")),
            ("mx.yandex.net", Some("yandex")),
            ("mxs.mail.ru", Some("mail_ru")),
            ("sv1234.xserver.jp", Some("xserver")),
            ("www123.sakura.ne.jp", Some("sakura")),
            ("mta-gw.infomaniak.ch", Some("infomaniak")),
            ("google.com.evil.example", None),
            ("notoutlook.com", None),
            ("", None),
        ];
        for (host, id) in cases {
            assert_eq!(mail_provider(host).map(|p| p.id), id, "{host}");
        }
    }

    #[test]
    fn ids_are_unique_snake_case() {
        let mut ids: Vec<&str> = MAIL_PROVIDERS.iter().map(|p| p.id).collect();
        assert!(
            ids.iter()
                .all(|i| i.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
