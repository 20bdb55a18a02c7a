package chacha20poly1305

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzBatch compares every usable implementation's sealBatch and openBatch
// with x/crypto on a batch the input describes: up to 24 packets of mixed
// sizes and keys, so that the multi-buffer lanes fill, overflow and mix
// short and long packets, one of them tampered with.
func FuzzBatch(f *testing.F) {
	f.Add([]byte{16, 64, 0, 64, 1, 64, 2, 64, 3}, uint64(1))
	f.Add([]byte{7, 0, 0, 1, 1, 63, 2, 65, 0, 128, 1, 200, 2, 255, 3}, uint64(2))
	f.Add(bytes.Repeat([]byte{24, 191, 5}, 9), uint64(3))
	// Packets of one length and AD length (13 bytes), as the multi-buffer
	// path hashes in pairs.
	f.Add(append([]byte{9}, bytes.Repeat([]byte{37, 52, 37, 53}, 5)...), uint64(4))
	f.Fuzz(func(t *testing.T, desc []byte, seed uint64) {
		if len(desc) == 0 {
			return
		}
		r := newRand(seed)
		count := int(desc[0]) % 25
		desc = desc[1:]
		keys := [4][32]byte{}
		for i := range keys {
			copy(keys[i][:], randBytes(r, 32))
		}
		type pkt struct {
			key      *[32]byte
			nonce    [12]byte
			pt, ad   []byte
			sealed   []byte
			tampered bool
		}
		pkts := make([]pkt, count)
		for i := range pkts {
			n, k := 0, 0
			if 2*i+1 < len(desc) {
				n = int(desc[2*i]) * (1 + int(desc[2*i+1]>>6)) // up to 1020 bytes
				k = int(desc[2*i+1])
			}
			p := &pkts[i]
			p.key = &keys[k%4]
			binary.LittleEndian.PutUint64(p.nonce[4:], r.Uint64())
			p.pt, p.ad = randBytes(r, n), randBytes(r, (k>>2)%20)
			p.sealed = xSeal(t, p.key[:], p.nonce[:], p.pt, p.ad)
			p.tampered = int(seed%uint64(count+1)) == i
		}
		for _, i := range table.Usable() {
			ops := make([]Op, count)
			for j, p := range pkts {
				slot := make([]byte, len(p.pt)+Overhead)
				copy(slot, p.pt)
				ops[j] = Op{Key: p.key, Nonce: p.nonce, AD: p.ad, In: slot[:len(p.pt)], Out: slot}
			}
			i.Fn.sealBatch(ops)
			for j, p := range pkts {
				if !ops[j].OK || !bytes.Equal(ops[j].Out, p.sealed) {
					t.Fatalf("%s: op %d (n=%d): sealBatch differs from x/crypto", i.Name, j, len(p.pt))
				}
				in := ops[j].Out
				if p.tampered {
					in[int(seed>>8)%len(in)] ^= 1 << (seed % 8)
				}
				ops[j].In, ops[j].Out = in, in[:len(p.pt)]
			}
			i.Fn.openBatch(ops)
			for j, p := range pkts {
				switch {
				case ops[j].OK == p.tampered:
					t.Fatalf("%s: op %d (n=%d): OK = %v, tampered %v", i.Name, j, len(p.pt), ops[j].OK, p.tampered)
				case ops[j].OK && !bytes.Equal(ops[j].Out, p.pt):
					t.Fatalf("%s: op %d (n=%d): wrong plaintext", i.Name, j, len(p.pt))
				case !ops[j].OK && !isZero(ops[j].Out):
					t.Fatalf("%s: op %d (n=%d): failed open not zeroed", i.Name, j, len(p.pt))
				}
			}
		}
	})
}
