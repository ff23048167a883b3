//go:build tools

// Package tools pins the chart tools that build.sh builds: helm and kubeconform (and,
// in its own module under unittest/, the helm-unittest plugin). The imports keep the
// requirements in go.mod.
package tools

import (
	_ "github.com/yannh/kubeconform/cmd/kubeconform"
	_ "helm.sh/helm/v4/cmd/helm"
)
