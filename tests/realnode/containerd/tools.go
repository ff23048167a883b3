//go:build tools

// Package tools keeps containerd, ctr and the runc shim referenced so that
// `go mod tidy` keeps their requirements.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
