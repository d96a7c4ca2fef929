package idwise

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readJourneyFixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "journey", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestJourneyDecodeFixture(t *testing.T) {
	var j Journey
	if err := json.Unmarshal(readJourneyFixture(t, "result.json"), &j); err != nil {
		t.Fatalf("Unmarshal(result.json) error = %v, want nil", err)
	}
	doc := j.Documents["0"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"journey_id", j.JourneyID, "12d62f80e15c1d50ff23db54"},
		{"reference_number", j.ReferenceNumber, "abc-123-FE13"},
		{"system_decision", j.SystemDecision, "Refer"},
		{"manual_decision (null)", j.ManualDecision, ""},
		{"final_decision", j.FinalDecision, "Refer"},
		{"document_type", doc.DocumentType, "Passport"},
		{"issuing_country", doc.IssuingCountry, "United Arab Emirates"},
		{"Full Name", doc.ExtractedFields["Full Name"].Value, Text("Sami Adam")},
		{"Full Name read_accuracy", doc.ExtractedFields["Full Name"].ReadAccuracy, "High"},
		{"has_passed_rules", doc.HasPassedRules, NullBool{Bool: true, Valid: true}},
		{"selfie.status", j.Selfie.Status, "Complete"},
		{"selfie.is_live", j.Selfie.IsLive, NullBool{Bool: true, Valid: true}},
		{"rule proof_policy", j.RuleResults["proof_policy"].Result, "Passed"},
		{"applicant.full_name", j.Applicant.FullName, "Adam Sami"},
		{"aml.applicability", j.AML.Applicability, "Applicable"},
		{"aml.matches", len(j.AML.Matches), 1},
		{"screening_checks", len(j.ScreeningChecks), 1},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// A journey survives encoding and decoding through the real types (the simulator serves
// what SetJourney stored this way).
func TestJourneyRoundTrip(t *testing.T) {
	for _, file := range []string{"result.json", "tolerant.json"} {
		t.Run(file, func(t *testing.T) {
			var first, second Journey
			if err := json.Unmarshal(readJourneyFixture(t, file), &first); err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &second); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first.Fields(), second.Fields()) {
				t.Errorf("Fields() after round trip = %v, want %v", second.Fields(), first.Fields())
			}
			if first.JourneyID != second.JourneyID || len(first.Documents) != len(second.Documents) {
				t.Errorf("round trip = %+v, want %+v", second, first)
			}
		})
	}
}

func TestJourneyTolerance(t *testing.T) {
	var j Journey
	if err := json.Unmarshal(readJourneyFixture(t, "tolerant.json"), &j); err != nil {
		t.Fatalf("Unmarshal(tolerant.json) error = %v, want nil", err)
	}
	doc := j.Documents["20"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"journey_id", j.JourneyID, "j-tolerant"},
		{"null reference_number", j.ReferenceNumber, ""},
		{"null final_decision", j.FinalDecision, ""},
		{"system_decision after unknown fields", j.SystemDecision, "Complete"},
		{"document_type", doc.DocumentType, "Identity Card"},
		{"wrong-type has_passed_rules", doc.HasPassedRules, NullBool{}},
		{"Full Name", doc.ExtractedFields["Full Name"].Value, Text("Willeke De Bruijn")},
		{"numeric value kept as text", doc.ExtractedFields["Document Number"].Value, Text("123456")},
		{"array value", doc.ExtractedFields["Sex"].Value, Text("")},
		{"null document", j.Documents["21"].DocumentType, ""},
		{"selfie.status", j.Selfie.Status, "Refer"},
		{"wrong-type is_live", j.Selfie.IsLive, NullBool{}},
		{"rule_results array", len(j.RuleResults), 0},
		{"null applicant", j.Applicant, (*Applicant)(nil)},
		{"aml.applicability", j.AML.Applicability, "Not Applicable"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestJourneyDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr bool
	}{
		{name: "empty object", raw: `{}`},
		{name: "null", raw: `null`},
		{name: "all nulls", raw: `{"journey_id":null,"documents":null,"selfie":null,"aml":null,"screening_checks":null}`},
		{name: "object for a string", raw: `{"journey_id":"j","system_decision":{"x":1}}`},
		{name: "string for an object", raw: `{"journey_id":"j","selfie":"Complete"}`},
		{name: "array journey", raw: `[1,2]`, wantErr: true},
		{name: "string journey", raw: `"journey"`, wantErr: true},
		{name: "truncated", raw: `{"journey_id":"j"`, wantErr: true},
		{name: "not json", raw: `<html>502</html>`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j Journey
			err := json.Unmarshal([]byte(tt.raw), &j)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, want error %v", tt.raw, err, tt.wantErr)
			}
			if !tt.wantErr && strings.Contains(tt.raw, `"journey_id":"j"`) && j.JourneyID != "j" {
				t.Errorf("JourneyID = %q, want %q", j.JourneyID, "j")
			}
		})
	}
}

