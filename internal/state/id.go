package state

import "crypto/rand"

// deploymentIDPrefix starts every deployment id.
const deploymentIDPrefix = "k0rdent-"

// deploymentIDAlphabet is what follows the prefix: lowercase letters and digits.
const deploymentIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// deploymentIDLen is the number of random characters after the prefix.
const deploymentIDLen = 8

// NewDeploymentID returns a fresh deployment id: "k0rdent-" followed by 8
// random lowercase letters and digits from crypto/rand.
func NewDeploymentID() string {
	const n = len(deploymentIDAlphabet)
	const limit = 256 - 256%n // reject bytes >= limit so every character is equally likely
	out := make([]byte, 0, deploymentIDLen)
	var buf [16]byte
	for len(out) < deploymentIDLen {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails (it crashes the program instead)
		for _, b := range buf {
			if int(b) < limit && len(out) < deploymentIDLen {
				out = append(out, deploymentIDAlphabet[int(b)%n])
			}
		}
	}
	return deploymentIDPrefix + string(out)
}

// ValidDeploymentID reports whether id has the form NewDeploymentID makes.
func ValidDeploymentID(id string) bool {
	if len(id) != len(deploymentIDPrefix)+deploymentIDLen || id[:len(deploymentIDPrefix)] != deploymentIDPrefix {
		return false
	}
	for _, c := range id[len(deploymentIDPrefix):] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func invalidIDError(id string) error {
	return &invalidID{id: id}
}

type invalidID struct{ id string }

func (e *invalidID) Error() string {
	return "\"" + e.id + "\" is not a deployment id (expected k0rdent- followed by 8 lowercase letters or digits, e.g. k0rdent-7fq2m1xz)"
}
