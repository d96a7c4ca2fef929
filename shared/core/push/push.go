// Package push tells a user, by mobile push, that their verification status changed. For
// each status event (kyc.StatusEvent, from the status topic through the push queue) it
// sends every registered device of the profile one notification, in the device's language,
// through the device's SNS platform endpoint.
//
// Delivery guarantees:
//   - A re-delivered status event (same id) never pushes twice to a device: before sending,
//     a marker per (status event, device) is claimed with one conditional write (Ledger).
//   - A transient send failure releases the marker and reports the status event as failed,
//     so the queue delivers it again and only the devices not yet pushed are retried;
//     after the queue's maxReceiveCount it lands in the dead-letter queue.
//   - An endpoint that SNS reports disabled or invalid (the app was uninstalled, the token
//     expired) is deleted with its device.
//   - Crash window: if the function dies after claiming a marker and before SNS answers
//     (a crash, not an error: errors release the marker), that device misses this one
//     notification; the marker stays "claimed", never "sent", for an operator to see. This
//     is the price of never pushing twice. Each send has its own deadline, shorter than the
//     function's, so a slow SNS is an error (released, retried), not a crash.
package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// ErrEndpointGone is returned by a Sender when the endpoint is disabled or does not exist
// any more: retrying cannot help, the device is removed.
var ErrEndpointGone = errors.New("push endpoint disabled or invalid")

// Devices reads and removes a profile's registered devices.
type Devices interface {
	Devices(ctx context.Context, referenceNo string) ([]devices.Device, error)
	// DeleteDevice deletes a device (and its token index entry); a missing device is not
	// an error.
	DeleteDevice(ctx context.Context, referenceNo, deviceID string) error
}

// Ledger records which (status event, device) pairs were pushed: the dedup.
type Ledger interface {
	// ClaimPush claims the pair with one conditional write; false when it was claimed
	// before (pushed, or in doubt after a crash) and must not be pushed again.
	ClaimPush(ctx context.Context, statusEventID, deviceID string) (bool, error)
	// ReleasePush gives up a claim after a failed send, so that a retry sends again.
	ReleasePush(ctx context.Context, statusEventID, deviceID string) error
	// CompletePush records that SNS accepted the push (messageID).
	CompletePush(ctx context.Context, statusEventID, deviceID, messageID string) error
}

// Sender publishes to SNS platform endpoints.
type Sender interface {
	// Send publishes message (MessageStructure json) to endpointARN and returns SNS's
	// message id. ErrEndpointGone when the endpoint is disabled or invalid.
	Send(ctx context.Context, endpointARN, message string) (string, error)
	// DeleteEndpoint deletes an endpoint; a missing one is not an error.
	DeleteEndpoint(ctx context.Context, endpointARN string) error
}

// Counter records metrics (shared/aws/metrics).
type Counter interface {
	Count(ctx context.Context, name string, dims map[string]string)
}

// Config is the push policy.
type Config struct {
	// Statuses that notify the user; empty means all.
	Statuses []kyc.Status
	// MinTimeLeft is the time that must be left before the invocation's deadline to start
	// a send (more than the Sender's own timeout): a device reached later is left to the
	// retry instead of risking a timeout between claim and send. Zero: no check.
	MinTimeLeft time.Duration
}

// Notifier sends the notifications of status events.
type Notifier struct {
	devices   Devices
	ledger    Ledger
	sender    Sender
	templates *Templates
	metrics   Counter
	cfg       Config
}

// New returns a Notifier.
func New(d Devices, l Ledger, s Sender, t *Templates, m Counter, cfg Config) *Notifier {
	return &Notifier{devices: d, ledger: l, sender: s, templates: t, metrics: m, cfg: cfg}
}

// Outcome counts what Notify did, by device.
type Outcome struct {
	Skipped    bool // the status does not notify (Config.Statuses)
	Devices    int  // devices of the profile
	Sent       int  // pushed now
	Duplicates int  // pushed before (a re-delivered status event)
	Removed    int  // disabled or invalid endpoints removed with their device
	Failed     int  // failed and released for a retry
}

// ErrRetry is wrapped by Notify's error when some devices failed transiently: deliver
// the status event again (the devices already pushed are skipped then).
var ErrRetry = errors.New("push failed for some devices")

