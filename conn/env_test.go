package conn

import (
	"strings"
	"testing"
)

func TestCheckEnv(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{envGSO, "0", true}, {envGSO, "off", true}, {envGSO, "Yes", true}, {envGSO, "maybe", false},
		{envGRO, "false", true}, {envGRO, "2", false},
		{envBuffer, "7M", true}, {envBuffer, "7340032", true}, {envBuffer, "xyz", false}, {envBuffer, "0", false}, {envBuffer, "3G", false},
		{envSndBuf, "16K", true}, {envSndBuf, "abc", false}, {envSndBuf, "-1", false},
		{envPriority, "300", true}, {envPriority, "0", true}, {envPriority, "off", true}, {envPriority, "on", true},
		{envPriority, "-1", false}, {envPriority, "big", false}, {envPriority, "1K", true}, {envPriority, "1025", false}, {envPriority, "1G", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.name, tt.value)
			err := CheckEnv()
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.name+"=")) {
				t.Fatalf("CheckEnv = %v, want an error naming %s", err, tt.name)
			}
		})
	}
}

func TestPriorityEnv(t *testing.T) {
	for in, want := range map[string]int{"": DefaultPriorityMax, "300": 300, "1K": 1024, "0": 0, "no": 0, "on": DefaultPriorityMax, "-1": DefaultPriorityMax} {
		t.Setenv(envPriority, in)
		if got, _ := priorityEnv(); got != want {
			t.Errorf("%s=%q: %d, want %d", envPriority, in, got, want)
		}
	}
}
