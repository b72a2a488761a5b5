package randomprovider

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const urn = "urn:pulumi:dev::proj::random:index/randomPassword:RandomPassword::db"

func marshal(t *testing.T, m map[string]any) *pulumirpc.CheckRequest {
	s, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(m), unmarshal)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.CheckRequest{Urn: urn, News: s}
}

func TestCheckDefaultsAndFailures(t *testing.T) {
	s := New("test")
	resp, err := s.Check(context.Background(), marshal(t, map[string]any{"length": 16, "special": false}))
	if err != nil || len(resp.Failures) != 0 {
		t.Fatal(err, resp.Failures)
	}
	inputs, _ := plugin.UnmarshalProperties(resp.Inputs, unmarshal)
	if !inputs["upper"].BoolValue() || inputs["special"].BoolValue() || inputs["minLower"].NumberValue() != 0 {
		t.Errorf("defaults not applied: %v", inputs)
	}
	resp, _ = s.Check(context.Background(), marshal(t, map[string]any{"length": 2, "minUpper": 3}))
	if len(resp.Failures) != 1 || !strings.Contains(resp.Failures[0].Reason, "RandomPassword db: the minimums add up to 3") {
		t.Errorf("failures = %v", resp.Failures)
	}
	resp, _ = s.Check(context.Background(), marshal(t, map[string]any{"length": 8, "colour": "red"}))
	if len(resp.Failures) != 1 || resp.Failures[0].Property != "colour" {
		t.Errorf("failures = %v", resp.Failures)
	}
}

func TestCreateResultIsSecretAndKeepersReplace(t *testing.T) {
	s := New("test")
	checked, _ := s.Check(context.Background(), marshal(t, map[string]any{"length": 20, "special": false,
		"keepers": map[string]any{"rotation": "1"}}))
	created, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: checked.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	outputs, _ := plugin.UnmarshalProperties(created.Properties, unmarshal)
	result := outputs["result"]
	if !result.IsSecret() || len(result.SecretValue().Element.StringValue()) != 20 || !outputs["bcryptHash"].IsSecret() {
		t.Errorf("result = %v", result)
	}
	rotated, _ := s.Check(context.Background(), marshal(t, map[string]any{"length": 20, "special": false,
		"keepers": map[string]any{"rotation": "2"}}))
	diff, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{Urn: urn, OldInputs: checked.Inputs, News: rotated.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	if diff.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(diff.Replaces) != 1 || diff.Replaces[0] != "keepers" {
		t.Errorf("diff = %v", diff)
	}
	same, _ := s.Diff(context.Background(), &pulumirpc.DiffRequest{Urn: urn, OldInputs: checked.Inputs, News: checked.Inputs})
	if same.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("unchanged inputs diff = %v", same)
	}
}
