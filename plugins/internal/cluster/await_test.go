package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func deployment(generation, observed, replicas, updated int64, conditions ...map[string]any) *unstructured.Unstructured {
	list := make([]any, len(conditions))
	for i, c := range conditions {
		list[i] = c
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "d", "namespace": "n", "generation": generation},
		"spec":     map[string]any{"replicas": replicas},
		"status":   map[string]any{"observedGeneration": observed, "updatedReplicas": updated, "conditions": list},
	}}
}

var available = map[string]any{"type": "Available", "status": "True"}

func TestDeploymentReady(t *testing.T) {
	tests := []struct {
		name  string
		d     *unstructured.Unstructured
		ready bool
		err   string
	}{
		{"new generation not yet observed", deployment(2, 1, 1, 1, available), false, ""},
		{"observed, available, updated", deployment(2, 2, 3, 3, available), true, ""},
		{"observed but rollout still updating", deployment(2, 2, 3, 1, available), false, ""},
		{"observed, not available", deployment(2, 2, 1, 1, map[string]any{"type": "Available", "status": "False"}), false, ""},
		{"progress deadline exceeded", deployment(2, 2, 1, 0, map[string]any{"type": "Progressing", "status": "False",
			"reason": "ProgressDeadlineExceeded", "message": "ReplicaSet d-1 has timed out progressing."}), false,
			"Deployment n/d: rollout exceeded its progress deadline"},
	}
	for _, tt := range tests {
		ready, err := DeploymentReady(tt.d)
		if ready != tt.ready || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: ready=%v err=%v, want %v %q", tt.name, ready, err, tt.ready, tt.err)
		}
	}
}

func TestPVCBound(t *testing.T) {
	for phase, want := range map[string]bool{"Pending": false, "Bound": true, "": false} {
		pvc := &unstructured.Unstructured{Object: map[string]any{"kind": "PersistentVolumeClaim", "status": map[string]any{"phase": phase}}}
		if ready, err := PVCBound(pvc); ready != want || err != nil {
			t.Errorf("phase %q: ready=%v err=%v", phase, ready, err)
		}
	}
	lost := &unstructured.Unstructured{Object: map[string]any{"kind": "PersistentVolumeClaim", "status": map[string]any{"phase": "Lost"}}}
	if _, err := PVCBound(lost); err == nil {
		t.Error("a Lost claim is not an error")
	}
}

func TestPollTimesOutNamingWhat(t *testing.T) {
	PollInterval = time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := poll(ctx, "Deployment n/d to become ready", func() (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "timed out waiting for Deployment n/d to become ready") ||
		!strings.Contains(err.Error(), SkipAwaitAnnotation) {
		t.Errorf("err = %v", err)
	}
}

func TestConflictDetailNamesFieldAndManager(t *testing.T) {
	err := apierrors.NewApplyConflict([]metav1.StatusCause{{Type: metav1.CauseTypeFieldManagerConflict,
		Message: `conflict with "kube-controller-manager"`, Field: ".spec.replicas"}}, "Apply failed with 1 conflict")
	detail := conflictDetail(err)
	if !strings.Contains(detail, ".spec.replicas") || !strings.Contains(detail, "kube-controller-manager") {
		t.Errorf("detail = %q", detail)
	}
	if got := conflictDetail(errors.New("plain")); got != "plain" {
		t.Errorf("plain error detail = %q", got)
	}
}
