package device

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"

	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
	"github.com/wgxdp/wgxdp/uapi"
)

var _ uapi.Device = (*Device)(nil)

func uerr(errno int, format string, args ...any) error {
	return &uapi.Error{Errno: errno, Err: fmt.Errorf(format, args...)}
}

// Set applies a parsed "set=1" request, in order, as wireguard-go does.
// The request was validated whole by the parser; what can still fail here
// (binding the port, the fwmark, a peer with our own key) returns an errno
// after the earlier parts took effect, as in wireguard-go.
func (d *Device) Set(c *uapi.Config) error {
	var keepalive []*Peer
	defer func() {
		// Sent without d.mu: sending may start a handshake.
		for _, p := range keepalive {
			p.sendKeepalive()
		}
	}()
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.PrivateKey != nil {
		if err := d.setPrivateKeyLocked(noise.PrivateKey(*c.PrivateKey)); err != nil {
			return uerr(uapi.ErrnoInvalid, "private_key: %w", err)
		}
	}
	if c.ListenPort != nil && *c.ListenPort != d.listenPort {
		if d.isUp() {
			if err := d.openBindLocked(*c.ListenPort); err != nil {
				// Keep the device reachable on its old port if we can.
				old := d.listenPort
				if err2 := d.openBindLocked(old); err2 != nil {
					d.log.Errorf("reopening old port %d: %v", old, err2)
				}
				return uerr(uapi.ErrnoPortInUse, "listen_port %d: %w", *c.ListenPort, err)
			}
		} else {
			d.listenPort = *c.ListenPort
		}
	}
	if c.Fwmark != nil {
		d.fwmark = *c.Fwmark
		if d.bindOpen {
			if err := d.cfg.Bind.SetMark(d.fwmark); err != nil {
				return uerr(uapi.ErrnoPortInUse, "fwmark: %w", err)
			}
		}
	}
	if c.ReplacePeers {
		for _, p := range d.peers {
			d.removePeerLocked(p)
		}
	}
	for i := range c.Peers {
		p, err := d.setPeerLocked(&c.Peers[i])
		if p != nil {
			keepalive = append(keepalive, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setPeerLocked applies one peer section; it returns the peer if turning on
// persistent keepalive asks for a keepalive to be sent at once.
func (d *Device) setPeerLocked(pc *uapi.PeerConfig) (*Peer, error) {
	pk := noise.PublicKey(pc.PublicKey)
	p := d.peers[pk]
	if pc.Remove {
		if p != nil {
			d.removePeerLocked(p)
		}
		return nil, nil
	}
	if p == nil {
		if pc.UpdateOnly {
			return nil, nil
		}
		if d.static != nil && d.static.Public == pk {
			// wireguard-go ignores a peer with our own key.
			d.log.Verbosef("ignoring peer with the interface's own public key")
			return nil, nil
		}
		var err error
		if p, err = d.newPeerLocked(pk); err != nil {
			return nil, uerr(uapi.ErrnoInvalid, "public_key: %w", err)
		}
	}
	if pc.PresharedKey != nil {
		p.SetPresharedKey(noise.PresharedKey(*pc.PresharedKey))
	}
	if pc.Endpoint != nil {
		p.SetEndpoint(packet.Endpoint{Dst: netip.AddrPortFrom(pc.Endpoint.Addr().Unmap(), pc.Endpoint.Port())})
	}
	if pc.ReplaceAllowedIPs {
		d.allowed.RemoveByPeer(p)
	}
	for _, a := range pc.AllowedIPs {
		if a.Remove {
			d.allowed.Remove(a.Prefix, p)
		} else {
			d.allowed.Insert(a.Prefix, p)
		}
	}
	if pc.ProtocolVersion != nil && *pc.ProtocolVersion != 1 {
		return nil, uerr(uapi.ErrnoInvalid, "protocol_version %d", *pc.ProtocolVersion)
	}
	if pc.PersistentKeepalive != nil && p.setPersistentKeepalive(*pc.PersistentKeepalive) && d.isUp() {
		return p, nil
	}
	return nil, nil
}

// Get returns the configuration and counters, peers sorted by public key.
func (d *Device) Get() uapi.State {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s := uapi.State{ListenPort: d.listenPort, Fwmark: d.fwmark}
	if d.static != nil {
		s.PrivateKey = uapi.Key(d.privateKey)
	}
	for _, p := range d.peers {
		ps := uapi.PeerState{
			PublicKey:           uapi.Key(p.public),
			PersistentKeepalive: uint16(p.persistentKeepalive.Load()),
			LastHandshake:       p.LastHandshake(),
			ProtocolVersion:     1,
		}
		p.hsMu.Lock()
		ps.PresharedKey = uapi.Key(p.psk)
		p.hsMu.Unlock()
		if ep := p.Endpoint(); ep.IsValid() {
			ps.Endpoint = endpointWithZone(ep)
		}
		ps.RxBytes, ps.TxBytes = p.Stats()
		d.allowed.EntriesForPeer(p, func(pr netip.Prefix) bool {
			ps.AllowedIPs = append(ps.AllowedIPs, pr)
			return true
		})
		s.Peers = append(s.Peers, ps)
	}
	sort.Slice(s.Peers, func(i, j int) bool {
		a, b := s.Peers[i].PublicKey, s.Peers[j].PublicKey
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	return s
}

// endpointWithZone is ep's address as wg(8) shows it: a link-local IPv6
// address learned from a received packet carries no zone, only the
// interface index it arrived on, which becomes its zone (the interface's
// name, as wireguard-go shows it, or the index if the name is gone).
func endpointWithZone(ep packet.Endpoint) netip.AddrPort {
	a := ep.Dst.Addr()
	if !a.Is6() || a.Zone() != "" || ep.IfIndex <= 0 || !(a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		return ep.Dst
	}
	zone := strconv.Itoa(int(ep.IfIndex))
	if ifc, err := net.InterfaceByIndex(int(ep.IfIndex)); err == nil {
		zone = ifc.Name
	}
	return netip.AddrPortFrom(a.WithZone(zone), ep.Dst.Port())
}
