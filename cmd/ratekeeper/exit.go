package main

import (
	"errors"
	"fmt"
)

// Exit codes, as documented on the command.
const (
	exitOK          = 0
	exitFailed      = 1 // the run ended; some requests failed or were invalid
	exitUsage       = 2 // bad flags, arguments, configuration or input file
	exitInterrupted = 3 // stopped by a signal (or the context) before the end
	exitOther       = 4 // anything else
)

// exitError carries the exit code an error maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr is a usage error: exit code 2.
func usageErr(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

// withCode wraps err with an exit code, unless it is nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code, err}
}

// exitCode maps an error returned by run to the process's exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return exitOther
}
