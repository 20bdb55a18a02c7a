//go:build amd64 && gc && !purego

// The multi-buffer batch path: short packets share the eight lanes of one
// ChaCha20 kernel call, each taking its MAC-key block and its data blocks in
// consecutive lanes, so that a batch of 64-byte packets pays one eight-block
// setup per four packets instead of one per packet. The MAC stays scalar,
// one call per packet. Longer packets take the fused one-packet pass.

package chacha20poly1305

import (
	"crypto/subtle"
	"unsafe"

	"github.com/wgxdp/wgxdp/asm/amd64"
)

// multiMaxLanes is the most lanes (key-stream blocks, the MAC key's
// included) a packet may take to go through the multi-buffer kernel: up to
// 192 bytes of data. Beyond that the fused pass, which hides the MAC behind
// the rounds, is as fast.
const multiMaxLanes = 4

// multi is the state of one multi-buffer round: up to eight lanes, and the
// ops that own them.
type multi struct {
	lanes laneParams
	ks    [8 * blockSize]byte
	used  int
	ops   [8]*Op
	first [8]int
	outs  [8][]byte
	n     int
}

// add queues op o (whose output region is out) in lanes; it reports false
// when they are full.
func (m *multi) add(o *Op, out []byte, need int) bool {
	if m.used+need > 8 {
		return false
	}
	for j := range need {
		m.lanes.set(m.used+j, o.Key, &o.Nonce, uint32(j))
	}
	m.ops[m.n], m.first[m.n], m.outs[m.n] = o, m.used, out
	m.n++
	m.used += need
	return true
}

// flush runs the kernel on the queued lanes and finishes their ops.
func (m *multi) flush(seal bool) {
	if m.n == 0 {
		return
	}
	for l := m.used; l < 8; l++ {
		m.lanes.keys[l] = &idleKey // the kernel reads every lane's key
	}
	amd64.ChaCha20Blocks8AVX2(&m.lanes.keys, &m.lanes.rows, &m.ks)
	if seal {
		for i := range m.n {
			o := m.ops[i]
			subtle.XORBytes(m.outs[i], o.In, m.dataKS(i, len(o.In)))
		}
	}
	// The MACs, two packets at once where their shapes match, so that the
	// two multiplication chains overlap. Seal hashes what it wrote, Open
	// what it is given.
	var tags [8][tagSize]byte
	for i := 0; i < m.n; {
		ct, tag := m.macInput(i, seal, &tags[i])
		if j := i + 1; j < m.n {
			ct1, tag1 := m.macInput(j, seal, &tags[j])
			if len(ct1) == len(ct) && len(m.ops[j].AD) == len(m.ops[i].AD) {
				amd64.Poly1305AEAD2ADX(m.polyKey(i), m.polyKey(j), m.ops[i].AD, m.ops[j].AD, ct, ct1, tag, tag1)
				i += 2
				continue
			}
		}
		amd64.Poly1305AEADADX(m.polyKey(i), m.ops[i].AD, ct, tag)
		i++
	}
	for i := range m.n {
		o, out := m.ops[i], m.outs[i]
		if seal {
			o.OK = true
		} else if n := len(out); tagEqual(&tags[i], o.In[n:]) {
			subtle.XORBytes(out, o.In[:n], m.dataKS(i, n))
			o.OK = true
		} else {
			clear(out)
			o.OK = false
		}
		m.ops[i], m.outs[i] = nil, nil
	}
	m.n, m.used = 0, 0
}

// polyKey is the one-time Poly1305 key of queued op i: the first 32 bytes
// of its first lane's block.
func (m *multi) polyKey(i int) *[KeySize]byte {
	return (*[KeySize]byte)(m.ks[blockSize*m.first[i]:])
}

// dataKS is the n bytes of key stream for queued op i's data, from its
// second lane on.
func (m *multi) dataKS(i, n int) []byte {
	o := blockSize * (m.first[i] + 1)
	return m.ks[o : o+n]
}