func TestJourneyFields(t *testing.T) {
	var j Journey
	if err := json.Unmarshal(readJourneyFixture(t, "result.json"), &j); err != nil {
		t.Fatal(err)
	}
	got := j.Fields()
	want := map[string]string{
		"journey_id":                "12d62f80e15c1d50ff23db54",
		"reference_number":          "abc-123-FE13",
		"final_decision":            "Refer",
		"documents.0.document_type": "Passport",
		"documents.0.extracted_fields.Full Name.value":     "Sami Adam",
		"documents.0.extracted_fields.Full Name.type":      "string",
		"documents.0.extracted_fields.Birth Date.value":    "1960-05-12",
		"documents.0.has_passed_rules":                     "true",
		"documents.0.face_match_result.is_matched":         "true",
		"documents.0.face_match_result.score":              "99",
		"documents.0.validation_result.validation_outcome": "Failed",
		"selfie.status":                                   "Complete",
		"selfie.is_live":                                  "true",
		"rule_results.proof_policy.result":                "Passed",
		"applicant.full_name":                             "Adam Sami",
		"aml.applicability":                               "Applicable",
		"aml.matches.0.name":                              "Sami Adam",
		"aml.matches.0.countries.0":                       "EA",
		"screening_checks.additional_face_db.result":      "Passed",
		"screening_checks.additional_face_db.match_score": "12.5",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Fields()[%q] = %q, want %q", k, got[k], v)
		}
	}
	absent := []string{
		"manual_decision", // null
		"selfie.liveness_status_code",
		"documents.0.extracted_fields.Photo.value",
		"documents.0.extracted_fields.Signature.value",
		"selfie.image_path",
		"applicant.profile_image_path",
		"screening_checks.additional_face_db.reference_image",
		"screening_checks.additional_face_db.raw_payload",
	}
	for _, k := range absent {
		if v, ok := got[k]; ok {
			t.Errorf("Fields()[%q] = %.40q, want no such key", k, v)
		}
	}
	assertNoImageData(t, got)
}

