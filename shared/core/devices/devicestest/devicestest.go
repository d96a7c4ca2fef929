// Package devicestest has an in-memory devices.Store for unit tests (MemStore) and the
// contract suite every devices.Store must pass (RunStoreContract), run against MemStore
// and against the DynamoDB store on DynamoDB Local.
package devicestest

import (
	"context"
	"sort"
	"sync"

	"github.com/kycbackend/kyc/shared/core/devices"
)

// MemStore is devices.Store in memory, with the conditions of the DynamoDB store: the
// token index entry is written only if it is still what the caller read, evicted devices
// only if they were not registered again meanwhile, all in one step.
type MemStore struct {
	// Conflicts makes SaveDevice lose that many races (ErrConflict) before it writes.
	Conflicts int
	// Saves counts SaveDevice calls.
	Saves int

	mu      sync.Mutex
	devices map[string]devices.Device // referenceNo/deviceID
	owners  map[string]devices.Owner  // platform/tokenHash
	erased  map[string]bool
}

var _ devices.Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{devices: map[string]devices.Device{}, owners: map[string]devices.Owner{}, erased: map[string]bool{}}
}

func deviceKey(ref, id string) string                      { return ref + "/" + id }
func tokenKey(p devices.Platform, tokenHash string) string { return string(p) + "/" + tokenHash }

// Erase leaves the tombstone of an erased profile.
func (m *MemStore) Erase(referenceNo string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.erased[referenceNo] = true
}

// Erased implements devices.Store.
func (m *MemStore) Erased(_ context.Context, referenceNo string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.erased[referenceNo], nil
}

// TokenOwner implements devices.Store.
func (m *MemStore) TokenOwner(_ context.Context, p devices.Platform, tokenHash string) (devices.Owner, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.owners[tokenKey(p, tokenHash)]
	return o, ok, nil
}

// Devices implements devices.Store, ordered by device id (as the table's sort key).
func (m *MemStore) Devices(_ context.Context, referenceNo string) ([]devices.Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []devices.Device
	for _, d := range m.devices {
		if d.ReferenceNo == referenceNo {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DeviceID < out[j].DeviceID })
	return out, nil
}

// SaveDevice implements devices.Store.
func (m *MemStore) SaveDevice(_ context.Context, d devices.Device, prev *devices.Owner, evict []devices.Device) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Saves++
	if m.Conflicts > 0 {
		m.Conflicts--
		return devices.ErrConflict
	}
	tk := tokenKey(d.Platform, d.TokenHash)
	cur, ok := m.owners[tk]
	if (prev == nil) == ok || (prev != nil && cur != *prev) {
		return devices.ErrConflict
	}
	for _, e := range evict {
		if x, ok := m.devices[deviceKey(e.ReferenceNo, e.DeviceID)]; ok && !x.RegisteredAt.Equal(e.RegisteredAt) {
			return devices.ErrConflict
		}
		if _, ok := m.devices[deviceKey(e.ReferenceNo, e.DeviceID)]; !ok {
			return devices.ErrConflict // DynamoDB: registeredAt = :at fails on a missing item
		}
	}
	if prev != nil && prev.ReferenceNo != d.ReferenceNo {
		delete(m.devices, deviceKey(prev.ReferenceNo, prev.DeviceID))
	}
	d.CreatedAt, d.RegisteredAt = d.CreatedAt.UTC(), d.RegisteredAt.UTC()
	if d.Locale == "" {
		d.Locale = devices.DefaultLocale
	}
	m.devices[deviceKey(d.ReferenceNo, d.DeviceID)] = d
	m.owners[tk] = devices.Owner{ReferenceNo: d.ReferenceNo, DeviceID: d.DeviceID, EndpointARN: d.EndpointARN}
	for _, e := range evict {
		delete(m.devices, deviceKey(e.ReferenceNo, e.DeviceID))
		m.deleteTokenEntry(e)
	}
	return nil
}

// RemoveDevice implements devices.Store.
func (m *MemStore) RemoveDevice(_ context.Context, referenceNo, deviceID string) (devices.Device, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[deviceKey(referenceNo, deviceID)]
	if !ok {
		return devices.Device{}, false, nil
	}
	delete(m.devices, deviceKey(referenceNo, deviceID))
	m.deleteTokenEntry(d)
	return d, true, nil
}

// DeleteDevice removes a device (push.Devices); a missing device is not an error.
func (m *MemStore) DeleteDevice(ctx context.Context, referenceNo, deviceID string) error {
	_, _, err := m.RemoveDevice(ctx, referenceNo, deviceID)
	return err
}

// deleteTokenEntry deletes d's token index entry unless the token has moved on.
func (m *MemStore) deleteTokenEntry(d devices.Device) {
	tk := tokenKey(d.Platform, d.TokenHash)
	if o, ok := m.owners[tk]; ok && o.ReferenceNo == d.ReferenceNo && o.DeviceID == d.DeviceID {
		delete(m.owners, tk)
	}
}
