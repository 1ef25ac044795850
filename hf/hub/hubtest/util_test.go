package hubtest_test

import (
	"os"
	"path/filepath"
)

func writeFile(dir, name, content string) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func mkTemp() (string, error) { return os.MkdirTemp("", "hubtest-example") }
