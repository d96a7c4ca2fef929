package ddb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/ddb"
	"github.com/kycbackend/kyc/shared/ddb/ddbtest"
	"github.com/kycbackend/kyc/shared/idwise"
)

// TestCustomStepMarkers walks a custom step marker through every transition on DynamoDB
// Local: each one is a conditional write, so a lost race shows as ErrStepBusy or
// ErrStepCompleted, never as a second claim.
func TestCustomStepMarkers(t *testing.T) {
	client, table := ddbtest.NewTable(t)
	s := ddb.NewStore(client, table, time.Hour)
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	const j, step = "J-markers", "gov-face"

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
		{name: "release", do: func() (idwise.StepMarker, error) {
			return idwise.StepMarker{}, s.ReleaseStep(ctx, j, step, "a", "idwise: http status 500")
		}},
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

	// Token b crashed while holding its claim: after its lease, c takes over, in doubt,
	// and resumes at submitted (only the completion is left).
	if _, err := s.ClaimStep(ctx, "J-lease", step, "b", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceStep(ctx, "J-lease", step, "b", idwise.StepSubmitted, "image submitted (image/jpeg, 10 bytes)"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimStep(ctx, "J-lease", step, "c", later)
	want := idwise.StepMarker{State: idwise.StepSubmitted, Attempts: 2, InDoubt: true, Note: "image submitted (image/jpeg, 10 bytes)"}
	if err != nil || got != want {
		t.Fatalf("takeover after the lease = %+v, %v; want %+v", got, err, want)
	}
	if err := s.AdvanceStep(ctx, "J-lease", step, "b", idwise.StepCompleted, "late"); !errors.Is(err, idwise.ErrStepBusy) {
		t.Errorf("advance by the crashed token = %v, want ErrStepBusy", err)
	}
	if err := s.AdvanceStep(ctx, "J-lease", step, "c", idwise.StepCompleted, "image submitted (image/jpeg, 10 bytes)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimStep(ctx, "J-lease", step, "d", later); !errors.Is(err, idwise.ErrStepCompleted) {
		t.Errorf("claim of a completed step = %v, want ErrStepCompleted", err)
	}
	m, found, err := s.Step(ctx, "J-lease", step)
	if err != nil || !found || m.State != idwise.StepCompleted || m.Claimed {
		t.Errorf("Step() = %+v %v %v, want completed and unclaimed", m, found, err)
	}

	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: ddb.CustomStepKey("idwise", "J-lease", step)})
	if err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[string]string{"pk": "CUSTOMSTEP#idwise#J-lease", "sk": "STEP#gov-face", "kind": ddb.KindCustomStep, "state": "completed"} {
		if v, _ := out.Item[attr].(*types.AttributeValueMemberS); v == nil || v.Value != want {
			t.Errorf("item %s = %v, want %q", attr, out.Item[attr], want)
		}
	}
	if _, ok := out.Item["expiresAt"].(*types.AttributeValueMemberN); !ok {
		t.Errorf("item has no expiresAt (TTL)")
	}
	if _, ok := out.Item["claim"]; ok {
		t.Errorf("completed item still has a claim")
	}
}
