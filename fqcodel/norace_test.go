//go:build !race

package fqcodel

const raceEnabled = false
