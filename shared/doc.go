// Package shared holds the product's code by layer, one directory per layer:
//
//   - core/: the heart (kyc, inbox, processor, devices, push), no AWS import at all;
//   - vendors/: each identity vendor (idwise, veriff) and what their adapters share
//     (webhookjson, webhookauth, secretcache, endpoint), no AWS SDK or Lambda import;
//   - app/: operator and scheduled use cases over ports (ops, sweeper);
//   - edge/: the Lambda handlers (apigw helpers, webhook, appapi, stream, queue, schedule);
//   - aws/: the AWS adapters (dynamo, sns, secrets, s3images, tracing, metrics);
//   - compose/: the wiring, the only place that knows them all.
//
// architecture_test.go holds these rules against `go list -deps`.
package shared
