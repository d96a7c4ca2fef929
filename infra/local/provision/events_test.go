package provision

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const eventsTemplate = `
Parameters:
  Batch: {Type: Number, Default: 25}
  SweepMinutes: {Type: Number, Default: 5}
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  ProcessorDLQ:
    Type: AWS::SQS::Queue
  Processor:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Inbox:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: !Ref Batch
            MaximumBatchingWindowInSeconds: 1
            MaximumRetryAttempts: 3
            MaximumRecordAgeInSeconds: 3600
            BisectBatchOnFunctionError: true
            ParallelizationFactor: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}'
                - Pattern: {eventName: [MODIFY]}
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt ProcessorDLQ.Arn
        Defaults:
          Type: DynamoDB
          Properties:
            Stream: {"Fn::GetAtt": [Table, StreamArn]}
            StartingPosition: LATEST
        Api:
          Type: HttpApi
          Properties: {Method: post, Path: /x}
  Sweeper:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Every:
          Type: Schedule
          Properties:
            Schedule: !Sub 'rate(${SweepMinutes} minutes)'
            Input: '{"dryRun": false}'
        Off:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            Enabled: false
        V2:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 12 * * ? *)
            State: !If [IsProd, ENABLED, DISABLED]
`

func TestStreamSources(t *testing.T) {
	tmpl, err := parse([]byte(eventsTemplate))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := []StreamSource{
		{
			Name:                           "Defaults",
			FunctionLogicalID:              "Processor",
			TableLogicalID:                 "Table",
			Enabled:                        true,
			StartingPosition:               "LATEST",
			BatchSize:                      100,
			MaximumBatchingWindowInSeconds: 0,
			MaximumRetryAttempts:           -1,
			MaximumRecordAgeInSeconds:      -1,
			ParallelizationFactor:          1,
		},
		{
			Name:                           "Inbox",
			FunctionLogicalID:              "Processor",
			TableLogicalID:                 "Table",
			Enabled:                        true,
			StartingPosition:               "TRIM_HORIZON",
			BatchSize:                      25,
			MaximumBatchingWindowInSeconds: 1,
			MaximumRetryAttempts:           3,
			MaximumRecordAgeInSeconds:      3600,
			BisectBatchOnFunctionError:     true,
			ParallelizationFactor:          2,
			FunctionResponseTypes:          []string{"ReportBatchItemFailures"},
			FilterPatterns: []string{
				`{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}`,
				`{"eventName":["MODIFY"]}`,
			},
			OnFailureDestination: "ProcessorDLQ",
			OnFailureType:        "SQS",
		},
	}
	got := tmpl.StreamSources()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StreamSources() =\n%+v\nwant\n%+v", got, want)
	}
	if !got[1].ReportsBatchItemFailures() || got[0].ReportsBatchItemFailures() {
		t.Errorf("ReportsBatchItemFailures() = %v, %v, want false, true", got[0].ReportsBatchItemFailures(), got[1].ReportsBatchItemFailures())
	}
	// The result is a copy.
	got[1].FilterPatterns[0] = "changed"
	if again := tmpl.StreamSources(); again[1].FilterPatterns[0] == "changed" {
		t.Errorf("StreamSources() shares its slices with the template")
	}
}

func TestSchedules(t *testing.T) {
	tmpl, err := parse([]byte(eventsTemplate))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := []Schedule{
		{Name: "Every", FunctionLogicalID: "Sweeper", Type: "Schedule", Expression: "rate(5 minutes)", Enabled: true, Input: `{"dryRun": false}`},
		{Name: "Off", FunctionLogicalID: "Sweeper", Type: "Schedule", Expression: "rate(1 hour)", Enabled: false},
		{Name: "V2", FunctionLogicalID: "Sweeper", Type: "ScheduleV2", Expression: "cron(0 12 * * ? *)", Enabled: false},
	}
	if got := tmpl.Schedules(); !reflect.DeepEqual(got, want) {
		t.Errorf("Schedules() =\n%+v\nwant\n%+v", got, want)
	}
	if d, err := want[0].Interval(); err != nil || d != 5*time.Minute {
		t.Errorf("Interval() = %v, %v, want 5m, nil", d, err)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		want    time.Duration
		wantErr error // checked with errors.Is when set
		bad     bool
	}{
		{name: "one minute", expr: "rate(1 minute)", want: time.Minute},
		{name: "minutes", expr: "rate(5 minutes)", want: 5 * time.Minute},
		{name: "hour", expr: "rate(1 hour)", want: time.Hour},
		{name: "hours", expr: "rate(12 hours)", want: 12 * time.Hour},
		{name: "days", expr: "rate(7 days)", want: 7 * 24 * time.Hour},
		{name: "cron", expr: "cron(0/5 * * * ? *)", wantErr: ErrUnsupportedSchedule},
		{name: "at", expr: "at(2030-01-01T00:00:00)", wantErr: ErrUnsupportedSchedule},
		{name: "plural for one", expr: "rate(1 minutes)", bad: true},
		{name: "singular for five", expr: "rate(5 minute)", bad: true},
		{name: "zero", expr: "rate(0 minutes)", bad: true},
		{name: "seconds", expr: "rate(30 seconds)", bad: true},
		{name: "garbage", expr: "every 5 minutes", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRate(tt.expr)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("ParseRate(%q) error = %v, want %v", tt.expr, err, tt.wantErr)
				}
			case tt.bad:
				if err == nil || errors.Is(err, ErrUnsupportedSchedule) {
					t.Errorf("ParseRate(%q) = %v, %v, want a syntax error", tt.expr, got, err)
				}
			case err != nil || got != tt.want:
				t.Errorf("ParseRate(%q) = %v, %v, want %v, nil", tt.expr, got, err, tt.want)
			}
		})
	}
}

