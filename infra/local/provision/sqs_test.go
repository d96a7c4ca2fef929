package provision

import (
	"reflect"
	"strings"
	"testing"
)

const sqsTemplate = `
Parameters:
  Batch: {Type: Number, Default: 5}
  Visibility: {Type: Number, Default: 120}
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Work:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
      VisibilityTimeout: !Ref Visibility
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 4
  WorkDLQ:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
  RawSub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Work.Arn
      RawMessageDelivery: true
      FilterPolicy:
        type: [a.b]
  Mail:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: email
      Endpoint: ops@example.com
      FilterPolicy: '{"status": ["REJECTED"]}'
      FilterPolicyScope: MessageAttributes
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: !Ref Batch
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig: {MaximumConcurrency: 3}
        External:
          Type: SQS
          Properties: {Queue: 'arn:aws:sqs:us-east-1:123456789012:elsewhere'}
        Defaults:
          Type: SQS
          Properties:
            Queue: {"Fn::GetAtt": [WorkDLQ, Arn]}
            BatchSize: 50
            MaximumBatchingWindowInSeconds: 2
            Enabled: false
`

func TestSQSSources(t *testing.T) {
	tmpl, err := parse([]byte(sqsTemplate))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := []SQSSource{
		{Name: "Defaults", FunctionLogicalID: "Fn", QueueLogicalID: "WorkDLQ", Enabled: false, BatchSize: 50, MaximumBatchingWindowInSeconds: 2},
		{Name: "Work", FunctionLogicalID: "Fn", QueueLogicalID: "Work", Enabled: true, BatchSize: 5,
			FunctionResponseTypes: []string{ReportBatchItemFailures}, MaximumConcurrency: 3},
	}
	got := tmpl.SQSSources()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SQSSources() =\n%+v\nwant\n%+v", got, want)
	}
	if !got[1].ReportsBatchItemFailures() || got[0].ReportsBatchItemFailures() {
		t.Errorf("ReportsBatchItemFailures() = %v, %v, want false, true", got[0].ReportsBatchItemFailures(), got[1].ReportsBatchItemFailures())
	}
	got[1].FunctionResponseTypes[0] = "changed"
	if again := tmpl.SQSSources(); again[1].FunctionResponseTypes[0] == "changed" {
		t.Errorf("SQSSources() shares its slices with the template")
	}
}

func TestQueueSettingsAndSubscriptions(t *testing.T) {
	tmpl, err := parse([]byte(sqsTemplate))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	wantQueues := map[string]QueueSettings{
		"Work":    {LogicalID: "Work", VisibilityTimeout: 120, MessageRetentionPeriod: DefaultMessageRetention, DeadLetterQueue: "WorkDLQ", MaxReceiveCount: 4},
		"WorkDLQ": {LogicalID: "WorkDLQ", VisibilityTimeout: DefaultVisibilityTimeout, MessageRetentionPeriod: 1209600},
	}
	if got := tmpl.QueueSettings(); !reflect.DeepEqual(got, wantQueues) {
		t.Errorf("QueueSettings() =\n%+v\nwant\n%+v", got, wantQueues)
	}
	wantSubs := []Subscription{
		{LogicalID: "Mail", TopicLogicalID: "Topic", Protocol: "email", FilterPolicy: `{"status": ["REJECTED"]}`, FilterPolicyScope: "MessageAttributes"},
		{LogicalID: "RawSub", TopicLogicalID: "Topic", Protocol: "sqs", EndpointLogicalID: "Work", RawMessageDelivery: true, FilterPolicy: `{"type":["a.b"]}`},
	}
	if got := tmpl.Subscriptions(); !reflect.DeepEqual(got, wantSubs) {
		t.Errorf("Subscriptions() =\n%+v\nwant\n%+v", got, wantSubs)
	}
}

