package allowedips

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

// oracle is the naive longest-prefix matcher: try every length, longest first.
type oracle map[netip.Prefix]int

func (o oracle) lookup(a netip.Addr) (int, bool) {
	for b := a.BitLen(); b >= 0; b-- {
		p, _ := a.Prefix(b)
		if peer, ok := o[p]; ok {
			return peer, true
		}
	}
	return 0, false
}

type op struct {
	remove bool
	prefix string
	peer   int
	want   bool // for remove: the result
}

type probe struct {
	addr string
	peer int
	ok   bool
}

func TestTable(t *testing.T) {
	tests := []struct {
		name   string
		ops    []op
		probes []probe
	}{
		{"empty", nil, []probe{{"1.2.3.4", 0, false}, {"::1", 0, false}}},
		{"v4 default route", []op{{prefix: "0.0.0.0/0", peer: 1}}, []probe{{"0.0.0.0", 1, true}, {"255.255.255.255", 1, true}, {"::", 0, false}}},
		{"v6 default route", []op{{prefix: "::/0", peer: 2}}, []probe{{"::", 2, true}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 2, true}, {"1.2.3.4", 0, false}}},
		{"zero peer value is a peer", []op{{prefix: "10.0.0.0/8", peer: 0}}, []probe{{"10.9.9.9", 0, true}, {"11.0.0.0", 0, false}}},
		{"host /32", []op{{prefix: "10.0.0.1/32", peer: 1}, {prefix: "10.0.0.0/24", peer: 2}},
			[]probe{{"10.0.0.1", 1, true}, {"10.0.0.0", 2, true}, {"10.0.0.2", 2, true}, {"10.0.1.1", 0, false}}},
		{"host /128", []op{{prefix: "2001:db8::1/128", peer: 1}, {prefix: "2001:db8::/32", peer: 2}},
			[]probe{{"2001:db8::1", 1, true}, {"2001:db8::", 2, true}, {"2001:db8::2", 2, true}, {"2001:db9::1", 0, false}}},
		{"host bits set are masked", []op{{prefix: "192.168.1.77/24", peer: 3}, {remove: true, prefix: "192.168.1.200/24", peer: 3, want: true}},
			[]probe{{"192.168.1.1", 0, false}}},
		{"host bits set v6", []op{{prefix: "2001:db8::ffff/64", peer: 3}}, []probe{{"2001:db8::1", 3, true}, {"2001:db8:0:1::", 0, false}}},
		{"longest prefix wins", []op{{prefix: "10.0.0.0/8", peer: 1}, {prefix: "10.1.0.0/16", peer: 2}, {prefix: "10.1.2.0/24", peer: 3}, {prefix: "10.1.2.128/25", peer: 4}},
			[]probe{{"10.0.0.1", 1, true}, {"10.1.0.1", 2, true}, {"10.1.2.1", 3, true}, {"10.1.2.200", 4, true}, {"10.2.2.200", 1, true}}},
		{"insert order does not matter", []op{{prefix: "10.1.2.128/25", peer: 4}, {prefix: "10.1.2.0/24", peer: 3}, {prefix: "10.1.0.0/16", peer: 2}, {prefix: "10.0.0.0/8", peer: 1}},
			[]probe{{"10.0.0.1", 1, true}, {"10.1.0.1", 2, true}, {"10.1.2.1", 3, true}, {"10.1.2.200", 4, true}}},
		{"reinsert moves prefix", []op{{prefix: "10.0.0.0/8", peer: 1}, {prefix: "10.0.0.0/8", peer: 2}, {remove: true, prefix: "10.0.0.0/8", peer: 1, want: false}},
			[]probe{{"10.1.1.1", 2, true}}},
		{"remove needs the owner", []op{{prefix: "10.0.0.0/8", peer: 1}, {remove: true, prefix: "10.0.0.0/8", peer: 2, want: false}, {remove: true, prefix: "10.0.0.0/9", peer: 1, want: false}},
			[]probe{{"10.1.1.1", 1, true}}},
		{"remove uncovers shorter prefix", []op{{prefix: "10.0.0.0/8", peer: 1}, {prefix: "10.1.0.0/16", peer: 2}, {remove: true, prefix: "10.1.0.0/16", peer: 2, want: true}},
			[]probe{{"10.1.1.1", 1, true}}},
		{"remove branch parent", []op{{prefix: "10.0.0.0/16", peer: 1}, {prefix: "10.0.0.0/24", peer: 2}, {prefix: "10.0.1.0/24", peer: 3}, {remove: true, prefix: "10.0.0.0/16", peer: 1, want: true}},
			[]probe{{"10.0.0.1", 2, true}, {"10.0.1.1", 3, true}, {"10.0.2.1", 0, false}}},
		{"remove absent", []op{{remove: true, prefix: "10.0.0.0/8", peer: 1, want: false}}, nil},
		{"v4-mapped v6 does not match v4", []op{{prefix: "0.0.0.0/0", peer: 1}, {prefix: "10.0.0.0/8", peer: 2}},
			[]probe{{"::ffff:10.0.0.1", 0, false}, {"10.0.0.1", 2, true}}},
		{"v4-mapped v6 prefix is v6", []op{{prefix: "::ffff:10.0.0.0/104", peer: 5}},
			[]probe{{"::ffff:10.0.0.1", 5, true}, {"10.0.0.1", 0, false}}},
		{"v4 does not match v6 ::/96", []op{{prefix: "::/96", peer: 6}}, []probe{{"::10.0.0.1", 6, true}, {"10.0.0.1", 0, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tab Table[int]
			for _, o := range tt.ops {
				if o.remove {
					if got := tab.Remove(pfx(o.prefix), o.peer); got != o.want {
						t.Fatalf("Remove(%s, %d) = %v, want %v", o.prefix, o.peer, got, o.want)
					}
				} else {
					tab.Insert(pfx(o.prefix), o.peer)
				}
				checkInvariants(t, &tab)
			}
			for _, p := range tt.probes {
				a := addr(p.addr)
				peer, ok := tab.LookupAddr(a)
				if peer != p.peer || ok != p.ok {
					t.Errorf("LookupAddr(%s) = %d, %v; want %d, %v", a, peer, ok, p.peer, p.ok)
				}
				raw := a.AsSlice()
				if peer2, ok2 := tab.Lookup(raw); peer2 != peer || ok2 != ok {
					t.Errorf("Lookup(%x) = %d, %v; LookupAddr gave %d, %v", raw, peer2, ok2, peer, ok)
				}
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	var tab Table[int]
	tab.Insert(netip.Prefix{}, 1)
	if tab.Remove(netip.Prefix{}, 1) {
		t.Error("Remove of invalid prefix succeeded")
	}
	tab.Insert(pfx("0.0.0.0/0"), 1)
	tab.Insert(pfx("::/0"), 1)
	for _, ip := range [][]byte{nil, {}, {1, 2, 3}, {1, 2, 3, 4, 5}, make([]byte, 15), make([]byte, 17)} {
		if _, ok := tab.Lookup(ip); ok {
			t.Errorf("Lookup(%x) found a peer", ip)
		}
	}
	if _, ok := tab.LookupAddr(netip.Addr{}); ok {
		t.Error("LookupAddr(zero Addr) found a peer")
	}
	if p, ok := tab.LookupAddr(addr("fe80::1%eth0")); !ok || p != 1 {
		t.Error("zoned address did not match ::/0")
	}
}

func TestPackets(t *testing.T) {
	var tab Table[int]
	tab.Insert(pfx("10.0.0.0/24"), 1)
	tab.Insert(pfx("10.0.1.0/24"), 2)
	tab.Insert(pfx("fd00::/64"), 3)
	tab.Insert(pfx("fd00:0:0:1::/64"), 4)

	v4 := func(src, dst string, n int) []byte {
		p := make([]byte, n)
		p[0] = 0x45
		if n >= 20 {
			copy(p[12:], addr(src).AsSlice())
			copy(p[16:], addr(dst).AsSlice())
		}
		return p
	}
	v6 := func(src, dst string, n int) []byte {
		p := make([]byte, n)
		p[0] = 0x60
		if n >= 40 {
			copy(p[8:], addr(src).AsSlice())
			copy(p[24:], addr(dst).AsSlice())
		}
		return p
	}
	tests := []struct {
		name    string
		packet  []byte
		dst     int
		dstOK   bool
		srcPeer int
		srcOK   bool
	}{
		{"v4", v4("10.0.0.5", "10.0.1.5", 20), 2, true, 1, true},
		{"v4 wrong source peer", v4("10.0.0.5", "10.0.1.5", 60), 2, true, 2, false},
		{"v4 unknown dst", v4("10.0.0.5", "10.9.1.5", 20), 0, false, 1, true},
		{"v4 short", v4("", "", 19), 0, false, 0, false},
		{"v6", v6("fd00::1", "fd00:0:0:1::1", 40), 4, true, 3, true},
		{"v6 wrong source peer", v6("fd00::1", "fd00:0:0:1::1", 1280), 4, true, 4, false},
		{"v6 short", v6("", "", 39), 0, false, 0, false},
		{"v6 source unknown", v6("fe80::1", "fd00::1", 40), 3, true, 0, false},
		{"empty", nil, 0, false, 0, false},
		{"bad version", []byte{0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 5, 10, 0, 1, 5}, 0, false, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, ok := tab.LookupDst(tt.packet); p != tt.dst || ok != tt.dstOK {
				t.Errorf("LookupDst = %d, %v; want %d, %v", p, ok, tt.dst, tt.dstOK)
			}
			if got := tab.CheckSrc(tt.packet, tt.srcPeer); got != tt.srcOK {
				t.Errorf("CheckSrc(peer %d) = %v, want %v", tt.srcPeer, got, tt.srcOK)
			}
		})
	}
}

func TestEntriesForPeer(t *testing.T) {
	var tab Table[int]
	in := []string{"fd00::/8", "10.0.0.0/8", "2001:db8::/32", "10.0.0.0/16", "1.2.3.4/32", "::/0", "10.0.0.0/24", "0.0.0.0/0"}
	for _, p := range in {
		tab.Insert(pfx(p), 7)
	}
	tab.Insert(pfx("10.0.0.0/16"), 8) // moved away from 7
	tab.Insert(pfx("172.16.0.0/12"), 8)
	want := []string{"0.0.0.0/0", "1.2.3.4/32", "10.0.0.0/8", "10.0.0.0/24", "::/0", "2001:db8::/32", "fd00::/8"}
	var got []string
	tab.EntriesForPeer(7, func(p netip.Prefix) bool { got = append(got, p.String()); return true })
	if !slices.Equal(got, want) {
		t.Fatalf("EntriesForPeer = %v, want %v", got, want)
	}
	got = got[:0]
	tab.EntriesForPeer(7, func(p netip.Prefix) bool { got = append(got, p.String()); return len(got) < 2 })
	if len(got) != 2 {
		t.Fatalf("EntriesForPeer did not stop: %v", got)
	}
	// fn may modify the table.
	tab.EntriesForPeer(8, func(p netip.Prefix) bool { tab.Remove(p, 8); return true })
	tab.RemoveByPeer(7)
	tab.EntriesForPeer(7, func(netip.Prefix) bool { t.Fatal("peer 7 still has entries"); return false })
	tab.EntriesForPeer(8, func(netip.Prefix) bool { t.Fatal("peer 8 still has entries"); return false })
	if tab.v4.Load() != nil || tab.v6.Load() != nil {
		t.Fatal("empty table has nodes")
	}
}

// checkInvariants walks the trie: children extend their parent's prefix on
// the right side, branch points without a peer have two children, and the
// per-peer index agrees with the trie.
func checkInvariants(t *testing.T, tab *Table[int]) {
	t.Helper()
	seen := map[netip.Prefix]int{}
	var walk func(n *node[int], v4 bool, parent *node[int], side int)
	walk = func(n *node[int], v4 bool, parent *node[int], side int) {
		if n == nil {
			return
		}
		if parent != nil {
			if n.bits <= parent.bits || !parent.contains(n.hi, n.lo) || bitAt(n.hi, n.lo, parent.bits) != side {
				t.Fatalf("node /%d misplaced under /%d side %d", n.bits, parent.bits, side)
			}
		}
		if want := newNode[int](n.hi, n.lo, n.bits); want.hi != n.hi || want.lo != n.lo || want.mhi != n.mhi || want.mlo != n.mlo || want.bhi != n.bhi || want.blo != n.blo {
			t.Fatalf("node /%d has inconsistent fields", n.bits)
		}
		if !n.hasPeer && (n.child[0] == nil || n.child[1] == nil) {
			t.Fatalf("peerless node /%d without two children", n.bits)
		}
		if n.hasPeer {
			var a netip.Addr
			if v4 {
				a = netip.AddrFrom4([4]byte{byte(n.hi >> 56), byte(n.hi >> 48), byte(n.hi >> 40), byte(n.hi >> 32)})
			} else {
				var b [16]byte
				for i := range 8 {
					b[i], b[8+i] = byte(n.hi>>(56-8*i)), byte(n.lo>>(56-8*i))
				}
				a = netip.AddrFrom16(b)
			}
			seen[netip.PrefixFrom(a, int(n.bits))] = n.peer
		}
		walk(n.child[0], v4, n, 0)
		walk(n.child[1], v4, n, 1)
	}
	walk(tab.v4.Load(), true, nil, 0)
	walk(tab.v6.Load(), false, nil, 0)
	n := 0
	for peer, set := range tab.byPeer {
		if len(set) == 0 {
			t.Fatalf("empty index set for peer %d", peer)
		}
		for p := range set {
			n++
			if got, ok := seen[p]; !ok || got != peer {
				t.Fatalf("index says %s is peer %d's; trie says %d, %v", p, peer, got, ok)
			}
		}
	}
	if n != len(seen) {
		t.Fatalf("index has %d prefixes, trie %d", n, len(seen))
	}
}

// randAddr returns an address near one of a few bases, so prefixes overlap.
func randAddr(rng *rand.Rand, v6 bool, bases []netip.Addr) netip.Addr {
	a := bases[rng.IntN(len(bases))]
	b := a.AsSlice()
	// Flip a few random bits, mostly low ones.
	for range rng.IntN(4) {
		i := len(b)*8 - 1 - rng.IntN(len(b)*8)
		if rng.IntN(2) == 0 {
			i = len(b)*8 - 1 - rng.IntN(12)
		}
		b[i/8] ^= 1 << (7 - i%8)
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

func TestRandomAgainstOracle(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v6=%v", v6), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(42, 7))
			var bases []netip.Addr
			for range 16 {
				if v6 {
					var b [16]byte
					for i := range b {
						b[i] = byte(rng.Uint32())
					}
					bases = append(bases, netip.AddrFrom16(b))
				} else {
					bases = append(bases, netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}))
				}
			}
			bitLen := 32
			if v6 {
				bitLen = 128
			}
			randPrefix := func() netip.Prefix {
				n := rng.IntN(bitLen + 1)
				if rng.IntN(2) == 0 { // favour long prefixes, where the bases differ
					n = bitLen - rng.IntN(bitLen/4)
				}
				p, _ := randAddr(rng, v6, bases).Prefix(n)
				return p
			}
			var tab Table[int]
			o := oracle{}
			var live []netip.Prefix
			check := func(round int) {
				checkInvariants(t, &tab)
				for range 1000 {
					a := randAddr(rng, v6, bases)
					want, wok := o.lookup(a)
					got, gok := tab.Lookup(a.AsSlice())
					if got != want || gok != wok {
						t.Fatalf("round %d: Lookup(%s) = %d, %v; want %d, %v", round, a, got, gok, want, wok)
					}
				}
			}
			for round := range 8 {
				for range 1000 {
					switch r := rng.IntN(200); {
					case r < 130 || len(live) == 0: // insert or move
						p, peer := randPrefix(), rng.IntN(50)
						if _, ok := o[p]; !ok {
							live = append(live, p)
						}
						o[p] = peer
						tab.Insert(p, peer)
					case r < 199: // remove, by the right peer or a wrong one
						i := rng.IntN(len(live))
						p := live[i]
						peer := o[p]
						if rng.IntN(4) == 0 {
							peer = rng.IntN(50)
						}
						want := o[p] == peer
						if got := tab.Remove(p, peer); got != want {
							t.Fatalf("Remove(%s, %d) = %v, want %v", p, peer, got, want)
						}
						if want {
							delete(o, p)
							live[i] = live[len(live)-1]
							live = live[:len(live)-1]
						}
					default: // a peer leaves
						peer := rng.IntN(50)
						tab.RemoveByPeer(peer)
						live = slices.DeleteFunc(live, func(p netip.Prefix) bool {
							if o[p] == peer {
								delete(o, p)
								return true
							}
							return false
						})
					}
				}
				check(round)
			}
			t.Logf("%d prefixes live at the end", len(o))
			if len(o) < 500 {
				t.Fatalf("only %d prefixes live; the test is too weak", len(o))
			}
			for peer := range 50 {
				tab.RemoveByPeer(peer)
			}
			if tab.v4.Load() != nil || tab.v6.Load() != nil || len(tab.byPeer) != 0 {
				t.Fatal("table not empty after removing every peer")
			}
		})
	}
}

