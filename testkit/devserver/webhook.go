package devserver

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// The two notification targets that call the analyze function with every
// upload's event (ARNs arn:minio:sqs::<id>:webhook). WebhookTarget keeps
// events on disk until they get a 2xx, but MinIO replays its disk queue
// only every 3 s; PromptTarget sends each event at once and drops it if
// the function cannot be reached. The analyze function records a version
// once, so the second delivery of an event is a no-op: together they give
// prompt and durable delivery (docs/analysis-queue.md).
const (
	WebhookTarget = "ANALYZE"
	PromptTarget  = "ANALYZENOW"
)

// WebhookEnv is the server environment that defines both targets: MinIO
// sends each event to endpoint with "Authorization: Bearer <token>", and
// the durable target keeps undelivered events in queueDir, retrying until
// they get a 2xx.
func WebhookEnv(endpoint, token, queueDir string) []string {
	var env []string
	for _, id := range []string{WebhookTarget, PromptTarget} {
		env = append(env,
			"MINIO_NOTIFY_WEBHOOK_ENABLE_"+id+"=on",
			"MINIO_NOTIFY_WEBHOOK_ENDPOINT_"+id+"="+endpoint,
			"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_"+id+"="+token)
	}
	return append(env, "MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_"+WebhookTarget+"="+queueDir)
}

// EnableWebhook sends the bucket's object-created events for .h5 keys to
// both webhook targets (which must be defined by WebhookEnv at server
// start).
func EnableWebhook(ctx context.Context, endpoint, rootUser, rootPassword, bucket string) error {
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(rootUser, rootPassword, ""), Region: "us-east-1"})
	if err != nil {
		return err
	}
	cfg := notification.Configuration{}
	for _, id := range []string{WebhookTarget, PromptTarget} {
		q := notification.NewConfig(notification.NewArn("minio", "sqs", "", id, "webhook"))
		q.AddEvents(notification.ObjectCreatedAll)
		q.AddFilterSuffix(".h5")
		cfg.AddQueue(q)
	}
	if err := c.SetBucketNotification(ctx, bucket, cfg); err != nil {
		return fmt.Errorf("bucket notification for %s: %w", bucket, err)
	}
	return nil
}
