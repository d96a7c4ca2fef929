package streams

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Lambda's fixed values in a DynamoDB stream event record.
const (
	eventSource  = "aws:dynamodb"
	eventVersion = "1.1"
)

// creationSlack is how much later than its ApproximateCreationDateTime a record may have
// been written: DynamoDB Local truncates that time to the minute (AWS to the second).
const creationSlack = time.Minute

// record is a stream record as Lambda delivers it, kept as its JSON so that every
// invocation decodes a fresh copy, as a real one would.
type record struct {
	raw     json.RawMessage
	seq     string
	key     []byte    // the item's partition key as JSON, for ParallelizationFactor lanes
	arrival time.Time // its ApproximateCreationDateTime
	created time.Time // when the record was written, as well as known (see creationSlack)
}

// recordJSON is the JSON shape of one element of a DynamoDB event's Records.
type recordJSON struct {
	EventID        string        `json:"eventID"`
	EventName      string        `json:"eventName"`
	EventVersion   string        `json:"eventVersion"`
	EventSource    string        `json:"eventSource"`
	AWSRegion      string        `json:"awsRegion"`
	DynamoDB       changeJSON    `json:"dynamodb"`
	EventSourceARN string        `json:"eventSourceARN"`
	UserIdentity   *identityJSON `json:"userIdentity,omitempty"`
}

type changeJSON struct {
	ApproximateCreationDateTime *int64         `json:"ApproximateCreationDateTime,omitempty"`
	Keys                        map[string]any `json:"Keys,omitempty"`
	NewImage                    map[string]any `json:"NewImage,omitempty"`
	OldImage                    map[string]any `json:"OldImage,omitempty"`
	SequenceNumber              string         `json:"SequenceNumber"`
	SizeBytes                   int64          `json:"SizeBytes"`
	StreamViewType              string         `json:"StreamViewType"`
}

type identityJSON struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
}

// lambdaJSON returns the JSON Lambda delivers for stream record r of streamARN: eventVersion
// 1.1, eventSource aws:dynamodb, awsRegion region (the stream's own when region is empty),
// ApproximateCreationDateTime in epoch seconds, attribute values in DynamoDB JSON (B as
// base64, N as strings).
func lambdaJSON(r types.Record, streamARN, region string) ([]byte, error) {
	if r.Dynamodb == nil {
		return nil, fmt.Errorf("record %s: no dynamodb field", aws.ToString(r.EventID))
	}
	if region == "" {
		region = aws.ToString(r.AwsRegion)
	}
	d := r.Dynamodb
	out := recordJSON{
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventVersion:   eventVersion,
		EventSource:    eventSource,
		AWSRegion:      region,
		EventSourceARN: streamARN,
		DynamoDB: changeJSON{
			SequenceNumber: aws.ToString(d.SequenceNumber),
			SizeBytes:      aws.ToInt64(d.SizeBytes),
			StreamViewType: string(d.StreamViewType),
		},
	}
	if t := d.ApproximateCreationDateTime; t != nil {
		s := t.Unix()
		out.DynamoDB.ApproximateCreationDateTime = &s
	}
	var err error
	if out.DynamoDB.Keys, err = itemJSON(d.Keys); err != nil {
		return nil, fmt.Errorf("record %s keys: %w", out.EventID, err)
	}
	if out.DynamoDB.NewImage, err = itemJSON(d.NewImage); err != nil {
		return nil, fmt.Errorf("record %s new image: %w", out.EventID, err)
	}
	if out.DynamoDB.OldImage, err = itemJSON(d.OldImage); err != nil {
		return nil, fmt.Errorf("record %s old image: %w", out.EventID, err)
	}
	if u := r.UserIdentity; u != nil {
		out.UserIdentity = &identityJSON{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
	}
	return json.Marshal(out)
}

func itemJSON(item map[string]types.AttributeValue) (map[string]any, error) {
	if len(item) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(item))
	for name, v := range item {
		j, err := attributeJSON(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[name] = j
	}
	return out, nil
}

// attributeJSON returns an attribute value in DynamoDB JSON, as in a Lambda event.
func attributeJSON(v types.AttributeValue) (any, error) {
	switch t := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": t.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]any{"N": t.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(t.Value)}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": t.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}, nil
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": nonNil(t.Value)}, nil
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": nonNil(t.Value)}, nil
	case *types.AttributeValueMemberBS:
		bs := make([]string, len(t.Value))
		for i, b := range t.Value {
			bs[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": bs}, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(t.Value))
		for i, e := range t.Value {
			j, err := attributeJSON(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = j
		}
		return map[string]any{"L": l}, nil
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(t.Value))
		for k, e := range t.Value {
			j, err := attributeJSON(e)
			if err != nil {
				return nil, fmt.Errorf(".%s: %w", k, err)
			}
			m[k] = j
		}
		return map[string]any{"M": m}, nil
	default:
		return nil, fmt.Errorf("unknown attribute value type %T", v)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// decodeEvent decodes records into the event Lambda would pass to the handler.
func decodeEvent(recs []record) (events.DynamoDBEvent, error) {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i, r := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r.raw)
	}
	b.WriteString(`]}`)
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b.Bytes(), &ev); err != nil {
		return events.DynamoDBEvent{}, fmt.Errorf("decode event: %w", err)
	}
	return ev, nil
}

// decodeJSON decodes data keeping numbers as json.Number (for event filtering).
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return x, nil
}
