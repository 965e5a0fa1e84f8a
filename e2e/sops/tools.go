//go:build tools

// Package tools pins sops so that build.sh can build github.com/getsops/sops/v3/cmd/sops from
// this module: the real `sops` CLI that the secrets e2e decrypts kubescribe's files with.
package tools

import _ "github.com/getsops/sops/v3/cmd/sops"
