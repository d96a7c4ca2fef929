package secretcache

import (
	"context"
	"errors"
	"testing"
	"time"
)

// vault is a fake secret store whose value an operator can revoke; it counts reads.
type vault struct {
	value string
	fail  error
	reads int
}

func (v *vault) load(context.Context) (string, error) {
	v.reads++
	if v.fail != nil {
		return "", v.fail
	}
	return v.value, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newCache(v *vault, c *clock, opt Options[string]) *Cache[string] {
	opt.Now = c.now
	return New(v.load, opt)
}

// A revoked secret stops working after MaxAge in a warm container, with no failed
// comparison needed to notice.
func TestRevokedSecretExpiresAfterMaxAge(t *testing.T) {
	tests := []struct {
		name   string
		maxAge time.Duration
		want   time.Duration // the age at which the new value must be served
	}{
		{"default five minutes", 0, DefaultMaxAge},
		{"configured one minute", time.Minute, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c := &vault{value: "old"}, &clock{t: time.Unix(1_700_000_000, 0)}
			cache := newCache(v, c, Options[string]{MaxAge: tt.maxAge})
			ctx := context.Background()
			if got, _, _ := cache.Get(ctx); got != "old" {
				t.Fatalf("Get() = %q, want old", got)
			}
			v.value = "new" // the operator revokes "old"
			c.advance(tt.want - time.Second)
			if got, fresh, _ := cache.Get(ctx); got != "old" || fresh {
				t.Errorf("Get() just before max age = %q (fresh %v), want the cached old", got, fresh)
			}
			c.advance(time.Second)
			if got, fresh, _ := cache.Get(ctx); got != "new" || !fresh {
				t.Errorf("Get() at max age = %q (fresh %v), want new, loaded now", got, fresh)
			}
			if v.reads != 2 {
				t.Errorf("reads = %d, want 2", v.reads)
			}
		})
	}
}

// A flood of failed comparisons reloads at most once per MinReload.
func TestReloadIsRateLimited(t *testing.T) {
	v, c := &vault{value: "s1"}, &clock{t: time.Unix(1_700_000_000, 0)}
	cache := newCache(v, c, Options[string]{MaxAge: time.Hour, MinReload: time.Minute})
	ctx := context.Background()
	_, _, _ = cache.Get(ctx)
	for i := 0; i < 100; i++ { // an attacker's bad requests, all within a second
		if _, fresh, _ := cache.Reload(ctx); fresh {
			t.Fatalf("Reload() #%d loaded, want it rate limited", i)
		}
	}
	if v.reads != 1 {
		t.Errorf("reads after 100 reloads within MinReload = %d, want 1", v.reads)
	}
	v.value = "s2" // a rotation: the next allowed reload picks it up at once
	c.advance(time.Minute)
	if got, fresh, _ := cache.Reload(ctx); got != "s2" || !fresh {
		t.Errorf("Reload() after MinReload = %q (fresh %v), want s2 loaded now", got, fresh)
	}
	if _, fresh, _ := cache.Reload(ctx); fresh {
		t.Errorf("Reload() right after a reload loaded again, want rate limited")
	}
	if v.reads != 2 {
		t.Errorf("reads = %d, want 2", v.reads)
	}
}

func TestLoadErrorsAreNotCachedInvalidValuesAre(t *testing.T) {
	v, c := &vault{fail: errors.New("throttled")}, &clock{t: time.Unix(1_700_000_000, 0)}
	errEmpty := errors.New("empty")
	cache := newCache(v, c, Options[string]{Validate: func(s string) error {
		if s == "" {
			return errEmpty
		}
		return nil
	}})
	ctx := context.Background()
	if _, _, err := cache.Get(ctx); err == nil {
		t.Fatalf("Get() with a failing store = nil error, want it")
	}
	v.fail = nil // the store answers, but nobody filled the secret in yet
	if _, _, err := cache.Get(ctx); !errors.Is(err, errEmpty) {
		t.Fatalf("Get() = %v, want %v", err, errEmpty)
	}
	if _, _, err := cache.Get(ctx); !errors.Is(err, errEmpty) {
		t.Errorf("Get() again = %v, want the cached %v", err, errEmpty)
	}
	if v.reads != 2 {
		t.Errorf("reads = %d, want 2 (the error retried, the unusable value cached)", v.reads)
	}
}
