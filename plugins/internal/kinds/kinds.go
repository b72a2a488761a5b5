// Package kinds maps the type tokens pulumi_kubernetes registers to Kubernetes apiVersion/kind.
package kinds

import (
	"fmt"
	"strings"
)

// Object identifies the Kubernetes type a resource token stands for.
type Object struct {
	APIVersion string
	Kind       string
}

// Group is the API group ("" for the core group).
func (o Object) Group() string {
	if group, _, found := strings.Cut(o.APIVersion, "/"); found {
		return group
	}
	return ""
}

// FromToken turns `kubernetes:<group>/<version>:<Kind>` into apiVersion/kind. The core group is
// spelled `core` in tokens (`kubernetes:core/v1:Service`) but is empty in apiVersion (`v1`).
// Custom resources (pulumi_kubernetes.apiextensions.CustomResource) register with the same shape,
// so every kind is served generically. Tokens that are not plain objects (Helm charts, yaml
// ConfigFile/ConfigGroup components, `List` kinds) are refused with the reason.
func FromToken(token string) (Object, error) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" {
		return Object{}, fmt.Errorf("resource type %q is not a kubernetes:<group>/<version>:<Kind> token", token)
	}
	module, kind := parts[1], parts[2]
	group, version, found := strings.Cut(module, "/")
	switch {
	case strings.HasPrefix(module, "helm.sh/"), strings.HasPrefix(module, "yaml"), strings.HasPrefix(module, "kustomize"):
		return Object{}, fmt.Errorf("resource type %q is not supported by the micropay kubernetes plugin "+
			"(Helm, yaml and kustomize components are not implemented): register plain objects instead", token)
	case !found || group == "" || version == "" || kind == "":
		return Object{}, fmt.Errorf("resource type %q has no <group>/<version> module: expected e.g. kubernetes:apps/v1:Deployment", token)
	case strings.HasSuffix(kind, "List"):
		return Object{}, fmt.Errorf("resource type %q is a list kind: register its items one by one", token)
	case kind[0] < 'A' || kind[0] > 'Z':
		return Object{}, fmt.Errorf("resource type %q: a kind starts with an upper-case letter", token)
	}
	if group == "core" {
		return Object{APIVersion: version, Kind: kind}, nil
	}
	return Object{APIVersion: group + "/" + version, Kind: kind}, nil
}
