package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffsim"
)

// startVeriffSim serves the Veriff API simulator (shared/vendors/veriff/veriffsim) on
// VERIFF_SIM_PORT [3002] with the run's Veriff API key and shared secret: the product's
// VERIFF_API_BASE_URL points at it (session creation, kycctl refetch -provider veriff).
// stop shuts it down.
func startVeriffSim(s settings) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", s.VeriffSimPort))
	if err != nil {
		return "", nil, fmt.Errorf("listen on VERIFF_SIM_PORT %s: %w", s.VeriffSimPort, err)
	}
	url = "http://" + ln.Addr().String()
	sim := veriffsim.New(veriffsim.Config{APIKey: s.VeriffAPIKey, SharedSecret: s.VeriffSecret,
		Integrations: s.veriffCreds().List(), PublicURL: url})
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return url, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// veriffSimBanner is the banner line of the Veriff simulator.
func veriffSimBanner(s settings) string {
	if s.VeriffSimURL == "" {
		return ""
	}
	u := s.VeriffSimURL
	return fmt.Sprintf("  veriff simulator  %s  (API key %s, shared secret %s; GET %s/_sim/sessions, PUT %s/_sim/sessions/{id}/decision?status=approved, POST %s/_sim/sessions/{id}/webhook?url=...)\n",
		u, s.VeriffAPIKey, s.VeriffSecret, u, u, u)
}
