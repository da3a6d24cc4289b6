package regional

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRotateCertificatesWithoutACertificate(t *testing.T) {
	env, _ := opsEnv(t, opsTestConfig, opsKCMDeployment(""))
	rep, err := (&RotateCertificates{Env: env}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.NotConfigured, "runs without --registry-cert-secret-name") || len(rep.Regions) != 0 || len(rep.Failed()) != 0 {
		t.Errorf("%+v", rep)
	}
	env, _ = opsEnv(t, opsTestConfig)
	rep, err = (&RotateCertificates{Env: env}).Run(t.Context())
	if err != nil || !strings.Contains(rep.NotConfigured, "no kcm controller Deployment") {
		t.Errorf("no kcm Deployment: %v %+v", err, rep)
	}
}

func TestRotateCredentialsNeedsAManagementIdentity(t *testing.T) {
	env, _ := opsEnv(t, opsTestConfig)
	_, err := (&RotateCredentials{Env: env, Secret: []byte("s3cret-value")}).Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "k0rdentctl credentials setup") || strings.Contains(err.Error(), "s3cret-value") {
		t.Errorf("err = %v, want the fix and never the secret", err)
	}
	if _, err := (&RotateCredentials{Env: env, Secret: []byte(" \n")}).Run(t.Context()); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty secret: %v", err)
	}
}

func TestDataDigest(t *testing.T) {
	a := dataDigest(map[string][]byte{"ca.crt": []byte("x"), "b": []byte("y")})
	b := dataDigest(map[string][]byte{"b": []byte("y"), "ca.crt": []byte("x")})
	c := dataDigest(map[string][]byte{"ca.crtb": []byte(""), "": []byte("xy")})
	d := dataDigest(map[string][]byte{"ca.crt": []byte("x"), "b": []byte("z")})
	if a != b || a == c || a == d {
		t.Error("digest must not depend on key order and must tell key/value boundaries and values apart")
	}
	// A report carries outcomes, never content nor its hash.
	rep := &RotationReport{Kind: "credentials", Secret: "kcm-system/s", Regions: []RegionRotation{{Name: "r", Status: RotationVerified, Matches: true}}}
	rep.count()
	out, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "sha") || strings.Contains(string(out), "hash") || rep.Summary() != "1 verified" {
		t.Errorf("%s / %s", out, rep.Summary())
	}
}
