package regional

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// KubeconfigRef is where the management cluster keeps a regional cluster's
// kubeconfig: Secret Namespace/Name, data key Key.
type KubeconfigRef struct {
	Namespace string
	Name      string
	Key       string
}

func (k KubeconfigRef) String() string { return "Secret " + k.Namespace + "/" + k.Name }

// KubeconfigSource returns where the management cluster keeps the kubeconfig
// of a configured regional cluster: the ClusterDeployment's
// "<name>-kubeconfig" Secret in its namespace, or the kubeconfig_secret in
// k0rdent's namespace.
func KubeconfigSource(cfg *config.Config, rc config.RegionalCluster) KubeconfigRef {
	ns := cfg.Software.K0rdent.Namespace
	if ns == "" {
		ns = config.DefaultNamespace
	}
	if rc.Type() == config.RegionalTypeDeployment {
		cdNS := ns
		if rc.ClusterDeployment != nil && rc.ClusterDeployment.Namespace != "" {
			cdNS = rc.ClusterDeployment.Namespace
		}
		return KubeconfigRef{Namespace: cdNS, Name: KubeconfigSecretName(rc.ClusterDeploymentRef), Key: KubeconfigKey}
	}
	return KubeconfigRef{Namespace: ns, Name: rc.KubeconfigSecret, Key: config.KubeconfigSecretDataKey}
}

// errNoKubeconfig says that the Secret or its key does not exist (yet).
var errNoKubeconfig = errors.New("no kubeconfig")

// ReadKubeconfig reads a kubeconfig from its Secret on the management
// cluster. A missing Secret or key is an error wrapping errNoKubeconfig that
// names what is missing (and the keys present), never the content.
func ReadKubeconfig(ctx context.Context, c client.Client, ref KubeconfigRef) ([]byte, error) {
	sec := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, sec)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s does not exist on the management cluster: %w", ref, errNoKubeconfig)
	case err != nil:
		return nil, fmt.Errorf("reading %s on the management cluster: %w", ref, err)
	}
	data, ok := sec.Data[ref.Key]
	if !ok || len(data) == 0 {
		keys := make([]string, 0, len(sec.Data))
		for k := range sec.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		have := "no keys"
		if len(keys) > 0 {
			have = "keys: " + joinQuoted(keys)
		}
		return nil, fmt.Errorf("%s has no kubeconfig under the key %q (it has %s): %w", ref, ref.Key, have, errNoKubeconfig)
	}
	return data, nil
}

func joinQuoted(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", s)
	}
	return out
}

// regional returns clients for the regional cluster, built from the
// kubeconfig in its Secret on the management cluster (the source of truth,
// not the local file); they are kept while that kubeconfig does not change.
func (r *regionRun) regional(ctx context.Context) (*kube.Clients, error) {
	mc, err := r.env.management(ctx)
	if err != nil {
		return nil, err
	}
	data, err := ReadKubeconfig(ctx, mc.Client, KubeconfigSource(r.env.Config, r.rc))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clients != nil && bytes.Equal(r.kubeconfig, data) {
		return r.clients, nil
	}
	c, err := kube.FromKubeconfig(data, r.env.ClientOptions...)
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig of regional cluster %s in %s: %w", r.rc.Name, KubeconfigSource(r.env.Config, r.rc), err)
	}
	c.Source = "kubeconfig of regional cluster " + r.rc.Name
	r.kubeconfig, r.clients = slices.Clone(data), c
	return c, nil
}

// kubeconfigPath is where the region's kubeconfig file goes, "" without a
// KubeconfigFiles.
func (r *regionRun) kubeconfigPath() string {
	if r.env.Files == nil {
		return ""
	}
	return r.env.Files.KubeconfigPath(r.rc.Name)
}

// fileCurrent reports whether the kubeconfig file holds data with mode 0600,
// and if not, what was found.
func (r *regionRun) fileCurrent(data []byte) (bool, string) {
	path := r.kubeconfigPath()
	if path == "" {
		return true, ""
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, fmt.Sprintf("kubeconfig file %s is missing", path)
	case err != nil:
		return false, fmt.Sprintf("kubeconfig file %s: %v", path, err)
	case fi.Mode().Perm() != 0o600:
		return false, fmt.Sprintf("kubeconfig file %s has mode %o, not 0600", path, fi.Mode().Perm())
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Sprintf("kubeconfig file %s: %v", path, err)
	}
	if !bytes.Equal(cur, data) {
		return false, fmt.Sprintf("kubeconfig file %s differs from the management cluster's Secret", path)
	}
	return true, ""
}

// writeKubeconfig writes the regional kubeconfig file (0600) when it is not
// current and records its path.
func (r *regionRun) writeKubeconfig(ctx context.Context, step string, data []byte) error {
	path := r.kubeconfigPath()
	if path == "" {
		return nil
	}
	if ok, _ := r.fileCurrent(data); !ok {
		if err := state.WriteFileAtomic(ctx, path, data); err != nil {
			return fmt.Errorf("writing the kubeconfig of regional cluster %s: %w", r.rc.Name, err)
		}
		if err := r.event(ctx, step, EventKubeconfigWritten, "wrote the kubeconfig of regional cluster %s to %s (mode 0600)", r.rc.Name, path); err != nil {
			return err
		}
	}
	return r.update(ctx, func(c *state.RegionalCluster) { c.KubeconfigPath = path })
}

// KubeconfigFile returns the kubeconfig file of regional cluster name, for
// `region kubeconfig`: the path the record holds (rec may be nil), else
// files.KubeconfigPath(name). The file must exist; otherwise the error says
// how to get it.
func KubeconfigFile(rec *state.Record, files KubeconfigFiles, name string) (string, error) {
	path := ""
	if rec != nil {
		if c := rec.Regional(name); c != nil {
			path = c.KubeconfigPath
		}
	}
	if path == "" && files != nil {
		path = files.KubeconfigPath(name)
	}
	if path == "" {
		return "", fmt.Errorf("no kubeconfig is known for regional cluster %s; deploy it first: %s", name, rerun(name))
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("the kubeconfig of regional cluster %s is not there (%s): it is written when the region's cluster step succeeds; run: %s", name, path, rerun(name))
		}
		return "", fmt.Errorf("the kubeconfig of regional cluster %s: %w", name, err)
	}
	return path, nil
}
