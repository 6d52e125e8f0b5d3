package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
)

// k8sObject is the part of a Kubernetes manifest these checks read.
type k8sObject struct {
	Kind     string                `yaml:"kind"`
	Metadata struct{ Name string } `yaml:"metadata"`
	Data     map[string]string     `yaml:"data"`
	Spec     struct {
		Replicas *int    `yaml:"replicas"`
		Template podSpec `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	Spec struct {
		TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		} `yaml:"securityContext"`
		Containers []struct {
			Name    string `yaml:"name"`
			EnvFrom []struct {
				ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
			} `yaml:"envFrom"`
			Env []struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
			} `yaml:"env"`
			SecurityContext struct {
				ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
				AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			} `yaml:"securityContext"`
			Resources struct {
				Limits map[string]string `yaml:"limits"`
			} `yaml:"resources"`
			LivenessProbe  *probe `yaml:"livenessProbe"`
			ReadinessProbe *probe `yaml:"readinessProbe"`
			Lifecycle      struct {
				PreStop struct {
					Sleep struct{ Seconds int } `yaml:"sleep"`
				} `yaml:"preStop"`
			} `yaml:"lifecycle"`
			VolumeMounts []struct {
				Name      string `yaml:"name"`
				MountPath string `yaml:"mountPath"`
			} `yaml:"volumeMounts"`
		} `yaml:"containers"`
		Volumes []struct {
			Name   string `yaml:"name"`
			Secret *struct {
				SecretName string `yaml:"secretName"`
			} `yaml:"secret"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

type probe struct {
	HTTPGet *struct{ Path string } `yaml:"httpGet"`
}

// readManifests decodes every document of deploy/kubernetes/*.yaml.
func readManifests(t *testing.T) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("deploy", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	var out []k8sObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, o)
		}
	}
	return out
}

// TestKubernetesManifests checks what a schema cannot: the Deployment runs
// at least two stateless replicas on one shared store, non-root on a
// read-only root filesystem with limits and both probes, lets calls finish
// before it is killed, and names only variables the server reads, with
// every file variable inside a mounted volume; the Redis StatefulSet is as
// locked down; both have a NetworkPolicy. .ci/kubeconform.sh validates the
// schemas.
func TestKubernetesManifests(t *testing.T) {
	objs := readManifests(t)
	byKind := map[string][]k8sObject{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	known := config.Variables()
	configMaps := map[string]map[string]string{}
	for _, cm := range byKind["ConfigMap"] {
		configMaps[cm.Metadata.Name] = cm.Data
	}
	readme, err := os.ReadFile(filepath.Join("deploy", "kubernetes", "README.md"))
	if err != nil {
		t.Fatal(err)
	}

	checkPod := func(name string, p podSpec) map[string]string {
		t.Helper()
		s := p.Spec
		if s.SecurityContext.RunAsNonRoot == nil || !*s.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: runAsNonRoot is not true", name)
		}
		env := map[string]string{}
		for _, c := range s.Containers {
			sc := c.SecurityContext
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s/%s: want readOnlyRootFilesystem true and allowPrivilegeEscalation false", name, c.Name)
			}
			if c.Resources.Limits["cpu"] == "" || c.Resources.Limits["memory"] == "" {
				t.Errorf("%s/%s: no cpu and memory limits", name, c.Name)
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					data, ok := configMaps[ef.ConfigMapRef.Name]
					if !ok {
						t.Errorf("%s/%s: ConfigMap %s is not in deploy/kubernetes", name, c.Name, ef.ConfigMapRef.Name)
					}
					for k, v := range data {
						env[k] = v
					}
				}
			}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			if c.Name != "server" {
				continue
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" ||
				c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("%s/%s: want liveness on /healthz and readiness on /readyz", name, c.Name)
			}
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m.MountPath
			}
			for k, v := range env {
				if !slices.Contains(known, k) {
					t.Errorf("%s/%s: %s is not a configuration variable of the server", name, c.Name, k)
				}
				if strings.HasSuffix(k, "_FILE") || strings.HasSuffix(k, "_BUNDLE") {
					inside := false
					for _, dir := range mounts {
						inside = inside || strings.HasPrefix(v, dir+"/")
					}
					if !inside {
						t.Errorf("%s/%s: %s=%s is in no mounted volume", name, c.Name, k, v)
					}
				}
			}
			shutdown, _ := strconv.Atoi(env["SERVER_SHUTDOWN_TIMEOUT_S"])
			if shutdown == 0 || s.TerminationGracePeriodSeconds <= shutdown+c.Lifecycle.PreStop.Sleep.Seconds {
				t.Errorf("%s: terminationGracePeriodSeconds %d, want more than SERVER_SHUTDOWN_TIMEOUT_S %d plus the preStop pause %d",
					name, s.TerminationGracePeriodSeconds, shutdown, c.Lifecycle.PreStop.Sleep.Seconds)
			}
		}
		for _, v := range s.Volumes {
			if v.Secret != nil && !bytes.Contains(readme, []byte(v.Secret.SecretName)) {
				t.Errorf("%s: Secret %s is not explained in deploy/kubernetes/README.md", name, v.Secret.SecretName)
			}
		}
		return env
	}

	if len(byKind["Deployment"]) != 1 || len(byKind["StatefulSet"]) != 1 {
		t.Fatalf("want one Deployment and one StatefulSet, have %d and %d", len(byKind["Deployment"]), len(byKind["StatefulSet"]))
	}
	d := byKind["Deployment"][0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("Deployment replicas %v, want at least 2", d.Spec.Replicas)
	}
	env := checkPod("Deployment "+d.Metadata.Name, d.Spec.Template)
	for k, want := range map[string]string{"SERVER_STATELESS": "true", "SERVER_STATE_URL": "redis://vsphere-mcp-redis:6379/0"} {
		if env[k] != want {
			t.Errorf("Deployment: %s=%q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"VCENTER_PASSWORD_FILE", "POLICY_FILE", "APPROVAL_KEY_FILE", "SERVER_STATE_PASSWORD_FILE"} {
		if env[k] == "" {
			t.Errorf("Deployment: %s is not set: the secret must come from a file", k)
		}
	}
	for _, k := range config.SecretVariables() {
		if _, ok := env[k]; ok {
			t.Errorf("Deployment: the secret %s is in the environment; use its _FILE variable", k)
		}
	}
	ss := byKind["StatefulSet"][0]
	checkPod("StatefulSet "+ss.Metadata.Name, ss.Spec.Template)
	if n := len(byKind["NetworkPolicy"]); n < 2 {
		t.Errorf("%d NetworkPolicies, want one for the server and one for Redis", n)
	}
	for _, kind := range []string{"Service", "ServiceAccount", "PodDisruptionBudget"} {
		if len(byKind[kind]) == 0 {
			t.Errorf("no %s", kind)
		}
	}
}
