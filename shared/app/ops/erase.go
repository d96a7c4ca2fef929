package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
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
		at, err := o.tombstone(ctx, referenceNo)
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

// tombstone writes the erased profile's tombstone unless there is one, and returns its time.
func (o *Ops) tombstone(ctx context.Context, referenceNo string) (time.Time, error) {
	now := o.now().UTC()
	item := dynamo.TombstoneKey(referenceNo)
	item[dynamo.AttrKind] = str(dynamo.KindTombstone)
	item["erasedAt"] = str(now.Format(time.RFC3339Nano))
	_, err := o.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(o.table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": dynamo.AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return parseTime(s(ccf.Item, "erasedAt")), nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("write tombstone: %w", err)
	}
	return now, nil
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
	named, err := er.o.naming(ctx, er.ref)
	if err != nil {
		return 0, err
	}
	partition, err := er.o.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": dynamo.AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.ProfileKey(er.ref)[dynamo.AttrPK]},
		ConsistentRead:            aws.Bool(true),
	}, 0)
	if err != nil {
		return 0, fmt.Errorf("query profile partition: %w", err)
	}

	// The profile's journeys, from every item that names one.
	var journeys []string
	add := func(provider, journeyID string) {
		if provider == "" || journeyID == "" {
			return
		}
		if k := dynamo.JourneyKey(provider, journeyID); !slices.Contains(journeys, k) {
			journeys = append(journeys, k)
		}
	}
	for _, it := range named { // events (processed or not) and journeys
		add(s(it, "provider"), s(it, "journeyId"))
	}
	for _, it := range partition {
		switch sk := s(it, dynamo.AttrSK); {
		case sk == "PROFILE":
			add(s(it, "provider"), s(it, "journeyId"))
		case strings.HasPrefix(sk, dynamo.OutboxSKPrefix):
			if ev, err := dynamo.DecodeOutbox(it); err == nil {
				add(ev.Provider, ev.JourneyID)
			}
		}
	}
	slices.Sort(journeys)

	for _, jk := range journeys {
		provider, journeyID, _ := strings.Cut(jk, "#")
		owned, err := er.o.owns(ctx, er.ref, provider, journeyID)
		if err != nil {
			return n, err
		}
		if !owned {
			// Not this profile's journey (the user reported, claimed or named someone
			// else's): its details, events and vendor data stay. Only what names this
			// profile goes: its claim (below) and the events that name it (named).
			d, err := er.deleteIf(ctx, dynamo.ClaimKey(provider, journeyID), func(it map[string]types.AttributeValue) bool {
				return s(it, "referenceNo") == er.ref
			})
			if err != nil {
				return n, err
			}
			n += d
			continue
		}
		if !er.journeys[jk] {
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
		events, err := er.o.journeyEvents(ctx, provider, journeyID)
		if err != nil {
			return n, err
		}
		// The journey's own items: its events, its custom-step markers, its claim, the
		// journey details.
		steps, err := er.o.partition(ctx, "CUSTOMSTEP#"+provider+"#"+journeyID)
		if err != nil {
			return n, err
		}
		keys := append(events, steps...)
		keys = append(keys, dynamo.ClaimKey(provider, journeyID), dynamo.JourneyItemKey(provider, journeyID))
		for _, it := range keys {
			d, err := er.delete(ctx, primaryKey(it))
			if err != nil {
				return n, err
			}
			n += d
		}
	}
	// Push markers of the profile's status events (PUSH#<statusEventId>): they name its devices.
	for _, it := range partition {
		if !strings.HasPrefix(s(it, dynamo.AttrSK), dynamo.OutboxSKPrefix) {
			continue
		}
		markers, err := er.o.partition(ctx, "PUSH#"+strings.TrimPrefix(s(it, dynamo.AttrSK), dynamo.OutboxSKPrefix))
		if err != nil {
			return n, err
		}
		for _, m := range markers {
			d, err := er.delete(ctx, primaryKey(m))
			if err != nil {
				return n, err
			}
			n += d
		}
	}
	for _, it := range named {
		d, err := er.delete(ctx, primaryKey(it))
		if err != nil {
			return n, err
		}
		n += d
	}

	devs, err := er.o.store.Devices(ctx, er.ref)
	if err != nil {
		return n, err
	}
	for _, dev := range devs {
		if dev.EndpointARN != "" && !er.opt.DryRun {
			if er.o.endpoints == nil {
				return n, fmt.Errorf("erase device %s: sns %w", dev.DeviceID, ErrNotConfigured)
			}
			if err := er.o.endpoints.DeleteEndpoint(ctx, dev.EndpointARN); err != nil {
				return n, fmt.Errorf("delete push endpoint of device %s: %w", dev.DeviceID, err)
			}
		}
		if dev.EndpointARN != "" {
			er.res.Endpoints++
		}
		if er.opt.DryRun {
			n += er.count(dynamo.DeviceKey(er.ref, dev.DeviceID))
			continue
		}
		if err := er.o.store.DeleteDevice(ctx, er.ref, dev.DeviceID); err != nil {
			return n, err
		}
		er.res.Deleted["devices"]++
		n++
	}
	for _, it := range partition {
		sk := s(it, dynamo.AttrSK)
		if s(it, dynamo.AttrKind) == dynamo.KindTombstone || strings.HasPrefix(sk, "DEVICE#") {
			continue
		}
		d, err := er.delete(ctx, primaryKey(it))
		if err != nil {
			return n, err
		}
		n += d
	}
	return n, nil
}

