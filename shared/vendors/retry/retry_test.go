package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/retry"
)

func TestAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"100000", time.Minute, true}, // capped
		{"Tue, 01 Dec 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Tue, 01 Dec 2026 11:00:00 GMT", 0, true}, // in the past
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := retry.After(tt.in, now, time.Minute)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("After(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoffStaysUnderItsCeiling(t *testing.T) {
	for n := 1; n <= 40; n++ {
		ceiling := min(100*time.Millisecond<<min(n-1, 30), time.Second)
		for range 50 {
			if d := retry.Backoff(n, 100*time.Millisecond, time.Second); d < 0 || d > ceiling {
				t.Fatalf("Backoff(%d) = %v, want within [0, %v]", n, d, ceiling)
			}
		}
	}
}

func TestSleepNeverOutlivesTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if retry.Sleep(ctx, time.Hour) {
		t.Error("Sleep(1h) under a 1s deadline = true, want false at once")
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if retry.Sleep(done, time.Hour) {
		t.Error("Sleep on a cancelled context = true, want false")
	}
	if !retry.Sleep(context.Background(), time.Millisecond) {
		t.Error("Sleep(1ms) = false, want true")
	}
}
