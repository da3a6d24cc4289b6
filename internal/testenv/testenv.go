// Package testenv starts real Kubernetes API servers (kube-apiserver and etcd,
// through controller-runtime's envtest) for k0rdentctl's integration tests,
// with the real k0rdent 1.5 CRDs from the kcm module and the real CAPZ CRDs.
//
// It is test support only: import it from _test.go files, never from code
// that is linked into the k0rdentctl binary.
//
// The binaries are built from source by hack/envtest/build.sh into
// .cache/envtest/<stamp>/ of the repository; BinaryDir runs that script when
// they are missing. As for any envtest user, the environment variable
// KUBEBUILDER_ASSETS (a directory with both binaries) and
// TEST_ASSET_KUBE_APISERVER / TEST_ASSET_ETCD (one binary each) take
// precedence over that directory when they are set.
//
// envtest logs through controller-runtime's logger: a test package that does
// not set one (ctrllog.SetLogger in its TestMain) gets a warning about it.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
)

const (
	// rootModule is the module path of the repository whose hack/envtest
	// builds the binaries.
	rootModule = "github.com/k0rdentctl/k0rdentctl"
	// buildScript is the script that builds the binaries, relative to the
	// repository root.
	buildScript = "hack/envtest/build.sh"

	// KCMModule is the k0rdent module whose CRDs are installed; its version is
	// the one the repository's go.mod requires.
	KCMModule = "github.com/K0rdent/kcm"
	// kcmCRDDir holds the k0rdent CRDs inside the kcm module.
	kcmCRDDir = "templates/provider/kcm/templates/crds"

	// CAPZModule is Cluster API Provider Azure, whose CRDs (AzureClusterIdentity
	// and the rest) are installed.
	CAPZModule = "sigs.k8s.io/cluster-api-provider-azure"
	// CAPZVersion is the CAPZ release that k0rdent 1.5.0 ships. The module
	// cannot be required by the root go.mod (its root package does not
	// resolve), so it is fetched into the module cache on its own.
	CAPZVersion = "v1.21.0"
	// capzCRDDir holds the CAPZ CRDs inside the CAPZ module.
	capzCRDDir = "config/crd/bases"

	// kubebuilderAssets is envtest's variable naming a binaries directory
	// that overrides any other.
	kubebuilderAssets = "KUBEBUILDER_ASSETS"

	// AdminUser is the name of the user of Cluster.Kubeconfig, a member of
	// system:masters.
	AdminUser = "k0rdentctl-test-admin"
)

// Options say what a test API server holds.
type Options struct {
	// NoCRDs starts an API server without any CRD, for example to install the
	// kcm Helm chart, which ships the k0rdent CRDs as templates.
	NoCRDs bool
	// ExtraCRDDirs are further directories of CRD manifests to install, after
	// the k0rdent and CAPZ ones (also when NoCRDs is set).
	ExtraCRDDirs []string
}

// Cluster is one running API server with its etcd.
type Cluster struct {
	// Config reaches the API server as a member of system:masters.
	Config *rest.Config
	// Client is a controller-runtime client on Config whose scheme is Scheme.
	Client client.Client
	// Scheme knows the client-go types, apiextensions/v1 and k0rdent's
	// k0rdent.mirantis.com/v1beta1.
	Scheme *runtime.Scheme
	// KubeconfigPath is a kubeconfig file (mode 0600) for AdminUser, a member
	// of system:masters, authenticated by a client certificate: code under test
	// can load it exactly as it loads a user's kubeconfig. It is removed by Stop.
	KubeconfigPath string
	// Kubeconfig is the content of KubeconfigPath.
	Kubeconfig []byte

	env *envtest.Environment
	dir string
}

// NewScheme returns a scheme with the client-go types, apiextensions/v1 and
// k0rdent's v1beta1 API.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for name, add := range map[string]func(*runtime.Scheme) error{
		"client-go":        clientgoscheme.AddToScheme,
		"apiextensions/v1": apiextensionsv1.AddToScheme,
		"k0rdent v1beta1":  kcmv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("registering the %s types in the test scheme: %w", name, err)
		}
	}
	return s, nil
}

// RepoRoot returns the root directory of the k0rdentctl repository, found by
// walking up from the working directory (a test's package directory) to the
// go.mod of module github.com/k0rdentctl/k0rdentctl.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for dir := wd; ; {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == rootModule {
			return dir, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("finding the repository root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the repository root: no go.mod of module %s in %s or above it; run the tests inside the k0rdentctl repository", rootModule, wd)
		}
		dir = parent
	}
}

