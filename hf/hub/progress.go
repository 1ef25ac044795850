package hub

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// stderrIfTerminal returns os.Stderr when it is a terminal, else nil. A
// character device is a terminal for our purpose; /dev/null is the one
// common character device that is not, and it is excluded by identity.
func stderrIfTerminal() io.Writer {
	fi, err := os.Stderr.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return nil
	}
	return os.Stderr
}

// progress draws one line for a Download or Snapshot call: all files of the
// call add to one total, since parallel snapshot workers would otherwise
// fight over the line. A nil *progress draws nothing.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	label string
	total int64
	done  int64
	start time.Time
	last  time.Time
	drawn bool
}

const progressEvery = 100 * time.Millisecond

func (c *Client) newProgress(label string) *progress {
	if c.progress == nil {
		return nil
	}
	return &progress{w: c.progress, label: label, start: time.Now()}
}

// grow adds a file of size bytes, of which already are on disk (a resume).
func (p *progress) grow(size, already int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.total += size
	p.done += already
	p.mu.Unlock()
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.draw(now)
	}
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.total == 0 && !p.drawn {
		return // nothing was fetched: a cache hit stays silent
	}
	p.draw(time.Now())
	fmt.Fprintln(p.w)
}

func (p *progress) draw(now time.Time) {
	p.drawn = true
	const width = 24
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(p.done)/float64(p.total), 1)
	}
	full := int(frac * width)
	bar := strings.Repeat("█", full) + strings.Repeat(" ", width-full)
	rate := ""
	if secs := now.Sub(p.start).Seconds(); secs > 0.05 {
		rate = humanBytes(int64(float64(p.done)/secs)) + "/s"
	}
	label := p.label
	if len(label) > 40 {
		label = "…" + label[len(label)-39:]
	}
	// \r and the trailing erase keep redraws on one line however the width shrinks.
	fmt.Fprintf(p.w, "\r%s %3.0f%% |%s| %s/%s %s\x1b[K", label, frac*100, bar, humanBytes(p.done), humanBytes(p.total), rate)
}

func humanBytes(n int64) string {
	const unit = 1000 // tqdm's unit_scale uses powers of 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%cB", f, "kMGT"[i-1])
}
