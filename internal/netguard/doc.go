// Package netguard owns the decision of which network addresses the broker
// may connect to on an agent's behalf, and the dialing that enforces it.
//
// It resolves a host once, checks every address it got against a Policy,
// and dials only the vetted IP literals, so a DNS answer that changes
// between check and connect (DNS rebinding) cannot steer a connection to
// an address that was never checked.
//
// # What is blocked
//
// Always, whatever the Policy says (class ClassMetadata): the cloud
// metadata and credential endpoints 169.254.169.254 (AWS, GCP, Azure, OCI,
// DigitalOcean…), fd00:ec2::254 (AWS IMDS over IPv6), 169.254.170.2 (ECS
// task credentials), 169.254.170.23 and fd00:ec2::23 (EKS Pod Identity
// agent), 100.100.100.200 (Alibaba Cloud), 168.63.129.16 (Azure
// WireServer), 192.0.0.192 (Oracle Cloud legacy metadata) and 169.254.0.23
// (Tencent Cloud). Neither Policy.AllowPrivate nor Policy.Allow can unblock
// them; ParseAllowlist rejects an entry naming one of them.
//
// By default, lifted by Policy.AllowPrivate or by an allowlist entry
// (class ClassPrivate): 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10 (CGN),
// 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24 (IETF protocol
// assignments, used for DS-Lite and the like), 192.168.0.0/16,
// 198.18.0.0/15 (benchmarking; also used by "fake-IP" local DNS proxies),
// and for IPv6 :: (unspecified), ::1, fe80::/10, fec0::/10 (deprecated
// site-local), fc00::/7 (ULA), 2001:2::/48 (benchmarking) and
// 64:ff9b:1::/48 (local-use NAT64, see below).
//
// By default, lifted only by an allowlist entry, never by AllowPrivate
// (class ClassReserved, addresses no legitimate upstream has): multicast
// 224.0.0.0/4 and ff00::/8, 255.255.255.255 and the rest of 240.0.0.0/4,
// the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32 and 3fff::/20, the discard-only 100::/64, and Teredo
// 2001::/32 (a deprecated tunnel whose addresses embed an obfuscated IPv4
// address, blocked whole rather than decoded).
//
// IPv6 addresses that embed an IPv4 address are checked twice: as IPv6,
// and through the embedded IPv4 address, so that any blocked IPv4 address
// is also blocked in its IPv4-mapped (::ffff:0:0/96), IPv4-compatible
// (::/96), IPv4-translated (::ffff:0:0:0/96), 6to4 (2002::/16) and NAT64
// (64:ff9b::/96) forms. Inside the local-use NAT64 prefix 64:ff9b:1::/48
// (RFC 8215) the length of the operator's prefix, and so the position of
// the IPv4 address, is unknown: decoding at every RFC 6052 position would
// block every address of a /96 deployment (the /48 decoding of
// 64:ff9b:1::a.b.c.d is 0.0.0.0). So that range is a ClassPrivate block
// as a whole, and once lifted (AllowPrivate, or an allowlist entry for
// it) only the metadata check looks inside: the address is blocked if its
// decoding at any of the /48, /56, /64 and /96 positions is a metadata
// endpoint.
//
// Each part is judged on its own: an allowlist entry is matched against
// the IPv6 address and, separately, against each embedded IPv4 address,
// so allowing 10.1.0.0/16 also allows ::ffff:10.1.2.3 and
// 64:ff9b::a01:203, while allowing 64:ff9b::/96 does not open NAT64 paths
// to blocked IPv4 addresses.
//
// A blocked destination is reported as a *BlockedError, which the proxy
// answers with 403 destination_blocked rather than a 502.
//
// The package reads no environment variables: the caller parses
// AGENT_VAULT_ALLOW_PRIVATE_RANGES and AGENT_VAULT_NETWORK_ALLOWLIST (the
// latter with ParseAllowlist) and builds a Policy.
package netguard
