//go:build tools

// Package tools pins the helm-unittest plugin (built by ../build.sh). It has its own
// module: its requirements (Helm 3's libraries, yamlpath) do not resolve together with
// Helm 4's in one build list.
package tools

import _ "github.com/helm-unittest/helm-unittest/cmd/helm-unittest"
