package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// The proof-of-address integration's credentials: those of make run's default
// (VERIFF_POA_API_KEY / VERIFF_POA_SHARED_SECRET), or the proof_of_address integration of
// VERIFF_INTEGRATIONS when that is set (the JSON make run takes).
var (
	poaKey    = flag.String("veriff-poa-key", envOr("VERIFF_POA_API_KEY", "local-veriff-poa-api-key"), "Veriff proof-of-address integration API key")
	poaSecret = flag.String("veriff-poa-secret", envOr("VERIFF_POA_SHARED_SECRET", "local-veriff-poa-shared-secret"), "Veriff proof-of-address integration shared secret")
)

func init() {
	if raw := os.Getenv("VERIFF_INTEGRATIONS"); raw != "" {
		if c, err := veriff.ParseIntegrations(raw); err == nil {
			if in, ok := c.For(veriff.ProductProofOfAddress); ok {
				*poaKey, *poaSecret = in.APIKey, in.SharedSecret
			}
		}
	}
}

// poaScenario: an approved identity user whose proof-of-address decision 9102 (declined)
// arrives through the PoA integration stays APPROVED (no push), and GET /v1/profiles shows
// checks.proofOfAddress declined.
func poaScenario() user {
	return user{name: "pia", scenario: "Veriff: approved, then proof of address declined", wantStatus: "APPROVED", wantPushes: 1,
		run: func(d *demo, ref string) error {
			idv := d.veriffSessionOf(ref, "identity")
			d.veriff(fmt.Sprintf(`{"status":"success","verification":{"id":%q,"attemptId":"a-1","code":9001,"status":"approved","reason":null,"reasonCode":null,"vendorData":%q,"endUserId":null,"decisionTime":%q}}`, idv, ref, time.Now().UTC().Format(time.RFC3339)))
			d.waitStatus(ref, "APPROVED")
			poa := d.veriffSessionOf(ref, "proof_of_address")
			d.veriffPoA(fmt.Sprintf(`{"status":"success","verification":{"id":%q,"attemptId":"p-1","code":9102,"status":"declined","reason":"Document not accepted","reasonCode":102,"vendorData":%q,"endUserId":null,"decisionTime":%q}}`, poa, ref, time.Now().UTC().Format(time.RFC3339)))
			d.waitCheck(ref, "proofOfAddress", "declined")
			return d.err
		}}
}

// veriffSessionOf creates a Veriff session of product for ref through the app API.
func (d *demo) veriffSessionOf(ref, product string) string {
	var out struct{ SessionID, URL string }
	d.record("create veriff "+product+" session", func() error {
		tok, err := d.token(ref)
		if err != nil {
			return err
		}
		h := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
		if err := d.do(http.MethodPost, d.c.base+"/v1/veriff/sessions", `{"lang":"en","product":"`+product+`"}`, h, http.StatusCreated, &out); err != nil {
			return err
		}
		fmt.Printf("   veriff %s session %s\n", product, out.SessionID)
		d.aliases[ref] = append(d.aliases[ref], out.SessionID)
		return nil
	})
	return out.SessionID
}

// veriffPoA posts a Veriff webhook signed by the proof-of-address integration.
func (d *demo) veriffPoA(body string) {
	mac := hmac.New(sha256.New, []byte(*poaSecret))
	mac.Write([]byte(body))
	h := map[string]string{"X-AUTH-CLIENT": *poaKey, "X-HMAC-SIGNATURE": hex.EncodeToString(mac.Sum(nil)), "Content-Type": "application/json"}
	d.record("veriff proof-of-address webhook", func() error {
		var out struct{ Status string }
		if err := d.do(http.MethodPost, d.c.base+"/webhooks/veriff", body, h, http.StatusOK, &out); err != nil {
			return err
		}
		fmt.Printf("   veriff PoA webhook                          -> %s\n", out.Status)
		return nil
	})
}

// waitCheck polls GET /v1/profiles until checks.<name>.decision is want.
func (d *demo) waitCheck(ref, name, want string) {
	d.record("wait for "+name+" "+want, func() error {
		deadline := time.Now().Add(d.c.wait)
		last := ""
		for time.Now().Before(deadline) {
			tok, err := d.token(ref)
			if err != nil {
				return err
			}
			var out struct {
				Checks map[string]struct{ Decision string } `json:"checks"`
			}
			if err := d.do(http.MethodGet, d.c.base+"/v1/profiles/"+ref, "", map[string]string{"Authorization": "Bearer " + tok}, 0, &out); err == nil {
				last = out.Checks[name].Decision
				if last == want {
					fmt.Printf("   checks.%s %s\n", name, last)
					return nil
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		return fmt.Errorf("checks.%s %q, want %q after %s", name, last, want, d.c.wait)
	})
}
