package s3images_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/aws/s3images"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// TestImage reads objects from a bucket on moto.
func TestImage(t *testing.T) {
	ctx := context.Background()
	cfg := dynamotest.AWSConfig(t)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := fmt.Sprintf("s3images-test-%d", time.Now().UnixNano())
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	face := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{7}, 96)...)
	for key, body := range map[string][]byte{"faces/r1.jpg": face, "faces/big.jpg": bytes.Repeat([]byte{1}, 2048)} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	tests := []struct {
		name    string
		bucket  string
		key     string
		max     int64
		want    []byte
		wantErr error
	}{
		{name: "present", bucket: bucket, key: "faces/r1.jpg", max: 1024, want: face},
		{name: "exactly at the limit", bucket: bucket, key: "faces/r1.jpg", max: int64(len(face)), want: face},
		{name: "missing", bucket: bucket, key: "faces/nobody.jpg", max: 1024, wantErr: idwise.ErrNoImage},
		{name: "too large", bucket: bucket, key: "faces/big.jpg", max: 1024, wantErr: idwise.ErrImageTooLarge},
		{name: "no such bucket", bucket: bucket + "-missing", key: "faces/r1.jpg", max: 1024, wantErr: kyc.ErrPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s3images.New(client, tt.bucket).Image(ctx, tt.key, tt.max)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Image(%s) error = %v, want %v", tt.key, err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Image(%s) = %d bytes, want %d", tt.key, len(got), len(tt.want))
			}
			if errors.Is(err, idwise.ErrNoImage) && errors.Is(err, kyc.ErrPermanent) {
				t.Errorf("a missing image must not be a permanent failure")
			}
		})
	}
}
