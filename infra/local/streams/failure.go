package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kycbackend/kyc/infra/local/invoke"
)

// Conditions of a Failure, as Lambda names them in an invocation record.
const (
	ConditionRetryAttemptsExhausted = "RetryAttemptsExhausted"
	ConditionRecordAgeExceeded      = "RecordAgeExceeded"
)

// Failure is the reason Mapping.OnFailure receives: why records were given up, with what
// Lambda writes in the invocation record it sends to an on-failure destination (see
// InvocationRecord). errors.Is(f, ErrRetriesExhausted or ErrRecordAgeExceeded) tells the
// condition; errors.Is(f, handlerErr) finds the last handler error.
type Failure struct {
	Condition   string // ConditionRetryAttemptsExhausted or ConditionRecordAgeExceeded
	Err         error  // the last invocation's failure; nil when the records were never delivered
	InvokeCount int    // invocations that included the records
	FunctionARN string
	At          time.Time

	ShardID             string
	StreamARN           string
	StartSequenceNumber string
	EndSequenceNumber   string
	FirstArrival        time.Time // ApproximateCreationDateTime of the first record
	LastArrival         time.Time // ApproximateCreationDateTime of the last record
	BatchSize           int
}

func (f *Failure) Error() string {
	s := fmt.Sprintf("%s: %d records of shard %s (%s..%s) after %d invocations",
		f.sentinel(), f.BatchSize, f.ShardID, f.StartSequenceNumber, f.EndSequenceNumber, f.InvokeCount)
	if f.Err != nil {
		s += ": " + f.Err.Error()
	}
	return s
}

func (f *Failure) Unwrap() []error {
	if f.Err == nil {
		return []error{f.sentinel()}
	}
	return []error{f.sentinel(), f.Err}
}

func (f *Failure) sentinel() error {
	if f.Condition == ConditionRecordAgeExceeded {
		return ErrRecordAgeExceeded
	}
	return ErrRetriesExhausted
}

// InvocationRecord returns the JSON document Lambda sends to an SQS or SNS on-failure
// destination for these records: metadata (requestContext, responseContext,
// DDBStreamBatchInfo), not the records themselves. responseContext is left out when the
// records were never delivered, and its functionError when the last invocation reported
// batch item failures rather than an error.
func (f *Failure) InvocationRecord() ([]byte, error) {
	type responseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	}
	doc := struct {
		RequestContext struct {
			RequestID              string `json:"requestId"`
			FunctionARN            string `json:"functionArn"`
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		ResponseContext *responseContext `json:"responseContext,omitempty"`
		Version         string           `json:"version"`
		Timestamp       string           `json:"timestamp"`
		BatchInfo       struct {
			ShardID                         string `json:"shardId"`
			StartSequenceNumber             string `json:"startSequenceNumber"`
			EndSequenceNumber               string `json:"endSequenceNumber"`
			ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
			ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
			BatchSize                       int    `json:"batchSize"`
			StreamARN                       string `json:"streamArn"`
		} `json:"DDBStreamBatchInfo"`
	}{Version: "1.0", Timestamp: f.At.UTC().Format("2006-01-02T15:04:05.000Z")}
	doc.RequestContext.RequestID = invoke.RequestID()
	doc.RequestContext.FunctionARN = f.FunctionARN
	doc.RequestContext.Condition = f.Condition
	doc.RequestContext.ApproximateInvokeCount = f.InvokeCount
	if f.InvokeCount > 0 {
		doc.ResponseContext = &responseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}
		if f.Err != nil && !errors.Is(f.Err, ErrBatchItemFailures) {
			doc.ResponseContext.FunctionError = "Unhandled"
		}
	}
	b := &doc.BatchInfo
	b.ShardID = f.ShardID
	b.StartSequenceNumber = f.StartSequenceNumber
	b.EndSequenceNumber = f.EndSequenceNumber
	b.ApproximateArrivalOfFirstRecord = f.FirstArrival.UTC().Format(time.RFC3339)
	b.ApproximateArrivalOfLastRecord = f.LastArrival.UTC().Format(time.RFC3339)
	b.BatchSize = f.BatchSize
	b.StreamARN = f.StreamARN
	return json.Marshal(doc)
}
