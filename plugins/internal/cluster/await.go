package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PollInterval between readiness checks.
var PollInterval = time.Second

// Await waits until the applied object is ready: a Deployment until the controller has observed
// the new generation and reports Available (a ProgressDeadlineExceeded condition fails at once),
// a PersistentVolumeClaim until Bound unless its class binds on first consumer. Other kinds are
// ready once applied. ctx carries the deadline (customTimeouts); pulumi.com/skipAwait: "true" skips.
func (c *Client) Await(ctx context.Context, applied *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if applied.GetAnnotations()[SkipAwaitAnnotation] == "true" {
		return applied, nil
	}
	var ready func(*unstructured.Unstructured) (bool, error)
	switch applied.GroupVersionKind().GroupKind().String() {
	case "Deployment.apps":
		ready = DeploymentReady
	case "PersistentVolumeClaim":
		className, _, _ := unstructured.NestedString(applied.Object, "spec", "storageClassName")
		class, err := c.storageClass(ctx, className)
		if err != nil {
			return nil, fmt.Errorf("%s: reading its StorageClass %q: %w", Describe(applied), className, err)
		}
		mode := ""
		if class != nil {
			mode, _, _ = unstructured.NestedString(class.Object, "volumeBindingMode")
		}
		if mode == "WaitForFirstConsumer" {
			return applied, nil
		}
		ready = PVCBound
	default:
		return applied, nil
	}
	ri, err := c.resourceFor(applied)
	if err != nil {
		return nil, err
	}
	live := applied
	err = poll(ctx, Describe(applied)+" to become ready", func() (bool, error) {
		current, err := ri.Get(ctx, applied.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		live = current
		return ready(current)
	})
	return live, err
}

// DeploymentReady: the new generation observed, Available=True, progress deadline not exceeded.
func DeploymentReady(d *unstructured.Unstructured) (bool, error) {
	conditions, _, _ := unstructured.NestedSlice(d.Object, "status", "conditions")
	available := false
	for _, raw := range conditions {
		condition, _ := raw.(map[string]any)
		switch {
		case condition["type"] == "Progressing" && condition["reason"] == "ProgressDeadlineExceeded":
			return false, fmt.Errorf("%s: rollout exceeded its progress deadline (spec.progressDeadlineSeconds): %v",
				Describe(d), condition["message"])
		case condition["type"] == "Available" && condition["status"] == "True":
			available = true
		}
	}
	observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
	if observed < d.GetGeneration() {
		return false, nil
	}
	replicas, found, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	updated, _, _ := unstructured.NestedInt64(d.Object, "status", "updatedReplicas")
	return available && updated >= replicas, nil
}

// PVCBound: the claim's phase is Bound; Lost fails.
func PVCBound(pvc *unstructured.Unstructured) (bool, error) {
	phase, _, _ := unstructured.NestedString(pvc.Object, "status", "phase")
	if phase == "Lost" {
		return false, fmt.Errorf("%s: the claim lost its volume", Describe(pvc))
	}
	return phase == "Bound", nil
}

// poll calls check until it reports done, fails, or ctx ends (then the error says what was awaited).
func poll(ctx context.Context, what string, check func() (bool, error)) error {
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out waiting for %s (raise customTimeouts, or annotate %s: \"true\")",
					what, SkipAwaitAnnotation)
			}
			return ctx.Err()
		case <-time.After(PollInterval):
		}
	}
}