// TestConcurrent runs lookups against updates; under -race it checks that
// lookups need no lock, and it checks that readers never see a half-made
// change: a stable route never disappears, and a churned one is always one
// of its two owners.
func TestConcurrent(t *testing.T) {
	var tab Table[int]
	tab.Insert(pfx("10.0.0.0/8"), 1)
	tab.Insert(pfx("2001:db8::/32"), 1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Go(func() {
			stable := [][]byte{addr("10.1.2.3").AsSlice(), addr("2001:db8::1").AsSlice()}
			churn := addr("192.168.1.1").AsSlice()
			for i := 0; !stop.Load(); i++ {
				if p, ok := tab.Lookup(stable[i%2]); !ok || p != 1 {
					t.Errorf("reader %d: stable route lost: %d, %v", r, p, ok)
					return
				}
				if p, ok := tab.Lookup(churn); ok && p != 2 && p != 3 {
					t.Errorf("reader %d: churned route has peer %d", r, p)
					return
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(rng.IntN(4)), byte(rng.Uint32())}), 16+rng.IntN(17))
		q := netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, byte(rng.IntN(4)), 15: byte(i)}), 8+rng.IntN(121))
		peer := 2 + i%2
		switch i % 3 {
		case 0, 1:
			tab.Insert(p, peer)
			tab.Insert(q, peer)
		default:
			tab.Remove(p.Masked(), peer)
			tab.RemoveByPeer(peer)
		}
	}
	stop.Store(true)
	wg.Wait()
	checkInvariants(t, &tab)
}

