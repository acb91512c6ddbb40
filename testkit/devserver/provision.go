package devserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BucketUser is the MinIO account the functions use: its policy allows
// only one bucket, so a leaked key cannot touch anything else.
type BucketUser struct {
	AccessKey string
	SecretKey string
}

// ProvisionBucket creates bucket if missing and a user limited to it,
// using the root credentials. Safe to repeat.
func ProvisionBucket(ctx context.Context, endpoint, rootUser, rootPassword, bucket string, u BucketUser) error {
	root, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(rootUser, rootPassword, ""), Region: "us-east-1"})
	if err != nil {
		return fmt.Errorf("minio client: %w", err)
	}
	exists, err := root.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("check bucket %s: %w", bucket, err)
	}
	if !exists {
		if err := root.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	adm, err := madmin.New(endpoint, rootUser, rootPassword, false)
	if err != nil {
		return fmt.Errorf("minio admin client: %w", err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],`+
		`"Resource":["arn:aws:s3:::%s","arn:aws:s3:::%s/*"]}]}`, bucket, bucket)
	name := "benchwrap-" + bucket
	// MinIO loads its IAM state in the background after start-up; a
	// policy or user added before that load ends can vanish from its cache
	// ("canned policy does not exist"). All three calls are idempotent:
	// repeat them until the attachment holds.
	deadline := time.Now().Add(time.Minute)
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 3*time.Second) {
		err := provisionUser(ctx, adm, name, policy, u)
		if err == nil || !strings.Contains(err.Error(), "does not exist") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func provisionUser(ctx context.Context, adm *madmin.AdminClient, name, policy string, u BucketUser) error {
	if err := adm.AddCannedPolicy(ctx, name, []byte(policy)); err != nil {
		return fmt.Errorf("create policy %s: %w", name, err)
	}
	if err := adm.AddUser(ctx, u.AccessKey, u.SecretKey); err != nil {
		return fmt.Errorf("create bucket user: %w", err)
	}
	//nolint:staticcheck // SetPolicy is idempotent, unlike AttachPolicy.
	if err := adm.SetPolicy(ctx, name, u.AccessKey, false); err != nil {
		return fmt.Errorf("attach policy %s: %w", name, err)
	}
	return nil
}
