package dynamo

import "time"

// WithJourneyRetention makes journey details expire (DynamoDB TTL on expiresAt) d after
// each snapshot is written: the template's JourneyDetailRetentionDays. d <= 0 keeps them
// (the default). Profiles, their status history and the dedup records are not affected.
// It returns s.
func (s *Store) WithJourneyRetention(d time.Duration) *Store {
	if d < 0 {
		d = 0
	}
	s.journeyRetention = d
	return s
}
