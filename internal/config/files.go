package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ResolvePath turns a path written in the configuration file into one the
// program can open: "~/" is the user's home directory, and a relative path is
// relative to baseDir (the directory of the configuration file). An empty
// path stays empty.
func ResolvePath(p, baseDir string) string {
	if p == "" {
		return ""
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	return filepath.Clean(p)
}

// CheckFiles reports the files the configuration names that cannot be read:
// management.kubeconfig, ssh.public_key_path and private_key_path,
// software.k0rdent.credential.client_secret_file, the regional clusters'
// kubeconfig_file, and the kcm chart when it is a local path. Paths are
// resolved with ResolvePath against baseDir. Validate does not read files;
// `config validate` and the commands that use these files call CheckFiles.
func CheckFiles(c *Config, baseDir string) Diagnostics {
	if c == nil {
		return nil
	}
	var ds Diagnostics
	check := func(path, value, what string) {
		if value == "" {
			return
		}
		full := ResolvePath(value, baseDir)
		fi, err := os.Stat(full)
		switch {
		case err != nil:
			ds = append(ds, Diagnostic{Path: path, Severity: SeverityError,
				Message: fmt.Sprintf("%s %s cannot be read: %v", what, full, unwrapPathError(err)),
				Hint:    "relative paths are relative to the configuration file's directory"})
		case fi.IsDir() && what != "chart":
			ds = append(ds, Diagnostic{Path: path, Severity: SeverityError,
				Message: fmt.Sprintf("%s %s is a directory, not a file", what, full)})
		}
	}
	if c.Management.Mode == ModeExisting {
		check("management.kubeconfig", c.Management.Kubeconfig, "kubeconfig")
	}
	if c.Management.Mode == ModeAzure {
		check("ssh.public_key_path", c.SSH.PublicKeyPath, "SSH public key")
		check("ssh.private_key_path", c.SSH.PrivateKeyPath, "SSH private key")
	}
	check("software.k0rdent.credential.client_secret_file", c.Software.K0rdent.Credential.ClientSecretFile, "client secret file")
	if ch := c.Software.K0rdent.Chart; ch != "" && !strings.Contains(ch, "://") {
		check("software.k0rdent.chart", ch, "chart")
	}
	for i, r := range c.Software.K0rdent.Regional.Clusters {
		check(fmt.Sprintf("software.k0rdent.regional.clusters[%d].kubeconfig_file", i), r.KubeconfigFile, "kubeconfig")
	}
	return ds
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
