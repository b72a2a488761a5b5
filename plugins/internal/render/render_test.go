package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	tests := []struct {
		object map[string]any
		want   string
		err    string
	}{
		{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "api", "namespace": "core"}},
			"out/1-manifest/apps_v1-deployment-core-api.yaml", ""},
		{map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "core"}},
			"out/1-manifest/v1-namespace-default-core.yaml", ""},
		{map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]any{"name": "a.b.io"}},
			"out/0-crd/apiextensions.k8s.io_v1-customresourcedefinition-default-a.b.io.yaml", ""},
		{map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": map[string]any{"name": "vs", "namespace": "n"}},
			"out/1-manifest/networking.istio.io_v1-virtualservice-n-vs.yaml", ""},
		{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{}}, "", "without apiVersion, kind and metadata.name"},
		{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "../x"}}, "", "path separator"},
	}
	for _, tt := range tests {
		got, err := Path("out", tt.object)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Path(%v) error = %v, want %q", tt.object, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Path(%v) = %q, %v; want %q", tt.object, got, err, tt.want)
		}
	}
}

func TestWriteRedactsSecretsAndRemove(t *testing.T) {
	dir := t.TempDir()
	secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s", "namespace": "n"},
		"stringData": map[string]any{"password": "hunter2-very-secret"}, "data": map[string]any{"token": "c2VjcmV0"}}
	path, err := Write(dir, secret)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	for _, value := range []string{"hunter2-very-secret", "c2VjcmV0"} {
		if strings.Contains(string(text), value) {
			t.Errorf("rendered Secret holds the value %q:\n%s", value, text)
		}
	}
	if !strings.Contains(string(text), "password: <redacted>") || !strings.Contains(string(text), "token: <redacted>") {
		t.Errorf("rendered Secret lost its keys:\n%s", text)
	}
	if secret["stringData"].(map[string]any)["password"] != "hunter2-very-secret" {
		t.Error("Write changed the caller's object")
	}
	if filepath.Base(path) != "v1-secret-n-s.yaml" {
		t.Errorf("path = %s", path)
	}
	if err := Remove(dir, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file still there after Remove: %v", err)
	}
	if err := Remove(dir, secret); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestWriteKeepsIntegersIntegral(t *testing.T) {
	dir := t.TempDir()
	path, err := Write(dir, map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "d", "namespace": "n"}, "spec": map[string]any{"replicas": int64(3)}})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	if !strings.Contains(string(text), "replicas: 3\n") {
		t.Errorf("replicas not written as an integer:\n%s", text)
	}
}
