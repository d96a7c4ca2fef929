// Command kycctl is the operator's tool: it lists events that need a person, replays them
// through the processor, re-fetches a journey from the vendor, shows a profile's status
// history and a journey's timeline, and erases a profile. It reads the processor's
// configuration (TABLE_NAME, STATUS_TOPIC_ARN, IDWISE_API_SECRET_ARN, IDWISE_API_BASE_URL,
// IDWISE_REGION ...) and the AWS SDK's standard configuration (credentials, AWS_REGION,
// AWS_ENDPOINT_URL_*), so it works against AWS and against the local emulators alike. The
// work is done by shared/app/ops; this file parses flags and prints.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/shared/app/ops"
	"github.com/kycbackend/kyc/shared/aws/s3images"
	"github.com/kycbackend/kyc/shared/aws/sns"
	"github.com/kycbackend/kyc/shared/compose"
)

const usage = `kycctl: operate the KYC backend (AWS or the local emulators)

Usage: kycctl <command> [flags] [arguments]

Commands:
  events    [-failed] [-stuck] [-quarantined] [-awaiting] [-stuck-after 10m] [-limit 100]
            list events that failed, are stuck, were quarantined, or wait for their journey's
            claim, with why (all four by default)
  replay    <eventId>
  replay    -from <RFC 3339> [-to <RFC 3339>] [-limit 1000]
            run a failed or stuck event (or every failed event received in the range) through the
            processor again; a processed event is left as it is
  refetch   <journeyId>
            fetch the journey from the vendor again and re-derive the profile's status; with
            -provider veriff, the session's decision (GET /v1/sessions/{id}/decision, needs
            VERIFF_SECRET_ARN and VERIFF_API_BASE_URL)
  complete-step [-no-image] <journeyId>
            complete the journey's IDWise custom step now (IDWISE_CUSTOM_STEP_ID): submit the
            profile's reference image first unless it already was (or -no-image), then Complete
            Custom Step; never twice (the processor's own markers)
  claims    [-user <referenceNo>] [<journeyId>]
            list journey claims (all, one user's, or one journey's) with their state: unverified,
            confirmed (the vendor named the claimer) or rejected (the vendor named someone else)
  claims    -release <journeyId>
  claims    -reassign-to <referenceNo> <journeyId>
            release a journey's claim, or give it to another user (the journey's waiting outcomes
            then land on them if the vendor names them); recorded in the journey's timeline
  history   <referenceNo>
            a profile's current status and its status changes
  timeline  <journeyId>
            a journey's decisions and events (ids and decisions only)
  erase     [-idwise] [-quarantine=true] [-reference-image] [-yes] <referenceNo>
            erase a profile: journeys, events, status history, devices and push endpoints, keeping
            a tombstone so that late webhooks are ignored; -idwise also asks IDWise to delete its
            personal data of each journey. Without -yes: a dry run that only counts
  smoke     -url <WebhookUrl> [-timeout 1m]
            one authenticated test delivery (event "kycctl Smoke Test": no vendor call, no
            status change): accepted, then duplicate, marked by the processor, then deleted;
            needs TABLE_NAME and IDWISE_WEBHOOK_SECRET_ARN (IDWISE_WEBHOOK_AUTH if not bearer)
  doctor    [-journey <id>] [-spot-check <id>] [-api-url <ApiUrl>]
            before the first real user: vendor secrets filled, IDWise credentials accepted and
            region reachable, with -journey the Get Journey Result path answers with its
            reference_number, Veriff's key accepted, push platform applications enabled, the
            alarm topic subscribed, the webhook URLs; exit 1 if any check fails, naming the fix

Flags of every command:
  -json                      print JSON instead of text
  -provider idwise           the vendor of event and journey ids
  -table NAME                overrides TABLE_NAME
  -topic-arn ARN             overrides STATUS_TOPIC_ARN
  -idwise-secret-arn ARN     overrides IDWISE_API_SECRET_ARN
  -idwise-base-url URL       overrides IDWISE_API_BASE_URL
  -veriff-secret-arn ARN     overrides VERIFF_SECRET_ARN
  -veriff-base-url URL       overrides VERIFF_API_BASE_URL
  -stack NAME                overrides KYC_STACK_NAME: the stack whose JourneyOwnership
                             (SSM parameter /<stack>/kyc/journey-ownership) replay, refetch and
                             complete-step apply; make run's stack is kyc-local
  -v                         log the processor's info lines to stderr

events, history and timeline need only TABLE_NAME; replay, refetch and erase -idwise need the
processor's configuration (TABLE_NAME, STATUS_TOPIC_ARN, IDWISE_API_SECRET_ARN, ...); complete-step
also IDWISE_CUSTOM_STEP_ID and IDWISE_REFERENCE_IMAGE_BUCKET (as the processor has them).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is one invocation: the command's flags and where to print.
type cli struct {
	getenv   compose.Getenv
	stdout   io.Writer
	json     bool
	provider string
	override map[string]*string // environment variable -> flag value
	stderr   io.Writer
	verbose  bool
}

type command struct {
	processing bool // needs the processor (compose.NewProcessing)
	flags      func(fs *flag.FlagSet) func(ctx context.Context, o *ops.Ops, args []string) (any, error)
}

var commands = map[string]command{
	"events":        {flags: eventsCommand},
	"replay":        {processing: true, flags: replayCommand},
	"refetch":       {processing: true, flags: refetchCommand},
	"complete-step": {processing: true, flags: completeStepCommand},
	"history":       {flags: historyCommand},
	"claims":        {flags: claimsCommand},
	"timeline":      {flags: timelineCommand},
	"erase":         {flags: eraseCommand},
}

// standalone commands parse their own flags and build what they check.
var standalone = map[string]func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int{
	"smoke":  runSmoke,
	"doctor": runDoctor,
}

// run is main without the process: it returns the exit code (0 ok, 1 failed, 2 usage).
func run(ctx context.Context, args []string, getenv compose.Getenv, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if f, ok := standalone[args[0]]; ok { // smoke.go, doctor.go: not over the ops table alone
		return f(ctx, args[1:], getenv, stdout, stderr)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "kycctl: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	c := &cli{stdout: stdout, stderr: stderr, override: map[string]*string{}}
	fs := c.flagSet(args[0])
	exec := cmd.flags(fs)
	positional, err := parse(fs, args[1:])
	if err != nil {
		return 2
	}
	c.getenv = c.overridden(getenv)
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelInfo
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))

	o, err := c.tool(ctx, cmd.processing || wantsIDWise(fs))
	if err != nil {
		fmt.Fprintf(stderr, "kycctl: %v\n", err)
		return 1
	}
	res, err := exec(ctx, o, positional)
	if res != nil {
		if perr := c.print(res); perr != nil {
			fmt.Fprintf(stderr, "kycctl: %v\n", perr)
			return 1
		}
	}
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintf(stderr, "kycctl %s: %v\n", args[0], err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "kycctl %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// parse parses flags placed before, between or after the arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func wantsIDWise(fs *flag.FlagSet) bool {
	f := fs.Lookup("idwise")
	return f != nil && f.Value.String() == "true"
}

// tool builds the operator tool. With processing, it builds the processor exactly as the
// processor function does (compose.NewProcessing); without, only the table is needed.
func (c *cli) tool(ctx context.Context, processing bool) (*ops.Ops, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	table := c.getenv("TABLE_NAME")
	oc := ops.Config{Endpoints: sns.NewSender(awssns.NewFromConfig(cfg), 0)}
	if processing {
		getenv, err := c.stackOwnership(ctx, cfg) // ownership.go
		if err != nil {
			return nil, err
		}
		p, err := compose.NewProcessing(compose.Runtime{AWS: cfg, Getenv: getenv, Metrics: io.Discard}, "kycctl")
		if err != nil {
			return nil, fmt.Errorf("processor configuration: %w", err)
		}
		oc.Processor, oc.IDWise, oc.Journeys, oc.Retention, table = p.Service, p.IDWise, p.IDWise, p.Config.Retention, p.Config.Table
		if p.CustomStep != nil {
			oc.CustomStepID = p.CustomStep.StepID()
		}
		if b := p.Config.ReferenceImageBucket; b != "" {
			client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = o.BaseEndpoint != nil })
			oc.Images = s3images.NewRemover(client, b, p.Config.CustomStep.KeyTemplate)
		}
		api, ok, err := compose.VeriffAPI(compose.Runtime{AWS: cfg, Getenv: c.getenv, Metrics: io.Discard})
		if err != nil {
			return nil, fmt.Errorf("veriff api configuration: %w", err)
		}
		if ok {
			oc.Veriff = api // refetch -provider veriff
		}
	}
	if table == "" {
		return nil, errors.New("TABLE_NAME (or -table) is required")
	}
	oc.Store = compose.OperatorTable(cfg, table, oc.Retention)
	return ops.New(oc), nil
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func one(args []string, what string) (string, error) {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return "", usageError{"want exactly one " + what}
	}
	return args[0], nil
}

func eventsCommand(fs *flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	var opt ops.ListOptions
	fs.BoolVar(&opt.Failed, "failed", false, "failed events")
	fs.BoolVar(&opt.Stuck, "stuck", false, "stuck events and unsent status events")
	fs.BoolVar(&opt.Quarantined, "quarantined", false, "quarantined bodies")
	fs.BoolVar(&opt.Awaiting, "awaiting", false, "events waiting for their journey's claim (awaiting_claim)")
	fs.DurationVar(&opt.StuckAfter, "stuck-after", 10*time.Minute, "age after which a pending item is stuck")
	fs.IntVar(&opt.Limit, "limit", 100, "at most this many of each kind")
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		if len(args) != 0 {
			return nil, usageError{"events takes no arguments"}
		}
		p, err := o.Problems(ctx, opt)
		if err != nil {
			return nil, err
		}
		return problems(p), nil
	}
}

func replayCommand(fs *flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	from := fs.String("from", "", "replay every failed event received from this time (RFC 3339)")
	to := fs.String("to", "", "... up to this time (RFC 3339; default now)")
	limit := fs.Int("limit", 1000, "at most this many events")
	provider := fs.Lookup("provider")
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		if *from == "" {
			id, err := one(args, "event id (or -from)")
			if err != nil {
				return nil, err
			}
			r, err := o.Replay(ctx, provider.Value.String(), id)
			if r.EventID == "" {
				return nil, err
			}
			return replays{r}, err
		}
		if len(args) != 0 {
			return nil, usageError{"replay -from takes no event id"}
		}
		f, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return nil, usageError{"-from: want RFC 3339, like 2026-01-02T15:04:05Z"}
		}
		t := time.Now()
		if *to != "" {
			if t, err = time.Parse(time.RFC3339, *to); err != nil {
				return nil, usageError{"-to: want RFC 3339, like 2026-01-02T15:04:05Z"}
			}
		}
		r, err := o.ReplayFailed(ctx, f, t, *limit)
		return replays(r), err
	}
}

func refetchCommand(fs *flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	provider := fs.Lookup("provider")
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		id, err := one(args, "journey id")
		if err != nil {
			return nil, err
		}
		r, err := o.Refetch(ctx, provider.Value.String(), id)
		if r.EventID == "" {
			return nil, err
		}
		return refetch(r), err
	}
}

func completeStepCommand(fs *flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	provider := fs.Lookup("provider")
	noImage := fs.Bool("no-image", false, "complete without submitting the reference image")
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		id, err := one(args, "journey id")
		if err != nil {
			return nil, err
		}
		r, err := o.CompleteStep(ctx, provider.Value.String(), id, *noImage)
		if r.EventID == "" {
			return nil, err
		}
		return completeStep(r), err
	}
}

func claimsCommand(fs *flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	provider := fs.Lookup("provider")
	user := fs.String("user", "", "list this user's claims only")
	release := fs.Bool("release", false, "release the journey's claim")
	to := fs.String("reassign-to", "", "give the journey's claim to this referenceNo")
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		p := provider.Value.String()
		switch {
		case *release && *to != "":
			return nil, usageError{"-release and -reassign-to exclude each other"}
		case *release || *to != "":
			id, err := one(args, "journey id")
			if err != nil {
				return nil, err
			}
			var r ops.ClaimChange
			if *release {
				r, err = o.ReleaseClaim(ctx, p, id)
			} else {
				r, err = o.ReassignClaim(ctx, p, id, *to)
			}
			if r.EventID == "" {
				return nil, err
			}
			return claimChange(r), err
		}
		if len(args) > 1 {
			return nil, usageError{"claims takes at most one journey id"}
		}
		id := ""
		if len(args) == 1 {
			id = args[0]
		}
		cs, err := o.ListClaims(ctx, p, id, *user)
		return claimList(cs), err
	}
}

func historyCommand(*flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		ref, err := one(args, "referenceNo")
		if err != nil {
			return nil, err
		}
		h, err := o.History(ctx, ref)
		if err != nil {
			return nil, err
		}
		return history(h), nil
	}
}

func timelineCommand(fs *flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	provider := fs.Lookup("provider")
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		id, err := one(args, "journey id")
		if err != nil {
			return nil, err
		}
		t, err := o.Timeline(ctx, provider.Value.String(), id)
		if err != nil {
			return nil, err
		}
		return timeline(t), nil
	}
}

func eraseCommand(fs *flag.FlagSet) func(context.Context, *ops.Ops, []string) (any, error) {
	var opt ops.EraseOptions
	fs.BoolVar(&opt.VendorDelete, "idwise", false, "also ask IDWise to delete its personal data of each journey")
	fs.BoolVar(&opt.Quarantine, "quarantine", true, "also delete quarantined bodies naming the profile (scans the table)")
	fs.BoolVar(&opt.ReferenceImage, "reference-image", false, "also delete the profile's reference face images (IDWISE_REFERENCE_IMAGE_BUCKET)")
	yes := fs.Bool("yes", false, "really erase (without: a dry run)")
	return func(ctx context.Context, o *ops.Ops, args []string) (any, error) {
		ref, err := one(args, "referenceNo")
		if err != nil {
			return nil, err
		}
		opt.DryRun = !*yes
		r, err := o.Erase(ctx, ref, opt)
		return erasure(r), err
	}
}

// print writes a result as JSON or as its text form.
func (c *cli) print(v any) error {
	if c.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	v.(texter).text(tw)
	return tw.Flush()
}

type texter interface{ text(w io.Writer) }

type claimList []ops.ClaimView

func (cs claimList) text(w io.Writer) {
	if len(cs) == 0 {
		fmt.Fprintln(w, "no claims")
		return
	}
	fmt.Fprintln(w, "PROVIDER\tJOURNEY\tREFERENCE\tSOURCE\tSTATE\tCLAIMED")
	for _, c := range cs {
		state := c.State
		if c.VendorReferenceNo != "" {
			state += " (vendor: " + c.VendorReferenceNo + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Provider, c.JourneyID, c.ReferenceNo, c.Source, state, c.ClaimedAt)
	}
}

type claimChange ops.ClaimChange

func (c claimChange) text(w io.Writer) {
	fmt.Fprintf(w, "journey\t%s %s\nfrom\t%s\nto\t%s\nevent\t%s\nnote\t%s\n", c.Provider, c.JourneyID, dash(c.From), dash(c.To), c.EventID, c.Note)
}

type problems []ops.Problem

func (ps problems) text(w io.Writer) {
	if len(ps) == 0 {
		fmt.Fprintln(w, "nothing failed, stuck, quarantined or awaiting a claim")
		return
	}
	fmt.Fprintln(w, "KIND\tPROVIDER\tID\tJOURNEY\tEVENT\tRECEIVED\tWHY")
	for _, p := range ps {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Kind, p.Provider, p.ID, dash(p.JourneyID), dash(p.Event), stamp(p.ReceivedAt), p.Why)
	}
}

type replays []ops.ReplayResult

func (rs replays) text(w io.Writer) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no failed event in that range")
		return
	}
	fmt.Fprintln(w, "EVENT ID\tEVENT\tJOURNEY\tBEFORE\tAFTER\tNOTE")
	for _, r := range rs {
		note := r.Note
		switch {
		case r.Error != "":
			note = "error: " + r.Error
		case !r.Replayed:
			note = "nothing to do (only failed and pending events are replayed): " + note
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.EventID, dash(r.Event), dash(r.JourneyID), dash(r.Before), dash(r.After), note)
	}
}

type refetch ops.RefetchResult

func (r refetch) text(w io.Writer) {
	fmt.Fprintf(w, "journey\t%s/%s\n", r.Provider, r.JourneyID)
	fmt.Fprintf(w, "referenceNo\t%s\n", dash(r.ReferenceNo))
	fmt.Fprintf(w, "decisions\t%s\n", pairs(r.Decisions))
	fmt.Fprintf(w, "status\t%s -> %s\n", dash(string(r.Before)), dash(string(r.After)))
	fmt.Fprintf(w, "event\t%s %s: %s\n", r.EventID, r.State, r.Note)
}

type completeStep ops.CompleteStepResult

func (r completeStep) text(w io.Writer) {
	fmt.Fprintf(w, "journey\t%s/%s\n", r.Provider, r.JourneyID)
	fmt.Fprintf(w, "referenceNo\t%s\n", dash(r.ReferenceNo))
	fmt.Fprintf(w, "custom step\t%s: %s -> %s\n", r.StepID, dash(string(r.Before)), dash(string(r.After)))
	fmt.Fprintf(w, "event\t%s %s: %s\n", r.EventID, r.State, r.Note)
}

type history ops.History

func (h history) text(w io.Writer) {
	switch {
	case h.Profile != nil:
		p := h.Profile
		fmt.Fprintf(w, "profile %s: %s (journey %s/%s, reasons %s, updated %s)\n", h.ReferenceNo, p.Status, p.Provider, p.JourneyID,
			dash(strings.Join(p.Reasons, ",")), stamp(p.UpdatedAt))
	case h.Erased:
		fmt.Fprintf(w, "profile %s: erased\n", h.ReferenceNo)
	default:
		fmt.Fprintf(w, "profile %s: none\n", h.ReferenceNo)
	}
	if len(h.Changes) == 0 {
		fmt.Fprintln(w, "no status change kept (they expire with raw events)")
		return
	}
	fmt.Fprintln(w, "RECORDED\tJOURNEY\tFROM\tTO\tREASONS\tPUBLISHED\tSTATUS EVENT")
	for _, c := range h.Changes {
		published := "not yet"
		if c.SentAt != nil {
			published = stamp(*c.SentAt)
		}
		fmt.Fprintf(w, "%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\n", stamp(c.RecordedAt), c.Provider, c.JourneyID, dash(string(c.PreviousStatus)), c.Status,
			dash(strings.Join(c.Reasons, ",")), published, c.StatusEventID)
	}
}

type timeline ops.Timeline

func (t timeline) text(w io.Writer) {
	fmt.Fprintf(w, "journey %s/%s, referenceNo %s\n", t.Provider, t.JourneyID, dash(t.ReferenceNo))
	if t.FetchedAt != nil {
		fmt.Fprintf(w, "snapshot fetched %s: %s\n", stamp(*t.FetchedAt), pairs(t.Decisions))
	} else {
		fmt.Fprintln(w, "no snapshot stored")
	}
	fmt.Fprintln(w, "RECEIVED\tEVENT ID\tEVENT\tSTATE\tCARRIED\tNOTE")
	for _, e := range t.Entries {
		id := e.EventID
		if e.Operator {
			id += " (kycctl)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(e.ReceivedAt), id, e.Event, e.State, pairs(e.Decisions), dash(e.Note))
	}
}

type erasure ops.EraseResult

func (r erasure) text(w io.Writer) {
	var counts []string
	for k, n := range r.Deleted {
		counts = append(counts, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(counts)
	verb, done := "deleted", fmt.Sprintf("erased profile %s (tombstone since %s)", r.ReferenceNo, stamp(r.ErasedAt))
	if r.DryRun {
		verb, done = "would delete", fmt.Sprintf("dry run for profile %s: nothing changed; add -yes to erase", r.ReferenceNo)
	}
	fmt.Fprintln(w, done)
	fmt.Fprintf(w, "%s\t%s\n", verb, dash(strings.Join(counts, " ")))
	fmt.Fprintf(w, "push endpoints\t%d\n", r.Endpoints)
	fmt.Fprintf(w, "journeys\t%s\n", dash(strings.Join(r.Journeys, " ")))
	if len(r.VendorDeleted) > 0 {
		fmt.Fprintf(w, "IDWise data %s\t%s\n", verb, strings.Join(r.VendorDeleted, " "))
	}
}

func pairs(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// flagSet is the flag set of command name with the flags every command has: -json,
// -provider, -v and the overrides of the environment (-table, -topic-arn, ...).
func (c *cli) flagSet(name string) *flag.FlagSet {
	stderr := c.stderr
	fs := flag.NewFlagSet("kycctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.BoolVar(&c.json, "json", false, "print JSON")
	fs.StringVar(&c.provider, "provider", "idwise", "vendor of event and journey ids")
	fs.BoolVar(&c.verbose, "v", false, "log info lines")
	for name, env := range map[string]string{"table": "TABLE_NAME", "topic-arn": "STATUS_TOPIC_ARN", "stack": "KYC_STACK_NAME",
		"idwise-secret-arn": "IDWISE_API_SECRET_ARN", "idwise-base-url": "IDWISE_API_BASE_URL",
		"veriff-secret-arn": "VERIFF_SECRET_ARN", "veriff-base-url": "VERIFF_API_BASE_URL"} {
		c.override[env] = fs.String(name, "", "overrides "+env)
	}
	return fs
}

// overridden is getenv with the values of the override flags given.
func (c *cli) overridden(getenv compose.Getenv) compose.Getenv {
	return func(k string) string {
		if v := c.override[k]; v != nil && *v != "" {
			return *v
		}
		return getenv(k)
	}
}
