package tun

import (
	"strings"
	"testing"
)

func TestOptionsFromEnv(t *testing.T) {
	tests := []struct {
		name, value string
		want        Options // checked when wantErr is false
		wantErr     bool
	}{
		{EnvOffload, "", Options{Offload: true, Express: true, Queues: 1}, false},
		{EnvOffload, "0", Options{Express: true, Queues: 1}, false},
		{EnvOffload, "off", Options{Express: true, Queues: 1}, false},
		{EnvOffload, "1", Options{Offload: true, Express: true, Queues: 1}, false},
		{EnvOffload, "2", Options{}, true},
		{EnvExpress, "no", Options{Offload: true, Queues: 1}, false},
		{EnvExpress, "maybe", Options{}, true},
		{EnvQueues, "4", Options{Offload: true, Express: true, Queues: 4}, false},
		{EnvQueues, "100000", Options{Offload: true, Express: true, Queues: MaxQueues}, false},
		{EnvQueues, "abc", Options{}, true},
		{EnvQueues, "0", Options{}, true},
		{EnvQueues, "-2", Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			for _, n := range []string{EnvOffload, EnvExpress, EnvQueues} {
				t.Setenv(n, "")
			}
			t.Setenv(tt.name, tt.value)
			got, err := OptionsFromEnv()
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.name+"=") {
					t.Fatalf("OptionsFromEnv = %+v, %v; want an error naming %s", got, err, tt.name)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("OptionsFromEnv = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
