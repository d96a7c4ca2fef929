package markerstest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// RunMarkersContract runs the behaviour every idwise.Markers must have: each transition
// is a conditional write, so a lost race shows as ErrStepBusy or ErrStepCompleted, never
// as a second claim. newMarkers returns a store with nothing in it, whose leases end by
// the wall clock.
func RunMarkersContract(t *testing.T, newMarkers func(t *testing.T) idwise.Markers) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	const step = "gov-face"

	t.Run("claim, lose, release, claim again, advance", func(t *testing.T) {
		s := newMarkers(t)
		const j = "J-markers"
		if _, found, err := s.Step(ctx, j, step); err != nil || found {
			t.Fatalf("Step() before any claim = found %v, %v; want none", found, err)
		}
		steps := []struct {
			name    string
			do      func() (idwise.StepMarker, error)
			want    idwise.StepMarker // from ClaimStep
			wantErr error
		}{
			{name: "first claim", do: func() (idwise.StepMarker, error) { return s.ClaimStep(ctx, j, step, "a", later) },
				want: idwise.StepMarker{State: idwise.StepSubmitting, Attempts: 1}},
			{name: "concurrent claim backs off", do: func() (idwise.StepMarker, error) { return s.ClaimStep(ctx, j, step, "b", later) },
				wantErr: idwise.ErrStepBusy},
			{name: "advance by another token refused", do: func() (idwise.StepMarker, error) {
				return idwise.StepMarker{}, s.AdvanceStep(ctx, j, step, "b", idwise.StepSubmitted, "x")
			}, wantErr: idwise.ErrStepBusy},
			{name: "release by another token refused", do: func() (idwise.StepMarker, error) {
				return idwise.StepMarker{}, s.ReleaseStep(ctx, j, step, "b", "x")
			}, wantErr: idwise.ErrStepBusy},
			{name: "release", do: func() (idwise.StepMarker, error) {
				return idwise.StepMarker{}, s.ReleaseStep(ctx, j, step, "a", "idwise: http status 500")
			}},
			{name: "release again refused (no claim)", do: func() (idwise.StepMarker, error) {
				return idwise.StepMarker{}, s.ReleaseStep(ctx, j, step, "a", "again")
			}, wantErr: idwise.ErrStepBusy},
			{name: "claim after a release is not in doubt", do: func() (idwise.StepMarker, error) { return s.ClaimStep(ctx, j, step, "b", later) },
				want: idwise.StepMarker{State: idwise.StepSubmitting, Attempts: 2}},
			{name: "submitted", do: func() (idwise.StepMarker, error) {
				return idwise.StepMarker{}, s.AdvanceStep(ctx, j, step, "b", idwise.StepSubmitted, "image submitted")
			}},
		}
		for _, st := range steps {
			got, err := st.do()
			if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
				t.Fatalf("%s: error = %v, want %v", st.name, err, st.wantErr)
			}
			if got != st.want {
				t.Errorf("%s: marker = %+v, want %+v", st.name, got, st.want)
			}
		}
		m, found, err := s.Step(ctx, j, step)
		want := idwise.StepMarker{State: idwise.StepSubmitted, Attempts: 2, Claimed: true, Note: "image submitted"}
		if err != nil || !found || m != want {
			t.Errorf("Step() = %+v %v %v, want %+v", m, found, err, want)
		}
	})

	t.Run("a crashed claim is taken over after its lease, in doubt", func(t *testing.T) {
		s := newMarkers(t)
		const j = "J-lease"
		if _, err := s.ClaimStep(ctx, j, step, "b", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.AdvanceStep(ctx, j, step, "b", idwise.StepSubmitted, "image submitted (image/jpeg, 10 bytes)"); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimStep(ctx, j, step, "c", later)
		want := idwise.StepMarker{State: idwise.StepSubmitted, Attempts: 2, InDoubt: true, Note: "image submitted (image/jpeg, 10 bytes)"}
		if err != nil || got != want {
			t.Fatalf("takeover after the lease = %+v, %v; want %+v", got, err, want)
		}
		if err := s.AdvanceStep(ctx, j, step, "b", idwise.StepCompleted, "late"); !errors.Is(err, idwise.ErrStepBusy) {
			t.Errorf("advance by the crashed token = %v, want ErrStepBusy", err)
		}
		if err := s.AdvanceStep(ctx, j, step, "c", idwise.StepCompleted, "completed"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimStep(ctx, j, step, "d", later); !errors.Is(err, idwise.ErrStepCompleted) {
			t.Errorf("claim of a completed step = %v, want ErrStepCompleted", err)
		}
		m, found, err := s.Step(ctx, j, step)
		if err != nil || !found || m.State != idwise.StepCompleted || m.Claimed || m.Note != "completed" {
			t.Errorf("Step() = %+v %v %v, want completed and unclaimed", m, found, err)
		}
	})

	t.Run("steps and journeys are independent", func(t *testing.T) {
		s := newMarkers(t)
		for _, k := range [][2]string{{"J1", "s1"}, {"J1", "s2"}, {"J2", "s1"}} {
			if m, err := s.ClaimStep(ctx, k[0], k[1], "t", later); err != nil || m.Attempts != 1 {
				t.Errorf("ClaimStep(%s, %s) = %+v, %v; want a first claim", k[0], k[1], m, err)
			}
		}
	})

	t.Run("of concurrent claims, exactly one wins", func(t *testing.T) {
		s := newMarkers(t)
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.ClaimStep(ctx, "J-race", step, string(rune('a'+i)), later)
				switch {
				case err == nil:
					mu.Lock()
					won++
					mu.Unlock()
				case !errors.Is(err, idwise.ErrStepBusy):
					t.Errorf("ClaimStep() = %v, want nil or ErrStepBusy", err)
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d of %d concurrent claims won, want exactly 1", won, n)
		}
	})
}
