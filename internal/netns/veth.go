package netns

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"strconv"
)

// Veth is a veth pair joining two namespaces, each end up and addressed in
// a random /24 of 10.250.0.0/16 and a random /64 of fd99::/16:
// end A is .1 and ::1, end B is .2 and ::2.
type Veth struct {
	A, B         *Namespace
	NameA, NameB string // the interface in A and in B

	// Addresses with their prefix lengths, as given to `ip addr add`.
	A4, B4, A6, B6 netip.Prefix

	// Queues is the number of rx and tx queues of each end (1 unless
	// VethQueues said otherwise).
	Queues int
	// MTU of both ends (0: the kernel's default, 1500, unless VethMTU
	// said otherwise).
	MTU int
}

// VethOption changes how NewVeth makes the pair.
type VethOption func(*Veth)

// VethQueues gives each end n receive and n transmit queues
// (`ip link add ... numrxqueues n numtxqueues n`), as AF_XDP tests with one
// socket per queue need; veth has one of each by default, and `ethtool -L`
// can only lower the count afterwards. Both ends get the same count, since
// native XDP on an end needs at least as many rx queues as its peer has tx
// queues.
func VethQueues(n int) VethOption {
	return func(v *Veth) { v.Queues = max(1, n) }
}

// VethMTU sets both ends' MTU to mtu (`ip link set ... mtu`), e.g. 9000
// for jumbo-frame tests.
func VethMTU(mtu int) VethOption {
	return func(v *Veth) { v.MTU = mtu }
}

// NewVeth creates a veth pair between a and b and addresses both ends. IPv6
// addresses are added with nodad, so they are usable at once. The pair goes
// away with either namespace.
func NewVeth(a, b *Namespace, opts ...VethOption) (*Veth, error) {
	var r [3]byte
	rand.Read(r[:])
	id := RandomName("vx", 8)
	v := &Veth{
		A: a, B: b,
		NameA: id + "a", NameB: id + "b",
		A4:     netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, r[0], 1}), 24),
		B4:     netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, r[0], 2}), 24),
		A6:     netip.PrefixFrom(v6(r[1], r[2], 1), 64),
		B6:     netip.PrefixFrom(v6(r[1], r[2], 2), 64),
		Queues: 1,
	}
	for _, o := range opts {
		o(v)
	}
	var queues []string
	if v.Queues > 1 {
		q := strconv.Itoa(v.Queues)
		queues = []string{"numrxqueues", q, "numtxqueues", q}
	}
	// Created inside a with its peer put straight into b: neither end is
	// ever in the caller's namespace.
	args := append([]string{"link", "add", v.NameA}, queues...)
	args = append(append(append(args, "type", "veth", "peer", "name", v.NameB), queues...), "netns", b.Name)
	if _, err := a.Run("ip", args...); err != nil {
		return nil, err
	}
	for _, end := range []struct {
		ns     *Namespace
		dev    string
		p4, p6 netip.Prefix
	}{{a, v.NameA, v.A4, v.A6}, {b, v.NameB, v.B4, v.B6}} {
		cmds := [][]string{
			{"addr", "add", end.p4.String(), "dev", end.dev},
			{"addr", "add", end.p6.String(), "dev", end.dev, "nodad"},
			{"link", "set", end.dev, "up"},
		}
		if v.MTU != 0 {
			cmds = append([][]string{{"link", "set", end.dev, "mtu", strconv.Itoa(v.MTU)}}, cmds...)
		}
		for _, args := range cmds {
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
