package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newCountCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "count",
		Short: "(not yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("count: not yet") },
	}
}
