package xdp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestPlanUmem(t *testing.T) {
	const (
		inf  = unix.RLIM_INFINITY
		KiB  = 1 << 10
		MiB  = 1 << 20
		unit = 4 * 2048 // four queues of 2048-byte frames
	)
	tests := []struct {
		name    string
		m       memlock
		want    umemPlan
		wantErr bool
	}{
		{"unlimited", memlock{cur: inf, max: inf}, umemPlan{frames: 2048}, false},
		{"fits", memlock{cur: 16 * MiB, max: 16 * MiB}, umemPlan{frames: 2048}, false},
		{"exactly", memlock{cur: 16 * MiB, max: 64 * MiB}, umemPlan{frames: 2048}, false},
		{"CAP_IPC_LOCK: no accounting", memlock{cur: 64 * KiB, max: 64 * KiB, ipcLock: true}, umemPlan{frames: 2048}, false},
		{"raise soft to hard", memlock{cur: 8 * MiB, max: 64 * MiB}, umemPlan{frames: 2048, raiseTo: 64 * MiB}, false},
		{"raise soft to unlimited hard", memlock{cur: 8 * MiB, max: inf}, umemPlan{frames: 2048, raiseTo: inf}, false},
		{"CAP_SYS_RESOURCE raises hard", memlock{cur: 8 * MiB, max: 8 * MiB, sysResource: true},
			umemPlan{frames: 2048, raiseTo: 24 * MiB}, false},
		{"shrink to soft", memlock{cur: 8 * MiB, max: 8 * MiB}, umemPlan{frames: 1024}, false},
		{"shrink to hard", memlock{cur: 64 * KiB, max: 5 * MiB}, umemPlan{frames: 512, raiseTo: 5 * MiB}, false},
		{"the least", memlock{cur: 1 * MiB, max: 1 * MiB}, umemPlan{frames: 128}, false},
		{"too little", memlock{cur: 64 * KiB, max: 64 * KiB}, umemPlan{}, true},
		{"too little under the hard limit too", memlock{cur: 64 * KiB, max: 1*MiB - 1}, umemPlan{}, true},
	}
	for _, tt := range tests {
		got, err := planUmem(tt.m, unit, 2048)
		if tt.wantErr {
			if !errors.Is(err, ErrNotSupported) {
				t.Errorf("%s: planUmem(%+v) = %+v, %v; want ErrNotSupported", tt.name, tt.m, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: planUmem(%+v) = %+v, %v; want %+v", tt.name, tt.m, got, err, tt.want)
		}
		if got.frames&(got.frames-1) != 0 || got.frames < minUmemFrames {
			t.Errorf("%s: %d frames: not a power of two ≥ %d", tt.name, got.frames, minUmemFrames)
		}
	}
}

// TestMemlock opens a Bind in a subprocess that has neither CAP_IPC_LOCK
// nor CAP_SYS_RESOURCE, under several RLIMIT_MEMLOCK limits: it raises the
// soft limit to the hard one, gives the UMEMs fewer frames when even that
// is not enough, and fails with ErrNotSupported below the least it needs.
func TestMemlock(t *testing.T) {
	if os.Getenv("WGXDP_XDP_HELPER") != "" {
		t.Skip("helper")
	}
	for _, tool := range []string{"setpriv", "prlimit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux)", tool)
		}
	}
	tp := newTopo(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Two queues of 2048-byte frames: 8 MiB at full size.
	for _, tt := range []struct{ limit, want string }{
		{"65536:8388608", "frames=2048 memlock=8388608"},
		{"1048576:1048576", "frames=256 memlock=1048576"},
		{"65536:65536", "ErrNotSupported"},
	} {
		// The kernel uncharges a closed UMEM in deferred work, and the
		// charge is the user's, not the process's: the previous helper's
		// may still count for a moment.
		var out []byte
		for try := 0; try < 10 && !strings.Contains(string(out), "RESULT "+tt.want); try++ {
			time.Sleep(time.Duration(try) * 100 * time.Millisecond)
			out = runMemlockHelper(t, tp, exe, tt.limit)
		}
		if !strings.Contains(string(out), "RESULT "+tt.want) {
			t.Errorf("memlock %s: want %q; helper said:\n%s", tt.limit, tt.want, out)
		}
	}
}

func runMemlockHelper(t *testing.T, tp *topo, exe, limit string) []byte {
	log := filepath.Join(t.TempDir(), "helper.log")
	p, err := tp.a.Start(log, []string{"WGXDP_XDP_HELPER=" + tp.ifA},
		"prlimit", "--memlock="+limit,
		"setpriv", "--bounding-set=-ipc_lock,-sys_resource", "--inh-caps=-ipc_lock,-sys_resource", exe, "-test.run=^TestHelperMemlock$", "-test.v")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("helper hangs")
	}
	out, _ := os.ReadFile(log)
	return out
}

// TestHelperMemlock runs only as TestMemlock's subprocess: it opens a Bind
// and prints the UMEM size and the limit, or whether Open failed with
// ErrNotSupported.
func TestHelperMemlock(t *testing.T) {
	ifname := os.Getenv("WGXDP_XDP_HELPER")
	if ifname == "" {
		t.Skip("subprocess of TestMemlock")
	}
	if m, _ := currentMemlock(); m.ipcLock || m.sysResource {
		t.Fatalf("helper still has CAP_IPC_LOCK or CAP_SYS_RESOURCE: %+v", m)
	}
	bd, err := NewBind([]string{ifname}, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = bd.Open(0)
	if errors.Is(err, ErrNotSupported) {
		fmt.Printf("RESULT ErrNotSupported: %v\n", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer bd.Close()
	m, _ := currentMemlock()
	fmt.Printf("RESULT frames=%d memlock=%d\n", bd.st.ifaces[0].socks[0].umem.frames, m.cur)
}
