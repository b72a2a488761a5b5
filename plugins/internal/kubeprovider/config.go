package kubeprovider

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Config is the provider configuration this plugin supports.
type Config struct {
	RenderDirectory string // render mode when set: objects go to files, no cluster is contacted
	Kubeconfig      string // a path or the document itself
	Context         string
	Namespace       string // default namespace for namespaced objects without one
	// Unknown is true when a value is not known yet (preview): nothing is contacted.
	Unknown bool
}

// supported config keys; `version` and `pluginDownloadURL` are added by the SDK and engine.
var supported = map[string]bool{
	"renderYamlToDirectory": true, "kubeconfig": true, "context": true, "namespace": true,
	"enableServerSideApply": true, "version": true, "pluginDownloadURL": true,
}

// ConfigError names the key, what is wrong and what to do.
type ConfigError struct{ Key, Reason string }

func (e ConfigError) Error() string {
	return fmt.Sprintf("kubernetes provider config %q: %s", e.Key, e.Reason)
}

// ParseConfig reads the provider's inputs (CheckConfig/Configure). Every problem is returned.
func ParseConfig(inputs resource.PropertyMap) (Config, []ConfigError) {
	var cfg Config
	var problems []ConfigError
	keys := make([]string, 0, len(inputs))
	for key := range inputs {
		keys = append(keys, string(key))
	}
	sort.Strings(keys)
	for _, key := range keys {
		value := inputs[resource.PropertyKey(key)]
		if strings.HasPrefix(key, "__") || value.IsNull() {
			continue
		}
		if !supported[key] {
			problems = append(problems, ConfigError{key, "not supported by the micropay kubernetes plugin " +
				"(supported: context, enableServerSideApply, kubeconfig, namespace, renderYamlToDirectory); " +
				"remove it, or install the official plugin (README, \"The Pulumi engine\")"})
			continue
		}
		if value.ContainsUnknowns() {
			cfg.Unknown = true
			continue
		}
		text := fmt.Sprint(plainValue(value))
		switch key {
		case "renderYamlToDirectory":
			cfg.RenderDirectory = text
		case "kubeconfig":
			cfg.Kubeconfig = text
		case "context":
			cfg.Context = text
		case "namespace":
			cfg.Namespace = text
		case "enableServerSideApply":
			// pulumi_kubernetes sends non-string provider inputs JSON-encoded ("true").
			enabled, err := strconv.ParseBool(strings.Trim(text, `"`))
			if err != nil {
				problems = append(problems, ConfigError{key, fmt.Sprintf("%q is not a boolean: use true", text)})
			} else if !enabled {
				problems = append(problems, ConfigError{key, "client-side apply is not implemented by the micropay " +
					"kubernetes plugin: leave enableServerSideApply at true"})
			}
		}
	}
	return cfg, problems
}

// KubeconfigIsContent tells a kubeconfig document from a path to one.
func KubeconfigIsContent(kubeconfig string) bool {
	return strings.Contains(kubeconfig, "\n") || strings.HasPrefix(strings.TrimSpace(kubeconfig), "{") ||
		strings.HasPrefix(strings.TrimSpace(kubeconfig), "apiVersion:")
}

// ExpandPath resolves `~/` in a kubeconfig path.
func ExpandPath(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return path
}
