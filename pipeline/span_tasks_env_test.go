package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
)

// The token-classification, question-answering and fill-mask tests run on
// models made by span_tasks_reference.py: DistilBERT (and BERT) with 2
// layers of width 64, the real uncased vocabulary and 512 positions, a
// random init with a scaled head.
const spanTool = testenv.SpanTool

func spanToolHash(t testing.TB, extra ...string) string {
	t.Helper()
	h, err := testenv.SpanToolHash(extra...)
	require.NoError(t, err)
	return h
}

// withLock runs f holding an exclusive lock on path+".lock", so that test
// processes running at once build a thing once.
func withLock(t testing.TB, path string, f func()) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	f()
}

func spanModel(t testing.TB, task, arch string) string { return testenv.SpanModel(t, task, arch) }

// spanCase is one call setting of a reference run: the pipeline keywords
// and the inputs.
type spanCase struct {
	Kwargs map[string]any `json:"kwargs"`
	Inputs []any          `json:"inputs"`
}

// spanReference runs transformers.pipeline on the cases through
// span_tasks_reference.py and returns the raw results per case and input.
// The output is cached in testdata/gen/refs under a stamp of the tool, the
// model folder (whose name carries its own stamp), the thread count and the
// inputs.
func spanReference(t testing.TB, dir, task string, threads int, cases []spanCase) [][]json.RawMessage {
	t.Helper()
	in, err := json.Marshal(map[string]any{"cases": cases})
	require.NoError(t, err)
	stamp := spanToolHash(t, filepath.Base(dir), task, string(rune('0'+threads)), string(in))
	out := filepath.Join(testenv.GenDir(t), "refs", task+"-"+stamp+".json")
	withLock(t, out, func() {
		if _, err := os.Stat(out); err == nil {
			return
		}
		tmp := t.TempDir()
		inFile := filepath.Join(tmp, "in.json")
		require.NoError(t, os.WriteFile(inFile, in, 0o644))
		testenv.RunPython(t, spanTool, "run", "--model", dir, "--task", task, "--inputs", inFile, "--out", out+".tmp",
			"--threads", string(rune('0'+threads)))
		require.NoError(t, os.Rename(out+".tmp", out))
	})
	var res struct {
		Cases []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"cases"`
	}
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &res))
	require.Len(t, res.Cases, len(cases))
	rows := make([][]json.RawMessage, len(cases))
	for i, c := range res.Cases {
		require.Len(t, c.Results, len(cases[i].Inputs))
		rows[i] = c.Results
	}
	return rows
}
