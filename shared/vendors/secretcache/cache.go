// Package secretcache is the one cache of every vendor secret (IDWise webhook and API
// credentials, Veriff credentials): a value is reused for at most MaxAge, so a revoked
// secret stops working within MaxAge in every warm container, and a failed comparison may
// reload it at once (a rotation takes effect immediately) but at most once per MinReload,
// so a flood of bad requests cannot become a flood of Secrets Manager calls.
// It has no AWS dependency: the loader is the caller's.
package secretcache

import (
	"context"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxAge    = 5 * time.Minute
	DefaultMinReload = time.Minute
)

// Options configure a Cache; zero values take the defaults.
type Options[T any] struct {
	// MaxAge is how long a loaded value is used before it is loaded again.
	MaxAge time.Duration
	// MinReload is the least time between two loads asked by Reload.
	MinReload time.Duration
	// Validate, when set, says whether a loaded value is usable. An unusable value is
	// cached like a usable one (and its error returned), so that a secret an operator has
	// not filled in yet is not read again on every request.
	Validate func(T) error
	// Now is the clock (tests pass a fake one).
	Now func() time.Time
}

// Cache holds one secret value. It is safe for concurrent use.
type Cache[T any] struct {
	load func(context.Context) (T, error)
	opt  Options[T]

	mu       sync.Mutex
	loaded   bool
	val      T
	invalid  error
	loadedAt time.Time
}

// New returns a cache that fills itself with load, lazily on first use.
func New[T any](load func(context.Context) (T, error), opt Options[T]) *Cache[T] {
	if opt.MaxAge <= 0 {
		opt.MaxAge = DefaultMaxAge
	}
	if opt.MinReload <= 0 {
		opt.MinReload = DefaultMinReload
	}
	if opt.MinReload > opt.MaxAge {
		opt.MinReload = opt.MaxAge
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Cache[T]{load: load, opt: opt}
}

// Get returns the value, loading it when there is none or it is older than MaxAge.
// fresh reports that it was loaded by this call. A load error is not cached: the next
// call tries again.
func (c *Cache[T]) Get(ctx context.Context) (v T, fresh bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && c.opt.Now().Sub(c.loadedAt) < c.opt.MaxAge {
		return c.val, false, c.invalid
	}
	return c.fill(ctx)
}

// Reload loads the value again, unless the last load is younger than MinReload: then it
// returns the cached value with fresh false. Callers reload after a failed comparison,
// in case the cache predates a rotation.
func (c *Cache[T]) Reload(ctx context.Context) (v T, fresh bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && c.opt.Now().Sub(c.loadedAt) < c.opt.MinReload {
		return c.val, false, c.invalid
	}
	return c.fill(ctx)
}

func (c *Cache[T]) fill(ctx context.Context) (T, bool, error) {
	v, err := c.load(ctx)
	if err != nil {
		var zero T
		return zero, false, err
	}
	c.loaded, c.val, c.loadedAt, c.invalid = true, v, c.opt.Now(), nil
	if c.opt.Validate != nil {
		c.invalid = c.opt.Validate(v)
	}
	return v, true, c.invalid
}
