// Package azurite starts Azurite, the Azure Storage emulator (npm package
// azurite, installed by `make azurite` into .cache/azurite), for tests of the
// blob state store. Each server listens on a free loopback port and keeps its
// data in a temporary folder; it can be stopped and started again on the
// same port and data, to test a storage service that goes away.
package azurite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Account and key are Azurite's well-known development account.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startTimeout bounds the wait for a server to listen: a failure bound.
const startTimeout = 60 * time.Second

// stopTimeout bounds a graceful stop; then the server is killed.
const stopTimeout = 20 * time.Second

// Server is a running Azurite blob service.
type Server struct {
	Port int
	Dir  string
	bin  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
	closed chan struct{}
}

// Binary finds azurite-blob under .cache/azurite of the repository, or
// says how to install it.
func Binary() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			bin := filepath.Join(dir, ".cache", "azurite", "node_modules", ".bin", "azurite-blob")
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("azurite is not installed (%s is missing): run `make azurite` in %s (it installs the pinned npm package into .cache/azurite; needs Node.js and npm)", bin, dir)
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("azurite: no go.mod above the working folder; run the tests from the repository")
		}
		dir = parent
	}
}

// Start starts an Azurite blob service for the test and stops it at its end.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// Run starts an Azurite blob service on a free loopback port with its data
// in dir (for a TestMain); Stop it when done.
func Run(dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &Server{Port: port, Dir: dir, bin: bin}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts the server (again) on its port and data folder, and waits
// until it accepts connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(s.Port),
		"--location", s.Dir, "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	closed := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			// Azurite says so once its data is saved, but does not always exit.
			if strings.Contains(sc.Text(), "successfully closed") {
				once.Do(func() { close(closed) })
			}
		}
	}()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting azurite: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		select {
		case err := <-exited:
			return fmt.Errorf("azurite exited before listening on %s: %v", s.Addr(), err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return fmt.Errorf("azurite did not listen on %s within %s", s.Addr(), startTimeout)
		}
	}
	s.cmd, s.exited, s.closed = cmd, exited, closed
	return nil
}

// Stop stops the server gracefully (its data stays in Dir) and waits until
// its port is closed.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	pid := s.cmd.Process.Pid
	s.cmd = nil
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-s.closed:
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return nil
}

// Addr is host:port of the blob service.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Endpoint is the blob service URL of the development account.
func (s *Server) Endpoint() string { return "http://" + s.Addr() + "/" + Account }

// ConnectionString is the connection string of the development account.
func (s *Server) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key + ";BlobEndpoint=" + s.Endpoint() + ";"
}

// Client returns a client of container name on the server (which need not
// exist yet), with quick retries.
func (s *Server) Client(name string) (*container.Client, error) {
	return ClientFor(s.ConnectionString(), name)
}

// ClientFor is Client for a server known by its connection string (in a
// child process of a test).
func ClientFor(connectionString, name string) (*container.Client, error) {
	return container.NewClientFromConnectionString(connectionString, name, &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second, TryTimeout: 20 * time.Second}}})
}

// Container returns a client of a new container (created) on the server.
func (s *Server) Container(t testing.TB, name string) *container.Client {
	t.Helper()
	c, err := s.Client(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := c.Create(ctx, nil); err != nil {
		t.Fatalf("creating container %s on azurite: %v", name, err)
	}
	return c
}
