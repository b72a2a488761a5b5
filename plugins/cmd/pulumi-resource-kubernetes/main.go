// Command pulumi-resource-kubernetes is the project's kubernetes resource provider plugin.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"micropay.local/plugins/internal/kubeprovider"
	"micropay.local/plugins/internal/serve"
)

// Upstream is the pulumi_kubernetes release whose resources this plugin serves.
const Upstream = "4.23.0"

func main() {
	serve.Run("kubernetes", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return kubeprovider.New(host, serve.Version(Upstream)), nil
	})
}
