// Package devices is a profile's registered mobile devices for push: the Device record the
// push function reads, the rules for platforms, tokens and locales, and the registration
// logic (one endpoint per token, a token moving to another user moves its endpoint, a
// bounded number of devices per profile with the least recently registered dropped).
package devices

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Platform is a push platform, as the app API names it.
type Platform string

// The platforms of the app API.
const (
	APNS        Platform = "APNS"         // Apple production
	APNSSandbox Platform = "APNS_SANDBOX" // Apple development builds
	FCM         Platform = "FCM"          // Firebase Cloud Messaging (SNS platform GCM)
)

// Platforms lists every platform.
var Platforms = []Platform{APNS, APNSSandbox, FCM}

// Locales of push messages; DefaultLocale when the app sends none.
var Locales = []string{"en", "ar"}

// DefaultLocale is the locale of a device registered without one.
const DefaultLocale = "en"

// DefaultMaxPerProfile bounds the devices of one profile unless configured.
const DefaultMaxPerProfile = 5

// Device is a registered device of a profile. Its ID is derived from the platform and the
// token, so registering the same token again is the same device.
type Device struct {
	ReferenceNo  string
	DeviceID     string
	Platform     Platform
	EndpointARN  string // the SNS platform endpoint
	Locale       string // "en" or "ar"
	TokenHash    string // TokenHash of the token; the token itself is not stored
	CreatedAt    time.Time
	RegisteredAt time.Time // last registration; the least recent is dropped first
}

// Owner is who holds a token now: the token index entry.
type Owner struct {
	ReferenceNo string
	DeviceID    string
	EndpointARN string
}

// ErrInvalid is wrapped by every field error (a *kyc.FieldError) of this package.
var ErrInvalid = errors.New("invalid device registration")

// ErrPlatformNotConfigured is returned for a platform without a platform application.
var ErrPlatformNotConfigured = errors.New("platform not configured")

// ErrConflict is returned by a Store when a conditional write lost a race.
var ErrConflict = errors.New("device write conflict")

// ErrErased is returned for a profile that was erased on request: it takes no devices.
var ErrErased = errors.New("profile erased")

// ParsePlatform checks a platform name.
func ParsePlatform(s string) (Platform, error) {
	p := Platform(s)
	if s == "" {
		return "", &kyc.FieldError{Field: "platform", Message: "is required (APNS, APNS_SANDBOX or FCM)", Err: ErrInvalid}
	}
	if !slices.Contains(Platforms, p) {
		return "", &kyc.FieldError{Field: "platform", Message: "must be APNS, APNS_SANDBOX or FCM", Err: ErrInvalid}
	}
	return p, nil
}

// ParseLocale checks a locale; empty means DefaultLocale.
func ParseLocale(s string) (string, error) {
	if s == "" {
		return DefaultLocale, nil
	}
	if !slices.Contains(Locales, s) {
		return "", &kyc.FieldError{Field: "locale", Message: "must be en or ar", Err: ErrInvalid}
	}
	return s, nil
}

// Token limits. APNs tokens are hex (32 bytes today; Apple says not to rely on the
// length), FCM registration tokens are about 150 to 250 characters of [A-Za-z0-9_:-].
const (
	minAPNSToken = 64
	maxAPNSToken = 200
	minFCMToken  = 32
	maxFCMToken  = 4096
)

// CheckToken checks a device token for p.
func CheckToken(p Platform, token string) error {
	if token == "" {
		return &kyc.FieldError{Field: "token", Message: "is required", Err: ErrInvalid}
	}
	switch p {
	case APNS, APNSSandbox:
		if len(token) < minAPNSToken || len(token) > maxAPNSToken || len(token)%2 != 0 {
			return &kyc.FieldError{Field: "token", Message: fmt.Sprintf("an APNs token must be an even number of %d to %d hex characters", minAPNSToken, maxAPNSToken), Err: ErrInvalid}
		}
		for i := 0; i < len(token); i++ {
			if !isHex(token[i]) {
				return &kyc.FieldError{Field: "token", Message: "an APNs token must be hex characters only", Err: ErrInvalid}
			}
		}
	case FCM:
		if len(token) < minFCMToken || len(token) > maxFCMToken {
			return &kyc.FieldError{Field: "token", Message: fmt.Sprintf("an FCM token must be %d to %d characters", minFCMToken, maxFCMToken), Err: ErrInvalid}
		}
		for i := 0; i < len(token); i++ {
			if c := token[i]; !isAlnum(c) && c != '_' && c != '-' && c != ':' {
				return &kyc.FieldError{Field: "token", Message: "an FCM token may only hold letters, digits, '_', '-' and ':'", Err: ErrInvalid}
			}
		}
	}
	return nil
}

