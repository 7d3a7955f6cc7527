package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDoctorCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "(not yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("doctor: not yet") },
	}
}
