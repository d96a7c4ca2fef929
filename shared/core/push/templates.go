package push

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// DefaultLocale is the language used for a device whose locale has no texts.
const DefaultLocale = "en"

// defaultTemplates holds the texts shipped with the product (English and Arabic).
//
//go:embed templates.json
var defaultTemplates []byte

// Text is what a notification shows.
type Text struct {
	Title string
	Body  string
}

// TemplateData is what a text may use: {{.Status}}, {{.PreviousStatus}}, {{.JourneyID}},
// {{.Provider}}, {{.RenewalDueBy}} (the due date, YYYY-MM-DD, of a renewal-due event). These
// placeholders are substituted as they are; there is no template language (text/template
// would add 5 MB to the binary, for five fields).
type TemplateData struct {
	Status         kyc.Status
	PreviousStatus kyc.Status
	JourneyID      string
	Provider       string
	RenewalDueBy   string
}

// RenewalDueKey is the key, beside the statuses, of the text of a profile.renewal_due event
// ("renew before {{.RenewalDueBy}}"). It is optional in a locale: a locale without it uses
// DefaultLocale's, and without that too the product's English text.
const RenewalDueKey = "RENEWAL_DUE"

// fallbackRenewalDue is the renewal text when a template file gives none.
var fallbackRenewalDue = parsedText{name: "builtin." + RenewalDueKey, title: "Renew your verification",
	body: "Your identity verification is due for renewal. Please renew before {{.RenewalDueBy}}."}

// Templates are the notification texts by locale and status.
type Templates struct {
	byLocale map[string]map[kyc.Status]parsedText
}

type parsedText struct{ name, title, body string }

// placeholders are the only {{...}} a text may hold.
var placeholders = []string{"{{.Status}}", "{{.PreviousStatus}}", "{{.JourneyID}}", "{{.Provider}}", "{{.RenewalDueBy}}"}

// ErrTemplates marks an unusable template file.
var ErrTemplates = errors.New("invalid push templates")

// DefaultTemplates returns the embedded templates (shared/core/push/templates.json).
func DefaultTemplates() (*Templates, error) { return LoadTemplates(defaultTemplates) }

// LoadTemplates parses a template file: a JSON object of locales ("en", "ar", ...), each an
// object of statuses, each {"title": "...", "body": "..."} with the placeholders of
// TemplateData. Every locale must give a non-empty title and body for every status of
// kyc.Statuses, and DefaultLocale must be present, so that no status ever renders empty.
func LoadTemplates(data []byte) (*Templates, error) {
	var raw map[string]map[string]rawText
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplates, err)
	}
	if _, ok := raw[DefaultLocale]; !ok {
		return nil, fmt.Errorf("%w: no %q locale", ErrTemplates, DefaultLocale)
	}
	sample := TemplateData{Status: kyc.Approved, PreviousStatus: kyc.PendingVerification, JourneyID: "journey", Provider: "idwise"}
	t := &Templates{byLocale: map[string]map[kyc.Status]parsedText{}}
	for _, locale := range slices.Sorted(maps.Keys(raw)) {
		parsed, err := parseLocale(locale, raw[locale], sample)
		if err != nil {
			return nil, err
		}
		t.byLocale[locale] = parsed
	}
	return t, nil
}

// Locales returns the locales that have texts, sorted.
func (t *Templates) Locales() []string { return slices.Sorted(maps.Keys(t.byLocale)) }

// Locale returns the locale whose texts a device with locale gets: its language ("ar" for
// "ar-SA" or "AR_ae") when there are texts for it, else DefaultLocale.
func (t *Templates) Locale(locale string) string {
	if l := normalizeLocale(locale); t.byLocale[l] != nil {
		return l
	}
	return DefaultLocale
}

