package veriff

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/kycbackend/kyc/shared/vendors/webhookjson"
)

// keep is an allow-list of JSON members: a member named here is kept when its value is a
// scalar (string, number, boolean, null), or an object whose own members are in its
// nested list; arrays, and objects where a scalar is listed, are dropped.
type keep map[string]keep

// leaf marks a member kept only as a scalar.
var leaf keep

// allowed lists, per webhook kind, the members a stored Veriff body keeps: ids, codes,
// statuses, actions, reason codes and times, plus vendorData and endUserId (the
// customer's own reference of the user, an id). Everything else Veriff sends (person,
// document, technicalData, additionalVerifiedData, hits, searchTerm, insights,
// userDefinedData, comments, riskLabels, and any section added later) is dropped before
// the inbox or the quarantine sees the body. Sources: devdocs.veriff.com "Event webhook",
// "Decision webhook", /docs/full-auto-webhook, /docs/watchlist-screening-webhook,
// /docs/user-defined-statuses-webhook (the shapes in kinds.go and testdata/README.md).
var allowed = map[Kind]keep{
	KindEvent: {
		"id": leaf, "attemptId": leaf, "feature": leaf, "code": leaf, "action": leaf,
		"vendorData": leaf, "endUserId": leaf, "acceptanceTime": leaf, "time": leaf,
		"context": {"reason": leaf, "state": leaf},
	},
	KindDecision: {
		"status": leaf,
		"verification": {
			"id": leaf, "attemptId": leaf, "code": leaf, "status": leaf, "reason": leaf, "reasonCode": leaf,
			"vendorData": leaf, "endUserId": leaf, "decisionTime": leaf, "acceptanceTime": leaf, "submissionTime": leaf,
		},
	},
	KindFullAuto: {
		"status": leaf, "eventType": leaf, "sessionId": leaf, "attemptId": leaf, "vendorData": leaf, "endUserId": leaf,
		"version": leaf, "acceptanceTime": leaf, "time": leaf,
		"data": {"verification": {"id": leaf, "decision": {"value": leaf}, "decisionScore": leaf, "decisionTime": leaf}},
	},
	KindWatchlist: {
		"checkType": leaf, "matchStatus": leaf, "sessionId": leaf, "attemptId": leaf, "vendorData": leaf,
		"endUserId": leaf, "totalHits": leaf, "createdAt": leaf, "time": leaf,
	},
	KindUserDefined: {
		"eventType": leaf, "attemptId": leaf, "vendorData": leaf, "endUserId": leaf, "time": leaf,
		"data": {"verification": {"id": leaf}},
	},
	KindUnknown: {
		"id": leaf, "sessionId": leaf, "attemptId": leaf, "vendorData": leaf, "endUserId": leaf,
		"eventType": leaf, "status": leaf, "code": leaf, "time": leaf, "createdAt": leaf,
		"data": {"verification": {"id": leaf}},
	},
}

// notAnObject is what is kept of a body that is not a JSON object: nothing of it.
var notAnObject = []byte(`{}`)

// Redact returns raw reduced to the allow-list of its kind (allowed), minus the members
// named in drop wherever they are: what the inbox and the quarantine keep of a Veriff
// body. A body that is not a JSON object keeps nothing ({}). Members are written in
// sorted order; the values kept are byte for byte as sent.
func Redact(raw []byte, drop ...string) []byte {
	var root map[string]json.RawMessage
	if webhookjson.Strict(raw, &root) != nil || root == nil {
		return notAnObject
	}
	list := allowed[kindOf(root)]
	if len(drop) > 0 {
		list = without(list, drop)
	}
	out, err := json.Marshal(filter(root, list))
	if err != nil {
		return notAnObject
	}
	return out
}

func filter(m map[string]json.RawMessage, list keep) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for name, sub := range list {
		v, ok := m[name]
		if !ok {
			continue
		}
		switch t := firstByte(v); {
		case t == '[':
			// no array is allow-listed
		case t == '{':
			var nested map[string]json.RawMessage
			if sub != nil && json.Unmarshal(v, &nested) == nil {
				kept, err := json.Marshal(filter(nested, sub))
				if err == nil {
					out[name] = kept
				}
			}
		default:
			out[name] = v
		}
	}
	return out
}

func firstByte(v json.RawMessage) byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// without is list less the names in drop, at every level.
func without(list keep, drop []string) keep {
	out := keep{}
	for name, sub := range list {
		if contains(drop, name) {
			continue
		}
		if sub != nil {
			sub = without(sub, drop)
		}
		out[name] = sub
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ParseDropFields reads VERIFF_STRIP_FIELDS: comma-separated member names.
func ParseDropFields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
