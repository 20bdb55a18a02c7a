// Package allowedips is WireGuard's cryptokey routing table: a longest-prefix
// match from IPv4 and IPv6 addresses to the peer allowed to use them, used on
// send to choose the peer for a destination and on receive to check that a
// decrypted packet's source belongs to the peer that sent it.
//
// Each address family is a path-compressed binary trie of immutable nodes.
// Writers (Insert, Remove, RemoveByPeer) serialise on a mutex, copy the path
// from the root to the node they change, and publish the new root with one
// atomic store; the copied-over nodes become garbage. Lookups load the root
// atomically and never lock, block or allocate, so the data path runs
// concurrently with configuration changes and always sees either the table
// before or the table after each change, never a mix.
package allowedips

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// A node is one prefix in the trie. Nodes are never modified once reachable
// from a published root. A node without a peer is a branch point and always
// has two children; a node with a peer may have zero, one or two.
type node[P comparable] struct {
	child    [2]*node[P]
	hi, lo   uint64 // the prefix's address, host bits zero; IPv4 in hi's top 32 bits
	mhi, mlo uint64 // the prefix's mask
	bhi, blo uint64 // selects the bit after the prefix, which picks the child; zero for /128
	peer     P
	bits     uint8 // prefix length, counted on the 128-bit key
	hasPeer  bool
}

func newNode[P comparable](hi, lo uint64, n uint8) *node[P] {
	mhi, mlo := mask(n)
	nd := &node[P]{hi: hi & mhi, lo: lo & mlo, mhi: mhi, mlo: mlo, bits: n}
	switch {
	case n < 64:
		nd.bhi = 1 << (63 - n)
	case n < 128:
		nd.blo = 1 << (127 - n)
	}
	return nd
}

// mask returns the 128-bit mask of a prefix of length n.
func mask(n uint8) (hi, lo uint64) {
	if n <= 64 {
		return ^(^uint64(0) >> n), 0
	}
	return ^uint64(0), ^(^uint64(0) >> (n - 64))
}

// bitAt returns bit i (0 = most significant) of the key; i < 128.
func bitAt(hi, lo uint64, i uint8) int {
	if i < 64 {
		return int(hi>>(63-i)) & 1
	}
	return int(lo>>(127-i)) & 1
}

func commonBits(ahi, alo, bhi, blo uint64) uint8 {
	if x := ahi ^ bhi; x != 0 {
		return uint8(bits.LeadingZeros64(x))
	}
	return 64 + uint8(bits.LeadingZeros64(alo^blo))
}

// next returns the child that key falls under.
func (n *node[P]) next(hi, lo uint64) *node[P] {
	if hi&n.bhi|lo&n.blo != 0 {
		return n.child[1]
	}
	return n.child[0]
}

func (n *node[P]) contains(hi, lo uint64) bool {
	return (hi^n.hi)&n.mhi|(lo^n.lo)&n.mlo == 0
}

func lookup[P comparable](n *node[P], hi, lo uint64) (peer P, ok bool) {
	for n != nil && n.contains(hi, lo) {
		if n.hasPeer {
			peer, ok = n.peer, true
		}
		n = n.next(hi, lo)
	}
	return peer, ok
}

// find returns the node of exactly the prefix hi/lo/n, with or without a peer.
func find[P comparable](nd *node[P], hi, lo uint64, n uint8) *node[P] {
	for nd != nil && nd.bits <= n && nd.contains(hi, lo) {
		if nd.bits == n {
			return nd
		}
		nd = nd.next(hi, lo)
	}
	return nil
}

