//go:build !race

package tokenizer

// raceEnabled tells tests that the race detector is on.
const raceEnabled = false
