// Package kubeprovider serves the kubernetes:* resource types over the engine's provider
// protocol: to files (render mode) or to a cluster (server-side apply).
package kubeprovider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"micropay.local/plugins/internal/cluster"
	"micropay.local/plugins/internal/kinds"
	"micropay.local/plugins/internal/render"
	"micropay.local/plugins/internal/rules"
)

// DefaultTimeout bounds an await when the program sets no customTimeouts.
const DefaultTimeout = 10 * time.Minute

// Server is the kubernetes provider.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer
	version string

	mu      sync.Mutex
	config  Config
	cluster *cluster.Client
	// connect makes the cluster client; replaced in tests.
	connect func(Config) (*cluster.Client, error)
}

// New returns a provider reporting version.
func New(_ *provider.HostClient, version string) *Server {
	return &Server{version: version, connect: connectCluster}
}

func connectCluster(cfg Config) (*cluster.Client, error) {
	kubeconfig := cfg.Kubeconfig
	content := KubeconfigIsContent(kubeconfig)
	if !content {
		kubeconfig = ExpandPath(kubeconfig)
	}
	return cluster.New(kubeconfig, content, cfg.Context, cfg.Namespace)
}

func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

func (s *Server) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true, AcceptOutputs: false}, nil
}

func (s *Server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: `{"name":"kubernetes"}`}, nil
}

