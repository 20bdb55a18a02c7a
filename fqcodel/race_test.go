//go:build race

package fqcodel

const raceEnabled = true
