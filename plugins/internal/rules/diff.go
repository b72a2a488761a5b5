// Package rules computes a per-field diff of two Kubernetes objects and decides which changes the
// API server would refuse in place (so the object must be replaced).
package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// Unknown stands for a value not known until apply (a preview of a computed input).
type Unknown struct{}

// Kind is what happened to one field.
type Kind int

const (
	Add Kind = iota
	Update
	Delete
)

func (k Kind) String() string {
	return [...]string{"add", "update", "delete"}[k]
}

// Change is one changed field. Path uses Pulumi's property path syntax
// (`spec.selector.version`, `metadata.labels["app.kubernetes.io/name"]`, `spec.ports[0].port`).
type Change struct {
	Path    string
	Kind    Kind
	Replace bool
	segs    []any
}

// Result of comparing the old and new desired object.
type Result struct {
	Changes             []Change
	Replace             bool
	DeleteBeforeReplace bool
	// ReplaceReasons names each field that forces replacement, for messages.
	ReplaceReasons []string
}

// Changed reports whether anything differs.
func (r Result) Changed() bool { return len(r.Changes) > 0 }

// Compare diffs old against new (both plain JSON-like values: map[string]any, []any, string,
// float64, bool, nil, Unknown) and applies the replacement rules of the object's group and kind.
func Compare(group, kind string, old, new map[string]any) Result {
	var changes []Change
	walk(nil, old, new, &changes)
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	var result Result
	immutable := immutableData(kind, old)
	for i := range changes {
		if reason := forcesReplacement(group, kind, changes[i].segs, immutable); reason != "" {
			changes[i].Replace = true
			result.Replace = true
			result.ReplaceReasons = append(result.ReplaceReasons, fmt.Sprintf("%s (%s)", changes[i].Path, reason))
		}
	}
	result.Changes = changes
	// With a fixed name the new object cannot exist beside the old one: delete it first.
	// An autonamed object gets a fresh name and is created before the old one is deleted.
	if result.Replace && !autonamed(new) && lookup(old, "metadata", "name") == lookup(new, "metadata", "name") &&
		lookup(old, "metadata", "namespace") == lookup(new, "metadata", "namespace") {
		result.DeleteBeforeReplace = true
	}
	return result
}

func walk(path []any, old, new any, out *[]Change) {
	oldMap, oldIsMap := old.(map[string]any)
	newMap, newIsMap := new.(map[string]any)
	if oldIsMap && newIsMap {
		keys := map[string]bool{}
		for k := range oldMap {
			keys[k] = true
		}
		for k := range newMap {
			keys[k] = true
		}
		for k := range keys {
			ov, inOld := oldMap[k]
			nv, inNew := newMap[k]
			child := append(append([]any{}, path...), k)
			switch {
			case !inOld || ov == nil && nv != nil:
				if nv != nil {
					*out = append(*out, change(child, Add))
				}
			case !inNew || nv == nil:
				*out = append(*out, change(child, Delete))
			default:
				walk(child, ov, nv, out)
			}
		}
		return
	}
	oldList, oldIsList := old.([]any)
	newList, newIsList := new.([]any)
	if oldIsList && newIsList {
		for i := 0; i < len(oldList) || i < len(newList); i++ {
			child := append(append([]any{}, path...), i)
			switch {
			case i >= len(oldList):
				*out = append(*out, change(child, Add))
			case i >= len(newList):
				*out = append(*out, change(child, Delete))
			default:
				walk(child, oldList[i], newList[i], out)
			}
		}
		return
	}
	if _, unknown := new.(Unknown); unknown || !reflect.DeepEqual(old, new) {
		*out = append(*out, change(path, Update))
	}
}

func change(segs []any, kind Kind) Change {
	return Change{Path: FormatPath(segs), Kind: kind, segs: segs}
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// FormatPath writes path segments in Pulumi's property path syntax.
func FormatPath(segs []any) string {
	var b strings.Builder
	for i, seg := range segs {
		switch s := seg.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		case string:
			if identifier.MatchString(s) {
				if i > 0 {
					b.WriteByte('.')
				}
				b.WriteString(s)
			} else {
				fmt.Fprintf(&b, "[%q]", s)
			}
		}
	}
	return b.String()
}

func lookup(object map[string]any, keys ...string) any {
	var current any = object
	for _, key := range keys {
		m, ok := current.(map[string]any)
		if !ok {
			return nil
		}
		current = m[key]
	}
	return current
}

func autonamed(object map[string]any) bool {
	annotations, _ := lookup(object, "metadata", "annotations").(map[string]any)
	return annotations[AutonamedAnnotation] == "true"
}

// AutonamedAnnotation marks an object whose name the provider generated (as the official provider does).
const AutonamedAnnotation = "pulumi.com/autonamed"

// immutableData reports whether an old ConfigMap or Secret was created `immutable: true`.
func immutableData(kind string, old map[string]any) bool {
	return (kind == "ConfigMap" || kind == "Secret") && old["immutable"] == true
}
