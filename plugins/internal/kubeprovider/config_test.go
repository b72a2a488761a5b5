package kubeprovider

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]any
		want   Config
		errs   []string
	}{
		{"render mode as the program sends it", map[string]any{"renderYamlToDirectory": "build/x", "version": "4.23.0"},
			Config{RenderDirectory: "build/x"}, nil},
		{"cluster mode; booleans arrive JSON-encoded", map[string]any{"kubeconfig": "/k", "context": "c", "namespace": "n",
			"enableServerSideApply": "true"}, Config{Kubeconfig: "/k", Context: "c", Namespace: "n"}, nil},
		{"client-side apply refused", map[string]any{"enableServerSideApply": "false"}, Config{},
			[]string{`"enableServerSideApply": client-side apply is not implemented`}},
		{"not a boolean", map[string]any{"enableServerSideApply": "yes please"}, Config{}, []string{"is not a boolean"}},
		{"unsupported keys named, all of them", map[string]any{"deleteUnreachable": "true", "cluster": "x"}, Config{},
			[]string{`"cluster": not supported`, `"deleteUnreachable": not supported`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := ParseConfig(resource.NewPropertyMapFromMap(tt.inputs))
			if len(problems) != len(tt.errs) {
				t.Fatalf("problems = %v, want %v", problems, tt.errs)
			}
			for i, p := range problems {
				if !strings.Contains(p.Error(), tt.errs[i]) {
					t.Errorf("problem %d = %q, want %q", i, p.Error(), tt.errs[i])
				}
			}
			if len(tt.errs) == 0 && got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseConfigUnknownDuringPreview(t *testing.T) {
	got, problems := ParseConfig(resource.PropertyMap{"kubeconfig": resource.MakeComputed(resource.NewStringProperty(""))})
	if len(problems) != 0 || !got.Unknown {
		t.Errorf("config = %+v, problems %v", got, problems)
	}
}

func TestKubeconfigIsContent(t *testing.T) {
	for value, want := range map[string]bool{
		"~/.kube/config": false, "/etc/kube.yaml": false,
		"apiVersion: v1\nkind: Config\n": true, `{"apiVersion":"v1"}`: true,
	} {
		if KubeconfigIsContent(value) != want {
			t.Errorf("KubeconfigIsContent(%q) != %v", value, want)
		}
	}
}
