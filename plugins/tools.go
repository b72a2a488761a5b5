//go:build tools

// Package tools pins github.com/pulumi/pulumi/pkg/v3 at the CLI's version (3.259.0). The
// plugins import only sdk/v3, but requiring pkg/v3 makes module resolution pick exactly the
// dependency versions the CLI was built with (grpc, protobuf, otel, ...), so the packages the
// CLI build compiled into the shared GOCACHE are reused instead of compiled again.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/resource/provider"
