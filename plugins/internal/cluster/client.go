// Package cluster applies objects to a Kubernetes cluster with server-side apply and waits
// until they are ready or gone.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager owns every field this plugin applies; a fixed name so re-applies are no-ops and
// conflicts with other managers (an HPA, kubectl edit) are detected.
const FieldManager = "pulumi-micropay"

// PatchForceAnnotation opts an object in to taking over fields another manager owns.
const PatchForceAnnotation = "pulumi.com/patchForce"

// SkipAwaitAnnotation skips waiting for readiness (as the official provider's annotation does).
const SkipAwaitAnnotation = "pulumi.com/skipAwait"

// Client talks to one cluster.
type Client struct {
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	// DefaultNamespace applies to namespaced objects without one.
	DefaultNamespace string
}

// New connects with a kubeconfig given as a path or as content ("" = default loading rules).
func New(kubeconfig string, isContent bool, contextName, namespace string) (*Client, error) {
	var config clientcmd.ClientConfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: contextName}
	if isContent {
		raw, err := clientcmd.Load([]byte(kubeconfig))
		if err != nil {
			return nil, fmt.Errorf("the kubeconfig given as content does not parse: %w", err)
		}
		config = clientcmd.NewDefaultClientConfig(*raw, overrides)
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if kubeconfig != "" {
			if _, err := os.Stat(kubeconfig); err != nil {
				return nil, fmt.Errorf("kubeconfig %s: %w (set kubeconfig to an existing file or to its content)", kubeconfig, err)
			}
			rules.ExplicitPath = kubeconfig
		}
		config = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	}
	restConfig, err := config.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig (context %q): %w", contextName, err)
	}
	if namespace == "" {
		if ns, _, err := config.Namespace(); err == nil {
			namespace = ns
		}
	}
	return NewForConfig(restConfig, namespace)
}

// NewForConfig connects with a ready REST config.
func NewForConfig(restConfig *rest.Config, namespace string) (*Client, error) {
	restConfig = rest.CopyConfig(restConfig)
	restConfig.QPS, restConfig.Burst = 50, 100
	dyn, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		namespace = "default"
	}
	return &Client{dynamic: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		DefaultNamespace: namespace}, nil
}

// resourceFor finds the REST resource of obj, filling in the default namespace of namespaced
// kinds. A kind the server does not know (a CRD not installed) is reported as such.
func (c *Client) resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset() // a CRD may have been created since discovery ran
		mapping, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: the cluster does not serve this kind (is its CRD installed?): %w",
			obj.GetAPIVersion(), obj.GetKind(), err)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameRoot {
		obj.SetNamespace("")
		return c.dynamic.Resource(mapping.Resource), nil
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(c.DefaultNamespace)
	}
	return c.dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
}

// Describe names an object in messages: Kind namespace/name.
func Describe(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + " " + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
}

// Apply sends obj with server-side apply and returns the live object. A field owned by another
// manager is an error naming the field and the manager, unless obj has pulumi.com/patchForce: "true".
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := c.resourceFor(obj)
	if err != nil {
		return nil, err
	}
	force := obj.GetAnnotations()[PatchForceAnnotation] == "true"
	live, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: force})
	if apierrors.IsConflict(err) {
		return nil, fmt.Errorf("%s: server-side apply conflict: %s. Another field manager owns these fields: "+
			"stop it from managing them, drop them from the program, or add the annotation %s: \"true\" to take them over",
			Describe(obj), conflictDetail(err), PatchForceAnnotation)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: apply: %w", Describe(obj), err)
	}
	return live, nil
}

// conflictDetail lists "field (manager)" pairs from the server's conflict causes.
func conflictDetail(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil || len(status.Status().Details.Causes) == 0 {
		return err.Error()
	}
	var parts []string
	for _, cause := range status.Status().Details.Causes {
		parts = append(parts, fmt.Sprintf("field %s (%s)", cause.Field, cause.Message))
	}
	return strings.Join(parts, "; ")
}

// Get returns the live object, or nil when it does not exist.
func (c *Client) Get(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := c.resourceFor(obj)
	if err != nil {
		return nil, err
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", Describe(obj), err)
	}
	return live, nil
}

// Delete deletes obj (foreground, so dependents go first) and waits until it is gone.
func (c *Client) Delete(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, err := c.resourceFor(obj)
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationForeground
	err = ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: delete: %w", Describe(obj), err)
	}
	return poll(ctx, Describe(obj)+" to be deleted", func() (bool, error) {
		_, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// storageClass returns a StorageClass by name, or the cluster's default one for "".
func (c *Client) storageClass(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	classes := c.dynamic.Resource(schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"})
	if name != "" {
		return classes.Get(ctx, name, metav1.GetOptions{})
	}
	list, err := classes.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].GetAnnotations()["storageclass.kubernetes.io/is-default-class"] == "true" {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}
