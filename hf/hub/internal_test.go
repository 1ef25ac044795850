package hub

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFnmatchLikePython(t *testing.T) {
	// Cases checked against Python's fnmatch.fnmatch on Linux.
	for _, tc := range []struct {
		name, pattern string
		want          bool
	}{
		{"config.json", "*.json", true},
		{"sub/config.json", "*.json", true}, // '*' crosses '/', unlike path.Match
		{"config.json", "config.json", true},
		{"config.jsonx", "*.json", false},
		{"model-00001-of-00002.safetensors", "model-?????-of-?????.safetensors", true},
		{"hfpipe-export.pt", "hfpipe-*", true},
		{"a.bin", "[ab].bin", true},
		{"c.bin", "[ab].bin", false},
		{"c.bin", "[!ab].bin", true},
		{"b.bin", "[a-c].bin", true},
		{"-.bin", "[a-].bin", true},
		{"[x", "[x", true}, // unclosed bracket is literal
		{"a+b(c).txt", "a+b(c).*", true},
		{"Config.json", "config.json", false}, // case-sensitive on POSIX
	} {
		assert.Equal(t, tc.want, fnmatch(tc.name, tc.pattern), "%q ~ %q", tc.name, tc.pattern)
	}
}

func TestFilterFiles(t *testing.T) {
	files := []string{"config.json", "model.safetensors", "onnx/model.onnx", "onnx/config.json", "README.md"}
	assert.Equal(t, files, filterFiles(files, nil, nil))
	assert.Equal(t, []string{"onnx/model.onnx", "onnx/config.json"}, filterFiles(files, []string{"onnx/"}, nil))
	assert.Equal(t, []string{"config.json", "onnx/config.json"}, filterFiles(files, []string{"*.json"}, nil))
	assert.Equal(t, []string{"config.json"}, filterFiles(files, []string{"*.json"}, []string{"onnx/"}))
}

func TestExpandPath(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	t.Setenv("X", "x")
	os.Unsetenv("NOT_SET_Y")
	assert.Equal(t, "/home/u/a/x/x/$NOT_SET_Y/${NOT_SET_Y}/$", expandPath("~/a/$X/${X}/$NOT_SET_Y/${NOT_SET_Y}/$"))
	assert.Equal(t, "/abs/~", expandPath("/abs/~"))
}

func TestHumanBytes(t *testing.T) {
	assert.Equal(t, "999B", humanBytes(999))
	assert.Equal(t, "1.5kB", humanBytes(1500))
	assert.Equal(t, "268.0MB", humanBytes(268_000_000))
}

func TestStderrIfTerminal(t *testing.T) {
	old := os.Stderr
	defer func() { os.Stderr = old }()

	r, w, err := os.Pipe()
	assert.NoError(t, err)
	defer r.Close()
	defer w.Close()
	os.Stderr = w
	assert.Nil(t, stderrIfTerminal(), "a pipe gets no progress bar")

	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	assert.NoError(t, err)
	defer null.Close()
	os.Stderr = null
	assert.Nil(t, stderrIfTerminal(), "/dev/null is a character device but no terminal")

	// A pseudo-terminal master is a terminal; skip where none can be opened.
	if pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil {
		defer pty.Close()
		os.Stderr = pty
		assert.NotNil(t, stderrIfTerminal())
	}
}
