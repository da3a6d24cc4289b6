package regional

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// fullDisk is a state folder whose disk fills up: the save for which
// fillsUp is true succeeds, every save after it fails as a full disk does.
// With refuses set, only the saves it names fail.
type fullDisk struct {
	*state.FileStore
	fillsUp func(*state.Record) bool
	refuses func(*state.Record) bool

	mu   sync.Mutex
	full bool
}

var errDiskFull = errors.New("write state/record.yaml: no space left on device")

func (d *fullDisk) Save(ctx context.Context, r *state.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.full || (d.refuses != nil && d.refuses(r)) {
		return errDiskFull
	}
	if d.fillsUp != nil && d.fillsUp(r) {
		d.full = true
	}
	return d.FileStore.Save(ctx, r)
}

func openOn(t *testing.T, d *fullDisk, rec *state.Record) *state.Session {
	t.Helper()
	fs, err := state.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d.FileStore = fs
	if err := fs.Save(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	sess, err := state.Open(t.Context(), d, rec.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

// A removal whose record cannot be written stops before it deletes
// anything more: the disk fills up right after the region is marked
// removing, so the event that announces the deletions cannot be written and
// nothing is deleted.
func TestRemoveStopsWhenTheRecordCannotBeWritten(t *testing.T) {
	env, c := opsEnv(t, opsTestConfig,
		opsRegion("regional-westeu", ourLabels("regional-westeu"), true, kcmv1.AllComponentsHealthyReason, nil),
		opsCredential("kcm-system", "azure-cluster-credential-regional-westeu", "regional-westeu", true, ourLabels("regional-westeu")),
	)
	rec := opsRecord(state.RegionalCluster{Name: "regional-westeu", Location: "westeurope", Type: state.RegionalTypeExternal, KubeconfigSecret: "external-westeu", Status: state.RegionalDeployed, Deployed: true})
	disk := &fullDisk{fillsUp: func(r *state.Record) bool {
		c := r.Regional("regional-westeu")
		return c != nil && c.Status == state.RegionalRemoving
	}}
	env.Session = openOn(t, disk, rec)

	remove := &Remove{Env: env, Name: "regional-westeu"}
	plan, err := remove.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = remove.Run(t.Context(), plan)
	var re *RecordError
	if !errors.As(err, &re) || !errors.Is(err, errDiskFull) {
		t.Fatalf("Run: %v, want a *RecordError caused by the full disk", err)
	}
	if !strings.Contains(err.Error(), "nothing more was done") {
		t.Errorf("the error does not say that the removal stopped: %v", err)
	}
	for _, obj := range []client.Object{&kcmv1.Credential{}, &kcmv1.Region{}} {
		key := client.ObjectKey{Namespace: "kcm-system", Name: "azure-cluster-credential-regional-westeu"}
		if _, ok := obj.(*kcmv1.Region); ok {
			key = client.ObjectKey{Name: "regional-westeu"}
		}
		if err := c.Get(t.Context(), key, obj); apierrors.IsNotFound(err) {
			t.Errorf("%T %s was deleted although its deletion could not be recorded", obj, key)
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// A failed step whose failure cannot be recorded says so: the record write
// error is returned with the step's, not dropped.
func TestFailedStepThatCannotBeRecordedSaysSo(t *testing.T) {
	cfg := parse(t, testConfig)
	rec := state.New("k0rdent-abcd1234", "k0rdent-test", time.Now())
	disk := &fullDisk{refuses: func(r *state.Record) bool {
		for _, c := range r.K0rdentRegional.Clusters {
			if c.Status == state.RegionalFailed {
				return true
			}
		}
		return false
	}}
	env := &Env{Config: cfg, Session: openOn(t, disk, rec)}
	rep, err := (&Deploy{Env: env, Names: []string{"regional-westeu"}}).Run(t.Context())
	if rep == nil {
		t.Fatalf("Deploy: %v", err)
	}
	var re *RecordError
	if !errors.As(err, &re) || !errors.Is(err, errDiskFull) {
		t.Fatalf("Deploy: %v, want the record write error with the step's", err)
	}
	if !strings.Contains(err.Error(), "no management cluster") {
		t.Errorf("the step's own error is lost: %v", err)
	}
}

// A rotation whose outcome cannot be recorded returns the record write
// error with its report, instead of only noting it in the report.
func TestRotationThatCannotBeRecordedFails(t *testing.T) {
	env, _ := opsEnv(t, opsTestConfig, opsKCMDeployment("registry-cert"),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "registry-cert"}, Data: map[string][]byte{"ca.crt": []byte("cert")}})
	disk := &fullDisk{refuses: func(r *state.Record) bool {
		return len(r.Events) > 0 && r.Events[len(r.Events)-1].Type == EventCertificatesRotated
	}}
	env.Session = openOn(t, disk, opsRecord())
	rep, err := (&RotateCertificates{Env: env}).Run(t.Context())
	var re *RecordError
	if !errors.As(err, &re) || rep == nil || rep.RecordError == "" {
		t.Fatalf("Run: %v (report %+v), want the report and a *RecordError", err, rep)
	}
}