// macInput returns the ciphertext queued op i's tag covers and where the
// tag goes: for Seal, the ciphertext and tag it wrote; for Open, its input
// and the scratch tag.
func (m *multi) macInput(i int, seal bool, scratch *[tagSize]byte) ([]byte, *[tagSize]byte) {
	out := m.outs[i]
	if seal {
		n := len(m.ops[i].In)
		return out[:n], (*[tagSize]byte)(out[n:])
	}
	return m.ops[i].In[:len(out)], scratch
}

// idleKey is the key of the lanes a flush leaves unused.
var idleKey [KeySize]byte

// lanesFor is how many key-stream blocks a packet of n data bytes needs.
func lanesFor(n int) int { return 1 + (n+blockSize-1)/blockSize }

// four is the input of the four-packet kernels
// (amd64.ChaCha20Poly1305Seal4AVX2 and Open4AVX2).
type four struct {
	keys         [4]*[KeySize]byte
	nonces       [4]*[NonceSize]byte
	dst, src, ad [4]*byte
	tags         [4]*[tagSize]byte
	outs         [4][]byte
}

// take fills f from ops[:4] if the four-packet kernels can do them: each
// well formed, with 1 to 64 bytes of data, all with the same data and AD
// lengths. It returns the data length.
func (f *four) take(ops []Op, seal bool) (int, bool) {
	if len(ops) < 4 {
		return 0, false
	}
	n, adLen := 0, len(ops[0].AD)
	for p := range 4 {
		o := &ops[p]
		var out []byte
		var ok bool
		if seal {
			out, ok = sealOut(o)
		} else {
			out, ok = openOut(o)
		}
		dn := len(o.In)
		if !seal {
			dn = len(out)
		}
		if !ok || dn < 1 || dn > blockSize || len(o.AD) != adLen || p > 0 && dn != n {
			return 0, false
		}
		n = dn
		f.keys[p], f.nonces[p] = o.Key, &o.Nonce
		f.src[p], f.dst[p], f.ad[p] = unsafe.SliceData(o.In), unsafe.SliceData(out), unsafe.SliceData(o.AD)
		f.outs[p] = out
	}
	return n, true
}

// sealBatchAVX2 is impl.sealBatch.
func sealBatchAVX2(ops []Op) {
	var m multi
	var f four
	for i := 0; i < len(ops); i++ {
		if n, ok := f.take(ops[i:], true); ok {
			for p := range 4 {
				f.tags[p] = (*[tagSize]byte)(f.outs[p][n:])
			}
			amd64.ChaCha20Poly1305Seal4AVX2(&f.keys, &f.nonces, &f.dst, &f.src, n, &f.ad, len(ops[i].AD), &f.tags)
			for p := range 4 {
				ops[i+p].OK = true
			}
			i += 3
			continue
		}
		o := &ops[i]
		out, ok := sealOut(o)
		if !ok {
			o.OK = false
			continue
		}
		if need := lanesFor(len(o.In)); need <= multiMaxLanes {
			if !m.add(o, out, need) {
				m.flush(true)
				m.add(o, out, need)
			}
			continue
		}
		sealAVX2(*o.Key, o.Nonce, out, o.In, o.AD)
		o.OK = true
	}
	m.flush(true)
}

// openBatchAVX2 is impl.openBatch.
func openBatchAVX2(ops []Op) {
	var m multi
	var f four
	var tags [4][tagSize]byte
	for i := 0; i < len(ops); i++ {
		if n, ok := f.take(ops[i:], false); ok {
			for p := range 4 {
				f.tags[p] = &tags[p]
			}
			amd64.ChaCha20Poly1305Open4AVX2(&f.keys, &f.nonces, &f.dst, &f.src, n, &f.ad, len(ops[i].AD), &f.tags)
			for p := range 4 {
				o := &ops[i+p]
				o.OK = tagEqual(&tags[p], o.In[n:])
				if !o.OK {
					clear(f.outs[p])
				}
			}
			i += 3
			continue
		}
		o := &ops[i]
		out, ok := openOut(o)
		if !ok {
			o.OK = false
			continue
		}
		if need := lanesFor(len(out)); need <= multiMaxLanes {
			if !m.add(o, out, need) {
				m.flush(false)
				m.add(o, out, need)
			}
			continue
		}
		o.OK = openAVX2(*o.Key, o.Nonce, out, o.In, o.AD)
	}
	m.flush(false)
}
