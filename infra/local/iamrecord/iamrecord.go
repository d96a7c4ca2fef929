// Package iamrecord records every AWS call a function makes, as IAM would authorize it:
// the action (dynamodb:PutItem), the resource ARN AWS would see and, for DynamoDB, the
// leading keys of the items (dynamodb:LeadingKeys). A transaction is recorded item by
// item, each as the per-item action IAM authorizes (TransactWriteItems has no IAM action
// of its own). `make test` and `make demo` set KYC_IAM_RECORD=<file> for the local runner
// (infra/local/run); infra/local/iamcheck then evaluates each call against the function's
// policies in the translated template. Without the variable nothing is installed.
package iamrecord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
)

// EnvVar names the file calls are appended to (JSON lines).
const EnvVar = "KYC_IAM_RECORD"

// Call is one authorization: one line of the record.
type Call struct {
	Kind        string   `json:"kind"` // "call"
	Stack       string   `json:"stack"`
	Function    string   `json:"function"`  // the template's logical ID
	Operation   string   `json:"operation"` // the SDK's, e.g. DynamoDB.TransactWriteItems
	Action      string   `json:"action"`    // the IAM action, e.g. dynamodb:PutItem
	Resource    string   `json:"resource"`  // the ARN IAM authorizes against
	LeadingKeys []string `json:"leadingKeys,omitempty"`
}

// Stack is the header line of one local stack: what the checker needs to resolve the
// translated template's policies as that stack's (parameters, conditions, the ARNs of
// its resources).
type Stack struct {
	Kind       string            `json:"kind"` // "stack"
	Stack      string            `json:"stack"`
	Refs       map[string]string `json:"refs"`
	Attrs      map[string]string `json:"attrs"`
	Conditions map[string]bool   `json:"conditions"`
}

// Recorder appends lines to one file; safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	f       *os.File
	stack   string
	account string
	region  string
}

// FromEnv opens the file KYC_IAM_RECORD names (nil, nil when unset) and writes the stack's
// header line. account and region are the emulators' (moto's 123456789012, us-east-1).
func FromEnv(st Stack, account, region string) (*Recorder, error) {
	path := os.Getenv(EnvVar)
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvVar, err)
	}
	st.Kind = "stack"
	r := &Recorder{f: f, stack: st.Stack, account: account, region: region}
	if err := r.write(st); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// Close closes the file.
func (r *Recorder) Close() error { return r.f.Close() }

func (r *Recorder) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err = r.f.Write(append(b, '\n'))
	return err
}

// APIOption is an aws.Config APIOptions entry recording the calls of function.
func (r *Recorder) APIOption(function string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("iamRecord",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
				for _, c := range r.Authorizations(op, in.Parameters) {
					c.Kind, c.Stack, c.Function, c.Operation = "call", r.stack, function, op
					if err := r.write(c); err != nil {
						return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("iamrecord: %w", err)
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}

// Authorizations are the IAM authorizations AWS makes for one SDK call. An operation this
// package does not know is recorded with resource "*" and the action from its name, so
// that the checker sees it (and, unless a policy grants it everywhere, refuses it).
func (r *Recorder) Authorizations(op string, params any) []Call {
	if calls, ok := r.dynamoCalls(params); ok {
		return calls
	}
	if calls, ok := r.serviceCalls(params); ok {
		return calls
	}
	svc, name, _ := strings.Cut(op, ".")
	return []Call{{Action: strings.ToLower(strings.ReplaceAll(svc, " ", "")) + ":" + name, Resource: "*"}}
}

// dynamoCalls are the authorizations of a DynamoDB call; false for another service's.
func (r *Recorder) dynamoCalls(params any) ([]Call, bool) {
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		return []Call{r.item("dynamodb:GetItem", strOf(in.TableName), in.Key)}, true
	case *dynamodb.PutItemInput:
		return []Call{r.item("dynamodb:PutItem", strOf(in.TableName), in.Item)}, true
	case *dynamodb.UpdateItemInput:
		return []Call{r.item("dynamodb:UpdateItem", strOf(in.TableName), in.Key)}, true
	case *dynamodb.DeleteItemInput:
		return []Call{r.item("dynamodb:DeleteItem", strOf(in.TableName), in.Key)}, true
	case *dynamodb.QueryInput:
		index := strOf(in.IndexName)
		return []Call{{Action: "dynamodb:Query", Resource: r.table(strOf(in.TableName), index),
			LeadingKeys: queryKey(strOf(in.KeyConditionExpression), in.ExpressionAttributeNames, in.ExpressionAttributeValues, hashKey(index))}}, true
	case *dynamodb.ScanInput:
		return []Call{{Action: "dynamodb:Scan", Resource: r.table(strOf(in.TableName), strOf(in.IndexName))}}, true
	case *dynamodb.TransactWriteItemsInput:
		return r.transactWrite(in), true
	case *dynamodb.TransactGetItemsInput:
		var out []Call
		for _, it := range in.TransactItems {
			if it.Get != nil {
				out = append(out, r.item("dynamodb:GetItem", strOf(it.Get.TableName), it.Get.Key))
			}
		}
		return out, true
	case *dynamodb.BatchWriteItemInput:
		return r.batchWrite(in), true
	case *dynamodb.BatchGetItemInput:
		var out []Call
		for tbl, ka := range in.RequestItems {
			c := Call{Action: "dynamodb:BatchGetItem", Resource: r.table(tbl, "")}
			for _, k := range ka.Keys {
				c.LeadingKeys = append(c.LeadingKeys, leading(k[dynamo.AttrPK])...)
			}
			out = append(out, c)
		}
		return out, true
	}
	return nil, false
}

// serviceCalls are the authorizations of an SNS, Secrets Manager, SQS or S3 call; false
// for another.
func (r *Recorder) serviceCalls(params any) ([]Call, bool) {
	switch in := params.(type) {
	case *sns.PublishInput:
		return []Call{{Action: "sns:Publish", Resource: strOf(in.TopicArn) + strOf(in.TargetArn)}}, true
	case *sns.CreatePlatformEndpointInput:
		return []Call{{Action: "sns:CreatePlatformEndpoint", Resource: strOf(in.PlatformApplicationArn)}}, true
	case *sns.GetEndpointAttributesInput:
		return []Call{{Action: "sns:GetEndpointAttributes", Resource: strOf(in.EndpointArn)}}, true
	case *sns.SetEndpointAttributesInput:
		return []Call{{Action: "sns:SetEndpointAttributes", Resource: strOf(in.EndpointArn)}}, true
	case *sns.DeleteEndpointInput:
		return []Call{{Action: "sns:DeleteEndpoint", Resource: strOf(in.EndpointArn)}}, true
	case *secretsmanager.GetSecretValueInput:
		return []Call{{Action: "secretsmanager:GetSecretValue", Resource: r.secret(strOf(in.SecretId))}}, true
	case *sqs.SendMessageInput:
		return []Call{{Action: "sqs:SendMessage", Resource: r.queue(strOf(in.QueueUrl))}}, true
	case *sqs.SendMessageBatchInput:
		return []Call{{Action: "sqs:SendMessage", Resource: r.queue(strOf(in.QueueUrl))}}, true
	case *s3.GetObjectInput:
		return []Call{{Action: "s3:GetObject", Resource: "arn:aws:s3:::" + strOf(in.Bucket) + "/" + strOf(in.Key)}}, true
	case *s3.HeadObjectInput: // authorized as s3:GetObject
		return []Call{{Action: "s3:GetObject", Resource: "arn:aws:s3:::" + strOf(in.Bucket) + "/" + strOf(in.Key)}}, true
	case *s3.DeleteObjectInput:
		return []Call{{Action: "s3:DeleteObject", Resource: "arn:aws:s3:::" + strOf(in.Bucket) + "/" + strOf(in.Key)}}, true
	}
	return nil, false
}

// transactWrite is one authorization per item of a transaction.
func (r *Recorder) transactWrite(in *dynamodb.TransactWriteItemsInput) []Call {
	var out []Call
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			out = append(out, r.item("dynamodb:PutItem", strOf(it.Put.TableName), it.Put.Item))
		case it.Update != nil:
			out = append(out, r.item("dynamodb:UpdateItem", strOf(it.Update.TableName), it.Update.Key))
		case it.Delete != nil:
			out = append(out, r.item("dynamodb:DeleteItem", strOf(it.Delete.TableName), it.Delete.Key))
		case it.ConditionCheck != nil:
			out = append(out, r.item("dynamodb:ConditionCheckItem", strOf(it.ConditionCheck.TableName), it.ConditionCheck.Key))
		}
	}
	return out
}

