package kubeprovider

import (
	"math"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"

	"micropay.local/plugins/internal/rules"
)

var unmarshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
var marshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}

func fromStruct(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, unmarshal)
}

func toStruct(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshal)
}

// plain turns properties into JSON-like Go values: secrets unwrapped (the caller decides where
// values may go), unknowns as rules.Unknown, whole numbers as int64 as the API server expects.
func plain(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	for key, value := range m {
		out[string(key)] = plainValue(value)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known):
		return rules.Unknown{}
	case v.IsOutput():
		return plainValue(v.OutputValue().Element)
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		n := v.NumberValue()
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n)
		}
		return n
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		items := v.ArrayValue()
		out := make([]any, len(items))
		for i, item := range items {
			out[i] = plainValue(item)
		}
		return out
	case v.IsObject():
		return plain(v.ObjectValue())
	}
	return nil
}

// fromPlain is the inverse of plain for live objects read from the cluster.
func fromPlain(object map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(object)
}

// hasUnknowns reports whether any value is not known yet (preview of a computed input).
func hasUnknowns(m resource.PropertyMap) bool { return m.ContainsUnknowns() }

// markSecrets makes a Secret's data and stringData secret outputs whatever the program sent,
// so its values are encrypted in state and masked in the CLI.
func markSecrets(object resource.PropertyMap) resource.PropertyMap {
	kind := object["kind"]
	apiVersion := object["apiVersion"]
	if !kind.IsString() || kind.StringValue() != "Secret" || !apiVersion.IsString() || apiVersion.StringValue() != "v1" {
		return object
	}
	out := object.Copy()
	for _, key := range []resource.PropertyKey{"data", "stringData"} {
		if value, ok := out[key]; ok && !value.IsNull() && !value.IsSecret() {
			out[key] = resource.MakeSecret(value)
		}
	}
	return out
}
