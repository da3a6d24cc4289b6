package kube

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WhoAmI makes an authenticated request (a SelfSubjectReview, which an
// anonymous client cannot make) and returns the user name the API server
// sees. Unlike /version or /healthz, which anyone may read, an answer proves
// that the kubeconfig's credentials are accepted.
func (c *Clients) WhoAmI(ctx context.Context) (string, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return "", fmt.Errorf("creating a client for %s: %w", c.Where(), err)
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("the API server %s did not accept the kubeconfig's credentials: %w; check the user, token or client certificate in the kubeconfig", c.Where(), err)
	}
	if r.Status.UserInfo.Username == "system:anonymous" {
		return "", fmt.Errorf("the API server %s sees this kubeconfig as anonymous: its credentials are missing or not recognised", c.Where())
	}
	return r.Status.UserInfo.Username, nil
}