func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := fromStruct(req.GetNews())
	if err != nil {
		return nil, err
	}
	_, problems := ParseConfig(news)
	var failures []*pulumirpc.CheckFailure
	for _, problem := range problems {
		failures = append(failures, &pulumirpc.CheckFailure{Property: problem.Key, Reason: problem.Error()})
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (s *Server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := fromStruct(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := fromStruct(req.GetNews())
	if err != nil {
		return nil, err
	}
	// A changed target (directory, cluster) re-targets the resources; nothing is replaced.
	var diffs []string
	for key := range olds.Mappable() {
		if !olds[resource.PropertyKey(key)].DeepEquals(news[resource.PropertyKey(key)]) {
			diffs = append(diffs, key)
		}
	}
	for key := range news.Mappable() {
		if _, ok := olds[resource.PropertyKey(key)]; !ok {
			diffs = append(diffs, key)
		}
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes, Diffs: diffs}, nil
}

func (s *Server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	inputs, err := fromStruct(req.GetArgs())
	if err != nil {
		return nil, err
	}
	if req.GetArgs() == nil {
		// Older engines send only the flat `kubernetes:config:<key>` variables.
		inputs = resource.PropertyMap{}
		for key, value := range req.GetVariables() {
			inputs[resource.PropertyKey(key[strings.LastIndex(key, ":")+1:])] = resource.NewStringProperty(value)
		}
	}
	cfg, problems := ParseConfig(inputs)
	if len(problems) > 0 {
		return nil, errors.Join(asErrors(problems)...)
	}
	s.mu.Lock()
	s.config, s.cluster = cfg, nil
	s.mu.Unlock()
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func asErrors(problems []ConfigError) []error {
	out := make([]error, len(problems))
	for i, p := range problems {
		out[i] = p
	}
	return out
}

func (s *Server) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, fmt.Errorf("function %q is not supported by the micropay kubernetes plugin (no yaml/helm invokes): "+
		"use plain resources, or the official plugin", req.GetTok())
}

func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Check validates the object against its type token, names it if unnamed, and fills in the
// provider's default namespace; Secret values become secrets.
func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	typ := resource.URN(req.GetUrn()).Type().String()
	object, err := kinds.FromToken(typ)
	if err != nil {
		return nil, err
	}
	news, err := fromStruct(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for key, want := range map[resource.PropertyKey]string{"apiVersion": object.APIVersion, "kind": object.Kind} {
		value, ok := news[key]
		switch {
		case !ok || value.IsNull():
			news[key] = resource.NewStringProperty(want)
		case value.IsString() && value.StringValue() != want:
			failures = append(failures, &pulumirpc.CheckFailure{Property: string(key), Reason: fmt.Sprintf(
				"%s is %q but the resource type %s says %q", key, value.StringValue(), typ, want)})
		}
	}
	metadata := resource.PropertyMap{}
	if value, ok := news["metadata"]; ok && value.IsObject() {
		metadata = value.ObjectValue().Copy()
	}
	if name, ok := metadata["name"]; !ok || name.IsNull() {
		metadata["name"] = resource.NewStringProperty(autoname(resource.URN(req.GetUrn()).Name(), req.GetRandomSeed()))
		annotations := resource.PropertyMap{}
		if value, ok := metadata["annotations"]; ok && value.IsObject() {
			annotations = value.ObjectValue().Copy()
		}
		annotations[rules.AutonamedAnnotation] = resource.NewStringProperty("true")
		metadata["annotations"] = resource.NewObjectProperty(annotations)
	}
	s.mu.Lock()
	namespace := s.config.Namespace
	s.mu.Unlock()
	if ns, ok := metadata["namespace"]; (!ok || ns.IsNull()) && namespace != "" && object.Kind != "Namespace" {
		metadata["namespace"] = resource.NewStringProperty(namespace)
	}
	news["metadata"] = resource.NewObjectProperty(metadata)
	inputs, err := toStruct(markSecrets(news))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// autoname derives `<name>-<8 chars>` from the engine's per-resource random seed, so the same
// resource gets the same name on every preview.
func autoname(name string, seed []byte) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	suffix := make([]byte, 8)
	for i := range suffix {
		var b byte
		if i < len(seed) {
			b = seed[i]
		}
		suffix[i] = alphabet[int(b)%len(alphabet)]
	}
	return name + "-" + string(suffix)
}

// Diff compares the old and new inputs field by field.
func (s *Server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	object, err := kinds.FromToken(resource.URN(req.GetUrn()).Type().String())
	if err != nil {
		return nil, err
	}
	olds, err := fromStruct(firstOf(req.GetOldInputs(), req.GetOlds()))
	if err != nil {
		return nil, err
	}
	news, err := fromStruct(req.GetNews())
	if err != nil {
		return nil, err
	}
	result := rules.Compare(object.Group(), object.Kind, plain(olds), plain(news))
	return DiffResponse(result), nil
}

// DiffResponse turns a comparison into the engine's detailed diff.
func DiffResponse(result rules.Result) *pulumirpc.DiffResponse {
	response := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}, DeleteBeforeReplace: result.DeleteBeforeReplace}
	seenTop := map[string]bool{}
	for _, change := range result.Changes {
		kind := map[rules.Kind]pulumirpc.PropertyDiff_Kind{
			rules.Add: pulumirpc.PropertyDiff_ADD, rules.Update: pulumirpc.PropertyDiff_UPDATE,
			rules.Delete: pulumirpc.PropertyDiff_DELETE}[change.Kind]
		if change.Replace {
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
		}
		response.DetailedDiff[change.Path] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		top := topLevel(change.Path)
		if !seenTop[top] {
			seenTop[top] = true
			response.Diffs = append(response.Diffs, top)
		}
		if change.Replace && !contains(response.Replaces, top) {
			response.Replaces = append(response.Replaces, top)
		}
	}
	if result.Changed() {
		response.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return response
}

func topLevel(path string) string {
	if i := strings.IndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return path
}

func contains(list []string, item string) bool {
	for _, x := range list {
		if x == item {
			return true
		}
	}
	return false
}

func (s *Server) snapshot() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config
}

func (s *Server) client() (*cluster.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cluster == nil {
		c, err := s.connect(s.config)
		if err != nil {
			return nil, err
		}
		s.cluster = c
	}
	return s.cluster, nil
}

func objectID(object map[string]any) string {
	metadata, _ := object["metadata"].(map[string]any)
	name, _ := metadata["name"].(string)
	if namespace, _ := metadata["namespace"].(string); namespace != "" {
		return namespace + "/" + name
	}
	return name
}

func timeoutOf(seconds float64) time.Duration {
	if seconds > 0 {
		return time.Duration(seconds * float64(time.Second))
	}
	return DefaultTimeout
}

