package rules

// A rule names a field the API server refuses to change in place. Sources (Kubernetes API
// reference, v1.34): ObjectMeta name/namespace cannot change (the object's identity);
// DeploymentSpec/ReplicaSetSpec/DaemonSetSpec/StatefulSetSpec.selector "immutable after creation";
// StatefulSet updates are forbidden except replicas, template, updateStrategy,
// persistentVolumeClaimRetentionPolicy, minReadySeconds and ordinals; JobSpec.selector and
// template are immutable; ServiceSpec.clusterIP/clusterIPs "cannot be changed through updates";
// PersistentVolumeClaimSpec is immutable after creation except resources.requests (expansion)
// and volumeAttributesClassName; StorageClass parameters, provisioner, reclaimPolicy and
// volumeBindingMode are immutable; RoleBinding/ClusterRoleBinding roleRef "cannot be updated";
// ConfigMap/Secret with immutable=true: data cannot be changed, nor the flag unset; Secret type
// is immutable.
type rule struct {
	group, kind string // "*" matches any
	prefix      []any
	except      [][]any // changes under these paths stay in-place
	why         string
}

var rules = []rule{
	{group: "*", kind: "*", prefix: []any{"metadata", "name"}, why: "an object's name cannot change"},
	{group: "*", kind: "*", prefix: []any{"metadata", "namespace"}, why: "an object's namespace cannot change"},
	{group: "apps", kind: "Deployment", prefix: []any{"spec", "selector"}, why: "spec.selector is immutable"},
	{group: "apps", kind: "ReplicaSet", prefix: []any{"spec", "selector"}, why: "spec.selector is immutable"},
	{group: "apps", kind: "DaemonSet", prefix: []any{"spec", "selector"}, why: "spec.selector is immutable"},
	{group: "apps", kind: "StatefulSet", prefix: []any{"spec"}, why: "only replicas, template, updateStrategy, " +
		"persistentVolumeClaimRetentionPolicy, minReadySeconds and ordinals of a StatefulSet spec may change",
		except: [][]any{{"spec", "replicas"}, {"spec", "template"}, {"spec", "updateStrategy"},
			{"spec", "persistentVolumeClaimRetentionPolicy"}, {"spec", "minReadySeconds"}, {"spec", "ordinals"}}},
	{group: "batch", kind: "Job", prefix: []any{"spec", "selector"}, why: "spec.selector is immutable"},
	{group: "batch", kind: "Job", prefix: []any{"spec", "template"}, why: "a Job's pod template is immutable"},
	{group: "", kind: "Service", prefix: []any{"spec", "clusterIP"}, why: "spec.clusterIP cannot be changed"},
	{group: "", kind: "Service", prefix: []any{"spec", "clusterIPs"}, why: "spec.clusterIPs cannot be changed"},
	{group: "", kind: "PersistentVolumeClaim", prefix: []any{"spec"},
		why:    "a claim's spec is immutable except its storage request",
		except: [][]any{{"spec", "resources", "requests"}, {"spec", "volumeAttributesClassName"}}},
	{group: "storage.k8s.io", kind: "StorageClass", prefix: []any{"parameters"}, why: "StorageClass parameters are immutable"},
	{group: "storage.k8s.io", kind: "StorageClass", prefix: []any{"provisioner"}, why: "a StorageClass provisioner is immutable"},
	{group: "storage.k8s.io", kind: "StorageClass", prefix: []any{"reclaimPolicy"}, why: "a StorageClass reclaimPolicy is immutable"},
	{group: "storage.k8s.io", kind: "StorageClass", prefix: []any{"volumeBindingMode"}, why: "a StorageClass volumeBindingMode is immutable"},
	{group: "rbac.authorization.k8s.io", kind: "RoleBinding", prefix: []any{"roleRef"}, why: "roleRef cannot be updated"},
	{group: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding", prefix: []any{"roleRef"}, why: "roleRef cannot be updated"},
	{group: "", kind: "Secret", prefix: []any{"type"}, why: "a Secret's type is immutable"},
}

// immutableDataFields may not change once a ConfigMap or Secret is `immutable: true`.
var immutableDataFields = [][]any{{"data"}, {"binaryData"}, {"stringData"}, {"immutable"}}

func forcesReplacement(group, kind string, path []any, immutable bool) string {
	for _, r := range rules {
		if (r.group != "*" && r.group != group) || (r.kind != "*" && r.kind != kind) || !hasPrefix(path, r.prefix) {
			continue
		}
		if !underAny(path, r.except) {
			return r.why
		}
	}
	if immutable && underAny(path, immutableDataFields) {
		return "the " + kind + " is immutable"
	}
	return ""
}

func underAny(path []any, prefixes [][]any) bool {
	for _, prefix := range prefixes {
		if hasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

func hasPrefix(path, prefix []any) bool {
	if len(path) < len(prefix) {
		return false
	}
	for i := range prefix {
		if path[i] != prefix[i] {
			return false
		}
	}
	return true
}