// owns reports whether journey belongs to the profile ref, by the best evidence there is:
// the journey details the processor stored (their referenceNo is the vendor's, checked
// against the claim), else the vendor API's reference (IDWise), else the journey's claim.
// A journey nobody can tie to ref is not its: an erasure never follows a journey id a
// user merely reported or named.
func (o *Ops) owns(ctx context.Context, ref, provider, journeyID string) (bool, error) {
	j, err := o.get(ctx, dynamo.JourneyItemKey(provider, journeyID))
	if err != nil {
		return false, err
	}
	if j != nil {
		return s(j, "referenceNo") == ref, nil
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
	c, err := o.get(ctx, dynamo.ClaimKey(provider, journeyID))
	if err != nil {
		return false, err
	}
	return c != nil && s(c, "referenceNo") == ref, nil
}

// partition lists the keys of every item of partition pk (strongly consistent).
func (o *Ops) partition(ctx context.Context, pk string) ([]map[string]types.AttributeValue, error) {
	items, err := o.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ProjectionExpression:      aws.String("#pk, #sk"),
		ExpressionAttributeNames:  map[string]string{"#pk": dynamo.AttrPK, "#sk": dynamo.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ConsistentRead:            aws.Bool(true),
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("query partition %s: %w", strings.SplitN(pk, "#", 2)[0], err)
	}
	return items, nil
}

// naming returns the inbox events and journeys whose referenceNo is ref, with their
// provider and journeyId, from a strongly consistent Scan of the table. There is no index by
// profile on purpose: it would cost an index write on every delivery, for a request that
// comes rarely (a Scan reads the whole table: about 0.25 read units per KB of table, and
// a few minutes for tens of GB).
func (o *Ops) naming(ctx context.Context, ref string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.ScanInput{
		TableName:                aws.String(o.table),
		ConsistentRead:           aws.Bool(true),
		FilterExpression:         aws.String("referenceNo = :ref AND #kind IN (:event, :operator, :journey, :claim)"),
		ProjectionExpression:     aws.String("#pk, #sk, provider, journeyId"),
		ExpressionAttributeNames: map[string]string{"#pk": dynamo.AttrPK, "#sk": dynamo.AttrSK, "#kind": dynamo.AttrKind},
		ExpressionAttributeValues: map[string]types.AttributeValue{":ref": str(ref), ":event": str(dynamo.KindEvent),
			":operator": str(dynamo.KindOperatorEvent), ":journey": str(dynamo.KindJourney), ":claim": str(dynamo.KindClaim)},
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := o.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan for the profile's events and journeys: %w", err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// quarantine deletes the quarantined bodies that contain the referenceNo as a JSON string.
func (er *erasure) quarantine(ctx context.Context) error {
	quoted, _ := json.Marshal(er.ref)
	var keys []map[string]types.AttributeValue
	err := er.o.scanQuarantine(ctx, []string{"body"}, func(it map[string]types.AttributeValue) bool {
		if b, ok := it["body"].(*types.AttributeValueMemberB); ok && bytes.Contains(b.Value, quoted) {
			keys = append(keys, primaryKey(it))
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

// deleteIf deletes the item k if it exists and keep returns true for it.
func (er *erasure) deleteIf(ctx context.Context, k map[string]types.AttributeValue, match func(map[string]types.AttributeValue) bool) (int, error) {
	it, err := er.o.get(ctx, k)
	if err != nil || it == nil || !match(it) {
		return 0, err
	}
	return er.delete(ctx, k)
}

// delete deletes one item (in a dry run: counts it once) and returns 1 if it was there.
func (er *erasure) delete(ctx context.Context, k map[string]types.AttributeValue) (int, error) {
	if er.opt.DryRun {
		it, err := er.o.get(ctx, k)
		if err != nil || it == nil {
			return 0, err
		}
		return er.count(k), nil
	}
	out, err := er.o.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(er.o.table), Key: k,
		ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", s(k, dynamo.AttrPK), err)
	}
	if len(out.Attributes) == 0 {
		return 0, nil
	}
	er.res.Deleted[kindOf(s(k, dynamo.AttrPK), s(k, dynamo.AttrSK))]++
	return 1, nil
}

// count counts k once, for a dry run.
func (er *erasure) count(k map[string]types.AttributeValue) int {
	id := s(k, dynamo.AttrPK) + "\x00" + s(k, dynamo.AttrSK)
	if er.seen[id] {
		return 0
	}
	er.seen[id] = true
	er.res.Deleted[kindOf(s(k, dynamo.AttrPK), s(k, dynamo.AttrSK))]++
	return 1
}

// kindOf names the kind of an item by its key, for the erasure's counts.
func kindOf(pk, sk string) string {
	switch {
	case strings.HasPrefix(pk, "PUSH#"):
		return "pushMarkers"
	case strings.HasPrefix(pk, "CUSTOMSTEP#"):
		return "customSteps"
	case sk == "CLAIM":
		return "claims"
	case strings.HasPrefix(sk, dynamo.LimitSKPrefix):
		return "rateLimits"
	case sk == "EVENT":
		return "events"
	case sk == "JOURNEY":
		return "journeys"
	case strings.HasPrefix(sk, dynamo.OutboxSKPrefix):
		return "statusEvents"
	case sk == "PROFILE":
		return "profile"
	case strings.HasPrefix(sk, "DEVICE#"):
		return "devices"
	case sk == "QUARANTINE":
		return "quarantined"
	}
	return "other"
}
