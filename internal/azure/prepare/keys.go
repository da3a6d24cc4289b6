package prepare

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/ssh"
)

// readSecret reads a private key file, refusing one others can read.
func readSecret(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s can be read by other users (mode %04o); it holds a private key: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}

// writeSecret writes a new private key file, 0600, never over another,
// and whole or not at all: the key goes to a temporary file beside it,
// which is then linked to its name (a process killed half-way leaves no
// half-written key, which would stop every later run).
func writeSecret(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Link(tmp, path)
}

// SSHKey is an ed25519 key pair in OpenSSH form.
type SSHKey struct {
	// Path is the private key's file.
	Path   string
	Signer ssh.Signer
	// AuthorizedKey is the public key as one authorized_keys line.
	AuthorizedKey string
}

// LoadOrCreateSSHKey reads the OpenSSH private key at path, or makes an
// ed25519 key there (0600) when there is none. comment goes into the
// public key line.
func LoadOrCreateSSHKey(path, comment string) (*SSHKey, error) {
	b, err := readSecret(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		block, merr := ssh.MarshalPrivateKey(priv, comment)
		if merr != nil {
			return nil, merr
		}
		b = pem.EncodeToMemory(block)
		if err := writeSecret(path, b); err != nil {
			return nil, fmt.Errorf("writing the SSH key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading the SSH key %s: %w", path, err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OpenSSH private key without a passphrase: %w", path, err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if comment != "" {
		line += " " + comment
	}
	return &SSHKey{Path: path, Signer: signer, AuthorizedKey: line}, nil
}

// PrivatePEM is the private key file's content (for cloud-init's ssh_keys,
// which gives a VM its host key).
func (k *SSHKey) PrivatePEM() ([]byte, error) { return readSecret(k.Path) }

// WireGuardKey is a Curve25519 key pair, base64 as wg(8) writes it.
type WireGuardKey struct {
	Path    string
	Private string
	Public  string
}

// LoadOrCreateWireGuardKey reads the base64 private key at path, or makes
// one there (0600), and derives its public key.
func LoadOrCreateWireGuardKey(path string) (*WireGuardKey, error) {
	b, err := readSecret(path)
	if errors.Is(err, os.ErrNotExist) {
		var k [32]byte
		if _, err := rand.Read(k[:]); err != nil {
			return nil, err
		}
		// Clamping, as wg genkey does.
		k[0] &= 248
		k[31] = (k[31] & 127) | 64
		b = []byte(base64.StdEncoding.EncodeToString(k[:]) + "\n")
		if err := writeSecret(path, b); err != nil {
			return nil, fmt.Errorf("writing the WireGuard key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading the WireGuard key %s: %w", path, err)
	}
	priv := strings.TrimSpace(string(b))
	raw, err := base64.StdEncoding.DecodeString(priv)
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("%s is not a WireGuard private key (32 bytes, base64)", path)
	}
	pub, err := curve25519.X25519(raw, curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &WireGuardKey{Path: path, Private: priv, Public: base64.StdEncoding.EncodeToString(pub)}, nil
}
