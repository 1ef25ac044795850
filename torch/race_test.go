//go:build race

package torch_test

// The race detector keeps shadow memory for every heap word and runs
// finalisers on extra threads (each with its own glibc arena), so RSS
// bounds on finaliser-driven cycles are looser under it; the native-memory
// bound is the same.
const raceEnabled = true
