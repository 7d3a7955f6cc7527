package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newSimulateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "simulate",
		Short: "(not yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("simulate: not yet") },
	}
}