// modulePath returns the module path declared by a go.mod file.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}

// BinaryDir returns the directory that holds the kube-apiserver and etcd
// binaries built by hack/envtest/build.sh. When they are not built yet it runs
// that script, which takes several minutes on a cold Go build cache, and says
// so on stderr. It never gives up silently: on failure the error names the
// command to run by hand. When KUBEBUILDER_ASSETS is set, envtest takes the
// binaries from there, so BinaryDir returns that directory and builds nothing.
func BinaryDir(ctx context.Context) (string, error) {
	if dir := os.Getenv(kubebuilderAssets); dir != "" {
		// envtest would take the binaries from there anyway.
		return dir, checkBinaries(dir, "unset "+kubebuilderAssets+" to use those of "+buildScript)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, buildScript)
	howto := fmt.Sprintf("build them with: (cd %s && %s)", root, buildScript)

	var checkErr bytes.Buffer
	check := exec.CommandContext(ctx, "bash", script, "--check")
	check.Dir = root
	check.Stderr = &checkErr
	if out, err := check.Output(); err == nil {
		return lastLine(out, howto)
	} else if ctx.Err() != nil {
		return "", fmt.Errorf("looking for the test API server binaries: %w", ctx.Err())
	} else if exitErr := (*exec.ExitError)(nil); !errors.As(err, &exitErr) {
		return "", fmt.Errorf("looking for the test API server binaries with %s: %w: %s; %s", buildScript, err, strings.TrimSpace(checkErr.String()), howto)
	}

	fmt.Fprintf(os.Stderr, "testenv: kube-apiserver and etcd are not built yet; running %s (several minutes on a cold Go build cache)\n", buildScript)
	build := exec.CommandContext(ctx, "bash", script)
	build.Dir = root
	build.Stderr = os.Stderr
	out, err := build.Output()
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("building the test API server binaries: %w; %s", ctx.Err(), howto)
		}
		return "", fmt.Errorf("building the test API server binaries with %s failed: %w (its output is above); %s", buildScript, err, howto)
	}
	return lastLine(out, howto)
}

// lastLine returns the last non-empty line of a build.sh output: the binary
// directory.
func lastLine(out []byte, howto string) (string, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if dir == "" {
		return "", fmt.Errorf("%s printed no binary directory; %s", buildScript, howto)
	}
	return dir, checkBinaries(dir, howto)
}

// checkBinaries reports a missing kube-apiserver or etcd in dir.
func checkBinaries(dir, howto string) error {
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return fmt.Errorf("test API server binary %s is missing: %w; %s", bin, err, howto)
		}
	}
	return nil
}

// goModuleInfo is the part of `go list -m -json` and `go mod download -json`
// output used here.
type goModuleInfo struct {
	Path    string
	Version string
	Dir     string
	Error   any
}

// goModule runs a go command that prints one module as JSON and returns it.
func goModule(ctx context.Context, dir string, args ...string) (goModuleInfo, error) {
	cmdline := "go " + strings.Join(args, " ")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m goModuleInfo
	if jsonErr := json.Unmarshal(out, &m); jsonErr != nil && err == nil {
		err = jsonErr
	}
	if err == nil && m.Error != nil {
		err = fmt.Errorf("%v", m.Error)
	}
	if err != nil {
		return m, fmt.Errorf("%s (in %s): %w: %s", cmdline, dir, err, strings.TrimSpace(stderr.String()))
	}
	return m, nil
}

// KCMCRDDir returns the directory of k0rdent's CRDs in the module cache, for
// the kcm version that the repository's go.mod requires.
func KCMCRDDir(ctx context.Context) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	m, err := goModule(ctx, root, "list", "-m", "-json", KCMModule)
	if err != nil {
		return "", fmt.Errorf("finding the k0rdent CRDs: %w", err)
	}
	if m.Dir == "" {
		// Required but not downloaded yet (a fresh module cache).
		m, err = goModule(ctx, root, "mod", "download", "-json", KCMModule+"@"+m.Version)
		if err != nil {
			return "", fmt.Errorf("downloading the k0rdent CRDs: %w", err)
		}
	}
	return crdDir(m.Dir, kcmCRDDir, KCMModule+"@"+m.Version)
}

