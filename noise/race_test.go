//go:build race

package noise

const raceEnabled = true // the race detector makes sync.Pool drop items
