//go:build race

package tokenizer

// raceEnabled tells tests that the race detector is on: the family parity
// then compares a subset of rows (the full comparison is `make parity`'s).
const raceEnabled = true
