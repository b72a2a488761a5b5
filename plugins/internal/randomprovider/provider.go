// Package randomprovider serves random:index/randomPassword:RandomPassword over the engine's
// provider protocol: a crypto-grade password, a secret output, new only on replacement.
package randomprovider

import (
	"context"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"micropay.local/plugins/internal/password"
)

// PasswordType is the only type served.
const PasswordType = "random:index/randomPassword:RandomPassword"

var unmarshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

// Server is the random provider.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer
	version string
}

// New returns a provider reporting version.
func New(version string) *Server { return &Server{version: version} }

func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

func (s *Server) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (s *Server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: `{"name":"random"}`}, nil
}

func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshal)
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for key := range news {
		if key != "version" && key != "pluginDownloadURL" {
			failures = append(failures, &pulumirpc.CheckFailure{Property: string(key),
				Reason: fmt.Sprintf("random provider config %q is not supported (the provider takes no configuration): remove it", key)})
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (s *Server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *Server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func checkType(urn string) error {
	if typ := resource.URN(urn).Type().String(); typ != PasswordType {
		return fmt.Errorf("resource type %q is not supported by the micropay random plugin (only %s)", typ, PasswordType)
	}
	return nil
}

// defaults are RandomPassword's documented defaults, stored so a later change of default in
// this plugin does not show as a diff.
var defaults = resource.PropertyMap{
	"lower": resource.NewBoolProperty(true), "upper": resource.NewBoolProperty(true),
	"numeric": resource.NewBoolProperty(true), "special": resource.NewBoolProperty(true),
	"minLower": resource.NewNumberProperty(0), "minUpper": resource.NewNumberProperty(0),
	"minNumeric": resource.NewNumberProperty(0), "minSpecial": resource.NewNumberProperty(0),
}

var inputKeys = map[resource.PropertyKey]bool{"length": true, "keepers": true, "overrideSpecial": true, "number": true}

// Check fills in defaults and validates the options (length, minimums, classes).
func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshal)
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	keys := make([]string, 0, len(news))
	for key := range news {
		keys = append(keys, string(key))
	}
	sort.Strings(keys)
	for _, key := range keys {
		if _, known := defaults[resource.PropertyKey(key)]; !known && !inputKeys[resource.PropertyKey(key)] {
			failures = append(failures, &pulumirpc.CheckFailure{Property: key,
				Reason: fmt.Sprintf("RandomPassword input %q is not supported by the micropay random plugin", key)})
		}
	}
	// `number` is the deprecated spelling of `numeric`.
	if number, ok := news["number"]; ok && !number.IsNull() {
		if _, set := news["numeric"]; !set {
			news["numeric"] = number
		}
		delete(news, "number")
	}
	for key, value := range defaults {
		if current, ok := news[key]; !ok || current.IsNull() {
			news[key] = value
		}
	}
	if !news.ContainsUnknowns() && len(failures) == 0 {
		if _, err := options(news); err != nil {
			failures = append(failures, &pulumirpc.CheckFailure{Reason: "RandomPassword " +
				resource.URN(req.GetUrn()).Name() + ": " + err.Error()})
		}
	}
	inputs, err := plugin.MarshalProperties(news, unmarshal)
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, err
}

func options(inputs resource.PropertyMap) (password.Options, error) {
	number := func(key resource.PropertyKey) int {
		if v := inputs[key]; v.IsNumber() {
			return int(v.NumberValue())
		}
		return 0
	}
	flag := func(key resource.PropertyKey) bool { return inputs[key].IsBool() && inputs[key].BoolValue() }
	o := password.Options{
		Length: number("length"), Lower: flag("lower"), Upper: flag("upper"), Numeric: flag("numeric"),
		Special: flag("special"), MinLower: number("minLower"), MinUpper: number("minUpper"),
		MinNumeric: number("minNumeric"), MinSpecial: number("minSpecial"),
	}
	if v := inputs["overrideSpecial"]; v.IsString() {
		override := v.StringValue()
		o.OverrideSpecial = &override
	}
	return o, o.Validate()
}

func oldAndNew(old, new *structpb.Struct) (resource.PropertyMap, resource.PropertyMap, error) {
	olds, err := plugin.UnmarshalProperties(old, unmarshal)
	if err != nil {
		return nil, nil, err
	}
	news, err := plugin.UnmarshalProperties(new, unmarshal)
	return olds, news, err
}

// Diff: every input of a RandomPassword (keepers included) forces a new password.
func (s *Server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, news, err := oldAndNew(req.GetOldInputs(), req.GetNews())
	if err != nil {
		return nil, err
	}
	response := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	diff := olds.Diff(news)
	if diff == nil {
		return response, nil
	}
	for _, key := range diff.ChangedKeys() {
		response.Replaces = append(response.Replaces, string(key))
		response.Diffs = append(response.Diffs, string(key))
		response.DetailedDiff[string(key)] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE, InputDiff: true}
	}
	sort.Strings(response.Replaces)
	sort.Strings(response.Diffs)
	if len(response.Replaces) > 0 {
		response.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return response, nil
}

func (s *Server) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshal)
	if err != nil {
		return nil, err
	}
	outputs := inputs.Copy()
	if req.GetPreview() || inputs.ContainsUnknowns() {
		outputs["result"] = resource.MakeSecret(resource.MakeComputed(resource.NewStringProperty("")))
		outputs["bcryptHash"] = resource.MakeSecret(resource.MakeComputed(resource.NewStringProperty("")))
		properties, err := plugin.MarshalProperties(outputs, unmarshal)
		return &pulumirpc.CreateResponse{Id: "none", Properties: properties}, err
	}
	o, err := options(inputs)
	if err != nil {
		return nil, fmt.Errorf("RandomPassword %s: %w", resource.URN(req.GetUrn()).Name(), err)
	}
	result, err := password.Generate(o)
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
	if err != nil && len(result) <= 72 {
		return nil, fmt.Errorf("bcrypt hash of RandomPassword %s: %w", resource.URN(req.GetUrn()).Name(), err)
	}
	outputs["result"] = resource.MakeSecret(resource.NewStringProperty(result))
	outputs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	properties, err := plugin.MarshalProperties(outputs, unmarshal)
	return &pulumirpc.CreateResponse{Id: "none", Properties: properties}, err
}

// Update only happens without input changes (every change replaces): keep the password.
func (s *Server) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, news, err := oldAndNew(req.GetOlds(), req.GetNews())
	if err != nil {
		return nil, err
	}
	outputs := news.Copy()
	outputs["result"], outputs["bcryptHash"] = olds["result"], olds["bcryptHash"]
	properties, err := plugin.MarshalProperties(outputs, unmarshal)
	return &pulumirpc.UpdateResponse{Properties: properties}, err
}

func (s *Server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (s *Server) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
