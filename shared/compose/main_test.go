package compose_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the logs of the code under test to warnings, so a failure stands out.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}