// Notify pushes ev to every device of ev.ReferenceNo. It fails (wrapping ErrRetry, or
// with the error of reading the devices) when a retry of the whole status event is
// needed; devices pushed before are never pushed again.
func (n *Notifier) Notify(ctx context.Context, ev kyc.StatusEvent) (Outcome, error) {
	var out Outcome
	if len(n.cfg.Statuses) > 0 && !slices.Contains(n.cfg.Statuses, ev.Status) {
		out.Skipped = true
		return out, nil
	}
	list, err := n.devices.Devices(ctx, ev.ReferenceNo)
	if err != nil {
		return out, fmt.Errorf("list devices: %w", err)
	}
	out.Devices = len(list)
	var errs []error
	for _, d := range list {
		switch err := n.notify(ctx, ev, d); {
		case err == nil:
			out.Sent++
		case errors.Is(err, errDuplicate):
			out.Duplicates++
		case errors.Is(err, ErrEndpointGone):
			out.Removed++
		default:
			out.Failed++
			errs = append(errs, fmt.Errorf("device %s: %w", d.DeviceID, err))
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%w: %w", ErrRetry, errors.Join(errs...))
	}
	return out, nil
}

var errDuplicate = errors.New("already pushed")

// ErrNoTime: too little time was left in the invocation to send safely; the device is
// left, unclaimed, to the retry.
var ErrNoTime = errors.New("not enough time left to send")

// notify pushes ev to d once. It returns nil when sent now, errDuplicate when sent
// before, ErrEndpointGone when d was removed, or the error that leaves d to a retry.
func (n *Notifier) notify(ctx context.Context, ev kyc.StatusEvent, d devices.Device) error {
	log := slog.With("statusEventId", ev.ID, "journeyId", ev.JourneyID, "deviceId", d.DeviceID, "platform", string(d.Platform))
	dims := map[string]string{"platform": string(d.Platform)}
	text, err := n.templates.Render(d.Locale, ev)
	if err != nil {
		return fmt.Errorf("render text: %w", err)
	}
	msg, err := Message(d.Platform, text, ev)
	if err != nil {
		return fmt.Errorf("build message: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok && n.cfg.MinTimeLeft > 0 && time.Until(dl) < n.cfg.MinTimeLeft {
		return ErrNoTime
	}
	claimed, err := n.ledger.ClaimPush(ctx, ev.ID, d.DeviceID)
	if err != nil {
		return fmt.Errorf("claim push: %w", err)
	}
	if !claimed {
		log.InfoContext(ctx, "push skipped: already sent for this status event")
		n.metrics.Count(ctx, "PushDuplicates", dims)
		return errDuplicate
	}
	id, sendErr := n.sender.Send(ctx, d.EndpointARN, msg)
	if errors.Is(sendErr, ErrEndpointGone) {
		// The claim stays: this device never gets this status event. Remove it; if that
		// fails, release the claim so that a retry tries (and removes) again.
		if err := n.remove(ctx, d); err != nil {
			return n.release(ctx, ev, d, fmt.Errorf("remove device with gone endpoint: %w", err))
		}
		log.InfoContext(ctx, "push endpoint disabled or invalid: device removed")
		n.metrics.Count(ctx, "PushEndpointsRemoved", dims)
		return sendErr
	}
	if sendErr != nil {
		n.metrics.Count(ctx, "PushesFailed", dims)
		return n.release(ctx, ev, d, fmt.Errorf("send: %w", sendErr))
	}
	if err := n.ledger.CompletePush(ctx, ev.ID, d.DeviceID, id); err != nil {
		// Sent, and the claim holds: only the "sent" mark is missing.
		log.WarnContext(ctx, "push sent but not marked sent", "error", err)
	}
	log.InfoContext(ctx, "push sent", "status", string(ev.Status))
	n.metrics.Count(ctx, "PushesSent", dims)
	return nil
}

func (n *Notifier) remove(ctx context.Context, d devices.Device) error {
	if err := n.devices.DeleteDevice(ctx, d.ReferenceNo, d.DeviceID); err != nil {
		return err
	}
	if err := n.sender.DeleteEndpoint(ctx, d.EndpointARN); err != nil {
		// The device no longer references it: a leaked endpoint, never published to.
		slog.WarnContext(ctx, "delete push endpoint of a removed device", "deviceId", d.DeviceID, "error", err)
	}
	return nil
}

// release gives up the claim after cause, so that a retry sends again. If the release
// itself fails, the retry will skip the device: that is logged as a lost push.
func (n *Notifier) release(ctx context.Context, ev kyc.StatusEvent, d devices.Device, cause error) error {
	if err := n.ledger.ReleasePush(ctx, ev.ID, d.DeviceID); err != nil {
		slog.ErrorContext(ctx, "push failed and its claim could not be released: this device will miss this status event",
			"statusEventId", ev.ID, "deviceId", d.DeviceID, "error", err)
		return errors.Join(cause, fmt.Errorf("release claim: %w", err))
	}
	return cause
}
