package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newHeadersCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "headers",
		Short: "(not yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("headers: not yet") },
	}
}
