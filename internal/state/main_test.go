package state

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/azurite"
)

// The blob store's tests share one Azurite (started on first use); child
// processes of the cross-process tests are this test binary, started with
// childRoleEnv set, and do their work from TestMain.
var (
	azuriteOnce sync.Once
	azuriteSrv  *azurite.Server
	azuriteErr  error
	azuriteDir  string
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	if runHelper() {
		os.Exit(0)
	}
	code := m.Run()
	if azuriteSrv != nil {
		_ = azuriteSrv.Stop()
		_ = os.RemoveAll(azuriteDir)
	}
	os.Exit(code)
}

// sharedAzurite is the package's Azurite, started on first use.
func sharedAzurite(t testing.TB) *azurite.Server {
	t.Helper()
	azuriteOnce.Do(func() {
		azuriteDir, azuriteErr = os.MkdirTemp("", "k0rdentctl-azurite-")
		if azuriteErr == nil {
			azuriteSrv, azuriteErr = azurite.Run(azuriteDir)
		}
	})
	if azuriteErr != nil {
		t.Fatalf("the blob store tests need Azurite: %v", azuriteErr)
	}
	return azuriteSrv
}

var containerSeq struct {
	sync.Mutex
	n int
}

// newContainerName returns a container name no other test uses.
func newContainerName() string {
	containerSeq.Lock()
	defer containerSeq.Unlock()
	containerSeq.n++
	return fmt.Sprintf("t%d-%s", containerSeq.n, randomSuffix(8))
}
