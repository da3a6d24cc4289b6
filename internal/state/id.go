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
	return deploymentIDPrefix + randomSuffix(deploymentIDLen)
}

// randomSuffix returns n random lowercase letters and digits.
func randomSuffix(n int) string {
	const size = len(deploymentIDAlphabet)
	const limit = 256 - 256%size // reject bytes >= limit so every character is equally likely
	out := make([]byte, 0, n)
	var buf [16]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails (it crashes the program instead)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, deploymentIDAlphabet[int(b)%size])
			}
		}
	}
	return string(out)
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
