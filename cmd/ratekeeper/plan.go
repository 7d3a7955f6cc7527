package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newPlanCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "(not yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("plan: not yet") },
	}
}
