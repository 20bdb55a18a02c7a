// Package bench is the tunnel harness: it builds two network namespaces
// joined by a veth pair, runs a pair of WireGuard daemons in them (wgxdp at
// both ends, or wireguard-go at both ends) configured with wg(8), or no
// tunnel at all, and measures what goes through: TCP throughput with
// iperf3, small-packet UDP rates with a sendmmsg/recvmmsg sender and
// receiver opened inside the namespaces, and ping round trips, idle or
// under a TCP load.
//
//	namespace A (client)                         namespace B (server)
//	daemon  TUN 10.241.0.1/24  ==(WireGuard)==>  TUN 10.241.0.2/24  daemon
//	veth        10.240.0.1/24  --------------->      10.240.0.2/24  veth
//
// A Kind names what runs in the namespaces: "wgxdp", "wireguard-go", or
// "veth" (traffic straight over the veth, the limit); a daemon kind may
// carry environment variables for both of its daemons, written
// "wgxdp:WGXDP_TUN_OFFLOAD=0,GOMAXPROCS=1", so that variants can be compared
// side by side in one run. "@veth" in a value stands for the daemon's own
// veth end (the names are random): "wgxdp:WGXDP_XDP=@veth" runs both
// daemons with their outer side on AF_XDP. StartPair builds a Topology and starts a Kind's
// daemons in it; the measurements (IperfTCP, UDPFlood, Ping, PingUnderLoad)
// take a Pair and send from A to B.
//
// Options.Qdisc installs a root qdisc on A's veth end, where the measured
// traffic leaves A (say "tbf rate 50mbit burst 16kb limit 1mb" to make a
// bottleneck), and TCPOptions.Congestion picks iperf3's congestion control
// (-C), which together make a bufferbloat scenario.
//
// Every process is started through internal/netns, so each is killed by
// its PID when the Pair closes, and gets SIGTERM if this process dies
// first; namespace names start with Options.Prefix and this process's PID,
// so netns.Sweep removes those of a run that was killed before its cleanup.
// Every step is bounded by a timeout and by the caller's context.
//
// Everything needs root, ip(8), wg(8), iperf3 and ping; Available says
// what is missing.
package bench
