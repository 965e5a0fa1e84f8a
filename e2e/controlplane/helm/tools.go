//go:build tools

// Package tools pins helm so that build.sh can build helm.sh/helm/v3/cmd/helm from this module.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
