package testenv

// UncasedVocabPath is UncasedVocab for callers without a testing.TB
// (examples, TestMain).
func UncasedVocabPath() (string, error) { return uncasedVocab() }
