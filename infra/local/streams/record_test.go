package streams

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

const testStreamARN = "arn:aws:dynamodb:us-east-1:123456789012:table/kyc-Table/stream/2024-01-01T00:00:00.000"

// streamRecord is a stream record as the DynamoDB Streams API returns it, with every
// attribute type.
func streamRecord() types.Record {
	created := time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)
	return types.Record{
		AwsRegion:    aws.String("ddblocal"),
		EventID:      aws.String("c81e728d9d4c2f636f067f89cc14862c"),
		EventName:    types.OperationTypeInsert,
		EventSource:  aws.String("aws:dynamodb"),
		EventVersion: aws.String("1.1"),
		Dynamodb: &types.StreamRecord{
			ApproximateCreationDateTime: &created,
			Keys: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "EVENT#idwise#e-1"},
				"sk": &types.AttributeValueMemberS{Value: "EVENT"},
			},
			NewImage: map[string]types.AttributeValue{
				"pk":       &types.AttributeValueMemberS{Value: "EVENT#idwise#e-1"},
				"sk":       &types.AttributeValueMemberS{Value: "EVENT"},
				"kind":     &types.AttributeValueMemberS{Value: "event"},
				"attempts": &types.AttributeValueMemberN{Value: "3"},
				"ratio":    &types.AttributeValueMemberN{Value: "0.50"},
				"raw":      &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xff}},
				"ok":       &types.AttributeValueMemberBOOL{Value: true},
				"none":     &types.AttributeValueMemberNULL{Value: true},
				"tags":     &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
				"scores":   &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
				"blobs":    &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
				"list": &types.AttributeValueMemberL{Value: []types.AttributeValue{
					&types.AttributeValueMemberS{Value: "x"},
					&types.AttributeValueMemberN{Value: "7"},
				}},
				"body": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
					"journeyId": &types.AttributeValueMemberS{Value: "j-1"},
					"nested":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "1"}}},
				}},
			},
			SequenceNumber: aws.String("000000000000000000042"),
			SizeBytes:      aws.Int64(321),
			StreamViewType: types.StreamViewTypeNewImage,
		},
	}
}

func TestLambdaJSONMatchesFixture(t *testing.T) {
	got, err := lambdaJSON(streamRecord(), testStreamARN, "us-east-1")
	if err != nil {
		t.Fatalf("lambdaJSON: %v", err)
	}
	want, err := os.ReadFile("testdata/record.json")
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode lambdaJSON output: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, got, "", "  ")
		t.Errorf("lambdaJSON() =\n%s\nwant testdata/record.json", pretty.String())
	}
}

func TestLambdaJSONDecodesIntoLambdaTypes(t *testing.T) {
	raw, err := lambdaJSON(streamRecord(), testStreamARN, "")
	if err != nil {
		t.Fatalf("lambdaJSON: %v", err)
	}
	ev, err := decodeEvent([]record{{raw: raw}, {raw: raw}})
	if err != nil {
		t.Fatalf("decodeEvent: %v", err)
	}
	if got := len(ev.Records); got != 2 {
		t.Fatalf("len(Records) = %d, want 2", got)
	}
	r := ev.Records[0]
	img := r.Change.NewImage
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"eventName", r.EventName, "INSERT"},
		{"eventVersion", r.EventVersion, "1.1"},
		{"eventSource", r.EventSource, "aws:dynamodb"},
		{"awsRegion kept when none given", r.AWSRegion, "ddblocal"},
		{"eventSourceARN", r.EventSourceArn, testStreamARN},
		{"creation time", r.Change.ApproximateCreationDateTime.UTC(), time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)},
		{"sequence number", r.Change.SequenceNumber, "000000000000000000042"},
		{"size", r.Change.SizeBytes, int64(321)},
		{"view type", r.Change.StreamViewType, "NEW_IMAGE"},
		{"key", r.Change.Keys["pk"].String(), "EVENT#idwise#e-1"},
		{"string", img["kind"].String(), "event"},
		{"number as written", img["ratio"].Number(), "0.50"},
		{"binary", img["raw"].Binary(), []byte{0, 1, 2, 0xff}},
		{"bool", img["ok"].Boolean(), true},
		{"null", img["none"].IsNull(), true},
		{"string set", img["tags"].StringSet(), []string{"a", "b"}},
		{"number set", img["scores"].NumberSet(), []string{"1", "2.5"}},
		{"binary set", img["blobs"].BinarySet(), [][]byte{{1}, {2, 3}}},
		{"list", img["list"].List()[1].Number(), "7"},
		{"map", img["body"].Map()["journeyId"].String(), "j-1"},
		{"nested map", img["body"].Map()["nested"].Map()["n"].Number(), "1"},
		{"no old image", len(r.Change.OldImage), 0},
		{"no user identity", r.UserIdentity == nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestLambdaJSONTTLDelete(t *testing.T) {
	rec := streamRecord()
	rec.EventName = types.OperationTypeRemove
	rec.Dynamodb.NewImage = nil
	rec.Dynamodb.OldImage = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}
	rec.UserIdentity = &types.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")}
	raw, err := lambdaJSON(rec, testStreamARN, "us-east-1")
	if err != nil {
		t.Fatalf("lambdaJSON: %v", err)
	}
	var got events.DynamoDBEventRecord
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	if got.UserIdentity == nil || *got.UserIdentity != want {
		t.Errorf("UserIdentity = %+v, want %+v", got.UserIdentity, want)
	}
	if got.Change.NewImage != nil || got.Change.OldImage["pk"].String() != "x" {
		t.Errorf("images = new %v old %v, want no new image and old pk x", got.Change.NewImage, got.Change.OldImage)
	}
}

func TestLambdaJSONUnknownAttribute(t *testing.T) {
	rec := streamRecord()
	rec.Dynamodb.NewImage["odd"] = &types.UnknownUnionMember{Tag: "X"}
	if _, err := lambdaJSON(rec, testStreamARN, ""); err == nil {
		t.Errorf("lambdaJSON with an unknown attribute type: error = nil, want one")
	}
}
