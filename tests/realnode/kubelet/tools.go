//go:build tools

// Package tools keeps the kubelet referenced so that `go mod tidy` keeps its
// requirements.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
)
