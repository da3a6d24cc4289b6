package kof

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// InUseError refuses an uninstall while KOF clusters exist.
type InUseError struct{ Clusters []string }

func (e *InUseError) Error() string {
	return fmt.Sprintf("KOF still has clusters: %s; their collectors and storage would lose the mothership. Delete them first (k0rdentctl child delete NAME), or give --force",
		strings.Join(e.Clusters, ", "))
}

// Refused says this is a guard (exit code 3).
func (e *InUseError) Refused() bool { return true }

// Uninstall removes KOF's releases in reverse order.
type Uninstall struct {
	Kube   *kube.Clients
	Config *config.Config
	// Force goes on while KOF clusters exist.
	Force    bool
	Progress func(string)
}

// Plan is what Run would remove: the installed releases, newest step first.
func (u *Uninstall) Plan(ctx context.Context) (releases []string, inUse []string, err error) {
	users, err := clusters(ctx, u.Kube.Client)
	if err != nil {
		return nil, nil, err
	}
	for role, cds := range users {
		for _, cd := range cds {
			inUse = append(inUse, cd+" ("+role+")")
		}
	}
	sort.Strings(inUse)
	steps := Steps(u.Config, "", "")
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		hc, err := helmrelease.Config(u.Kube, s.Namespace, nil)
		if err != nil {
			return nil, nil, err
		}
		if rel, err := helmrelease.Last(hc, s.Release); err != nil {
			return nil, nil, err
		} else if rel != nil {
			releases = append(releases, s.Namespace+"/"+s.Release)
		}
	}
	return releases, inUse, nil
}

// Run uninstalls kof-child, kof-regional, kof-mothership, kof-operators,
// then Istio, and deletes the namespaces k0rdentctl made. It refuses
// while KOF clusters exist unless Force.
func (u *Uninstall) Run(ctx context.Context) ([]string, error) {
	releases, inUse, err := u.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if len(inUse) > 0 && !u.Force {
		return nil, &InUseError{Clusters: inUse}
	}
	var done []string
	for _, r := range releases {
		ns, name, _ := strings.Cut(r, "/")
		hc, err := helmrelease.Config(u.Kube, ns, nil)
		if err != nil {
			return done, err
		}
		act := action.NewUninstall(hc)
		act.Wait, act.Timeout = false, 5*time.Minute
		act.Description = "uninstalled by k0rdentctl"
		if _, err := act.Run(name); err != nil {
			return done, fmt.Errorf("uninstalling %s from %s: %w; run the command again to go on", name, ns, err)
		}
		if u.Progress != nil {
			u.Progress("uninstalled " + r)
		}
		done = append(done, r)
	}
	k := u.Config.KOF
	for _, name := range []string{k.Mothership.Namespace, k.Istio.Namespace} {
		if name == "" {
			continue
		}
		ns := &corev1.Namespace{}
		if err := u.Kube.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return done, err
		}
		if ns.Labels["app.kubernetes.io/managed-by"] != "k0rdentctl" {
			continue
		}
		if err := u.Kube.Client.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
			return done, fmt.Errorf("deleting namespace %s: %w", name, err)
		}
		if u.Progress != nil {
			u.Progress("deleted namespace " + name + " (k0rdentctl made it)")
		}
	}
	return done, nil
}