// Render returns the text for ev in locale (see Locale for the fallback).
func (t *Templates) Render(locale string, ev kyc.StatusEvent) (Text, error) {
	d := TemplateData{Status: ev.Status, PreviousStatus: ev.PreviousStatus, JourneyID: ev.JourneyID, Provider: ev.Provider}
	if ev.Type == kyc.RenewalDueType {
		due, err := time.Parse(time.RFC3339, ev.RenewalDueBy)
		if err != nil {
			return Text{}, fmt.Errorf("renewal due date %q: %w", ev.RenewalDueBy, err)
		}
		d.RenewalDueBy = due.UTC().Format("2006-01-02")
		p, ok := t.byLocale[t.Locale(locale)][RenewalDueKey]
		if !ok {
			if p, ok = t.byLocale[DefaultLocale][RenewalDueKey]; !ok {
				p = fallbackRenewalDue
			}
		}
		return p.render(d)
	}
	p, ok := t.byLocale[t.Locale(locale)][ev.Status]
	if !ok {
		return Text{}, fmt.Errorf("no text for status %q", ev.Status)
	}
	return p.render(d)
}

func (p parsedText) render(d TemplateData) (Text, error) {
	r := strings.NewReplacer(placeholders[0], string(d.Status), placeholders[1], string(d.PreviousStatus),
		placeholders[2], d.JourneyID, placeholders[3], d.Provider, placeholders[4], d.RenewalDueBy)
	title, body := r.Replace(p.title), r.Replace(p.body)
	for _, part := range []struct{ name, raw, out string }{{"title", p.title, title}, {"body", p.body, body}} {
		// Whatever {{ is left after substitution is not a placeholder we know.
		rest := part.raw
		for _, ph := range placeholders {
			rest = strings.ReplaceAll(rest, ph, "")
		}
		if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
			return Text{}, fmt.Errorf("render %s.%s: unknown placeholder (use %s)", p.name, part.name, strings.Join(placeholders, ", "))
		}
	}
	return Text{Title: title, Body: body}, nil
}

// normalizeLocale keeps the language of a locale tag, lower case: "ar-SA" -> "ar".
func normalizeLocale(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	return l
}

// rawText is one template as the file has it.
type rawText struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// parseLocale checks and parses one locale's templates: a lower-case locale, known
// statuses, a title and body for every status (and for RenewalDueKey when given), each
// rendering the sample.
func parseLocale(locale string, texts map[string]rawText, sample TemplateData) (map[kyc.Status]parsedText, error) {
	if locale != normalizeLocale(locale) {
		return nil, fmt.Errorf("%w: locale %q: use a lower-case language code such as %q", ErrTemplates, locale, normalizeLocale(locale))
	}
	for status := range texts {
		if !kyc.Status(status).Valid() && status != RenewalDueKey {
			return nil, fmt.Errorf("%w: locale %s: unknown status %q", ErrTemplates, locale, status)
		}
	}
	parsed := map[kyc.Status]parsedText{}
	for _, status := range kyc.Statuses {
		txt, ok := texts[string(status)]
		if !ok || strings.TrimSpace(txt.Title) == "" || strings.TrimSpace(txt.Body) == "" {
			return nil, fmt.Errorf("%w: locale %s: status %s needs a title and a body", ErrTemplates, locale, status)
		}
		p, err := parseText(locale+"."+string(status), txt, sample)
		if err != nil {
			return nil, err
		}
		parsed[status] = p
	}
	if txt, ok := texts[RenewalDueKey]; ok {
		if strings.TrimSpace(txt.Title) == "" || strings.TrimSpace(txt.Body) == "" {
			return nil, fmt.Errorf("%w: locale %s: %s needs a title and a body", ErrTemplates, locale, RenewalDueKey)
		}
		p, err := parseText(locale+"."+RenewalDueKey, txt, sample)
		if err != nil {
			return nil, err
		}
		parsed[RenewalDueKey] = p
	}
	return parsed, nil
}

// parseText parses one template and checks that it renders the sample.
func parseText(name string, txt rawText, sample TemplateData) (parsedText, error) {
	p := parsedText{name: name, title: txt.Title, body: txt.Body}
	if _, err := p.render(sample); err != nil {
		return parsedText{}, fmt.Errorf("%w: %w", ErrTemplates, err)
	}
	return p, nil
}
