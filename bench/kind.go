package bench

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The implementations a Kind can name.
const (
	Wgxdp       = "wgxdp"
	WireguardGo = "wireguard-go"
	Veth        = "veth" // no tunnel: traffic goes straight over the veth pair
)

// Kind is what a Pair runs: an implementation at both ends, with extra
// environment variables for both of its daemons.
type Kind struct {
	Impl string   // Wgxdp, WireguardGo or Veth
	Env  []string // "KEY=VALUE", added to both daemons' environment; "@veth" in a value is each daemon's own veth end (VethPlaceholder)
}

// String is the Kind's label, as ParseKind reads it: the implementation,
// then a colon and the environment if there is any, e.g.
// "wgxdp:WGXDP_TUN_OFFLOAD=0".
func (k Kind) String() string {
	if len(k.Env) == 0 {
		return k.Impl
	}
	return k.Impl + ":" + strings.Join(k.Env, ",")
}

// Tunnel reports whether the Kind runs daemons.
func (k Kind) Tunnel() bool { return k.Impl != Veth }

var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// ParseKind reads one Kind: "wgxdp", "wireguard-go", "veth", or a daemon
// implementation followed by a colon and comma-separated KEY=VALUE pairs.
func ParseKind(s string) (Kind, error) {
	impl, env, hasEnv := strings.Cut(strings.TrimSpace(s), ":")
	k := Kind{Impl: impl}
	switch impl {
	case Wgxdp, WireguardGo:
	case Veth:
		if hasEnv {
			return Kind{}, fmt.Errorf("pair kind %q: veth runs no daemon to give an environment to", s)
		}
	default:
		return Kind{}, fmt.Errorf("pair kind %q: want %s, %s or %s, optionally followed by :KEY=VALUE,...", s, Wgxdp, WireguardGo, Veth)
	}
	if hasEnv {
		for _, kv := range strings.Split(env, ",") {
			if !envRE.MatchString(kv) {
				return Kind{}, fmt.Errorf("pair kind %q: %q is not KEY=VALUE", s, kv)
			}
			k.Env = append(k.Env, kv)
		}
	}
	return k, nil
}

// ParseKinds reads a comma-separated list of Kinds. Since a Kind's
// environment is comma-separated too, an item that holds '=' but no ':'
// continues the environment of the Kind before it:
// "wgxdp,wgxdp:A=0,B=1,wireguard-go" is three Kinds. Labels must not
// repeat.
func ParseKinds(s string) ([]Kind, error) {
	var items []string
	for _, it := range strings.Split(s, ",") {
		it = strings.TrimSpace(it)
		if strings.Contains(it, "=") && !strings.Contains(it, ":") && len(items) > 0 && strings.Contains(items[len(items)-1], ":") {
			items[len(items)-1] += "," + it
			continue
		}
		items = append(items, it)
	}
	var kinds []Kind
	var labels []string
	for _, it := range items {
		k, err := ParseKind(it)
		if err != nil {
			return nil, err
		}
		if slices.Contains(labels, k.String()) {
			return nil, fmt.Errorf("pair kind %q given twice", k)
		}
		labels = append(labels, k.String())
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no pair kinds in %q", s)
	}
	return kinds, nil
}