// CheckID checks a device id as ID makes them (32 lower-case hex characters).
func CheckID(id string) error {
	if len(id) != 32 {
		return &kyc.FieldError{Field: "deviceId", Message: "must be 32 hex characters", Err: ErrInvalid}
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isHex(c) || (c >= 'A' && c <= 'F') {
			return &kyc.FieldError{Field: "deviceId", Message: "must be 32 lower-case hex characters", Err: ErrInvalid}
		}
	}
	return nil
}

// ID is the device id of a token: the first 16 bytes, in hex, of sha256(platform + token).
// The same token on the same platform is always the same device.
func ID(p Platform, token string) string {
	h := sha256.Sum256([]byte(string(p) + token))
	return hex.EncodeToString(h[:16])
}

// TokenHash is the hex sha256 of a token: the token index key, so that the token itself
// is never stored.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// Store keeps devices and the token index.
type Store interface {
	// Erased reports whether the profile was erased on request (a tombstone exists).
	Erased(ctx context.Context, referenceNo string) (bool, error)
	// TokenOwner reads the token index entry of (p, tokenHash).
	TokenOwner(ctx context.Context, p Platform, tokenHash string) (Owner, bool, error)
	// Devices lists the devices of a profile.
	Devices(ctx context.Context, referenceNo string) ([]Device, error)
	// SaveDevice writes d and its token index entry in one transaction, conditional on
	// the entry still being prev (absent when prev is nil; ErrConflict otherwise). When
	// prev belongs to another profile, its device item goes in the same transaction (the
	// token moved); so do the evicted devices with their token index entries.
	SaveDevice(ctx context.Context, d Device, prev *Owner, evict []Device) error
	// RemoveDevice deletes a device and its token index entry (if the entry is still its
	// own) and returns what was deleted; found is false when there was no such device.
	RemoveDevice(ctx context.Context, referenceNo, deviceID string) (Device, bool, error)
}

// Endpoints manages SNS platform endpoints.
type Endpoints interface {
	// Register returns an enabled endpoint of p for token: endpointARN when it still
	// exists (its token and enabled flag are corrected), else a new or the existing
	// endpoint of that token. ErrPlatformNotConfigured when p has no application.
	Register(ctx context.Context, p Platform, token, endpointARN string) (string, error)
	// Delete deletes an endpoint; deleting a missing one is not an error.
	Delete(ctx context.Context, endpointARN string) error
}

// Service registers and removes devices.
type Service struct {
	store     Store
	endpoints Endpoints
	max       int
	now       func() time.Time
}

// New returns a Service keeping at most maxPerProfile devices per profile.
func New(store Store, endpoints Endpoints, maxPerProfile int) *Service {
	if maxPerProfile < 1 {
		maxPerProfile = DefaultMaxPerProfile
	}
	return &Service{store: store, endpoints: endpoints, max: maxPerProfile, now: time.Now}
}

// Registration is what the app sends.
type Registration struct {
	Platform string
	Token    string
	Locale   string
}

// Result is a registered device; Created is false when the device was registered before.
type Result struct {
	Device  Device
	Created bool
}

const maxSaveAttempts = 5

