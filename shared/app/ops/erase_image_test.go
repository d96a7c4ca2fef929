package ops

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/aws/s3images"
)

// kycctl erase -reference-image deletes the erased profile's reference face from the custom
// step's bucket (issue 13 item 8), and only that one; without the bucket configured the
// flag is refused.
func TestEraseReferenceImage(t *testing.T) {
	st := newStack(t)
	cfg := dynamotest.AWSConfig(t)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := strings.ToLower(strings.ReplaceAll(st.table, "_", "-")) + "-faces"
	if _, err := client.CreateBucket(st.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"erase-face-1", "keep-face-2"} {
		if _, err := client.PutObject(st.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("faces/" + ref + ".jpg"),
			Body: bytes.NewReader([]byte{0xFF, 0xD8, 0xFF})}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ops.Erase(st.ctx, "erase-face-1", EraseOptions{ReferenceImage: true}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Erase(-reference-image) without a bucket = %v, want ErrNotConfigured", err)
	}
	o := New(Config{Store: dynamo.NewOperator(st.db, st.table, 0), Images: s3images.NewRemover(client, bucket, "faces/{referenceNo}.jpg")})
	res, err := o.Erase(st.ctx, "erase-face-1", EraseOptions{ReferenceImage: true})
	if err != nil || res.Deleted["referenceImages"] != 1 {
		t.Fatalf("Erase() = %+v, %v; want 1 reference image deleted", res, err)
	}
	exists := func(ref string) bool {
		_, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("faces/" + ref + ".jpg")})
		var nf *s3types.NotFound
		if err != nil && !errors.As(err, &nf) {
			t.Fatal(err)
		}
		return err == nil
	}
	if exists("erase-face-1") || !exists("keep-face-2") {
		t.Errorf("after the erasure: erased user's face exists %v, other user's %v; want false, true", exists("erase-face-1"), exists("keep-face-2"))
	}
	if again, err := o.Erase(st.ctx, "erase-face-1", EraseOptions{ReferenceImage: true}); err != nil || again.Deleted["referenceImages"] != 0 {
		t.Errorf("Erase() again = %+v, %v; want nothing more deleted", again, err)
	}
}
