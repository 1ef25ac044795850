package model

import "sync"

// Cache remembers the tokens of pieces shorter than 256 bytes, up to a
// fixed number of pieces (tokenizers' Cache, 10,000 entries): pieces repeat
// a lot in text, and a model's answer for one never changes. Safe for
// concurrent use.
type Cache struct {
	mu sync.RWMutex
	m  map[string][]Token
}

const (
	cacheEntries = 10000
	cacheMaxLen  = 256
)

// Get appends the cached tokens of s to dst.
func (c *Cache) Get(s string, dst []Token) ([]Token, bool) {
	if len(s) >= cacheMaxLen {
		return dst, false
	}
	c.mu.RLock()
	t, ok := c.m[s]
	c.mu.RUnlock()
	if !ok {
		return dst, false
	}
	return append(dst, t...), true
}

// Put remembers toks for s while there is room.
func (c *Cache) Put(s string, toks []Token) {
	if len(s) >= cacheMaxLen {
		return
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string][]Token)
	}
	if len(c.m) < cacheEntries {
		c.m[s] = append([]Token(nil), toks...)
	}
	c.mu.Unlock()
}
