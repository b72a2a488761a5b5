package rules

import (
	"reflect"
	"testing"
)

func obj(name string, extra map[string]any) map[string]any {
	out := map[string]any{"metadata": map[string]any{"name": name, "namespace": "ns"}}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name         string
		group, kind  string
		old, new     map[string]any
		paths        []string
		replace, dbr bool
	}{
		{"no change", "apps", "Deployment", obj("a", map[string]any{"spec": map[string]any{"replicas": 1}}),
			obj("a", map[string]any{"spec": map[string]any{"replicas": 1}}), nil, false, false},
		{"replicas update in place", "apps", "Deployment", obj("a", map[string]any{"spec": map[string]any{"replicas": 1}}),
			obj("a", map[string]any{"spec": map[string]any{"replicas": 2}}), []string{"spec.replicas"}, false, false},
		{"deployment selector replaces, delete first (fixed name)", "apps", "Deployment",
			obj("a", map[string]any{"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "x"}}}}),
			obj("a", map[string]any{"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "y"}}}}),
			[]string{"spec.selector.matchLabels.app"}, true, true},
		{"rename replaces, create first", "", "ConfigMap", obj("a", nil), obj("b", nil), []string{"metadata.name"}, true, false},
		{"namespace move replaces", "", "ConfigMap", obj("a", nil),
			map[string]any{"metadata": map[string]any{"name": "a", "namespace": "other"}}, []string{"metadata.namespace"}, true, false},
		{"service selector in place", "", "Service",
			obj("s", map[string]any{"spec": map[string]any{"selector": map[string]any{"version": "blue"}}}),
			obj("s", map[string]any{"spec": map[string]any{"selector": map[string]any{"version": "green"}}}),
			[]string{"spec.selector.version"}, false, false},
		{"service clusterIP replaces", "", "Service",
			obj("s", map[string]any{"spec": map[string]any{"clusterIP": "10.0.0.1"}}),
			obj("s", map[string]any{"spec": map[string]any{"clusterIP": "10.0.0.2"}}), []string{"spec.clusterIP"}, true, true},
		{"pvc storage request grows in place", "", "PersistentVolumeClaim",
			obj("p", map[string]any{"spec": map[string]any{"resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}}),
			obj("p", map[string]any{"spec": map[string]any{"resources": map[string]any{"requests": map[string]any{"storage": "2Gi"}}}}),
			[]string{"spec.resources.requests.storage"}, false, false},
		{"pvc storage class replaces", "", "PersistentVolumeClaim",
			obj("p", map[string]any{"spec": map[string]any{"storageClassName": "standard"}}),
			obj("p", map[string]any{"spec": map[string]any{"storageClassName": "fast-ssd"}}), []string{"spec.storageClassName"}, true, true},
		{"storage class parameters replace", "storage.k8s.io", "StorageClass",
			obj("sc", map[string]any{"parameters": map[string]any{"type": "gp2"}}),
			obj("sc", map[string]any{"parameters": map[string]any{"type": "gp3"}}), []string{"parameters.type"}, true, true},
		{"storage class allowVolumeExpansion in place", "storage.k8s.io", "StorageClass",
			obj("sc", map[string]any{"allowVolumeExpansion": false}), obj("sc", map[string]any{"allowVolumeExpansion": true}),
			[]string{"allowVolumeExpansion"}, false, false},
		{"rolebinding roleRef replaces", "rbac.authorization.k8s.io", "RoleBinding",
			obj("rb", map[string]any{"roleRef": map[string]any{"name": "a"}}), obj("rb", map[string]any{"roleRef": map[string]any{"name": "b"}}),
			[]string{"roleRef.name"}, true, true},
		{"rolebinding subjects in place", "rbac.authorization.k8s.io", "RoleBinding",
			obj("rb", map[string]any{"subjects": []any{map[string]any{"name": "a"}}}),
			obj("rb", map[string]any{"subjects": []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}}),
			[]string{"subjects[1]"}, false, false},
		{"mutable configmap data in place", "", "ConfigMap", obj("c", map[string]any{"data": map[string]any{"k": "1"}}),
			obj("c", map[string]any{"data": map[string]any{"k": "2"}}), []string{"data.k"}, false, false},
		{"immutable configmap data replaces", "", "ConfigMap", obj("c", map[string]any{"immutable": true, "data": map[string]any{"k": "1"}}),
			obj("c", map[string]any{"immutable": true, "data": map[string]any{"k": "2"}}), []string{"data.k"}, true, true},
		{"immutable secret stringData replaces", "", "Secret", obj("s", map[string]any{"immutable": true, "stringData": map[string]any{"k": "1"}}),
			obj("s", map[string]any{"immutable": true, "stringData": map[string]any{"k": "2"}}), []string{"stringData.k"}, true, true},
		{"secret type replaces", "", "Secret", obj("s", map[string]any{"type": "Opaque"}), obj("s", map[string]any{"type": "kubernetes.io/tls"}),
			[]string{"type"}, true, true},
		{"statefulset serviceName replaces", "apps", "StatefulSet", obj("s", map[string]any{"spec": map[string]any{"serviceName": "a"}}),
			obj("s", map[string]any{"spec": map[string]any{"serviceName": "b"}}), []string{"spec.serviceName"}, true, true},
		{"statefulset template in place", "apps", "StatefulSet", obj("s", map[string]any{"spec": map[string]any{"template": map[string]any{"x": "a"}}}),
			obj("s", map[string]any{"spec": map[string]any{"template": map[string]any{"x": "b"}}}), []string{"spec.template.x"}, false, false},
		{"label keys quoted, additions and deletions", "", "ConfigMap",
			obj("c", map[string]any{"metadata": map[string]any{"name": "c", "labels": map[string]any{"app.kubernetes.io/name": "a", "old": "x"}}}),
			obj("c", map[string]any{"metadata": map[string]any{"name": "c", "labels": map[string]any{"app.kubernetes.io/name": "b", "new": "y"}}}),
			[]string{"metadata.labels.new", "metadata.labels.old", `metadata.labels["app.kubernetes.io/name"]`}, false, false},
		{"unknown value is a change", "", "Secret", obj("s", map[string]any{"stringData": map[string]any{"k": "v"}}),
			obj("s", map[string]any{"stringData": map[string]any{"k": Unknown{}}}), []string{"stringData.k"}, false, false},
		{"autonamed object replaced create-first", "apps", "Deployment",
			obj("a", map[string]any{"metadata": map[string]any{"name": "a", "annotations": map[string]any{AutonamedAnnotation: "true"}},
				"spec": map[string]any{"selector": "x"}}),
			obj("a", map[string]any{"metadata": map[string]any{"name": "a", "annotations": map[string]any{AutonamedAnnotation: "true"}},
				"spec": map[string]any{"selector": "y"}}),
			[]string{"spec.selector"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result := Compare(tt.group, tt.kind, tt.old, tt.new)
			var paths []string
			for _, c := range result.Changes {
				paths = append(paths, c.Path)
			}
			if !reflect.DeepEqual(paths, tt.paths) {
				t.Errorf("paths = %q, want %q", paths, tt.paths)
			}
			if result.Replace != tt.replace || result.DeleteBeforeReplace != tt.dbr {
				t.Errorf("replace=%v deleteBeforeReplace=%v, want %v %v (reasons %q)",
					result.Replace, result.DeleteBeforeReplace, tt.replace, tt.dbr, result.ReplaceReasons)
			}
		})
	}
}

func TestChangeKinds(t *testing.T) {
	result := Compare("", "ConfigMap",
		map[string]any{"data": map[string]any{"gone": "1", "same": "1", "moved": "1"}, "list": []any{"a", "b"}},
		map[string]any{"data": map[string]any{"new": "1", "same": "1", "moved": "2"}, "list": []any{"a"}})
	got := map[string]Kind{}
	for _, c := range result.Changes {
		got[c.Path] = c.Kind
	}
	want := map[string]Kind{"data.gone": Delete, "data.new": Add, "data.moved": Update, "list[1]": Delete}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kinds = %v, want %v", got, want)
	}
}
