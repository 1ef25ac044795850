package hf_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/torch"
)

const clsExport = "hfpipe-sequence-classification-cpu-float32"

// otherTorch is a torch release that is not the running libtorch's.
func otherTorch(t *testing.T) string {
	v := torch.Version()
	require.NotEqual(t, "unknown", v)
	if strings.HasPrefix(v, "2.9.1") {
		return "2.8.0+cu128"
	}
	return "2.9.1+cu128"
}

// editJSON rewrites a JSON object file through edit.
func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	edit(m)
	raw, err = json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o644))
}

// rewriteEmbedded rewrites the metadata embedded in a TorchScript archive
// (extra file hfpipe/metadata.json) through edit, keeping every other entry
// as it is, and returns the new file size.
func rewriteEmbedded(t *testing.T, pt string, edit func(map[string]any)) int64 {
	t.Helper()
	zr, err := zip.OpenReader(pt)
	require.NoError(t, err)
	defer zr.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/extra/hfpipe/metadata.json") {
			found = true
			rc, err := f.Open()
			require.NoError(t, err)
			raw, err := io.ReadAll(rc)
			require.NoError(t, err)
			rc.Close()
			var m map[string]any
			require.NoError(t, json.Unmarshal(raw, &m))
			edit(m)
			raw, err = json.Marshal(m)
			require.NoError(t, err)
			w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
			require.NoError(t, err)
			_, err = w.Write(raw)
			require.NoError(t, err)
			continue
		}
		require.NoError(t, zw.Copy(f))
	}
	require.True(t, found, "the export embeds its metadata")
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(pt, out.Bytes(), 0o644))
	return int64(out.Len())
}

// TestExportFromAnotherTorchIsRefused: an export traced by another torch
// release than the running libtorch is refused at load with both versions
// named, whether the .json beside it or the metadata inside the .pt says
// so; a local build suffix ("+cu128", "+cpu") does not count.
func TestExportFromAnotherTorchIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	running := torch.Version()
	other := otherTorch(t)
	noAuto := hf.WithTorchScript() // the export, not the native model

	// The .json says another torch.
	side := copyModel(t, dir, func(string) bool { return true })
	editJSON(t, filepath.Join(side, clsExport+".json"), func(m map[string]any) { m["torch_version"] = other })
	_, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, side, noAuto)
	require.Error(t, err, "an export of torch %s loaded into libtorch %s", other, running)
	require.ErrorIs(t, err, hf.ErrTorchVersion)
	for _, want := range []string{"torch " + other, "libtorch " + running, "re-export", "LIBTORCH", "export.py --model " + side} {
		assert.Contains(t, err.Error(), want)
	}

	// The .json is right but the module itself was traced by another torch.
	inside := copyModel(t, dir, func(string) bool { return true })
	size := rewriteEmbedded(t, filepath.Join(inside, clsExport+".pt"), func(m map[string]any) { m["torch_version"] = other })
	editJSON(t, filepath.Join(inside, clsExport+".json"), func(m map[string]any) { m["file_size"] = size })
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, inside, noAuto)
	require.ErrorIs(t, err, hf.ErrTorchVersion)
	assert.Contains(t, err.Error(), "torch "+other)

	// The same release with another local suffix loads, and so does an
	// export with the check turned off.
	suffix := copyModel(t, dir, func(string) bool { return true })
	base, _, _ := strings.Cut(running, "+")
	editJSON(t, filepath.Join(suffix, clsExport+".json"), func(m map[string]any) { m["torch_version"] = base + "+cpu" })
	m, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, suffix, noAuto)
	require.NoError(t, err)
	m.Close()
	m, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, side, noAuto, hf.WithoutTorchVersionCheck())
	require.NoError(t, err, "WithoutTorchVersionCheck loads it anyway")
	m.Close()
}
