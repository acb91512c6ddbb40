package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/postgres"
)

// AccountSettings tune login throttling, client addresses and password
// hashing (docs/security.md).
type AccountSettings struct {
	AddressMaxFailures int             `envconfig:"LOGIN_ADDRESS_MAX_FAILURES" default:"50"`
	SlowdownStep       config.Duration `envconfig:"LOGIN_SLOWDOWN_STEP" default:"250ms"`
	SlowdownMax        config.Duration `envconfig:"LOGIN_SLOWDOWN_MAX" default:"2s"`
	// TrustedProxies lists the peers (CIDR prefixes or addresses) whose
	// X-Forwarded-For is believed. Empty: the TCP peer is the client.
	TrustedProxies  string          `envconfig:"TRUSTED_PROXIES"`
	HashConcurrency int             `envconfig:"HASH_CONCURRENCY"` // 0: from CPUs and HASH_MEMORY_MIB
	HashMemoryMiB   int             `envconfig:"HASH_MEMORY_MIB"`  // 0: half the cgroup's memory limit, else 256
	HashMaxWait     config.Duration `envconfig:"HASH_MAX_WAIT" default:"5s"`
}

// accountConfig builds the account rules from the settings.
func accountConfig(s Settings, a AccountSettings) (account.Config, error) {
	if a.HashMaxWait.D() <= 0 || a.HashConcurrency < 0 || a.HashMemoryMiB < 0 || a.AddressMaxFailures <= 0 {
		return account.Config{}, fmt.Errorf("HASH_MAX_WAIT and LOGIN_ADDRESS_MAX_FAILURES must be positive, HASH_CONCURRENCY and HASH_MEMORY_MIB not negative")
	}
	p := account.DefaultParams
	n := a.HashConcurrency
	if n == 0 {
		mem := a.HashMemoryMiB
		if mem == 0 {
			mem = cgroupMemoryMiB() / 2
		}
		if mem <= 0 {
			mem = 256
		}
		n = account.HashConcurrency(runtime.GOMAXPROCS(0), mem, p)
	}
	return account.Config{
		RefreshTTL: s.RefreshTTL.D(), MaxFailures: s.MaxFailures, Window: s.LockWindow.D(),
		AddressMaxFailures: a.AddressMaxFailures, SlowdownStep: a.SlowdownStep.D(), SlowdownMax: a.SlowdownMax.D(),
		Params: p, Hasher: account.NewHasher(n, a.HashMaxWait.D()),
	}, nil
}

// cgroupMemoryMiB is the container's memory limit (cgroup v2), 0 when
// there is none.
func cgroupMemoryMiB() int {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil { // "max": no limit
		return 0
	}
	return int(n >> 20)
}

// warmAccounts opens a few connections ahead of the first requests; a
// failure only costs that head start.
func warmAccounts(ctx context.Context, store postgres.Accounts) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.Warm(ctx, 4); err != nil {
		slog.WarnContext(ctx, "database pool warm-up", "error", err)
	}
}
