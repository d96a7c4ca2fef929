package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// EraseOptions tunes an erasure.
type EraseOptions struct {
	VendorDelete bool // also ask the vendor (IDWise) to delete its personal data of each journey
	Quarantine   bool // also delete quarantined bodies that contain the referenceNo (a full Scan)
	DryRun       bool // count what would be deleted; change nothing
	// ReferenceImage also deletes the profile's reference face images (the IDWise custom
	// step's S3 bucket).
	ReferenceImage bool
}

// EraseResult says what an erasure deleted (in a dry run: would delete).
type EraseResult struct {
	ReferenceNo   string         `json:"referenceNo"`
	DryRun        bool           `json:"dryRun"`
	ErasedAt      time.Time      `json:"erasedAt"`      // the tombstone's time (the first erasure's)
	Journeys      []string       `json:"journeys"`      // provider/journeyId
	VendorDeleted []string       `json:"vendorDeleted"` // journeys whose personal data the vendor deleted (or no longer had)
	Deleted       map[string]int `json:"deleted"`       // items by kind: events, journeys, statusEvents, profile, devices, quarantined, other
	Endpoints     int            `json:"endpoints"`     // SNS push endpoints deleted
}

// erasePasses bounds the passes of an erasure: a pass that finds nothing ends it. A second
// pass catches what an event processed during the first one wrote.
const erasePasses = 3