// CAPZCRDDir returns the directory of the CAPZ CRDs (CAPZVersion) in the
// module cache, downloading the module there when it is missing.
func CAPZCRDDir(ctx context.Context) (string, error) {
	// Downloaded outside any module, so that no go.mod or go.sum is touched.
	m, err := goModule(ctx, os.TempDir(), "mod", "download", "-json", CAPZModule+"@"+CAPZVersion)
	if err != nil {
		return "", fmt.Errorf("downloading the CAPZ CRDs: %w", err)
	}
	return crdDir(m.Dir, capzCRDDir, CAPZModule+"@"+CAPZVersion)
}

func crdDir(moduleDir, sub, module string) (string, error) {
	dir := filepath.Join(moduleDir, filepath.FromSlash(sub))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("reading the CRDs of %s: %w", module, err)
	}
	if len(entries) == 0 {
		return "", fmt.Errorf("reading the CRDs of %s: %s is empty", module, dir)
	}
	return dir, nil
}

// Start starts an API server and its etcd and installs the CRDs that opts
// asks for: by default k0rdent's (from the kcm module) and CAPZ's. Several
// clusters may run at once; each must be stopped with Stop. The start itself
// is not interruptible: ctx bounds finding and building what it needs.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	binDir, err := BinaryDir(ctx)
	if err != nil {
		return nil, err
	}
	var crdDirs []string
	if !opts.NoCRDs {
		kcm, err := KCMCRDDir(ctx)
		if err != nil {
			return nil, err
		}
		capz, err := CAPZCRDDir(ctx)
		if err != nil {
			return nil, err
		}
		crdDirs = append(crdDirs, kcm, capz)
	}
	crdDirs = append(crdDirs, opts.ExtraCRDDirs...)

	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("starting a test API server: %w", err)
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory: binDir,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		// Start may fail after etcd or the API server came up.
		stopErr := env.Stop()
		return nil, errors.Join(fmt.Errorf("starting a test API server (kube-apiserver and etcd from %s): %w", binDir, err), stopErr)
	}

	c := &Cluster{Config: cfg, Scheme: scheme, env: env}
	if err := c.init(); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

// init fills in the client and the admin kubeconfig of a started cluster.
func (c *Cluster) init() error {
	var err error
	c.Client, err = client.New(c.Config, client.Options{Scheme: c.Scheme})
	if err != nil {
		return fmt.Errorf("creating a client for the test API server: %w", err)
	}
	c.dir, err = os.MkdirTemp("", "k0rdentctl-testenv-*")
	if err != nil {
		return fmt.Errorf("creating the directory for the test kubeconfig: %w", err)
	}
	c.Kubeconfig, err = c.AddUser(AdminUser, []string{"system:masters"})
	if err != nil {
		return err
	}
	c.KubeconfigPath = filepath.Join(c.dir, "admin.kubeconfig")
	if err := os.WriteFile(c.KubeconfigPath, c.Kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing the test kubeconfig: %w", err)
	}
	return nil
}

// AddUser returns a kubeconfig for a new user of this API server with the
// given name and groups, authenticated by a client certificate. The user has
// only the rights that RBAC gives those groups (none, for an unknown group).
func (c *Cluster) AddUser(name string, groups []string) ([]byte, error) {
	if c.env == nil {
		return nil, fmt.Errorf("adding user %q: the test API server is stopped", name)
	}
	u, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, &rest.Config{QPS: 1000, Burst: 2000})
	if err != nil {
		return nil, fmt.Errorf("adding user %q to the test API server: %w", name, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("writing a kubeconfig for user %q: %w", name, err)
	}
	return kc, nil
}

// Stop stops the API server and etcd and removes the kubeconfig directory.
// It may be called more than once.
func (c *Cluster) Stop() error {
	var errs []error
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the test API server: %w", err))
		}
		c.env = nil
	}
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("removing the test kubeconfig directory: %w", err))
		}
		c.dir = ""
	}
	return errors.Join(errs...)
}

// StartT starts a cluster for a test and stops it when the test ends. It
// fails the test (never skips it) when the API server cannot start, saying how
// to build the binaries.
func StartT(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("starting a test API server: %v\n(the binaries are built by %s from the repository root; the first build takes several minutes)", err, buildScript)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the test API server: %v", err)
		}
	})
	return c
}
