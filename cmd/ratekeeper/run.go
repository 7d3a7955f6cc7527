package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newRunCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "(not yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("run: not yet") },
	}
}