// apply writes (render mode) or applies and awaits (cluster mode) the object; returns its outputs.
func (s *Server) apply(ctx context.Context, inputs resource.PropertyMap, timeout float64) (resource.PropertyMap, error) {
	cfg := s.snapshot()
	object := plain(inputs)
	if cfg.RenderDirectory != "" {
		if _, err := render.Write(cfg.RenderDirectory, object); err != nil {
			return nil, err
		}
		return markSecrets(inputs), nil
	}
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(timeout))
	defer cancel()
	desired := &unstructured.Unstructured{Object: object}
	live, err := c.Apply(ctx, desired)
	if err != nil {
		return nil, err
	}
	if live, err = c.Await(ctx, live); err != nil {
		return nil, err
	}
	return markSecrets(fromPlain(live.Object)), nil
}

func (s *Server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	inputs, err := fromStruct(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id := objectID(plain(inputs))
	if req.GetPreview() || hasUnknowns(inputs) {
		outputs, err := toStruct(markSecrets(inputs))
		return &pulumirpc.CreateResponse{Id: id, Properties: outputs}, err
	}
	outputs, err := s.apply(ctx, inputs, req.GetTimeout())
	if err != nil {
		return nil, err
	}
	properties, err := toStruct(outputs)
	return &pulumirpc.CreateResponse{Id: id, Properties: properties}, err
}

func (s *Server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	inputs, err := fromStruct(req.GetNews())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() || hasUnknowns(inputs) {
		outputs, err := toStruct(markSecrets(inputs))
		return &pulumirpc.UpdateResponse{Properties: outputs}, err
	}
	outputs, err := s.apply(ctx, inputs, req.GetTimeout())
	if err != nil {
		return nil, err
	}
	properties, err := toStruct(outputs)
	return &pulumirpc.UpdateResponse{Properties: properties}, err
}

// firstOf prefers the old inputs (sent by engines that support it) over the stored outputs.
func firstOf(oldInputs, state *structpb.Struct) *structpb.Struct {
	if oldInputs != nil {
		return oldInputs
	}
	return state
}

func (s *Server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	properties, err := fromStruct(firstOf(req.GetOldInputs(), req.GetProperties()))
	if err != nil {
		return nil, err
	}
	object := plain(properties)
	cfg := s.snapshot()
	if cfg.RenderDirectory != "" {
		return &emptypb.Empty{}, render.Remove(cfg.RenderDirectory, object)
	}
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(req.GetTimeout()))
	defer cancel()
	return &emptypb.Empty{}, c.Delete(ctx, &unstructured.Unstructured{Object: object})
}

// Read returns the live object (cluster) or the rendered one (render mode); an object that no
// longer exists is reported gone (empty id), so refresh drops it from the state.
func (s *Server) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	properties, err := fromStruct(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	object := plain(properties)
	if len(properties) == 0 {
		// import: only the id is known: "<namespace>/<name>" or "<name>".
		object, err = objectFromID(resource.URN(req.GetUrn()).Type().String(), req.GetId())
		if err != nil {
			return nil, err
		}
	}
	cfg := s.snapshot()
	if cfg.RenderDirectory != "" {
		path, err := render.Path(cfg.RenderDirectory, object)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return &pulumirpc.ReadResponse{}, nil
		}
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: inputs}, nil
	}
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	live, err := c.Get(ctx, &unstructured.Unstructured{Object: object})
	if err != nil || live == nil {
		return &pulumirpc.ReadResponse{}, err
	}
	outputs, err := toStruct(markSecrets(fromPlain(live.Object)))
	if err != nil {
		return nil, err
	}
	if inputs == nil {
		inputs = outputs
	}
	return &pulumirpc.ReadResponse{Id: objectID(live.Object), Properties: outputs, Inputs: inputs}, nil
}

func objectFromID(token, id string) (map[string]any, error) {
	object, err := kinds.FromToken(token)
	if err != nil {
		return nil, err
	}
	metadata := map[string]any{"name": id}
	if namespace, name, found := strings.Cut(id, "/"); found {
		metadata = map[string]any{"namespace": namespace, "name": name}
	}
	return map[string]any{"apiVersion": object.APIVersion, "kind": object.Kind, "metadata": metadata}, nil
}
