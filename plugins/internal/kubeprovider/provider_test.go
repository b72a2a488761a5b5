package kubeprovider

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const secretURN = "urn:pulumi:dev::proj::kubernetes:core/v1:Secret::db"

func check(t *testing.T, s *Server, urn string, news resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	in, err := toStruct(news)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, News: in, RandomSeed: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := fromStruct(resp.GetInputs())
	if err != nil {
		t.Fatal(err)
	}
	return out, resp.GetFailures()
}

func TestCheckMarksSecretValuesAndAutonames(t *testing.T) {
	s := New(nil, "test")
	out, failures := check(t, s, secretURN, resource.NewPropertyMapFromMap(map[string]any{
		"stringData": map[string]any{"password": "p"}, "metadata": map[string]any{"namespace": "n"}}))
	if len(failures) != 0 {
		t.Fatal(failures)
	}
	if !out["stringData"].IsSecret() {
		t.Error("stringData is not a secret")
	}
	if out["apiVersion"].StringValue() != "v1" || out["kind"].StringValue() != "Secret" {
		t.Errorf("apiVersion/kind not filled in: %v", out)
	}
	metadata := out["metadata"].ObjectValue()
	name := metadata["name"].StringValue()
	if !strings.HasPrefix(name, "db-") || len(name) != len("db-")+8 {
		t.Errorf("autoname = %q", name)
	}
	again, _ := check(t, s, secretURN, resource.NewPropertyMapFromMap(map[string]any{"metadata": map[string]any{}}))
	if again["metadata"].ObjectValue()["name"].StringValue() != name {
		t.Error("autoname is not stable for the same random seed")
	}
	if metadata["annotations"].ObjectValue()["pulumi.com/autonamed"].StringValue() != "true" {
		t.Error("autonamed annotation missing")
	}
}

func TestCheckRefusesMismatchAndUnsupportedTypes(t *testing.T) {
	s := New(nil, "test")
	_, failures := check(t, s, "urn:pulumi:dev::proj::kubernetes:apps/v1:Deployment::d",
		resource.NewPropertyMapFromMap(map[string]any{"kind": "StatefulSet", "metadata": map[string]any{"name": "d"}}))
	if len(failures) != 1 || !strings.Contains(failures[0].Reason, `kind is "StatefulSet" but the resource type`) {
		t.Errorf("failures = %v", failures)
	}
	in, _ := toStruct(resource.PropertyMap{})
	_, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:dev::proj::kubernetes:helm.sh/v3:Chart::c", News: in})
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Helm chart accepted: %v", err)
	}
}

func TestDiffDetailed(t *testing.T) {
	s := New(nil, "test")
	old, _ := toStruct(resource.NewPropertyMapFromMap(map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "svc"}, "spec": map[string]any{"selector": map[string]any{"version": "blue"}}}))
	news, _ := toStruct(resource.NewPropertyMapFromMap(map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "svc"}, "spec": map[string]any{"selector": map[string]any{"version": "green"}}}))
	resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{Urn: "urn:pulumi:dev::proj::kubernetes:core/v1:Service::svc",
		OldInputs: old, News: news})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(resp.Replaces) != 0 || len(resp.DetailedDiff) != 1 ||
		resp.DetailedDiff["spec.selector.version"].GetKind() != pulumirpc.PropertyDiff_UPDATE {
		t.Errorf("diff = %v", resp)
	}
}

func TestConfigureRefusesUnsupportedKey(t *testing.T) {
	s := New(nil, "test")
	args, _ := toStruct(resource.NewPropertyMapFromMap(map[string]any{"renderYamlToDirectory": "x", "helmReleaseSettings": "{}"}))
	_, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: args})
	if err == nil || !strings.Contains(err.Error(), `"helmReleaseSettings": not supported`) {
		t.Errorf("err = %v", err)
	}
}
