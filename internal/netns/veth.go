package netns

import (
	"crypto/rand"
	"fmt"
	"net/netip"
)

// Veth is a veth pair joining two namespaces, each end up and addressed in
// a random /24 of 10.250.0.0/16 and a random /64 of fd99::/16:
// end A is .1 and ::1, end B is .2 and ::2.
type Veth struct {
	A, B         *Namespace
	NameA, NameB string // the interface in A and in B

	// Addresses with their prefix lengths, as given to `ip addr add`.
	A4, B4, A6, B6 netip.Prefix
}

// NewVeth creates a veth pair between a and b and addresses both ends. IPv6
// addresses are added with nodad, so they are usable at once. The pair goes
// away with either namespace.
func NewVeth(a, b *Namespace) (*Veth, error) {
	var r [3]byte
	rand.Read(r[:])
	id := RandomName("vx", 8)
	v := &Veth{
		A: a, B: b,
		NameA: id + "a", NameB: id + "b",
		A4: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, r[0], 1}), 24),
		B4: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, r[0], 2}), 24),
		A6: netip.PrefixFrom(v6(r[1], r[2], 1), 64),
		B6: netip.PrefixFrom(v6(r[1], r[2], 2), 64),
	}
	// Created inside a with its peer put straight into b: neither end is
	// ever in the caller's namespace.
	if _, err := a.Run("ip", "link", "add", v.NameA, "type", "veth", "peer", "name", v.NameB, "netns", b.Name); err != nil {
		return nil, err
	}
	for _, end := range []struct {
		ns     *Namespace
		dev    string
		p4, p6 netip.Prefix
	}{{a, v.NameA, v.A4, v.A6}, {b, v.NameB, v.B4, v.B6}} {
		for _, args := range [][]string{
			{"addr", "add", end.p4.String(), "dev", end.dev},
			{"addr", "add", end.p6.String(), "dev", end.dev, "nodad"},
			{"link", "set", end.dev, "up"},
		} {
			if _, err := end.ns.Run("ip", args...); err != nil {
				return nil, fmt.Errorf("veth %s: %w", end.dev, err)
			}
		}
	}
	return v, nil
}

func v6(hi, lo, host byte) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x99, 2: hi, 3: lo, 15: host})
}