// benchTable returns a table of n random prefixes (lengths as in real
// configurations: mostly hosts and /24s or /64s) and addresses to look up,
// half of which hit.
func benchTable(n int, v6 bool) (*Table[*int], [][]byte) {
	rng := rand.New(rand.NewPCG(3, 4))
	var tab Table[*int]
	peers := make([]*int, 100)
	for i := range peers {
		peers[i] = new(int)
	}
	var ips [][]byte
	for i := range n {
		var a netip.Addr
		var bitsChoices []int
		if v6 {
			var b [16]byte
			b[0] = 0xfd
			for j := 1; j < 16; j++ {
				b[j] = byte(rng.Uint32())
			}
			a = netip.AddrFrom16(b)
			bitsChoices = []int{128, 128, 64, 48}
		} else {
			a = netip.AddrFrom4([4]byte{10, byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
			bitsChoices = []int{32, 32, 24, 16}
		}
		p, _ := a.Prefix(bitsChoices[rng.IntN(len(bitsChoices))])
		tab.Insert(p, peers[i%len(peers)])
		if i%8 == 0 {
			ips = append(ips, a.AsSlice())
			b := a.AsSlice()
			b[len(b)-1] ^= 0x55
			ips = append(ips, b)
		}
	}
	return &tab, ips
}

func BenchmarkLookup(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		name := "v4"
		if v6 {
			name = "v6"
		}
		tab, ips := benchTable(10000, v6)
		b.Run(name+"/10k", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tab.Lookup(ips[i%len(ips)])
			}
		})
	}
}

func BenchmarkLookupParallelWithUpdates(b *testing.B) {
	tab, ips := benchTable(10000, false)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		p, peer := pfx("172.16.0.0/24"), new(int)
		for !stop.Load() {
			tab.Insert(p, peer)
			tab.Remove(p, peer)
		}
	}()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			tab.Lookup(ips[i%len(ips)])
		}
	})
	stop.Store(true)
	<-done
}

func BenchmarkLookupDst(b *testing.B) {
	tab, ips := benchTable(10000, false)
	packets := make([][]byte, len(ips))
	for i, ip := range ips {
		p := make([]byte, 20)
		p[0] = 0x45
		copy(p[16:], ip)
		packets[i] = p
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tab.LookupDst(packets[i%len(packets)])
	}
}

func BenchmarkInsert(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchTable(1000, false)
	}
}
