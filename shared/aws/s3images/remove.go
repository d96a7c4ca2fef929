package s3images

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// RemoveAPI is the slice of the S3 client an erasure uses.
type RemoveAPI interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Remover deletes a profile's reference images (kycctl erase -reference-image).
type Remover struct {
	client      RemoveAPI
	bucket      string
	keyTemplate string // {referenceNo} and {journeyId} are replaced, as for the custom step
}

// NewRemover returns a Remover of the images under keyTemplate in bucket.
func NewRemover(client RemoveAPI, bucket, keyTemplate string) *Remover {
	return &Remover{client: client, bucket: bucket, keyTemplate: keyTemplate}
}

// DeleteReferenceImages deletes the reference images of referenceNo (one per journey when
// the key template names the journey) and returns how many existed.
func (r *Remover) DeleteReferenceImages(ctx context.Context, referenceNo string, journeyIDs []string) (int, error) {
	var keys []string
	if !strings.Contains(r.keyTemplate, "{journeyId}") {
		journeyIDs = []string{""}
	}
	for _, j := range journeyIDs {
		k := strings.NewReplacer("{referenceNo}", referenceNo, "{journeyId}", j).Replace(r.keyTemplate)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	n := 0
	for _, k := range keys {
		_, err := r.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(k)})
		var nf *types.NotFound
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			// The key names the person: never in an error text.
			return n, fmt.Errorf("look up a reference image: %w", classify(err))
		}
		if _, err := r.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(k)}); err != nil {
			return n, fmt.Errorf("delete a reference image: %w", classify(err))
		}
		n++
	}
	return n, nil
}
