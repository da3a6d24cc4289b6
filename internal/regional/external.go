package regional

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

func (p *clusterPhase) dryRunExternal() []string {
	ref := KubeconfigSource(p.r.env.Config, p.r.rc)
	lines := []string{}
	if f := p.r.rc.KubeconfigFile; f != "" {
		lines = append(lines, fmt.Sprintf("create %s (key %q) from %s if it does not exist", ref, ref.Key, p.kubeconfigFile()))
	} else {
		lines = append(lines, fmt.Sprintf("check that %s exists with a kubeconfig under the key %q", ref, ref.Key))
	}
	lines = append(lines, "prove that the cluster accepts that kubeconfig's credentials (an authenticated request); no Region is created otherwise")
	return lines
}

// kubeconfigFile is kubeconfig_file resolved like every path in the
// configuration: ~ is the home directory, relative paths are relative to the
// configuration file's folder.
func (p *clusterPhase) kubeconfigFile() string {
	f := p.r.rc.KubeconfigFile
	if f == "" {
		return ""
	}
	if f == "~" || strings.HasPrefix(f, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			f = filepath.Join(home, strings.TrimPrefix(f, "~"))
		}
	}
	if filepath.IsAbs(f) || p.r.env.ConfigPath == "" {
		return f
	}
	return filepath.Join(filepath.Dir(p.r.env.ConfigPath), f)
}

func (p *clusterPhase) runExternal(ctx context.Context, prog phase.Progress) ([]byte, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return nil, phase.Permanent(err)
	}
	ref := KubeconfigSource(p.r.env.Config, p.r.rc)
	region := p.r.rc.Name
	sec := &corev1.Secret{}
	err = mc.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, sec)
	switch {
	case apierrors.IsNotFound(err):
		if p.r.rc.KubeconfigFile == "" {
			return nil, phase.Permanent(p.fail("kubeconfig Secret missing",
				fmt.Errorf("%s does not exist on the management cluster", ref),
				fixThen(fmt.Sprintf("create %s with the cluster's kubeconfig under the key %q (or set kubeconfig_file for this regional cluster and k0rdentctl creates it)", ref, ref.Key), region)))
		}
		sec, err = p.createKubeconfigSecret(ctx, prog, mc.Client, ref)
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("reading %s on the management cluster: %w", ref, err)
	default:
		if p.r.rc.KubeconfigFile != "" {
			if err := p.syncKubeconfigSecret(ctx, prog, mc.Client, ref, sec); err != nil {
				return nil, err
			}
		}
	}
	data := sec.Data[ref.Key]
	if len(data) == 0 {
		_, err := ReadKubeconfig(ctx, mc.Client, ref) // says which keys it has
		if err == nil {
			err = fmt.Errorf("%s has no kubeconfig under the key %q", ref, ref.Key)
		}
		return nil, phase.Permanent(p.fail(ProbeInvalid, err, fixThen(fmt.Sprintf("put the kubeconfig under the key %q of %s", ref.Key, ref), region)))
	}
	where, err := p.prove(ctx, prog, data, ref)
	if err != nil {
		return nil, err
	}
	return data, p.r.event(ctx, p.name, EventExternalVerified, "external regional cluster %s answers at %s with the kubeconfig in %s", region, where, ref)
}

// readKubeconfigFile reads kubeconfig_file and checks that it is a
// kubeconfig.
func (p *clusterPhase) readKubeconfigFile() ([]byte, error) {
	path := p.kubeconfigFile()
	region := p.r.rc.Name
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, phase.Permanent(p.fail("kubeconfig_file unreadable", fmt.Errorf("reading kubeconfig_file %s: %w", path, err),
			fixThen("fix kubeconfig_file of this regional cluster", region)))
	}
	if _, err := clientcmd.Load(data); err != nil {
		return nil, phase.Permanent(p.fail(ProbeInvalid, fmt.Errorf("kubeconfig_file %s is not a kubeconfig: %w", path, err),
			fixThen("fix kubeconfig_file of this regional cluster", region)))
	}
	return data, nil
}

// createKubeconfigSecret creates the external cluster's kubeconfig Secret
// from kubeconfig_file.
func (p *clusterPhase) createKubeconfigSecret(ctx context.Context, prog phase.Progress, c client.Client, ref KubeconfigRef) (*corev1.Secret, error) {
	data, err := p.readKubeconfigFile()
	if err != nil {
		return nil, err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name, Labels: Labels(p.r.rc.Name, p.r.env.deploymentID())},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{ref.Key: data},
	}
	prog.Printf("creating %s from %s", ref, p.kubeconfigFile())
	if err := c.Create(ctx, sec); err != nil {
		return nil, fmt.Errorf("creating %s from kubeconfig_file %s: %w", ref, p.kubeconfigFile(), err)
	}
	if err := p.r.event(ctx, p.name, EventKubeconfigSecretCreated, "created %s from kubeconfig_file %s", ref, p.kubeconfigFile()); err != nil {
		return nil, err
	}
	return sec, p.r.resource(ctx, p.name, state.Resource{Kind: "Secret", Namespace: ref.Namespace, Name: ref.Name})
}

// syncKubeconfigSecret brings a Secret k0rdentctl created in line with
// kubeconfig_file; a Secret made by someone else is left as it is.
func (p *clusterPhase) syncKubeconfigSecret(ctx context.Context, prog phase.Progress, c client.Client, ref KubeconfigRef, sec *corev1.Secret) error {
	data, err := p.readKubeconfigFile()
	if err != nil {
		return err
	}
	if bytes.Equal(sec.Data[ref.Key], data) {
		return nil
	}
	if !CreatedByUs(sec.Labels) {
		p.r.warn(fmt.Sprintf("%s differs from kubeconfig_file %s; k0rdentctl did not create that Secret, so it is used as it is", ref, p.kubeconfigFile()))
		return nil
	}
	prog.Printf("updating %s from %s", ref, p.kubeconfigFile())
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	sec.Data[ref.Key] = data
	if err := c.Update(ctx, sec); err != nil {
		return fmt.Errorf("updating %s from kubeconfig_file %s: %w", ref, p.kubeconfigFile(), err)
	}
	return p.r.event(ctx, p.name, EventKubeconfigSecretCreated, "updated %s from kubeconfig_file %s", ref, p.kubeconfigFile())
}

func (p *clusterPhase) verifyExternal(ctx context.Context) ([]byte, string, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return nil, "", err
	}
	ref := KubeconfigSource(p.r.env.Config, p.r.rc)
	data, err := ReadKubeconfig(ctx, mc.Client, ref)
	if err != nil {
		if errors.Is(err, errNoKubeconfig) {
			return nil, err.Error(), nil
		}
		return nil, "", err
	}
	if p.r.rc.KubeconfigFile != "" {
		if file, err := os.ReadFile(p.kubeconfigFile()); err == nil && !bytes.Equal(file, data) {
			sec := &corev1.Secret{}
			if err := mc.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, sec); err == nil && CreatedByUs(sec.Labels) {
				return nil, fmt.Sprintf("kubeconfig_file %s changed since %s was made from it", p.kubeconfigFile(), ref), nil
			}
		}
	}
	if _, _, err := Probe(ctx, data, p.r.env.connectTimeout(), p.r.env.ClientOptions...); err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, err.Error(), nil
	}
	return data, "", nil
}
