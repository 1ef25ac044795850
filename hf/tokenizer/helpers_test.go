package tokenizer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/stretchr/testify/require"
)

// vocabFolder writes a vocab.txt-only folder from the real uncased
// vocabulary, for tests that must run without Python.
func vocabFolder(t testing.TB, config string) string {
	t.Helper()
	src, err := os.ReadFile(testenv.UncasedVocab(t))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, VocabTxt), src, 0o644))
	if config != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, TokenizerConfig), []byte(config), 0o644))
	}
	return dir
}

func vocabTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tk, err := FromFolder(vocabFolder(t, `{"do_lower_case": true, "model_max_length": 512, "clean_up_tokenization_spaces": true}`))
	require.NoError(t, err)
	return tk
}