// Fields never returns image data, whatever key or shape it hides under.
func TestJourneyFieldsNeverImages(t *testing.T) {
	blob := strings.Repeat("iVBORw0KGgoAAAANSUhEUgAA", 60) // > 1024 chars of base64
	tests := []struct {
		name string
		raw  string
	}{
		{name: "image key", raw: `{"screening_checks":{"x":{"selfie_image":"abc","result":"ok"}}}`},
		{name: "photo key, any case", raw: `{"screening_checks":{"x":{"PortraitPhoto":"abc"}}}`},
		{name: "crop key", raw: `{"screening_checks":{"x":{"face_crop":"abc"}}}`},
		{name: "base64 key", raw: `{"screening_checks":{"x":{"base64":"abc"}}}`},
		{name: "long base64 value", raw: `{"screening_checks":{"x":{"payload":"` + blob + `"}}}`},
		{name: "long base64 in a match", raw: `{"aml":{"matches":[{"thumb":"` + blob + `"}]}}`},
		{name: "data url", raw: `{"screening_checks":{"x":{"ref":"data:image/png;base64,iVBORw0KGgo="}}}`},
		{name: "image typed field", raw: `{"documents":{"0":{"extracted_fields":{"Signature":{"value":"c2hvcnQ=","type":"image"}}}}}`},
		{name: "long extracted value", raw: `{"documents":{"0":{"extracted_fields":{"Blob":{"value":"` + blob + `"}}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j Journey
			if err := json.Unmarshal([]byte(tt.raw), &j); err != nil {
				t.Fatal(err)
			}
			got := j.Fields()
			assertNoImageData(t, got)
			for k, v := range got {
				if v == "abc" || v == "c2hvcnQ=" || strings.Contains(v, "iVBOR") {
					t.Errorf("Fields()[%q] = %.40q: image data leaked", k, v)
				}
			}
		})
	}
	// A long value that is not base64 (free text) is kept.
	text := strings.Repeat("a b, ", 300)
	var j Journey
	_ = json.Unmarshal([]byte(`{"screening_checks":{"x":{"note":"`+text+`"}}}`), &j)
	if got := j.Fields()["screening_checks.x.note"]; got != text {
		t.Errorf("Fields() dropped a long text value (len %d)", len(got))
	}
}

func assertNoImageData(t *testing.T, fields map[string]string) {
	t.Helper()
	for k, v := range fields {
		if imageKey(k) {
			t.Errorf("Fields() has image key %q", k)
		}
		if binaryValue(v) {
			t.Errorf("Fields()[%q] is binary data (len %d)", k, len(v))
		}
	}
}

// Journey results in the shapes of IDWise's journey model (developers.idwise.com
// journey-model.md, API V2, model 3.0, published in github.com/idwise/idwise.github.io):
// selfie status Complete / Refer / Not Started, liveness_status_code null or a failure code
// from the model's Liveness Error Codes, validation_result {validation_outcome,
// validation_checks[{name, description, result: Passed|Failed|Undetermined,
// result_description}]}, document progress Completed / NotStarted. The shape of
// screening_checks.additional_face_db is not in the public model pages: it is kept as raw
// JSON, flattened under screening_checks.additional_face_db.*, whatever its fields.
func TestJourneyModelShapes(t *testing.T) {
	tests := []struct {
		file         string
		selfieStatus string
		liveness     string
		isLive       NullBool
		validation   string // documents.0.validation_result.validation_outcome in Fields
		faceDB       string // screening_checks.additional_face_db.result in Fields
	}{
		{"result.json", "Complete", "", NullBool{Bool: true, Valid: true}, "Failed", "Passed"},
		{"selfie-refer-liveness-failed.json", "Refer", "FACE_NOT_FOUND", NullBool{Valid: true}, "Failed", "Failed"},
		{"selfie-not-started.json", "Not Started", "", NullBool{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var j Journey
			if err := json.Unmarshal(readJourneyFixture(t, tt.file), &j); err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tt.file, err)
			}
			if j.Selfie == nil || j.Selfie.Status != tt.selfieStatus || j.Selfie.LivenessStatusCode != tt.liveness || j.Selfie.IsLive != tt.isLive {
				t.Errorf("selfie = %+v, want status %q liveness %q is_live %+v", j.Selfie, tt.selfieStatus, tt.liveness, tt.isLive)
			}
			f := j.Fields()
			if got := f["documents.0.validation_result.validation_outcome"]; got != tt.validation {
				t.Errorf("validation_outcome = %q, want %q", got, tt.validation)
			}
			if got := f["screening_checks.additional_face_db.result"]; got != tt.faceDB {
				t.Errorf("additional_face_db.result = %q, want %q", got, tt.faceDB)
			}
			if got, want := f["selfie.status"], tt.selfieStatus; got != want {
				t.Errorf("Fields()[selfie.status] = %q, want %q", got, want)
			}
			for k := range f {
				if strings.Contains(k, "image_path") {
					t.Errorf("Fields() keeps %q, want no image path", k)
				}
			}
		})
	}
}
