//go:build unix

package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on path, the same kind of lock Python's
// filelock takes on the same path, so Go and Python processes exclude each
// other. Each call opens its own file description, so goroutines of one
// process exclude each other too. The file is left in place on release
// because filelock expects waiters to share one inode.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	// filelock polls with LOCK_NB too; a blocking flock could not honour ctx.
	wait := 5 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		}
		if err := sleepCtx(ctx, wait); err != nil {
			f.Close()
			return nil, err
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}
