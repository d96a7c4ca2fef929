package dynamo_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/core/inbox"
)

// ScanQuarantine with the body still gives the record's provider, reason, hash and time
// (opstore.Quarantined: the body is added when asked for).
func TestScanQuarantineWithBodyKeepsTheRecord(t *testing.T) {
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	body := []byte(`{"referenceNo":"alice"}`)
	q := inbox.Quarantined{Provider: "idwise", Reason: "journeyId: missing", Body: body, BodyHash: inbox.Hash(body),
		ReceivedAt: time.Date(2025, 3, 1, 10, 0, 0, 5, time.UTC), ExpiresAt: time.Now().Add(time.Hour)}
	if err := dynamo.NewInbox(client, table).Quarantine(ctx, q); err != nil {
		t.Fatal(err)
	}
	var got []opstore.Quarantined
	if err := dynamo.NewOperator(client, table, time.Hour).ScanQuarantine(ctx, true, func(r opstore.Quarantined) bool {
		got = append(got, r)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Provider != q.Provider || got[0].Reason != q.Reason || got[0].BodyHash != q.BodyHash ||
		!got[0].ReceivedAt.Equal(q.ReceivedAt) || !bytes.Equal(got[0].Body, body) {
		t.Errorf("ScanQuarantine(withBody) = %+v, want %+v", got, q)
	}
}
