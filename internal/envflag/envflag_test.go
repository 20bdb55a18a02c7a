package envflag

import (
	"strings"
	"testing"
)

func TestParseBool(t *testing.T) {
	for in, want := range map[string]int{ // 1 on, 0 off, -1 refused
		"1": 1, "on": 1, "ON": 1, " true ": 1, "Yes": 1,
		"0": 0, "off": 0, "False": 0, "no": 0,
		"": -1, "maybe": -1, "2": -1, "-1": -1, "y": -1, "enable": -1,
	} {
		v, ok := ParseBool(in)
		got := -1
		if ok {
			got = 0
			if v {
				got = 1
			}
		}
		if got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, v, ok)
		}
	}
}

func TestBool(t *testing.T) {
	const name = "WGXDP_ENVFLAG_TEST"
	t.Setenv(name, "")
	if v, err := Bool(name, true); !v || err != nil {
		t.Errorf("unset: %v, %v; want the default", v, err)
	}
	t.Setenv(name, "no")
	if v, err := Bool(name, true); v || err != nil {
		t.Errorf("no: %v, %v", v, err)
	}
	t.Setenv(name, "maybe")
	if v, err := Bool(name, true); !v || err == nil || !strings.Contains(err.Error(), name+`="maybe"`) {
		t.Errorf("maybe: %v, %v; want the default and an error naming the variable", v, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{
		"0":       0,
		"7340032": 7340032,
		"16M":     16 << 20,
		"512k":    512 << 10,
		"1G":      1 << 30,
		" 2m ":    2 << 20,
		"2G":      -1, // over 2 GiB - 1
		"-1":      -1,
		"1.5M":    -1,
		"M":       -1,
		"10MB":    -1,
		"":        -1,
		"xyz":     -1,
	} {
		n, ok := ParseSize(in)
		if !ok {
			n = -1
		}
		if n != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
}

func TestSize(t *testing.T) {
	const name = "WGXDP_ENVFLAG_TEST"
	for in, want := range map[string]int{"": 0, "4K": 4096, "0": -1, "xyz": -1, "-5": -1} {
		t.Setenv(name, in)
		n, err := Size(name)
		if err != nil {
			n = -1
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: error %v does not name the variable", name, in, err)
			}
		}
		if n != want {
			t.Errorf("Size with %s=%q = %d, %v; want %d", name, in, n, err, want)
		}
	}
}
