// Command pulumi-resource-random is the project's random resource provider plugin.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"micropay.local/plugins/internal/randomprovider"
	"micropay.local/plugins/internal/serve"
)

// Upstream is the pulumi_random release whose RandomPassword this plugin serves.
const Upstream = "4.18.0"

func main() {
	serve.Run("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return randomprovider.New(serve.Version(Upstream)), nil
	})
}
