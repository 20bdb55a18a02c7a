package noise

import (
	"bytes"
	"encoding/binary"
	"time"
)

// Timestamp is a TAI64N label: big-endian seconds since 1970 plus 2^62 plus
// 10 (the offset wireguard-go uses), then big-endian nanoseconds.
type Timestamp [TimestampSize]byte

const (
	tai64nBase = uint64(0x400000000000000a)
	// whitenerMask rounds the nanoseconds down to a multiple of 2^24 ns
	// (~16.8 ms), so the timestamp does not leak a fine-grained clock.
	whitenerMask = uint32(0x1000000 - 1)
)

// Stamp returns t as a whitened TAI64N timestamp, exactly as wireguard-go's
// tai64n.stamp.
func Stamp(t time.Time) Timestamp {
	var ts Timestamp
	binary.BigEndian.PutUint64(ts[:], tai64nBase+uint64(t.Unix()))
	binary.BigEndian.PutUint32(ts[8:], uint32(t.Nanosecond())&^whitenerMask)
	return ts
}

// After reports whether t is strictly later than u.
func (t Timestamp) After(u Timestamp) bool {
	return bytes.Compare(t[:], u[:]) > 0
}

// Time returns the time t stands for.
func (t Timestamp) Time() time.Time {
	return time.Unix(int64(binary.BigEndian.Uint64(t[:8])-tai64nBase), int64(binary.BigEndian.Uint32(t[8:])))
}

func (t Timestamp) String() string { return t.Time().String() }