// batchWrite is one authorization per table of a batch, with the leading keys of its items.
func (r *Recorder) batchWrite(in *dynamodb.BatchWriteItemInput) []Call {
	var out []Call
	for tbl, reqs := range in.RequestItems {
		c := Call{Action: "dynamodb:BatchWriteItem", Resource: r.table(tbl, "")}
		for _, w := range reqs {
			switch {
			case w.PutRequest != nil:
				c.LeadingKeys = append(c.LeadingKeys, leading(w.PutRequest.Item[dynamo.AttrPK])...)
			case w.DeleteRequest != nil:
				c.LeadingKeys = append(c.LeadingKeys, leading(w.DeleteRequest.Key[dynamo.AttrPK])...)
			}
		}
		out = append(out, c)
	}
	return out
}

// table is the ARN of a table, or of one of its indexes.
func (r *Recorder) table(name, index string) string {
	arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", r.region, r.account, name)
	if index != "" {
		arn += "/index/" + index
	}
	return arn
}

// item is the authorization of a call on one item.
func (r *Recorder) item(action, tbl string, key map[string]types.AttributeValue) Call {
	return Call{Action: action, Resource: r.table(tbl, ""), LeadingKeys: leading(key[dynamo.AttrPK])}
}

func strOf(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// secret is the ARN of a secret named by ARN or by name (a name is its ARN's prefix:
// Secrets Manager appends six random characters).
func (r *Recorder) secret(id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", r.region, r.account, id)
}

// queue is the ARN of the queue at a queue URL (.../<account>/<name>).
func (r *Recorder) queue(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	parts := strings.Split(strings.Trim(p.Path, "/"), "/")
	if len(parts) != 2 {
		return u
	}
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", r.region, parts[0], parts[1])
}

func leading(v types.AttributeValue) []string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return []string{s.Value}
	}
	return nil
}

// hashKey is the partition key attribute of the table ("") or of one of its indexes:
// a Query's dynamodb:LeadingKeys are the values of that one.
func hashKey(index string) string {
	switch index {
	case dynamo.IndexByJourney:
		return dynamo.AttrJourneyKey
	case dynamo.IndexUnprocessed:
		return dynamo.AttrPendingKey
	}
	return dynamo.AttrPK
}

var equality = regexp.MustCompile(`(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)`)

// queryKey finds the value the key condition gives the partition key attribute.
func queryKey(expr string, names map[string]string, values map[string]types.AttributeValue, attr string) []string {
	for _, m := range equality.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if n, ok := names[name]; ok {
			name = n
		}
		if name == attr {
			return leading(values[m[2]])
		}
	}
	return nil
}
