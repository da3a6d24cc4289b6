package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestChildClustersThroughTheCLI: values that break the template's schema
// are refused before anything exists (exit 2, each field named); `child
// create` makes a ClusterDeployment from the newest valid Azure template
// with the management Credential, waits until the stand-in (as kcm 1.5.0)
// makes it Ready, and writes its kubeconfig 0600; `child list` shows it;
// `child delete` asks first, deletes it and waits until it is gone, and
// refuses one that k0rdentctl did not make unless --force.
func TestChildClustersThroughTheCLI(t *testing.T) {
	w := newRegionalWorld(t, 0, false)
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast`)
	flags := []string{"-c", w.cfgPath}
	c, ctx := w.mgmt.Client, t.Context()
	dev := client.ObjectKey{Namespace: rgNamespace, Name: "dev-1"}

	r := cliRun(t, append([]string{"child", "create", "dev-1", "--set", "controlPlaneNumber=many", "--set", "worker.vmSize=5"}, flags...)...)
	if r.code != 2 || !strings.Contains(r.err, "controlPlaneNumber") || !strings.Contains(r.err, "worker") {
		t.Fatalf("child create with values against the schema: exit %d: %s", r.code, r.err)
	}
	rgNotFound(t, c, dev, &kcmv1.ClusterDeployment{})

	w.standin.SetClusterKubeconfig(rgNamespace, "dev-1", w.mgmt.Kubeconfig)
	if r := cliRun(t, append([]string{"child", "create", "dev-1", "--workers", "2", "--label", "team=a", "--timeout", "1m"}, flags...)...); r.code != 0 {
		t.Fatalf("child create: exit %d", r.code)
	}
	cd := &kcmv1.ClusterDeployment{}
	rgGet(t, c, dev, cd)
	var values map[string]any
	rgMust(t, json.Unmarshal(cd.Spec.Config.Raw, &values))
	if cd.Spec.Template != rgTemplate || cd.Spec.Credential != rgCredential || values["workersNumber"] != float64(2) ||
		cd.Labels["team"] != "a" || cd.Labels["app.kubernetes.io/managed-by"] != "k0rdentctl" {
		t.Errorf("ClusterDeployment: template %s, credential %s, values %v, labels %v", cd.Spec.Template, cd.Spec.Credential, values, cd.Labels)
	}
	kc := filepath.Join(filepath.Dir(w.cfgPath), "state", "kubeconfigs", "dev-1.kubeconfig")
	if fi, err := os.Stat(kc); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the child's kubeconfig %s: %v %v", kc, fi, err)
	}

	r = cliRun(t, append([]string{"child", "list", "-o", "json"}, flags...)...)
	var list struct {
		Clusters []struct {
			Name, Template, Credential string
			Ready                      bool
		} `json:"clusters"`
	}
	rgMust(t, json.Unmarshal([]byte(r.out), &list))
	if len(list.Clusters) != 1 || list.Clusters[0].Name != "dev-1" || !list.Clusters[0].Ready || list.Clusters[0].Template != rgTemplate {
		t.Errorf("child list: %+v", list.Clusters)
	}

	if r := cliRun(t, append([]string{"child", "delete", "dev-1"}, flags...)...); r.code != 3 {
		t.Fatalf("child delete without a terminal or -y: exit %d", r.code)
	}
	if r := cliRun(t, append([]string{"child", "delete", "dev-1", "-y", "--timeout", "1m"}, flags...)...); r.code != 0 {
		t.Fatalf("child delete -y: exit %d", r.code)
	}
	rgNotFound(t, c, dev, &kcmv1.ClusterDeployment{})

	// One made by someone else.
	other := &kcmv1.ClusterDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "other"},
		Spec: kcmv1.ClusterDeploymentSpec{Template: rgTemplate, Credential: rgCredential}}
	rgMust(t, c.Create(ctx, other))
	if r := cliRun(t, append([]string{"child", "delete", "other", "-y"}, flags...)...); r.code != 3 {
		t.Fatalf("child delete of one k0rdentctl did not make: exit %d", r.code)
	}
	if r := cliRun(t, append([]string{"child", "delete", "other", "-y", "--force", "--timeout", "1m"}, flags...)...); r.code != 0 {
		t.Fatalf("child delete --force: exit %d", r.code)
	}
	rgNotFound(t, c, client.ObjectKeyFromObject(other), &kcmv1.ClusterDeployment{})
}
