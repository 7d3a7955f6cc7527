package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// version is the command's version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "devel"

// env is what every subcommand reads and writes: the process's standard
// streams, or a test's.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// getenv reads the environment (API keys); tests replace it.
	getenv func(string) string
}

// run is the whole command; main only maps its error to an exit code.
// Cancelling ctx is the first Ctrl-C (see interrupts).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runEnv(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv})
}

func runEnv(ctx context.Context, args []string, e *env) error {
	root := newRoot(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	if exitCode(err) != exitOther {
		return err
	}
	// Cobra's own errors (unknown command or flag, wrong arguments) are
	// usage errors.
	if cmd == nil || cobraUsageError(err) {
		return &exitError{exitUsage, err}
	}
	return err
}

func cobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument", "bad flag syntax"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "ratekeeper",
		Short: "Send bulk Claude and OpenAI requests inside their rate limits",
		Long: `ratekeeper sends bulk Claude (and OpenAI) requests inside their rate limits,
resumably, and plans, explains and diagnoses those limits.

Exit codes: 0 success; 1 the run ended but some requests failed or were
invalid; 2 bad usage, flags, configuration or input file; 3 interrupted
(what completed is in --out: continue with --resume); 4 any other error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{exitUsage, errors.New(err.Error() + "\n(see " + c.CommandPath() + " --help)")}
	})
	root.AddCommand(
		newRunCmd(e),
		newPlanCmd(e),
		newCountCmd(e),
		newTiersCmd(e),
		newSimulateCmd(e),
		newHeadersCmd(e),
		newDoctorCmd(e),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(c *cobra.Command, _ []string) { c.Println("ratekeeper " + version) },
		},
	)
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// openInput opens the named file, or returns stdin for "-".
func openInput(name string, stdin io.Reader) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, usageErr("%w", err)
	}
	return f, nil
}
