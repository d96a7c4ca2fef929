// Package s3images reads the customer's reference face images from an S3 bucket, for the
// IDWise custom journey step (idwise.ImageStore).
package s3images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// API is the slice of the S3 client the store uses.
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Store reads images from one bucket.
type Store struct {
	client API
	bucket string
}

var _ idwise.ImageStore = (*Store)(nil)

// New returns a Store on bucket.
func New(client API, bucket string) *Store { return &Store{client: client, bucket: bucket} }

// Image reads the object under key. A missing key is idwise.ErrNoImage (S3 answers 404 only
// when the caller may list the bucket: the template grants s3:ListBucket for that; without
// it S3 answers 403, which is reported as access denied). An object larger than maxBytes
// is idwise.ErrImageTooLarge, read no further than maxBytes+1 bytes. Access denied and a
// missing bucket wrap kyc.ErrPermanent: configuration, not something a retry fixes.
func (s *Store) Image(ctx context.Context, key string, maxBytes int64) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, classify(err)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); maxBytes > 0 && n > maxBytes {
		return nil, idwise.ErrImageTooLarge
	}
	r := io.Reader(out.Body)
	if maxBytes > 0 {
		r = io.LimitReader(out.Body, maxBytes+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read reference image: %w", err)
	}
	if maxBytes > 0 && int64(len(b)) > maxBytes {
		return nil, idwise.ErrImageTooLarge
	}
	return b, nil
}

func classify(err error) error {
	var (
		noKey    *types.NoSuchKey
		notFound *types.NotFound
		apiErr   smithy.APIError
		resp     *smithyhttp.ResponseError
	)
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("%w: get reference image: no such bucket: %w", kyc.ErrPermanent, err)
	case errors.As(err, &noKey), errors.As(err, &notFound), code == "NoSuchKey":
		return idwise.ErrNoImage
	case code == "AccessDenied", errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusForbidden:
		return fmt.Errorf("%w: get reference image: access denied (needs s3:GetObject and s3:ListBucket, and kms:Decrypt for SSE-KMS): %w", kyc.ErrPermanent, err)
	case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound:
		return idwise.ErrNoImage
	}
	return fmt.Errorf("get reference image: %w", err)
}