func TestSQSErrors(t *testing.T) {
	const head = `
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Q:
    Type: AWS::SQS::Queue
`
	tests := []struct {
		name, resources, want string
	}{
		{"queue of another attribute", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.QueueName}}}}}", "Queue must be"},
		{"no queue", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {BatchSize: 1}}}}}", "Queue: missing"},
		{"no such queue", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Nope.Arn}}}}}", "no queue Nope"},
		{"batch over 10 without window", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, BatchSize: 11}}}}}", "MaximumBatchingWindowInSeconds"},
		{"batch zero", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, BatchSize: 0}}}}}", "BatchSize"},
		{"unknown response type", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, FunctionResponseTypes: [X]}}}}}", "FunctionResponseTypes"},
		{"filter criteria", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, FilterCriteria: {Filters: [{Pattern: '{}'}]}}}}}}", "FilterCriteria"},
		{"concurrency 1", "  Fn: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, ScalingConfig: {MaximumConcurrency: 1}}}}}}", "MaximumConcurrency"},
		{"redrive to a literal", "  R: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: {deadLetterTargetArn: 'arn:aws:sqs:x', maxReceiveCount: 3}}}", "deadLetterTargetArn"},
		{"redrive to no queue", "  R: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: {deadLetterTargetArn: !GetAtt Nope.Arn, maxReceiveCount: 3}}}", "no queue Nope"},
		{"redrive without count", "  R: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: {deadLetterTargetArn: !GetAtt Q.Arn}}}", "maxReceiveCount"},
		{"fifo", "  F: {Type: AWS::SQS::Queue, Properties: {FifoQueue: true}}", "FifoQueue"},
		{"visibility too long", "  V: {Type: AWS::SQS::Queue, Properties: {VisibilityTimeout: 50000}}", "VisibilityTimeout"},
		{"subscription to no topic", "  S: {Type: AWS::SNS::Subscription, Properties: {TopicArn: !Ref Nope, Protocol: sqs, Endpoint: !GetAtt Q.Arn}}", "no topic Nope"},
		{"subscription to a literal topic", "  S: {Type: AWS::SNS::Subscription, Properties: {TopicArn: 'arn:aws:sns:x', Protocol: sqs, Endpoint: !GetAtt Q.Arn}}", "TopicArn"},
		{"sqs subscription to a literal", "  S: {Type: AWS::SNS::Subscription, Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: 'arn:aws:sqs:x'}}", "Endpoint"},
		{"sqs subscription to no queue", "  S: {Type: AWS::SNS::Subscription, Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Nope.Arn}}", "no queue Nope"},
		{"bad filter policy", "  S: {Type: AWS::SNS::Subscription, Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Q.Arn, FilterPolicy: 'type'}}", "FilterPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(head + tt.resources + "\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestPushFromTemplate: the push path of template.yaml as a local run reads it.
func TestPushFromTemplate(t *testing.T) {
	tmpl := loadTemplate(t)
	var src *SQSSource
	for _, s := range tmpl.SQSSources() {
		if s.FunctionLogicalID == "PushFunction" {
			src = &s
		}
	}
	if src == nil {
		t.Fatalf("SQSSources() = %+v, want one for PushFunction", tmpl.SQSSources())
	}
	queue := tmpl.QueueSettings()[src.QueueLogicalID]
	var sub *Subscription
	for _, s := range tmpl.Subscriptions() {
		if s.EndpointLogicalID == src.QueueLogicalID {
			sub = &s
		}
	}
	if sub == nil {
		t.Fatalf("no subscription feeds %s: %+v", src.QueueLogicalID, tmpl.Subscriptions())
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"enabled", src.Enabled, true},
		{"reports batch item failures", src.ReportsBatchItemFailures(), true},
		{"queue has a dead-letter queue", queue.DeadLetterQueue != "", true},
		{"bounded receives", queue.MaxReceiveCount >= 1 && queue.MaxReceiveCount <= 10, true},
		{"visibility at least 6 x a 30 s function timeout", queue.VisibilityTimeout >= 180, true},
		{"fed by the status topic", sub.TopicLogicalID, "StatusTopic"},
		{"raw delivery (the body is the status event)", sub.RawMessageDelivery, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
