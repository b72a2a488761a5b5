package kinds

import (
	"strings"
	"testing"
)

func TestFromToken(t *testing.T) {
	tests := []struct{ token, apiVersion, kind, err string }{
		{"kubernetes:core/v1:Service", "v1", "Service", ""},
		{"kubernetes:apps/v1:Deployment", "apps/v1", "Deployment", ""},
		{"kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "rbac.authorization.k8s.io/v1", "RoleBinding", ""},
		{"kubernetes:networking.istio.io/v1:VirtualService", "networking.istio.io/v1", "VirtualService", ""},
		{"kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "monitoring.coreos.com/v1", "ServiceMonitor", ""},
		{"kubernetes:helm.sh/v3:Chart", "", "", "Helm"},
		{"kubernetes:yaml/v2:ConfigGroup", "", "", "not supported"},
		{"kubernetes:core/v1:ConfigMapList", "", "", "list kind"},
		{"random:index/randomPassword:RandomPassword", "", "", "not a kubernetes"},
		{"kubernetes:v1:Service", "", "", "no <group>/<version>"},
	}
	for _, tt := range tests {
		got, err := FromToken(tt.token)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("FromToken(%q) error = %v, want %q", tt.token, err, tt.err)
			}
			continue
		}
		if err != nil || got.APIVersion != tt.apiVersion || got.Kind != tt.kind {
			t.Errorf("FromToken(%q) = %+v, %v", tt.token, got, err)
		}
	}
}
