package pushtest

import (
	"context"
	"sync"
	"testing"

	"github.com/kycbackend/kyc/shared/core/push"
)

// RunLedgerContract runs the behaviour every push.Ledger must have. newLedger returns a
// ledger with nothing in it and a way to read its markers back.
func RunLedgerContract(t *testing.T, newLedger func(t *testing.T) (push.Ledger, MarkerReader)) {
	ctx := context.Background()
	type step struct {
		name      string
		do        func(l push.Ledger) (bool, error) // claimed (for ClaimPush; true otherwise)
		wantClaim bool
		wantState string // "" no marker
	}
	claim := func(ev, dev string) func(push.Ledger) (bool, error) {
		return func(l push.Ledger) (bool, error) { return l.ClaimPush(ctx, ev, dev) }
	}
	release := func(ev, dev string) func(push.Ledger) (bool, error) {
		return func(l push.Ledger) (bool, error) { return true, l.ReleasePush(ctx, ev, dev) }
	}
	complete := func(ev, dev string) func(push.Ledger) (bool, error) {
		return func(l push.Ledger) (bool, error) { return true, l.CompletePush(ctx, ev, dev, "msg-1") }
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"claim once, send, never again", []step{
			{"first claim", claim("e1", "d1"), true, Claimed},
			{"claim while claimed (in doubt after a crash)", claim("e1", "d1"), false, Claimed},
			{"complete", complete("e1", "d1"), true, Sent},
			{"claim after sent", claim("e1", "d1"), false, Sent},
			{"release after sent changes nothing", release("e1", "d1"), true, Sent},
		}},
		{"a released claim may be claimed again", []step{
			{"claim", claim("e1", "d1"), true, Claimed},
			{"release", release("e1", "d1"), true, Released},
			{"complete a released marker changes nothing", complete("e1", "d1"), true, Released},
			{"claim again", claim("e1", "d1"), true, Claimed},
			{"complete", complete("e1", "d1"), true, Sent},
		}},
		{"settling a pair never claimed writes nothing", []step{
			{"release", release("e1", "d1"), true, ""},
			{"complete", complete("e1", "d1"), true, ""},
			{"then a claim works", claim("e1", "d1"), true, Claimed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, r := newLedger(t)
			for _, st := range tt.steps {
				claimed, err := st.do(l)
				if err != nil || claimed != st.wantClaim {
					t.Fatalf("%s: = %v, %v; want %v, nil", st.name, claimed, err, st.wantClaim)
				}
				state, found, err := r.Marker(ctx, "e1", "d1")
				if err != nil || state != st.wantState || found != (st.wantState != "") {
					t.Errorf("%s: marker = %q (found %v, %v), want %q", st.name, state, found, err, st.wantState)
				}
			}
		})
	}

	t.Run("pairs are independent", func(t *testing.T) {
		l, r := newLedger(t)
		for _, p := range [][2]string{{"e1", "d1"}, {"e1", "d2"}, {"e2", "d1"}} {
			if ok, err := l.ClaimPush(ctx, p[0], p[1]); err != nil || !ok {
				t.Errorf("ClaimPush(%s, %s) = %v, %v; want a claim", p[0], p[1], ok, err)
			}
		}
		if _, found, _ := r.Marker(ctx, "e2", "d2"); found {
			t.Errorf("marker (e2, d2) exists, want none")
		}
	})

	t.Run("of concurrent claims, exactly one wins", func(t *testing.T) {
		l, _ := newLedger(t)
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := l.ClaimPush(ctx, "e1", "d1")
				if err != nil {
					t.Errorf("ClaimPush() = %v", err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d of %d concurrent claims won, want exactly 1 (never push twice)", won, n)
		}
	})
}
