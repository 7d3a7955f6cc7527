package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/ratekeeper/ratekeeper/internal/redistest"
)

// quiet drops go-redis's own log lines (failed dials while a test server is
// down on purpose).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	// Examples read REDIS_URL; child processes inherit it. Point both at
	// the private server when one had to be started.
	if os.Getenv("REDIS_URL") == "" {
		if opt, err := redistest.Lookup(); err == nil {
			os.Setenv("REDIS_URL", redistest.URL(opt))
		}
	}
	code := m.Run()
	redistest.Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
