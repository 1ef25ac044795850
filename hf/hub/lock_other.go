//go:build !unix

package hub

import (
	"context"
	"sync"
)

var lockMu sync.Map // path → *sync.Mutex

// lockFile only excludes goroutines of this process where flock is missing;
// hfpipe runs on Unix, where lock_unix.go also excludes other processes.
func lockFile(ctx context.Context, path string) (func(), error) {
	m, _ := lockMu.LoadOrStore(path, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	done := make(chan struct{})
	go func() { mu.Lock(); close(done) }()
	select {
	case <-done:
		return mu.Unlock, nil
	case <-ctx.Done():
		go func() { <-done; mu.Unlock() }()
		return nil, ctx.Err()
	}
}
