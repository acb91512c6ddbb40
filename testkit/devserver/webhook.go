package devserver

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// WebhookTarget is the id of the notification target that calls the
// analyze function (ARN arn:minio:sqs::ANALYZE:webhook).
const WebhookTarget = "ANALYZE"

// WebhookEnv is the server environment that defines the target: MinIO
// sends each event to endpoint with "Authorization: Bearer <token>", and
// keeps undelivered events in queueDir, retrying until they get a 2xx.
func WebhookEnv(endpoint, token, queueDir string) []string {
	return []string{
		"MINIO_NOTIFY_WEBHOOK_ENABLE_" + WebhookTarget + "=on",
		"MINIO_NOTIFY_WEBHOOK_ENDPOINT_" + WebhookTarget + "=" + endpoint,
		"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_" + WebhookTarget + "=" + token,
		"MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_" + WebhookTarget + "=" + queueDir,
	}
}

// EnableWebhook sends the bucket's object-created events for .h5 keys to
// the webhook target (which must be defined by WebhookEnv at server start).
func EnableWebhook(ctx context.Context, endpoint, rootUser, rootPassword, bucket string) error {
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(rootUser, rootPassword, ""), Region: "us-east-1"})
	if err != nil {
		return err
	}
	arn := notification.NewArn("minio", "sqs", "", WebhookTarget, "webhook")
	q := notification.NewConfig(arn)
	q.AddEvents(notification.ObjectCreatedAll)
	q.AddFilterSuffix(".h5")
	cfg := notification.Configuration{}
	cfg.AddQueue(q)
	if err := c.SetBucketNotification(ctx, bucket, cfg); err != nil {
		return fmt.Errorf("bucket notification for %s: %w", bucket, err)
	}
	return nil
}
