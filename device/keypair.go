package device

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wgxdp/wgxdp/replay"
)

// Keypair is one session's transport keys. sendNonce is taken atomically by
// any sender; the replay filter is guarded by replayMu.
type Keypair struct {
	sendNonce   atomic.Uint64
	sendKey     [32]byte
	recvKey     [32]byte
	created     time.Time
	isInitiator bool
	localIndex  uint32
	remoteIndex uint32
	peer        *Peer

	replayMu sync.Mutex
	replay   replay.Filter
	// lastBulk is when a packet that did not come through an express lane
	// was last accepted (Unix ns), guarded by replayMu (expressAhead).
	lastBulk int64
}

// keypairs is a peer's current, previous and next sessions, guarded by
// Peer.kpMu.
type keypairs struct {
	current, previous, next *Keypair
}

// indexTable maps our receiver indices to the handshake or keypair they
// name. Lookups on the data path take the read lock only.
type indexTable struct {
	mu sync.RWMutex
	m  map[uint32]indexEntry
}

type indexEntry struct {
	peer    *Peer
	keypair *Keypair // nil while the index names a handshake
}

func (t *indexTable) init() { t.m = make(map[uint32]indexEntry) }

// newIndex allocates a fresh random index for peer's handshake.
func (t *indexTable) newIndex(p *Peer) uint32 {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("device: no randomness: " + err.Error())
		}
		idx := binary.LittleEndian.Uint32(b[:])
		t.mu.Lock()
		if _, used := t.m[idx]; !used && idx != 0 {
			t.m[idx] = indexEntry{peer: p}
			t.mu.Unlock()
			return idx
		}
		t.mu.Unlock()
	}
}

// swapForKeypair makes idx name kp instead of a handshake.
func (t *indexTable) swapForKeypair(idx uint32, kp *Keypair) {
	t.mu.Lock()
	if e, ok := t.m[idx]; ok {
		e.keypair = kp
		t.m[idx] = e
	}
	t.mu.Unlock()
}

func (t *indexTable) delete(idx uint32) {
	if idx == 0 {
		return
	}
	t.mu.Lock()
	delete(t.m, idx)
	t.mu.Unlock()
}

func (t *indexTable) lookup(idx uint32) indexEntry {
	t.mu.RLock()
	e := t.m[idx]
	t.mu.RUnlock()
	return e
}

func (t *indexTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