// Erase deletes everything the table holds about a profile: its profile item, status
// history (outbox records), journeys (details are the personal data), all events of
// those journeys and every other event naming the profile, its devices with their token
// index entries and SNS push endpoints, and, with opt.Quarantine, quarantined bodies that
// contain the referenceNo. First it writes a tombstone (PROFILE#<referenceNo> / ERASED,
// no other data, no expiry): from then on the processor forgets any event for the profile
// (marked skipped "profile erased", body and referenceNo removed), so late webhooks are
// acknowledged and ignored. With opt.VendorDelete, IDWise is asked to delete each
// journey's personal data before the journey is deleted here, so a failed call can be
// retried by erasing again. Erasing again is always safe.
func (o *Ops) Erase(ctx context.Context, referenceNo string, opt EraseOptions) (EraseResult, error) {
	res := EraseResult{ReferenceNo: referenceNo, DryRun: opt.DryRun, Journeys: []string{}, VendorDeleted: []string{}, Deleted: map[string]int{}}
	if strings.TrimSpace(referenceNo) == "" {
		return res, errors.New("erase: referenceNo is required")
	}
	if opt.VendorDelete && o.idwise == nil {
		return res, fmt.Errorf("erase: idwise api %w", ErrNotConfigured)
	}
	if opt.ReferenceImage && o.images == nil {
		return res, fmt.Errorf("erase: reference image bucket %w (IDWISE_REFERENCE_IMAGE_BUCKET)", ErrNotConfigured)
	}
	if !opt.DryRun {
		at, err := o.tbl.Tombstone(ctx, referenceNo, o.now().UTC())
		if err != nil {
			return res, err
		}
		res.ErasedAt = at
	}
	er := &erasure{o: o, ref: referenceNo, opt: opt, res: &res, seen: map[string]bool{}, journeys: map[string]bool{}}
	for pass := 0; pass < erasePasses; pass++ {
		n, err := er.pass(ctx)
		if err != nil {
			return res, err
		}
		if n == 0 || opt.DryRun {
			break
		}
	}
	if opt.Quarantine {
		if err := er.quarantine(ctx); err != nil {
			return res, err
		}
	}
	if opt.ReferenceImage && !opt.DryRun {
		var ids []string
		for _, j := range res.Journeys {
			if provider, id, _ := strings.Cut(j, "/"); provider == idwise.Provider {
				ids = append(ids, id)
			}
		}
		n, err := o.images.DeleteReferenceImages(ctx, referenceNo, ids)
		if n > 0 {
			res.Deleted["referenceImages"] += n
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// erasure is one Erase run.
type erasure struct {
	o        *Ops
	ref      string
	opt      EraseOptions
	res      *EraseResult
	seen     map[string]bool // items counted (dry run)
	journeys map[string]bool // provider#journeyId whose vendor data is handled
}

// pass deletes what it finds and returns how many items that was.
func (er *erasure) pass(ctx context.Context) (int, error) {
	n := 0
	named, err := er.o.tbl.NamingItems(ctx, er.ref)
	if err != nil {
		return 0, err
	}
	partition, err := er.o.tbl.ProfileItems(ctx, er.ref)
	if err != nil {
		return 0, err
	}

	// The profile's journeys, from every item that names one.
	type journey struct{ provider, id string }
	var journeys []journey
	add := func(provider, journeyID string) {
		if provider == "" || journeyID == "" {
			return
		}
		if j := (journey{provider, journeyID}); !slices.Contains(journeys, j) {
			journeys = append(journeys, j)
		}
	}
	for _, it := range named { // events (processed or not) and journeys
		add(it.Provider, it.JourneyID)
	}
	for _, it := range partition {
		switch it.Key.Kind {
		case opstore.KindProfile, opstore.KindStatusEvents:
			add(it.Provider, it.JourneyID)
		}
	}
	slices.SortFunc(journeys, func(a, b journey) int { return strings.Compare(a.provider+"#"+a.id, b.provider+"#"+b.id) })

	for _, j := range journeys {
		provider, journeyID := j.provider, j.id
		owned, err := er.o.owns(ctx, er.ref, provider, journeyID)
		if err != nil {
			return n, err
		}
		if !owned {
			// Not this profile's journey (the user reported, claimed or named someone
			// else's): its details, events and vendor data stay. Only what names this
			// profile goes: its claim (below) and the events that name it (named).
			c, found, err := er.o.tbl.ClaimItem(ctx, provider, journeyID)
			if err != nil {
				return n, err
			}
			if found && c.ReferenceNo == er.ref {
				d, err := er.delete(ctx, c.Key)
				if err != nil {
					return n, err
				}
				n += d
			}
			continue
		}
		if jk := provider + "#" + journeyID; !er.journeys[jk] {
			er.journeys[jk] = true
			er.res.Journeys = append(er.res.Journeys, provider+"/"+journeyID)
			if er.opt.VendorDelete && provider == idwise.Provider {
				if !er.opt.DryRun {
					err := er.o.idwise.DeletePersonalData(ctx, journeyID)
					if err != nil && !errors.Is(err, idwise.ErrNotFound) {
						return n, fmt.Errorf("idwise delete personal data of journey %s: %w", journeyID, err)
					}
				}
				er.res.VendorDeleted = append(er.res.VendorDeleted, provider+"/"+journeyID)
			}
		}
		// The journey's own items: its events, its custom-step markers, its claim, the
		// journey details.
		keys, err := er.o.tbl.JourneyItems(ctx, provider, journeyID)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			d, err := er.delete(ctx, k)
			if err != nil {
				return n, err
			}
			n += d
		}
	}
	// Push markers of the profile's status events (PUSH#<statusEventId>): they name its devices.
	for _, it := range partition {
		if it.Key.Kind != opstore.KindStatusEvents {
			continue
		}
		markers, err := er.o.tbl.PushMarkers(ctx, it.StatusEventID)
		if err != nil {
			return n, err
		}
		for _, m := range markers {
			d, err := er.delete(ctx, m)
			if err != nil {
				return n, err
			}
			n += d
		}
	}
	var tokens []opstore.Item // device token entries: they go with their devices, below
	for _, it := range named {
		if it.Key.Kind == opstore.KindDeviceTokens {
			tokens = append(tokens, it)
			continue
		}
		d, err := er.delete(ctx, it.Key)
		if err != nil {
			return n, err
		}
		n += d
	}

	devs, err := er.o.tbl.Devices(ctx, er.ref)
	if err != nil {
		return n, err
	}
	for _, dev := range devs {
		if err := er.endpoint(ctx, dev.DeviceID, dev.EndpointARN); err != nil {
			return n, err
		}
		if er.opt.DryRun {
			// Counted here only: the partition's device items are skipped below.
			n += er.count(opstore.ItemKey{PK: "device", SK: dev.DeviceID, Kind: opstore.KindDevices})
			continue
		}
		if err := er.o.tbl.DeleteDevice(ctx, er.ref, dev.DeviceID); err != nil {
			return n, err
		}
		er.res.Deleted[opstore.KindDevices]++
		n++
	}
	// A token entry whose device item is gone (a removal that failed between its two
	// deletes) still names the profile.
	for _, it := range tokens {
		if slices.ContainsFunc(devs, func(d devices.Device) bool { return d.DeviceID == it.DeviceID }) {
			continue // deleted with its device (or counted with it in a dry run)
		}
		if err := er.endpoint(ctx, it.DeviceID, it.EndpointARN); err != nil {
			return n, err
		}
		d, err := er.delete(ctx, it.Key)
		if err != nil {
			return n, err
		}
		n += d
	}
	for _, it := range partition {
		if it.Key.Kind == opstore.KindTombstone || it.Key.Kind == opstore.KindDevices {
			continue
		}
		d, err := er.delete(ctx, it.Key)
		if err != nil {
			return n, err
		}
		n += d
	}
	return n, nil
}

// endpoint deletes a device's SNS push endpoint (none in a dry run) and counts it; an
// empty arn is no endpoint.
func (er *erasure) endpoint(ctx context.Context, deviceID, arn string) error {
	if arn == "" {
		return nil
	}
	if !er.opt.DryRun {
		if er.o.endpoints == nil {
			return fmt.Errorf("erase device %s: sns %w", deviceID, ErrNotConfigured)
		}
		if err := er.o.endpoints.DeleteEndpoint(ctx, arn); err != nil {
			return fmt.Errorf("delete push endpoint of device %s: %w", deviceID, err)
		}
	}
	er.res.Endpoints++
	return nil
}

// owns reports whether journey belongs to the profile ref, by the best evidence there is:
// the journey details the processor stored (their referenceNo is the vendor's, checked
// against the claim), else the vendor API's reference (IDWise), else the journey's claim.
// A journey nobody can tie to ref is not its: an erasure never follows a journey id a
// user merely reported or named.
func (o *Ops) owns(ctx context.Context, ref, provider, journeyID string) (bool, error) {
	j, found, err := o.tbl.JourneyItem(ctx, provider, journeyID)
	if err != nil {
		return false, err
	}
	if found {
		return j.ReferenceNo == ref, nil
	}
	if provider == idwise.Provider && o.journeys != nil {
		vj, err := o.journeys.Journey(ctx, journeyID)
		switch {
		case err == nil && vj.ReferenceNumber != "":
			return vj.ReferenceNumber == ref, nil
		case err != nil && !errors.Is(err, idwise.ErrNotFound):
			return false, fmt.Errorf("ask idwise whose journey %s is: %w", journeyID, err)
		}
	}
	c, found, err := o.tbl.ClaimItem(ctx, provider, journeyID)
	if err != nil {
		return false, err
	}
	return found && c.ReferenceNo == ref, nil
}

// quarantine deletes the quarantined bodies that contain the referenceNo as a JSON string.
func (er *erasure) quarantine(ctx context.Context) error {
	var keys []opstore.ItemKey
	err := er.o.tbl.ScanQuarantine(ctx, true, func(q opstore.Quarantined) bool {
		if mentions(q.Body, er.ref) {
			keys = append(keys, q.Key)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := er.delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// delete deletes one item (in a dry run: counts it once) and returns 1 if it was there.
func (er *erasure) delete(ctx context.Context, k opstore.ItemKey) (int, error) {
	if er.opt.DryRun {
		found, err := er.o.tbl.Exists(ctx, k)
		if err != nil || !found {
			return 0, err
		}
		return er.count(k), nil
	}
	deleted, err := er.o.tbl.Delete(ctx, k)
	if err != nil || !deleted {
		return 0, err
	}
	er.res.Deleted[k.Kind]++
	return 1, nil
}

// count counts k once, for a dry run.
func (er *erasure) count(k opstore.ItemKey) int {
	id := k.PK + "\x00" + k.SK
	if er.seen[id] {
		return 0
	}
	er.seen[id] = true
	er.res.Deleted[k.Kind]++
	return 1
}

// mentions reports whether body holds ref as a JSON string, however the sender escaped
// it (a reference may hold / \ & < > or non-ASCII, which encoders write as \/, \u0026,
// \uXXXX or as they are): any string of the decoded JSON equal to ref, or, for a body
// that is not JSON to its end (quarantined bodies may be anything), ref quoted as Go's
// encoder writes it, with or without HTML escaping.
func mentions(body []byte, ref string) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return containsQuoted(body, ref)
		}
		if s, ok := tok.(string); ok && s == ref {
			return true
		}
	}
	return containsQuoted(body, ref)
}

// containsQuoted looks for ref JSON-quoted in body, as the common encoders write it.
func containsQuoted(body []byte, ref string) bool {
	html, _ := json.Marshal(ref)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(ref)
	return bytes.Contains(body, html) || bytes.Contains(body, bytes.TrimSpace(plain.Bytes()))
}
