package ops

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// ProfileView is a profile's current status.
type ProfileView struct {
	Status    kyc.Status `json:"status"`
	JourneyID string     `json:"journeyId"`
	Provider  string     `json:"provider"`
	Reasons   []string   `json:"reasons"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// StatusChange is one status change of a profile: its status event (outbox record).
type StatusChange struct {
	StatusEventID  string     `json:"statusEventId"`
	Provider       string     `json:"provider"`
	JourneyID      string     `json:"journeyId"`
	PreviousStatus kyc.Status `json:"previousStatus"`
	Status         kyc.Status `json:"status"`
	Reasons        []string   `json:"reasons"`
	OccurredAt     string     `json:"occurredAt"`
	RecordedAt     time.Time  `json:"recordedAt"`
	SentAt         *time.Time `json:"sentAt"` // nil: not published yet (the sweeper retries)
}

// History is a profile's status history.
type History struct {
	ReferenceNo string         `json:"referenceNo"`
	Profile     *ProfileView   `json:"profile"` // nil: no such profile (or erased)
	Erased      bool           `json:"erased"`
	Changes     []StatusChange `json:"changes"` // oldest first
}

// History shows a profile's current status and its status changes, oldest first. The
// changes are the outbox records (in the profile's partition, sk OUTBOX#<statusEventId>);
// they expire with raw events (RAW_EVENT_RETENTION_DAYS after publication), so the history
// covers that window.
func (o *Ops) History(ctx context.Context, referenceNo string) (History, error) {
	h := History{ReferenceNo: referenceNo, Changes: []StatusChange{}}
	p, found, err := o.tbl.Profile(ctx, referenceNo)
	if err != nil {
		return h, err
	}
	if found {
		h.Profile = &ProfileView{Status: p.Status, JourneyID: p.JourneyID, Provider: p.Provider, Reasons: p.Reasons, UpdatedAt: p.UpdatedAt}
	}
	if h.Erased, err = o.tbl.Erased(ctx, referenceNo); err != nil {
		return h, err
	}
	records, err := o.tbl.StatusHistory(ctx, referenceNo)
	if err != nil {
		return h, err
	}
	for _, r := range records {
		ev := r.Event
		h.Changes = append(h.Changes, StatusChange{StatusEventID: ev.ID, Provider: ev.Provider, JourneyID: ev.JourneyID, PreviousStatus: ev.PreviousStatus,
			Status: ev.Status, Reasons: ev.Reasons, OccurredAt: ev.OccurredAt, RecordedAt: r.RecordedAt, SentAt: r.SentAt})
	}
	// Each change was written conditionally on the one before: the time it was recorded
	// is the order in which the profile moved.
	sort.SliceStable(h.Changes, func(i, j int) bool { return h.Changes[i].RecordedAt.Before(h.Changes[j].RecordedAt) })
	if !found && !h.Erased && len(h.Changes) == 0 {
		return h, fmt.Errorf("profile %s: %w", referenceNo, ErrNotFound)
	}
	return h, nil
}

// TimelineEntry is one event of a journey: ids and decisions only, never a body.
type TimelineEntry struct {
	ReceivedAt time.Time         `json:"receivedAt"`
	EventID    string            `json:"eventId"`
	Event      string            `json:"event"`
	State      string            `json:"state"`
	Note       string            `json:"note"`
	Decisions  map[string]string `json:"decisions,omitempty"` // what the event carried (decisions, action, step ids ...)
	Operator   bool              `json:"operator,omitempty"`  // recorded by kycctl (refetch)
}

// Timeline is a journey's stored snapshot decisions and its events.
type Timeline struct {
	Provider    string            `json:"provider"`
	JourneyID   string            `json:"journeyId"`
	ReferenceNo string            `json:"referenceNo,omitempty"`
	Decisions   map[string]string `json:"decisions,omitempty"` // of the stored snapshot
	FetchedAt   *time.Time        `json:"fetchedAt,omitempty"` // nil: never fetched
	Entries     []TimelineEntry   `json:"entries"`             // oldest first
}

// Timeline shows a journey: the decisions of the stored snapshot (not its details) and
// every event received for it (index ByJourney), oldest first, with where it ended.
func (o *Ops) Timeline(ctx context.Context, provider, journeyID string) (Timeline, error) {
	t := Timeline{Provider: provider, JourneyID: journeyID, Entries: []TimelineEntry{}}
	j, found, err := o.tbl.Journey(ctx, provider, journeyID)
	if err != nil {
		return t, err
	}
	if found {
		t.ReferenceNo, t.Decisions = j.ReferenceNo, j.Decisions
		fetched := j.FetchedAt
		t.FetchedAt = &fetched
	}
	events, err := o.tbl.JourneyTimeline(ctx, provider, journeyID)
	if err != nil {
		return t, err
	}
	for _, se := range events {
		if t.ReferenceNo == "" {
			t.ReferenceNo = se.Event.ReferenceNo
		}
		t.Entries = append(t.Entries, TimelineEntry{ReceivedAt: se.Event.ReceivedAt, EventID: se.Event.EventID,
			Event: se.Event.Name, State: se.State, Note: se.Note, Decisions: se.Event.Attributes, Operator: se.Operator})
	}
	if !found && len(t.Entries) == 0 {
		return t, fmt.Errorf("journey %s/%s: %w", provider, journeyID, ErrNotFound)
	}
	return t, nil
}
