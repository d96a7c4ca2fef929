package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Claims is the part of Table the claims commands use (dynamo.Operator).
type Claims interface {
	// Claim reads a journey's claim.
	Claim(ctx context.Context, provider, journeyID string) (kyc.Claim, bool, error)
	// ListClaims lists every claim, or referenceNo's only (a full Scan).
	ListClaims(ctx context.Context, referenceNo string) ([]kyc.Claim, error)
	// DeleteClaim deletes c's claim of its journey if it is still c's
	// (processor.ErrConflict otherwise).
	DeleteClaim(ctx context.Context, c kyc.Claim) error
	// ReplaceClaim hands the journey from old's claimer to c as a new claim (the stream
	// then releases the events waiting for it); false when someone else's claim stands.
	ReplaceClaim(ctx context.Context, old, c kyc.Claim) (bool, error)
	// RecordOperatorEvent writes e in its journey's timeline, already processed with note
	// (an audit record: nothing processes it).
	RecordOperatorEvent(ctx context.Context, e inbox.Event, note string) error
}

// Names of the operator events the claims commands record in a journey's timeline.
const (
	ClaimReleasedEvent   = "Operator Claim Released"
	ClaimReassignedEvent = "Operator Claim Reassigned"
	// ClaimEventPrefix starts the id of every event kycctl records for claims.
	ClaimEventPrefix = "kycctl-claim-"
)

// ClaimView is a claim as kycctl shows it.
type ClaimView struct {
	Provider          string `json:"provider"`
	JourneyID         string `json:"journeyId"`
	ReferenceNo       string `json:"referenceNo"`
	Source            string `json:"source"`
	State             string `json:"state"` // unverified, confirmed, rejected
	VendorReferenceNo string `json:"vendorReferenceNo,omitempty"`
	ClaimedAt         string `json:"claimedAt"`
}

// ClaimChange is what release or reassign did.
type ClaimChange struct {
	Provider  string `json:"provider"`
	JourneyID string `json:"journeyId"`
	From      string `json:"from"`           // the claimer before ("" none)
	To        string `json:"to"`             // after ("" released)
	EventID   string `json:"eventId"`        // the operator event in the journey's timeline
	Note      string `json:"note,omitempty"` // that event's note
}

func claimView(c kyc.Claim) ClaimView {
	st := string(c.State)
	if st == "" {
		st = "unverified"
	}
	return ClaimView{Provider: c.Provider, JourneyID: c.JourneyID, ReferenceNo: c.ReferenceNo, Source: string(c.Source),
		State: st, VendorReferenceNo: c.VendorReferenceNo, ClaimedAt: c.ClaimedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
}

// ListClaims lists the claims of one journey (journeyID set), of one user (referenceNo
// set), or all of them.
func (o *Ops) ListClaims(ctx context.Context, provider, journeyID, referenceNo string) ([]ClaimView, error) {
	tbl := o.tbl
	out := []ClaimView{}
	if journeyID != "" {
		c, ok, err := tbl.Claim(ctx, provider, journeyID)
		if err != nil || !ok {
			return out, err
		}
		return append(out, claimView(c)), nil
	}
	cs, err := tbl.ListClaims(ctx, referenceNo)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		out = append(out, claimView(c))
	}
	return out, nil
}

// ReleaseClaim deletes a journey's claim: the journey is unclaimed again, and its
// outcomes wait for the next claim (or, in vendor mode, go to the vendor's reference). The
// release is recorded in the journey's timeline as an operator event. ErrNotFound when the
// journey has no claim.
func (o *Ops) ReleaseClaim(ctx context.Context, provider, journeyID string) (ClaimChange, error) {
	res := ClaimChange{Provider: provider, JourneyID: journeyID}
	tbl := o.tbl
	c, ok, err := tbl.Claim(ctx, provider, journeyID)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("claim of journey %s: %w", journeyID, ErrNotFound)
	}
	res.From = c.ReferenceNo
	if err := tbl.DeleteClaim(ctx, c); errors.Is(err, processor.ErrConflict) {
		return res, fmt.Errorf("release claim of journey %s: claimed anew meanwhile, run again: %w", journeyID, err)
	} else if err != nil {
		return res, err
	}
	res.Note = "claim of " + c.ReferenceNo + " released by an operator"
	return o.auditClaim(ctx, tbl, res, ClaimReleasedEvent)
}

// ReassignClaim makes to the journey's claimer in place of whoever claimed it (source
// operator, keeping the first claim's time so that the journey's place among the user's
// journeys stays). It is a new claim: the outcomes waiting for the journey's claim are then
// processed, and land on to only if to is the vendor's reference (claimed mode never lets
// a claim overrule the vendor). Recorded in the journey's timeline as an operator event.
func (o *Ops) ReassignClaim(ctx context.Context, provider, journeyID, to string) (ClaimChange, error) {
	res := ClaimChange{Provider: provider, JourneyID: journeyID, To: to}
	if err := kyc.CheckID("referenceNo", to); err != nil {
		return res, err
	}
	tbl := o.tbl
	old, ok, err := tbl.Claim(ctx, provider, journeyID)
	if err != nil {
		return res, err
	}
	c := kyc.Claim{Provider: provider, JourneyID: journeyID, ReferenceNo: to, Source: kyc.ClaimByOperator, ClaimedAt: o.now().UTC()}
	if ok {
		res.From, c.ClaimedAt = old.ReferenceNo, old.ClaimedAt
		if old.ReferenceNo == to {
			return res, fmt.Errorf("journey %s is claimed by %s already", journeyID, to)
		}
	} else {
		old = kyc.Claim{Provider: provider, JourneyID: journeyID}
	}
	replaced, err := tbl.ReplaceClaim(ctx, old, c)
	if err != nil {
		return res, err
	}
	if !replaced {
		return res, fmt.Errorf("reassign claim of journey %s: claimed anew meanwhile, run again: %w", journeyID, processor.ErrConflict)
	}
	res.Note = "claim reassigned by an operator from " + firstNonEmpty(res.From, "nobody") + " to " + to
	return o.auditClaim(ctx, tbl, res, ClaimReassignedEvent)
}

func (o *Ops) auditClaim(ctx context.Context, tbl Claims, res ClaimChange, name string) (ClaimChange, error) {
	now := o.now().UTC()
	res.EventID = ClaimEventPrefix + strconv.FormatInt(now.UnixNano(), 10)
	e := inbox.Event{Provider: res.Provider, EventID: res.EventID, Name: name, JourneyID: res.JourneyID,
		Attributes: map[string]string{"from": res.From, "to": res.To}, ReceivedAt: now, ExpiresAt: now.Add(o.retention)}
	if err := tbl.RecordOperatorEvent(ctx, e, res.Note); err != nil {
		return res, fmt.Errorf("record %s in the timeline (the claim change is done): %w", name, err)
	}
	return res, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