// insert returns a copy of the trie under nd with prefix hi/lo/n owned by peer.
func insert[P comparable](nd *node[P], hi, lo uint64, n uint8, peer P) *node[P] {
	if nd == nil {
		leaf := newNode[P](hi, lo, n)
		leaf.peer, leaf.hasPeer = peer, true
		return leaf
	}
	c := min(commonBits(nd.hi, nd.lo, hi, lo), nd.bits, n)
	if c == nd.bits {
		cp := *nd
		if nd.bits == n {
			cp.peer, cp.hasPeer = peer, true
		} else {
			b := bitAt(hi, lo, nd.bits)
			cp.child[b] = insert(nd.child[b], hi, lo, n, peer)
		}
		return &cp
	}
	leaf := newNode[P](hi, lo, n)
	leaf.peer, leaf.hasPeer = peer, true
	if c == n { // the new prefix contains nd
		leaf.child[bitAt(nd.hi, nd.lo, n)] = nd
		return leaf
	}
	branch := newNode[P](hi, lo, c)
	branch.child[bitAt(hi, lo, c)] = leaf
	branch.child[bitAt(nd.hi, nd.lo, c)] = nd
	return branch
}

// remove returns a copy of the trie under nd without prefix hi/lo/n, if peer
// owns it; otherwise nd and false.
func remove[P comparable](nd *node[P], hi, lo uint64, n uint8, peer P) (*node[P], bool) {
	if nd == nil || nd.bits > n || !nd.contains(hi, lo) {
		return nd, false
	}
	var cp node[P]
	if nd.bits == n {
		if !nd.hasPeer || nd.peer != peer {
			return nd, false
		}
		cp = *nd
		var zero P
		cp.peer, cp.hasPeer = zero, false
	} else {
		b := bitAt(hi, lo, nd.bits)
		c, ok := remove(nd.child[b], hi, lo, n, peer)
		if !ok {
			return nd, false
		}
		cp = *nd
		cp.child[b] = c
	}
	// Keep the invariant: a node without a peer is a branch of two.
	switch {
	case cp.hasPeer:
		return &cp, true
	case cp.child[0] == nil:
		return cp.child[1], true
	case cp.child[1] == nil:
		return cp.child[0], true
	}
	return &cp, true
}

// A Table maps address prefixes to peers. The zero value is an empty table
// ready to use. A Table must not be copied after first use.
//
// All methods are safe for concurrent use. Lookup, LookupAddr, LookupDst and
// CheckSrc are lock-free and allocation-free; the other methods serialise on
// an internal mutex and allocate.
//
// P must be a type whose values can be map keys without panicking (an
// interface type holding a slice would panic); pointers to peers are usual.
type Table[P comparable] struct {
	v4, v6 atomic.Pointer[node[P]]

	mu     sync.Mutex                      // held by writers
	byPeer map[P]map[netip.Prefix]struct{} // the prefixes each peer owns
}

// key returns the 128-bit trie key of a, its family's root, and its bit length.
func (t *Table[P]) key(a netip.Addr) (hi, lo uint64, root *atomic.Pointer[node[P]]) {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:])) << 32, 0, &t.v4
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), &t.v6
}

// Insert makes peer the owner of prefix, after clearing its host bits. If
// another peer owned exactly that prefix, it moves to peer. An invalid prefix
// is ignored. IPv4-mapped IPv6 prefixes are IPv6 prefixes: they do not match
// IPv4 addresses.
func (t *Table[P]) Insert(prefix netip.Prefix, peer P) {
	if !prefix.IsValid() {
		return
	}
	prefix = prefix.Masked()
	hi, lo, root := t.key(prefix.Addr())
	n := uint8(prefix.Bits()) // IPv4 keys sit in the top bits, so lengths carry over
	t.mu.Lock()
	defer t.mu.Unlock()
	r := root.Load()
	if old := find(r, hi, lo, n); old != nil && old.hasPeer {
		if old.peer == peer {
			return
		}
		t.unindex(old.peer, prefix)
	}
	root.Store(insert(r, hi, lo, n, peer))
	if t.byPeer == nil {
		t.byPeer = make(map[P]map[netip.Prefix]struct{})
	}
	set := t.byPeer[peer]
	if set == nil {
		set = make(map[netip.Prefix]struct{})
		t.byPeer[peer] = set
	}
	set[prefix] = struct{}{}
}

func (t *Table[P]) unindex(peer P, prefix netip.Prefix) {
	set := t.byPeer[peer]
	delete(set, prefix)
	if len(set) == 0 {
		delete(t.byPeer, peer)
	}
}

