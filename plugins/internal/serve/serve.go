// Package serve runs a resource provider as a Pulumi plugin and says which build it is.
package serve

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Build is stamped at link time (-X micropay.local/plugins/internal/serve.Build=<hash of the
// plugin sources>) by scripts/setup_engine.sh, so `pulumi about` and the engine's logs show
// which build of the project's plugin ran.
var Build = "dev"

// Version is the version a plugin reports: the upstream release it stands in for, with
// semver build metadata naming this project's build (e.g. 4.23.0+micropay.1a2b3c4d5e6f).
// Build metadata keeps the engine's version match on 4.23.0 while telling the builds apart.
func Version(upstream string) string {
	return upstream + "+micropay." + Build
}

// Run serves the provider made by newServer on the engine's gRPC address (os.Args) until the
// engine stops it.
func Run(name string, newServer func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error)) {
	if err := provider.Main(name, newServer); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-%s: %v\n", name, err)
		os.Exit(1)
	}
}
