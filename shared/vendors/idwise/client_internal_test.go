package idwise

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{name: "empty", in: ""},
		{name: "seconds", in: "3", want: 3 * time.Second, wantOK: true},
		{name: "zero", in: "0", want: 0, wantOK: true},
		{name: "negative", in: "-1"},
		{name: "huge seconds capped", in: "999999999", want: 24 * time.Hour, wantOK: true},
		{name: "http date", in: "Sat, 01 Mar 2025 12:00:07 GMT", want: 7 * time.Second, wantOK: true},
		{name: "http date in the past", in: "Sat, 01 Mar 2025 11:00:00 GMT", want: 0, wantOK: true},
		{name: "garbage", in: "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseRetryAfter(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// Full jitter: every wait lies in [0, min(max, base*2^(n-1))], and the waits are spread.
func TestBackoffFullJitter(t *testing.T) {
	c := &Client{baseBackoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for n, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 80: time.Second} {
		lo, hi := ceiling, time.Duration(0)
		for range 2000 {
			d := c.backoff(n)
			if d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", n, d, ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > ceiling/10 || hi < ceiling*9/10 {
			t.Errorf("backoff(%d) ranged over [%v, %v], want spread over [0, %v]", n, lo, hi, ceiling)
		}
	}
}