// Remove removes prefix (after clearing its host bits) if peer owns it, and
// reports whether it did.
func (t *Table[P]) Remove(prefix netip.Prefix, peer P) bool {
	if !prefix.IsValid() {
		return false
	}
	prefix = prefix.Masked()
	hi, lo, root := t.key(prefix.Addr())
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := remove(root.Load(), hi, lo, uint8(prefix.Bits()), peer)
	if !ok {
		return false
	}
	root.Store(r)
	t.unindex(peer, prefix)
	return true
}

// RemoveByPeer removes every prefix peer owns. Lookups see all of them go at
// once (per address family).
func (t *Table[P]) RemoveByPeer(peer P) {
	t.mu.Lock()
	defer t.mu.Unlock()
	set := t.byPeer[peer]
	if len(set) == 0 {
		return
	}
	r4, r6 := t.v4.Load(), t.v6.Load()
	for prefix := range set {
		hi, lo, root := t.key(prefix.Addr())
		if root == &t.v4 {
			r4, _ = remove(r4, hi, lo, uint8(prefix.Bits()), peer)
		} else {
			r6, _ = remove(r6, hi, lo, uint8(prefix.Bits()), peer)
		}
	}
	t.v4.Store(r4)
	t.v6.Store(r6)
	delete(t.byPeer, peer)
}

// EntriesForPeer calls fn with each prefix peer owns, IPv4 before IPv6, in
// ascending order of address and then of length, until fn returns false. It
// works on a snapshot taken first, so fn may modify the table.
func (t *Table[P]) EntriesForPeer(peer P, fn func(netip.Prefix) bool) {
	t.mu.Lock()
	set := t.byPeer[peer]
	prefixes := make([]netip.Prefix, 0, len(set))
	for p := range set {
		prefixes = append(prefixes, p)
	}
	t.mu.Unlock()
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	for _, p := range prefixes {
		if !fn(p) {
			return
		}
	}
}

// Lookup returns the peer owning the longest prefix that contains ip, a raw
// 4-byte IPv4 or 16-byte IPv6 address. Any other length finds nothing.
func (t *Table[P]) Lookup(ip []byte) (P, bool) {
	switch len(ip) {
	case 4:
		return lookup(t.v4.Load(), uint64(binary.BigEndian.Uint32(ip))<<32, 0)
	case 16:
		return lookup(t.v6.Load(), binary.BigEndian.Uint64(ip[:8]), binary.BigEndian.Uint64(ip[8:]))
	}
	var zero P
	return zero, false
}

// LookupAddr is Lookup for a netip.Addr. IPv4-mapped IPv6 addresses are
// looked up as IPv6; the zone is ignored.
func (t *Table[P]) LookupAddr(a netip.Addr) (P, bool) {
	if !a.IsValid() {
		var zero P
		return zero, false
	}
	hi, lo, root := t.key(a)
	return lookup(root.Load(), hi, lo)
}

// LookupDst returns the peer for the destination of an IPv4 or IPv6 packet,
// chosen by the version nibble. A packet too short for its header finds
// nothing.
func (t *Table[P]) LookupDst(packet []byte) (P, bool) {
	if len(packet) > 0 {
		switch packet[0] >> 4 {
		case 4:
			if len(packet) >= 20 {
				return t.Lookup(packet[16:20])
			}
		case 6:
			if len(packet) >= 40 {
				return t.Lookup(packet[24:40])
			}
		}
	}
	var zero P
	return zero, false
}

// CheckSrc reports whether the source address of an IPv4 or IPv6 packet
// routes to peer: the check every decrypted packet must pass before it is
// delivered. A packet too short for its header fails.
func (t *Table[P]) CheckSrc(packet []byte, peer P) bool {
	var (
		p  P
		ok bool
	)
	if len(packet) > 0 {
		switch packet[0] >> 4 {
		case 4:
			if len(packet) >= 20 {
				p, ok = t.Lookup(packet[12:16])
			}
		case 6:
			if len(packet) >= 40 {
				p, ok = t.Lookup(packet[8:24])
			}
		}
	}
	return ok && p == peer
}