// Register registers the device of r for referenceNo: idempotent per token. Errors wrap
// ErrInvalid (with a *kyc.FieldError), ErrPlatformNotConfigured, or are internal.
func (s *Service) Register(ctx context.Context, referenceNo string, r Registration) (Result, error) {
	p, err := ParsePlatform(r.Platform)
	if err != nil {
		return Result{}, err
	}
	if err := CheckToken(p, r.Token); err != nil {
		return Result{}, err
	}
	locale, err := ParseLocale(r.Locale)
	if err != nil {
		return Result{}, err
	}
	switch erased, err := s.store.Erased(ctx, referenceNo); {
	case err != nil:
		return Result{}, fmt.Errorf("check erasure: %w", err)
	case erased:
		return Result{}, ErrErased
	}
	id, th := ID(p, r.Token), TokenHash(r.Token)
	log := slog.With("deviceId", id, "platform", string(p))
	for attempt := 0; attempt < maxSaveAttempts; attempt++ {
		owner, found, err := s.store.TokenOwner(ctx, p, th)
		if err != nil {
			return Result{}, fmt.Errorf("read token owner: %w", err)
		}
		arn, err := s.endpoints.Register(ctx, p, r.Token, owner.EndpointARN)
		if err != nil {
			return Result{}, fmt.Errorf("register endpoint: %w", err)
		}
		list, err := s.store.Devices(ctx, referenceNo)
		if err != nil {
			return Result{}, fmt.Errorf("list devices: %w", err)
		}
		now := s.now().UTC()
		d := Device{ReferenceNo: referenceNo, DeviceID: id, Platform: p, EndpointARN: arn, Locale: locale,
			TokenHash: th, CreatedAt: now, RegisteredAt: now}
		created := true
		others := make([]Device, 0, len(list))
		for _, x := range list {
			if x.DeviceID == id {
				d.CreatedAt, created = x.CreatedAt, false
				continue
			}
			others = append(others, x)
		}
		evict := oldest(others, len(others)+1-s.max)
		var prev *Owner
		if found {
			prev = &owner
		}
		err = s.store.SaveDevice(ctx, d, prev, evict)
		if errors.Is(err, ErrConflict) {
			continue // the token moved or a device changed meanwhile: decide again
		}
		if err != nil {
			return Result{}, fmt.Errorf("save device: %w", err)
		}
		if found && owner.ReferenceNo != referenceNo {
			log.InfoContext(ctx, "device token moved to another profile")
		}
		// Endpoints nobody references any more: a replaced endpoint of the token, and
		// those of the evicted devices.
		var stale []string
		if found && owner.EndpointARN != "" && owner.EndpointARN != arn {
			stale = append(stale, owner.EndpointARN)
		}
		for _, e := range evict {
			log.InfoContext(ctx, "device dropped: too many devices", "droppedDeviceId", e.DeviceID)
			stale = append(stale, e.EndpointARN)
		}
		s.deleteEndpoints(ctx, stale)
		return Result{Device: d, Created: created}, nil
	}
	return Result{}, fmt.Errorf("save device %s: %w after %d attempts", id, ErrConflict, maxSaveAttempts)
}

// Remove removes a device of referenceNo and deletes its endpoint. Removing a device
// that does not exist (any more) is not an error.
func (s *Service) Remove(ctx context.Context, referenceNo, deviceID string) error {
	if err := CheckID(deviceID); err != nil {
		return err
	}
	d, found, err := s.store.RemoveDevice(ctx, referenceNo, deviceID)
	if err != nil {
		return fmt.Errorf("remove device: %w", err)
	}
	if found {
		s.deleteEndpoints(ctx, []string{d.EndpointARN})
	}
	return nil
}

// deleteEndpoints deletes endpoints no device references. A failure only leaks an
// endpoint nothing publishes to, so it is logged, not returned.
func (s *Service) deleteEndpoints(ctx context.Context, arns []string) {
	for _, arn := range arns {
		if arn == "" {
			continue
		}
		if err := s.endpoints.Delete(ctx, arn); err != nil {
			slog.WarnContext(ctx, "delete unused push endpoint", "error", err)
		}
	}
}

// oldest returns the n least recently registered devices of list (none when n <= 0).
func oldest(list []Device, n int) []Device {
	if n <= 0 {
		return nil
	}
	sorted := slices.Clone(list)
	slices.SortFunc(sorted, func(a, b Device) int {
		if c := a.RegisteredAt.Compare(b.RegisteredAt); c != 0 {
			return c
		}
		return strings.Compare(a.DeviceID, b.DeviceID)
	})
	return sorted[:min(n, len(sorted))]
}
