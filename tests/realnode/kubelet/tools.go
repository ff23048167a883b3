//go:build tools

// Package tools keeps the kubelet and kube-proxy referenced so that `go mod tidy` keeps its
// requirements.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
