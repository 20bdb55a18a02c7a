// Package envflag parses the values of wgxdp's WGXDP_* environment knobs,
// so that every package that reads one accepts the same spellings and the
// daemon can reject a bad value before it creates anything.
//
// A switch is on with 1, on, true or yes and off with 0, off, false or no
// (any case, surrounding space ignored). A size is a byte count with an
// optional K, M or G suffix (powers of 1024), below 2 GiB.
package envflag

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// BoolValues describes the accepted spellings of a switch, for messages.
const BoolValues = "1 or 0 (also on/off, true/false, yes/no)"

// ParseBool parses a switch's value; ok is false for anything but the
// spellings BoolValues lists.
func ParseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "on", "true", "yes":
		return true, true
	case "0", "off", "false", "no":
		return false, true
	}
	return false, false
}

// Bool reads the switch name: def when it is unset or empty, and def with
// an error naming the variable when its value is not a switch.
func Bool(name string, def bool) (bool, error) {
	s := os.Getenv(name)
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	v, ok := ParseBool(s)
	if !ok {
		return def, fmt.Errorf("%s=%q: want %s", name, s, BoolValues)
	}
	return v, nil
}

// SizeValues describes the accepted spellings of a size, for messages.
const SizeValues = "a byte count such as 7340032, 512K or 16M"

// ParseSize parses a byte count with an optional K, M or G suffix (powers
// of 1024), e.g. "7340032", "16M", "512k"; ok is false for anything else,
// including negative numbers and sizes of 2 GiB or more.
func ParseSize(s string) (n int, ok bool) {
	s = strings.TrimSpace(s)
	shift := 0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		}
		if shift != 0 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseUint(s, 10, 31)
	if err != nil || v<<shift > 1<<31-1 {
		return 0, false
	}
	return int(v << shift), true
}

// Size reads the positive size name: 0 when it is unset or empty, and 0
// with an error naming the variable when its value is not a positive size.
func Size(name string) (int, error) {
	s := os.Getenv(name)
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	n, ok := ParseSize(s)
	if !ok || n == 0 {
		return 0, fmt.Errorf("%s=%q: want %s", name, s, SizeValues)
	}
	return n, nil
}
