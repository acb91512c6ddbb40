package config

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckStrong(t *testing.T) {
	good := strings.Repeat("k", MinSecretBytes)
	for _, c := range []struct {
		name, value string
		ok          bool
	}{
		{SecretJWT, good, true},
		{SecretJWT, good[1:], false},
		{SecretJWT, "CHANGE-ME: at least 32 random bytes, e.g. openssl rand -base64 48", false},
		{SecretWebhookToken, "CHANGE-ME: e.g. openssl rand -hex 32", false},
		{SecretMinIOSecret, "please-changeme-please-changeme-please", false},
		{SecretDatabaseURL, "postgres://benchwrap:CHANGE-ME@postgres.benchwrap.svc.cluster.local:5432/benchwrap?sslmode=require", false},
		{SecretDatabaseURL, "postgres://app:short@127.0.0.1/db", false},
		{SecretDatabaseURL, "postgres://app:" + good + "@127.0.0.1/db", true},
		{SecretDatabaseURL, "postgres://app@127.0.0.1/db", true}, // no password: other authentication
	} {
		err := CheckStrong(c.name, c.value)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrWeakSecret) {
			t.Errorf("CheckStrong(%s, %q) = %v", c.name, c.value, err)
		}
		if err != nil && strings.Contains(err.Error(), c.value) && c.name != SecretDatabaseURL {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}
