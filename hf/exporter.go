package hf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hfpipe/hfpipe/torch"
)

// Exporter makes the TorchScript export of head for device and dtype inside
// the model folder dir. Loaders call it when a folder has weights but no
// export; running models never needs it.
type Exporter func(ctx context.Context, dir string, head Head, device torch.Device, dtype torch.DType) error

// PythonExporter runs hfpipe's export tool (third_party/tools/export.py)
// with the given Python interpreter, which needs the pinned torch and
// transformers (make venv installs them).
func PythonExporter(python, script string) Exporter {
	return func(ctx context.Context, dir string, head Head, device torch.Device, dtype torch.DType) error {
		dev := "cpu"
		if device.IsCUDA() {
			dev = "cuda"
		}
		cmd := exec.CommandContext(ctx, python, script, "--model", dir, "--head", string(head), "--device", dev, "--dtype", dtype.String())
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s failed: %w\n%s", python, filepath.Base(script), err, strings.TrimSpace(out.String()))
		}
		return nil
	}
}

// DefaultExporter finds the export tool and a Python to run it: the
// interpreter $HFPIPE_PYTHON, else the .venv of the hfpipe checkout this
// binary was built from; the script $HFPIPE_EXPORT_SCRIPT, else that
// checkout's third_party/tools/export.py. It returns nil when either is
// missing, and loaders then report how to export by hand.
func DefaultExporter() Exporter {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	python := os.Getenv("HFPIPE_PYTHON")
	if python == "" {
		python = filepath.Join(root, ".venv", "bin", "python")
	}
	script := os.Getenv("HFPIPE_EXPORT_SCRIPT")
	if script == "" {
		script = filepath.Join(root, "third_party", "tools", "export.py")
	}
	for _, p := range []string{python, script} {
		if _, err := os.Stat(p); err != nil {
			return nil
		}
	}
	return PythonExporter(python, script)
}