func TestEventErrors(t *testing.T) {
	const head = `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Plain:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E:
`
	tests := []struct {
		name  string
		event string
		want  string // in the error
	}{
		{"stream is a literal ARN", "{Type: DynamoDB, Properties: {Stream: 'arn:aws:dynamodb:x', StartingPosition: LATEST}}", "Stream must be"},
		{"stream of another attribute", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.Arn, StartingPosition: LATEST}}", "Stream must be"},
		{"no such table", "{Type: DynamoDB, Properties: {Stream: !GetAtt Nope.StreamArn, StartingPosition: LATEST}}", "no table Nope"},
		{"table without stream", "{Type: DynamoDB, Properties: {Stream: !GetAtt Plain.StreamArn, StartingPosition: LATEST}}", "no StreamSpecification"},
		{"no starting position", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn}}", "StartingPosition"},
		{"at timestamp", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: AT_TIMESTAMP}}", "StartingPosition"},
		{"batch size zero", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, BatchSize: 0}}", "BatchSize"},
		{"batch size not a number", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, BatchSize: ten}}", "BatchSize"},
		{"record age 30", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, MaximumRecordAgeInSeconds: 30}}", "MaximumRecordAgeInSeconds"},
		{"retries -2", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, MaximumRetryAttempts: -2}}", "MaximumRetryAttempts"},
		{"unknown response type", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, FunctionResponseTypes: [Other]}}", "FunctionResponseTypes"},
		{"pattern not json", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, FilterCriteria: {Filters: [{Pattern: 'eventName'}]}}}", "Pattern"},
		{"tumbling window", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, TumblingWindowInSeconds: 60}}", "TumblingWindowInSeconds"},
		{"destination literal", "{Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, DestinationConfig: {OnFailure: {Destination: 'arn:aws:sqs:x'}}}}", "Destination"},
		{"schedule missing", "{Type: Schedule, Properties: {Enabled: true}}", "Schedule: missing"},
		{"schedule v2 bad state", "{Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 day), State: ON}}", "State"},
		{"schedule unresolved", "{Type: Schedule, Properties: {Schedule: !Ref Nowhere}}", "Schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(head + "          " + tt.event + "\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestStreamSourcesFromTemplate(t *testing.T) {
	tmpl := loadTemplate(t)
	var inbox *StreamSource
	for _, s := range tmpl.StreamSources() {
		if s.FunctionLogicalID == "ProcessorFunction" {
			inbox = &s
		}
	}
	if inbox == nil {
		t.Fatalf("StreamSources() = %+v, want one for ProcessorFunction", tmpl.StreamSources())
	}
	tables := tmpl.Tables()
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"table", inbox.TableLogicalID, "Table"},
		{"enabled", inbox.Enabled, true},
		{"reports batch item failures", inbox.ReportsBatchItemFailures(), true},
		{"one filter", len(inbox.FilterPatterns), 1},
		{"on-failure destination is a template resource", inbox.OnFailureDestination != "", true},
		{"retries bounded", inbox.MaximumRetryAttempts >= 0, true},
		{"table has a stream", slices.ContainsFunc(tables, func(tb Table) bool { return tb.LogicalID == "Table" && tb.StreamViewType != "" }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestSchedulesFromTemplate(t *testing.T) {
	var sweeper []Schedule
	for _, s := range loadTemplate(t).Schedules() {
		if s.FunctionLogicalID == "SweeperFunction" {
			sweeper = append(sweeper, s)
		}
	}
	if len(sweeper) == 0 {
		t.Fatalf("Schedules() has none for SweeperFunction, want one")
	}
	for _, s := range sweeper {
		d, err := s.Interval()
		if err != nil || d <= 0 {
			t.Errorf("%s %s: Interval() = %v, %v, want a period (a local run supports rate only)", s.Name, s.Expression, d, err)
		}
	}
}
