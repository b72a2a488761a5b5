// Package render writes objects to a directory in the official provider's layout, for review and
// GitOps instead of a cluster: CustomResourceDefinitions under 0-crd/, everything else under
// 1-manifest/, one file per object named <apiVersion>-<kind>-<namespace>-<name>.yaml.
package render

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Redacted replaces every Secret value in a rendered file: the files are reviewed and committed,
// so a value never lands in them (the offline renderer, tools/render.py, writes the same).
const Redacted = "<redacted>"

var sanitise = strings.NewReplacer("/", "_", ":", "_")

// Path is where object goes under directory.
func Path(directory string, object map[string]any) (string, error) {
	apiVersion, _ := object["apiVersion"].(string)
	kind, _ := object["kind"].(string)
	metadata, _ := object["metadata"].(map[string]any)
	name, _ := metadata["name"].(string)
	namespace, _ := metadata["namespace"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return "", fmt.Errorf("cannot render an object without apiVersion, kind and metadata.name (got %q, %q, %q)",
			apiVersion, kind, name)
	}
	if strings.ContainsAny(name, "/\\") || strings.ContainsAny(namespace, "/\\") || name == ".." || namespace == ".." {
		return "", fmt.Errorf("%s %q: a name or namespace with a path separator cannot be rendered to a file", kind, name)
	}
	if namespace == "" {
		namespace = "default"
	}
	file := fmt.Sprintf("%s-%s-%s-%s.yaml", sanitise.Replace(apiVersion), strings.ToLower(kind), namespace, name)
	sub := "1-manifest"
	if kind == "CustomResourceDefinition" {
		sub = "0-crd"
	}
	return filepath.Join(directory, sub, file), nil
}

// Redact returns object with every Secret data/stringData value replaced by Redacted (keys kept).
func Redact(object map[string]any) map[string]any {
	if object["kind"] != "Secret" || object["apiVersion"] != "v1" {
		return object
	}
	copied := make(map[string]any, len(object))
	for key, value := range object {
		copied[key] = value
	}
	for _, section := range []string{"data", "stringData"} {
		if values, ok := object[section].(map[string]any); ok {
			redacted := make(map[string]any, len(values))
			for key := range values {
				redacted[key] = Redacted
			}
			copied[section] = redacted
		}
	}
	return copied
}

// Write renders object (Secret values redacted) to its file and returns the path.
func Write(directory string, object map[string]any) (string, error) {
	path, err := Path(directory, object)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(Redact(object))
	if err != nil {
		return "", fmt.Errorf("rendering %s: %w", path, err)
	}
	text, err := yaml.JSONToYAML(body)
	if err != nil {
		return "", fmt.Errorf("rendering %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("creating the render directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, text, 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// Remove deletes object's file; a file already gone is not an error (delete is idempotent).
func Remove(directory string, object map[string]any) error {
	path, err := Path(directory, object)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}
