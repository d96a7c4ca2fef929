package devices

import "time"

// SetClock sets the clock of s, for tests outside the package.
func SetClock(s *Service, now func() time.Time) { s.now = now }
