package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newTiersCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "tiers",
		Short: "(not yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("tiers: not yet") },
	}
}
